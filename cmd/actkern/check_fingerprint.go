package main

// Fingerprints of the sources a check job's verdicts depend on, for the
// state file (check_state.go). A job's fingerprint hashes
//   - what every job of its precision shares: the Go version, go.mod and
//     go.sum, the reference, the judging (kerneltest, internal/testutil,
//     check_sweep.go and check_worker.go), the spec outside the
//     activations' entries but for its comment lines, and the generated
//     package's Go files that belong to no activation (but no tests, which
//     are not built into the check, nor kernels_amd64.go, whose
//     declarations say again what the assembly functions' text says), less
//     their helper functions that only some jobs call
//     (check_fingerprint_helpers.go);
//   - what is the job's own: its activation's spec entry, its generated Go
//     files and the helpers they call, its assembly functions, with each
//     reference to the shared constant pool replaced by the constants it
//     can read (the pool's offsets move whenever any kernel's constants
//     change), and its lines of the dispatch file (the kernel each level
//     assigns to its function variables; the rest of that file is shared).
//
// Go files are hashed as code, without their comments (goCode): the
// generated doc.go, which lists every activation's parameters, would
// otherwise make a new test parameter set, or a reworded doc comment,
// restale every job of the sweep.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"hash"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/actkern/actkern/internal/spec"
)

// sharedPaths are the files and folders, relative to the module root, that
// every job's verdicts depend on besides its generated package.
var sharedPaths = []string{
	"go.mod", "go.sum", "internal/reference", "internal/testutil", "kerneltest",
	"cmd/actkern/check_sweep.go", "cmd/actkern/check_worker.go",
}

// asmFile is the generated assembly of a package, whose functions are
// attributed to activations one by one, and asmDecls their declarations.
const (
	asmFile  = "kernels_amd64.s"
	asmDecls = "kernels_amd64.go"
	dispatch = "dispatch_amd64.go"
)

// ownSuffixes name an activation's own generated files: activation name +
// suffix.
var ownSuffixes = []string{".go", "_generic.go"}

// readWidth is how many bytes of the constant pool an instruction can
// read from the address it names, at most: 8 for a broadcast, the width of
// the widest vector register it names, and 64 for an address taken with
// LEAQ (the AVX2 tail-mask table, read at an offset from its base).
func readWidth(line string) int {
	switch {
	case strings.Contains(line, "LEAQ"):
		return 64
	case strings.Contains(line, ".BCST") || strings.Contains(line, "VBROADCASTS"):
		return 8
	case zmm.MatchString(line):
		return 64
	case ymm.MatchString(line):
		return 32
	case xmm.MatchString(line):
		return 16
	}
	return 8
}

type fingerprinter struct {
	root     string
	specText []byte
	entries  map[string][]byte                // activation name → its spec entry's text
	files    map[string]bool                  // generated file names that belong to an activation
	shared   map[string][]byte                // type → hash of what its jobs share
	asm      map[string]map[string][]byte     // type → function name → resolved text
	dispatch map[string]map[string][]byte     // type → activation (or "" for shared) → its dispatch lines
	helpers  map[string]map[string]helperFunc // type → the shared files' helpers by name
	// sharedHelpers are, per type, the helpers the shared code runs,
	// hashed into every job's fingerprint.
	sharedHelpers map[string]map[string]bool
	jobs          map[string]string // "name typ" → fingerprint
}

func newFingerprinter(specText []byte, s *spec.Spec) (*fingerprinter, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	f := &fingerprinter{root: root, specText: specText, entries: map[string][]byte{}, files: map[string]bool{},
		shared: map[string][]byte{}, asm: map[string]map[string][]byte{}, dispatch: map[string]map[string][]byte{},
		helpers: map[string]map[string]helperFunc{}, sharedHelpers: map[string]map[string]bool{},
		jobs: map[string]string{}}
	// An entry runs from its first line to the next entry's; what comes
	// before the first is shared.
	lines := bytes.SplitAfter(specText, []byte("\n"))
	acts := slices.Clone(s.Activations)
	slices.SortFunc(acts, func(a, b *spec.Activation) int { return a.Pos.Line - b.Pos.Line })
	for i, a := range acts {
		end := len(lines) + 1
		if i+1 < len(acts) {
			end = acts[i+1].Pos.Line
		}
		f.entries[a.Name] = bytes.Join(lines[a.Pos.Line-1:end-1], nil)
		for _, suffix := range ownSuffixes {
			f.files[a.Name+suffix] = true
		}
	}
	if len(acts) > 0 {
		f.specText = bytes.Join(lines[:acts[0].Pos.Line-1], nil)
	}
	f.specText = withoutComments(f.specText)
	return f, nil
}

// withoutComments drops a YAML text's comment lines, which its meaning
// does not depend on: the spec's header is mostly the comment describing
// the format, and rewording it should not restale every job of a sweep
// that takes hours.
func withoutComments(b []byte) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

