package generate

import (
	"strings"

	"github.com/dave/jennifer/jen"
)

// docComment renders lines as one // comment block. Lines that start with a
// tab are kept verbatim (godoc code blocks); other lines are word-wrapped.
func docComment(lines ...string) *jen.Statement { return jen.Comment(docText(lines...)) }

// docText is the text of docComment.
func docText(lines ...string) string {
	var out []string
	for _, l := range lines {
		switch {
		case l == "":
			out = append(out, "//")
		case strings.HasPrefix(l, "\t"):
			out = append(out, "//"+l)
		default:
			indent := ""
			if strings.HasPrefix(l, "  - ") {
				indent = "    "
			}
			for _, w := range wrap(l, 76, indent) {
				out = append(out, "// "+w)
			}
		}
	}
	return strings.Join(out, "\n")
}

// wrap breaks s into lines of at most width characters at spaces; the
// continuation lines start with indent.
func wrap(s string, width int, indent string) []string {
	bullet := strings.HasPrefix(s, "  - ")
	words := strings.Fields(strings.TrimPrefix(s, "  - "))
	if bullet && len(words) > 0 {
		words[0] = "  - " + words[0]
	}
	var lines []string
	cur := ""
	for _, w := range words {
		switch {
		case cur == "":
			cur = w
		case len(cur)+1+len(w) > width:
			lines = append(lines, cur)
			cur = indent + w
		default:
			cur += " " + w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// oneLine collapses the white space of a spec string (YAML block scalars
// keep newlines) so it fits a sentence or a Go string literal.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// sentence ends s with a period if it has no final punctuation.
func sentence(s string) string {
	s = oneLine(s)
	if s == "" {
		return s
	}
	switch s[len(s)-1] {
	case '.', '!', '?':
		return s
	}
	return s + "."
}
