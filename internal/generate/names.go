package generate

import (
	"go/token"
	"strings"
	"unicode"
)

// lowerCamel turns a snake_case spec name into a lowerCamel Go identifier:
// "negative_slope" → "negativeSlope".
func lowerCamel(s string) string {
	parts := strings.Split(s, "_")
	var b strings.Builder
	for i, p := range parts {
		if p == "" {
			continue
		}
		if i == 0 || b.Len() == 0 {
			b.WriteString(p)
			continue
		}
		r := []rune(p)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String()
}

// reservedLocal are identifiers the generated code uses for its own
// variables and imports. A parameter with one of these names is renamed so
// that it cannot shadow them.
var reservedLocal = map[string]bool{
	"dst": true, "dx": true, "dy": true, "x": true, "y": true, "i": true, "n": true,
	"p": true, "a": true, "b": true, "f": true, "t": true, "err": true, "name": true,
	"math": true, "fmt": true, "unsafe": true, "testing": true, "strings": true,
	"sort": true, "rand": true, "kerneltest": true,
	// Go's predeclared identifiers: shadowing them compiles but misleads readers.
	"bool": true, "byte": true, "error": true, "float32": true, "float64": true,
	"int": true, "len": true, "cap": true, "make": true, "new": true, "panic": true,
	"min": true, "max": true, "true": true, "false": true, "nil": true, "string": true,
	"abs": true, "copy": true, "append": true, "real": true, "imag": true,
}

// goParam is the Go identifier of a spec parameter, as it appears in the
// generated API signatures and kernels.
func goParam(name string) string {
	id := lowerCamel(name)
	if token.IsKeyword(id) || reservedLocal[id] || isSSAName(id) {
		id += "Param"
	}
	return id
}

// isSSAName reports whether id looks like the kernel emitter's value names
// (v0, v1, …), which a parameter must not shadow.
func isSSAName(id string) bool {
	if len(id) < 2 || id[0] != 'v' {
		return false
	}
	for _, r := range id[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// goParams maps goParam over names.
func goParams(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = goParam(n)
	}
	return out
}