// job is the fingerprint of activation name's jobs in precision typ.
func (f *fingerprinter) job(name, typ string) (string, error) {
	key := name + " " + typ
	if fp, ok := f.jobs[key]; ok {
		return fp, nil
	}
	shared, err := f.sharedHash(typ)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(shared)
	entry, ok := f.entries[name]
	if !ok {
		return "", fmt.Errorf("fingerprint: no spec entry %q", name)
	}
	writePart(h, "spec entry", entry)
	dir := filepath.Join(f.root, "generated", typ)
	var generic, own []byte
	for _, suffix := range ownSuffixes {
		file := filepath.Join(dir, name+suffix)
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		b, err := readSource(file)
		if err != nil {
			return "", err
		}
		writePart(h, name+suffix, b)
		own = append(own, b...)
		if suffix == "_generic.go" {
			generic = b
		}
	}
	funcs, err := f.asmFuncs(typ)
	if err != nil {
		return "", err
	}
	for _, fn := range ownAsm(generic, funcs) {
		writePart(h, fn, funcs[fn])
	}
	lines, err := f.dispatchLines(typ)
	if err != nil {
		return "", err
	}
	writePart(h, dispatch, lines[name])
	for _, n := range f.ownHelpers(typ, append(own, lines[name]...)) {
		writePart(h, "helper "+n, f.helpers[typ][n].code)
	}
	fp := hex.EncodeToString(h.Sum(nil))
	f.jobs[key] = fp
	return fp, nil
}

// ownAsm lists, sorted, the assembly functions of the activation whose
// generic kernels are in generic: their names with an ISA suffix in place
// of Generic.
func ownAsm(generic []byte, funcs map[string][]byte) []string {
	var names []string
	for _, m := range genericFunc.FindAllSubmatch(generic, -1) {
		base := string(m[1])
		for fn := range funcs {
			if rest, ok := strings.CutPrefix(fn, base); ok && asmSuffix.MatchString(rest) {
				names = append(names, fn)
			}
		}
	}
	slices.Sort(names)
	return names
}

var (
	genericFunc = regexp.MustCompile(`(?m)^func (\w+)Generic\(`)
	asmSuffix   = regexp.MustCompile(`^(AVX2|AVX512)(Stream)?$`)
	implAssign  = regexp.MustCompile(`^\s*(\w+?)(?:Stream)?Impl = `)
	textLine    = regexp.MustCompile(`^TEXT ·(\w+)\(SB\)`)
	dataLine    = regexp.MustCompile(`^DATA actkernconst<>\+(\d+)\(SB\)/8, \$(0x[0-9a-f]+)$`)
	constRef    = regexp.MustCompile(`actkernconst<>\+(\d+)\(SB\)`)
	zmm         = regexp.MustCompile(`\bZ\d+\b`)
	ymm         = regexp.MustCompile(`\bY\d+\b`)
	xmm         = regexp.MustCompile(`\bX\d+\b`)
)

// writePart hashes a named part, length-prefixed so that parts cannot run
// into each other.
func writePart(h hash.Hash, name string, b []byte) {
	fmt.Fprintf(h, "%s %d\n", name, len(b))
	h.Write(b)
}

// sharedHash hashes what every job of precision typ depends on.
func (f *fingerprinter) sharedHash(typ string) ([]byte, error) {
	if b, ok := f.shared[typ]; ok {
		return b, nil
	}
	var files []string
	for _, p := range sharedPaths {
		if err := walkFiles(filepath.Join(f.root, p), &files); err != nil {
			return nil, err
		}
	}
	slices.Sort(files)
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, typ)
	writePart(h, "spec header", f.specText)
	for _, file := range files {
		b, err := readSource(file)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(f.root, file)
		writePart(h, filepath.ToSlash(rel), b)
	}
	// The generated package's shared files, without their helpers (see
	// check_fingerprint_helpers.go), and the helpers what is left names.
	dir := filepath.Join(f.root, "generated", typ)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	helpers := map[string]helperFunc{}
	var roots []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") || f.files[n] || n == asmDecls || n == dispatch {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		rest, funcs, err := splitHelpers(src)
		if err != nil {
			return nil, fmt.Errorf("fingerprint: %s: %w", filepath.Join(dir, n), err)
		}
		writePart(h, "generated/"+typ+"/"+n, rest)
		roots = append(roots, identifiers(rest)...)
		maps.Copy(helpers, funcs)
	}
	lines, err := f.dispatchLines(typ)
	if err != nil {
		return nil, err
	}
	writePart(h, dispatch, lines[""])
	roots = append(roots, identifiers(lines[""])...)
	shared := helperClosure(helpers, roots)
	for _, n := range slices.Sorted(maps.Keys(shared)) {
		writePart(h, "helper "+n, helpers[n].code)
	}
	f.helpers[typ], f.sharedHelpers[typ] = helpers, shared
	f.shared[typ] = h.Sum(nil)
	return f.shared[typ], nil
}

// ownHelpers lists, sorted, the helpers of precision typ that code (a
// job's own) runs and the shared code does not.
func (f *fingerprinter) ownHelpers(typ string, code []byte) []string {
	var own []string
	for n := range helperClosure(f.helpers[typ], identifiers(code)) {
		if !f.sharedHelpers[typ][n] {
			own = append(own, n)
		}
	}
	slices.Sort(own)
	return own
}

// readSource returns a file's contents for hashing: a Go file's code
// without its comments (goCode), any other file as it is.
func readSource(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil || !strings.HasSuffix(path, ".go") {
		return b, err
	}
	code, err := goCode(b)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %s: %w", path, err)
	}
	return code, nil
}

// goCode prints Go source parsed without its comments, so that what the
// verdicts cannot depend on leaves the hash alone, after the file's build
// constraint: a comment that decides what is compiled.
func goCode(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for line := range bytes.Lines(src) {
		if bytes.HasPrefix(line, []byte("//go:build ")) {
			buf.Write(line)
		}
	}
	if err := format.Node(&buf, fset, file); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// dispatchLines splits typ's dispatch file, as code (goCode), by owner: an
// assignment to a kernel variable (base + "Impl" or base + "StreamImpl")
// is the line of the activation whose generic kernels include base +
// "Generic"; every other line is shared (key ""). A package without the
// file has no lines.
func (f *fingerprinter) dispatchLines(typ string) (map[string][]byte, error) {
	if m, ok := f.dispatch[typ]; ok {
		return m, nil
	}
	dir := filepath.Join(f.root, "generated", typ)
	m := map[string][]byte{}
	file := filepath.Join(dir, dispatch)
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		f.dispatch[typ] = m
		return m, nil
	}
	code, err := readSource(file)
	if err != nil {
		return nil, err
	}
	owner := map[string]string{} // kernel base name → activation
	for name := range f.entries {
		generic, err := os.ReadFile(filepath.Join(dir, name+"_generic.go"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, g := range genericFunc.FindAllSubmatch(generic, -1) {
			owner[string(g[1])] = name
		}
	}
	for line := range bytes.Lines(code) {
		key := ""
		if a := implAssign.FindSubmatch(line); a != nil {
			key = owner[string(a[1])]
		}
		m[key] = append(m[key], line...)
	}
	f.dispatch[typ] = m
	return m, nil
}

// walkFiles lists the files under root, but not Go tests: they are not
// built into the check.
func walkFiles(root string, files *[]string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(path, "_test.go") {
			*files = append(*files, path)
		}
		return err
	})
}

// asmFuncs reads typ's assembly functions (parseAsm). A package without
// assembly has none.
func (f *fingerprinter) asmFuncs(typ string) (map[string][]byte, error) {
	if m, ok := f.asm[typ]; ok {
		return m, nil
	}
	b, err := os.ReadFile(filepath.Join(f.root, "generated", typ, asmFile))
	if errors.Is(err, fs.ErrNotExist) {
		b, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	f.asm[typ] = parseAsm(b)
	return f.asm[typ], nil
}

// parseAsm splits assembly text into its functions' texts, each line that
// names the constant pool followed by the pool's constants it can read.
func parseAsm(b []byte) map[string][]byte {
	pool := map[int]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	var lines []string
	for sc.Scan() {
		line := sc.Text()
		if m := dataLine.FindStringSubmatch(line); m != nil {
			off, _ := strconv.Atoi(m[1])
			pool[off] = m[2]
			continue
		}
		lines = append(lines, line)
	}
	funcs := map[string][]byte{}
	var cur string
	var text bytes.Buffer
	flush := func() {
		if cur != "" {
			funcs[cur] = slices.Clone(text.Bytes())
		}
		text.Reset()
	}
	for _, line := range lines {
		if m := textLine.FindStringSubmatch(line); m != nil {
			flush()
			cur = m[1]
		} else if strings.HasPrefix(line, "GLOBL") { // the pool's size
			flush()
			cur = ""
		}
		if cur == "" {
			continue
		}
		// The offsets are left out: they are where the constants are, and
		// the constants follow.
		text.WriteString(constRef.ReplaceAllString(line, "actkernconst<>(SB)"))
		for _, m := range constRef.FindAllStringSubmatch(line, -1) {
			off, _ := strconv.Atoi(m[1])
			text.WriteString(" ;")
			for o := off; o < off+readWidth(line); o += 8 {
				if v, ok := pool[o]; ok {
					text.WriteString(" " + v)
				}
			}
		}
		text.WriteByte('\n')
	}
	flush()
	return funcs
}

// moduleRoot is the nearest folder at or above the working directory whose
// go.mod declares actkern's module.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/actkern/actkern\n") {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("-state: run the check inside actkern's module (the state is tied to its source files)")
		}
		dir = up
	}
}
