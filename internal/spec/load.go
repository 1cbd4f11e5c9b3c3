package spec

import (
	"bytes"
	"errors"
	"fmt"
	"go/token"
	"go/types"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/actkern/actkern/internal/expr"
	builtin "github.com/actkern/actkern/spec"
)

// Load reads and validates the spec file at path, and the files it
// includes. It returns either a fully valid *Spec or nil and an ErrorList
// (one file:line:col: message per problem, sorted by position; a problem
// in an included file carries that file's path).
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse validates data as the spec file named file. The name is used in
// positions and to resolve relative include: paths (which are read from
// disk). Like Load, it returns a fully valid *Spec or nil and an ErrorList.
func Parse(file string, data []byte) (*Spec, error) {
	inc := &includes{first: map[string]Pos{}}
	key := Builtin
	if file != builtin.File {
		abs, err := filepath.Abs(file)
		if err != nil {
			return nil, err
		}
		key = abs
	}
	inc.stack = []string{key}
	return parse(file, data, inc)
}

// Builtin is the include: entry that stands for actkern's own spec, the
// one embedded in this module (package github.com/actkern/actkern/spec).
const Builtin = "actkern"

// includes is the state shared by a spec and the files it includes,
// directly or not.
type includes struct {
	stack []string       // the files being loaded, outermost first (keys as in first)
	first map[string]Pos // every file included so far: where it was first included
}

func parse(file string, data []byte, inc *includes) (*Spec, error) {
	l := &loader{file: file, lines: splitLines(data), where: map[*Activation]*entryPos{}, inc: inc}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.errs = append(l.errs, yamlError(file, err))
		return nil, l.errs
	}
	s := l.spec(&doc)
	if len(l.errs) > 0 {
		l.errs.sort()
		return nil, l.errs
	}
	return s, nil
}

// yamlErrorRE picks the line (and column, when the YAML library gives one)
// out of a YAML syntax error such as "yaml: line 3: did not find ...".
var yamlErrorRE = regexp.MustCompile(`^yaml: line (\d+)(?:, column (\d+))?: (.*)$`)

func yamlError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlErrorRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col := 1
		if m[2] != "" {
			col, _ = strconv.Atoi(m[2])
		}
		return &Error{Pos{file, line, col}, "YAML syntax: " + m[3]}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	return &Error{Pos{file, 1, 1}, "YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

func splitLines(data []byte) [][]rune {
	var out [][]rune
	for _, l := range bytes.Split(data, []byte("\n")) {
		out = append(out, []rune(strings.TrimSuffix(string(l), "\r")))
	}
	return out
}

type loader struct {
	file  string
	lines [][]rune // the source, for mapping offsets inside quoted formulas
	errs  ErrorList
	where map[*Activation]*entryPos
	// lets are the lets of the entry being decoded (entries are decoded
	// one at a time); formula checks uses of them against it.
	lets *letTable
	inc  *includes
	// pending are the gated and channel entries' references to the
	// entries they are built from, resolved after the last entry.
	pending []pendingRef
}

// entryPos keeps positions the types do not hold, for the checks that run
// after decoding.
type entryPos struct {
	goName     Pos
	defaults   []Pos // per parameter: its default value
	testParams []Pos // per test_params set
}

func (l *loader) pos(n *yaml.Node) Pos { return Pos{l.file, n.Line, n.Column} }

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	l.errs.add(l.pos(n), format, args...)
}

// field is one key: value pair of a YAML mapping.
type field struct {
	key, val *yaml.Node
}

// resolve follows YAML aliases (*name) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// mapping decodes n as a mapping whose keys must all be in known, reporting
// the others (at the key) and duplicate keys (at the second). what names
// the thing for messages ("activation softplus", "parameter").
func (l *loader) mapping(n *yaml.Node, what string, known ...string) (map[string]field, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s: expected a mapping, got %s", what, kindName(n))
		return nil, false
	}
	m := map[string]field{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, "%s: keys must be plain names, got %s", what, kindName(k))
			continue
		}
		ok := false
		for _, f := range known {
			ok = ok || f == k.Value
		}
		if !ok {
			l.errorf(k, "%s: unknown field %q (known: %s)", what, k.Value, strings.Join(known, ", "))
			continue
		}
		if prev, dup := m[k.Value]; dup {
			l.errorf(k, "%s: field %q given twice (first at line %d)", what, k.Value, prev.key.Line)
			continue
		}
		m[k.Value] = field{k, v}
	}
	return m, true
}

// required reports, at the mapping n, each of the keys that m lacks.
func (l *loader) required(n *yaml.Node, m map[string]field, what string, keys ...string) {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			l.errorf(resolve(n), "%s: missing required field %q", what, k)
		}
	}
}

// str decodes a scalar field as a string. YAML numbers and booleans are
// accepted as their source text (a formula "0" is written 0), lists,
// mappings and empty values are not.
func (l *loader) str(f field) (string, bool) {
	v := f.val
	if v.Kind != yaml.ScalarNode {
		l.errorf(v, "%s: expected a string, got %s", f.key.Value, kindName(v))
		return "", false
	}
	if v.Tag == "!!null" || strings.TrimSpace(v.Value) == "" {
		l.errorf(v, "%s: empty value", f.key.Value)
		return "", false
	}
	return v.Value, true
}

// line decodes a one-line string (doc, why, ...).
func (l *loader) line(f field) (string, bool) {
	s, ok := l.str(f)
	if !ok {
		return "", false
	}
	s = strings.TrimRight(s, "\n")
	if strings.Contains(s, "\n") {
		l.errorf(f.val, "%s: must be one line", f.key.Value)
		return "", false
	}
	return s, true
}

// num decodes a scalar field as a finite number.
func (l *loader) num(f field) (float64, bool) {
	return l.numNode(f.key.Value, f.val)
}

func (l *loader) numNode(what string, v *yaml.Node) (float64, bool) {
	if v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!float") {
		l.errorf(v, "%s: expected a number, got %s", what, kindName(v))
		return 0, false
	}
	var x float64
	if err := v.Decode(&x); err != nil {
		l.errorf(v, "%s: expected a number, got %q", what, v.Value)
		return 0, false
	}
	if math.IsInf(x, 0) || math.IsNaN(x) {
		l.errorf(v, "%s: must be a finite number, got %s", what, v.Value)
		return 0, false
	}
	return x, true
}

// list decodes a sequence field.
func (l *loader) list(f field) ([]*yaml.Node, bool) {
	v := f.val
	if v.Kind != yaml.SequenceNode {
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			return nil, true // "kinks:" with nothing after it: no kinks
		}
		l.errorf(v, "%s: expected a list, got %s", f.key.Value, kindName(v))
		return nil, false
	}
	out := make([]*yaml.Node, len(v.Content))
	for i, c := range v.Content {
		out[i] = resolve(c)
	}
	return out, true
}

var snakeRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

var activationFields = []string{
	"name", "go_name", "kind", "doc", "torch", "params", "constants", "thresholds",
	"let", "let_output", "forward", "derivative", "derivative_output", "output_requires", "float32",
	"baseline", "kinks", "special", "deviations", "test_params", "accuracy_gaps", "rare",
	"specialize_defaults",
}

func (l *loader) spec(doc *yaml.Node) *Spec {
	s := &Spec{File: l.file}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		l.errs.add(Pos{l.file, 1, 1}, "empty spec: expected a mapping with the key activations")
		return nil
	}
	top, ok := l.mapping(doc.Content[0], "spec", "include", "activations")
	if !ok {
		return nil
	}
	// The included files' activations come first, in include order; the
	// names below check this file's entries against them too.
	var included []*Activation
	if f, ok := top["include"]; ok {
		included = l.include(f)
	}
	if _, ok := top["include"]; !ok {
		l.required(doc.Content[0], top, "spec", "activations")
	}
	var entries []*yaml.Node
	if f, ok := top["activations"]; ok {
		if entries, ok = l.list(f); !ok {
			return nil
		}
		if len(entries) == 0 && top["include"].key == nil {
			l.errorf(f.val, "activations: empty list")
			return nil
		}
	}
	names := map[string]*Activation{}
	goNames := map[string]*Activation{}
	for _, a := range included {
		if prev, dup := names[a.Name]; dup {
			l.errs.add(a.Pos, "duplicate name %s (first at %s)", a.Name, prev.Pos)
		} else {
			names[a.Name] = a
		}
		if prev, dup := goNames[a.GoName]; dup {
			l.errs.add(a.Pos, "duplicate go_name %s in %s (first at %s)", a.GoName, a.Name, prev.Pos)
		} else {
			goNames[a.GoName] = a
		}
		s.Activations = append(s.Activations, a)
	}
	var numeric []*Activation
	for _, n := range entries {
		before := len(l.errs)
		a := l.activation(n)
		if a == nil {
			continue
		}
		if a.Name != "" {
			if prev, dup := names[a.Name]; dup {
				l.errs.add(l.posOfField(n, "name"), "duplicate name %s (first at %s)", a.Name, l.where1(prev))
			} else {
				names[a.Name] = a
			}
		}
		if a.GoName != "" {
			if prev, dup := goNames[a.GoName]; dup {
				l.errs.add(l.posOfField(n, "go_name"), "duplicate go_name %s (first at %s)", a.GoName, l.where1(prev))
			} else {
				goNames[a.GoName] = a
			}
		}
		if len(l.errs) == before && a.Kind == "elementwise" {
			// Only an entry that is otherwise valid gets the numeric
			// checks: they evaluate its formulas.
			numeric = append(numeric, a)
		}
		s.Activations = append(s.Activations, a)
	}
	l.resolveRefs(names)
	// The numeric checks take most of the loading time and are
	// independent: one goroutine per activation.
	results := make([]ErrorList, len(numeric))
	var wg sync.WaitGroup
	for i, a := range numeric {
		wg.Go(func() { results[i] = semantic(a, l.where[a]) })
	}
	wg.Wait()
	for _, r := range results {
		l.errs = append(l.errs, r...)
	}
	// The generated package declares X, XBackward and XBackwardFromOutput
	// for each activation X: one activation's go_name must not be
	// another's derived name. (Two entries of one included file were
	// checked when it was loaded; this catches pairs across files.)
	for g, a := range goNames {
		for _, suffix := range []string{"Backward", "BackwardFromOutput"} {
			if base, ok := strings.CutSuffix(g, suffix); ok {
				if b, clash := goNames[base]; clash && (l.where[a] != nil || l.where[b] != nil || a.Pos.File != b.Pos.File) {
					l.errs.add(l.goNamePos(a), "go_name %s clashes with %s%s generated for %s (%s)", g, base, suffix, b.Name, l.where1(b))
				}
			}
		}
	}
	return s
}

// where1 is the position of a's entry for a message about a second one:
// the line alone within this file, file:line:col in another.
func (l *loader) where1(a *Activation) string {
	if a.Pos.File == l.file {
		return fmt.Sprintf("line %d", a.Pos.Line)
	}
	return a.Pos.String()
}

// include loads the files that the include: field f lists and returns
// their activations, in order. A file's problems are reported with its own
// positions; a missing file, a cycle or a file included twice is reported
// at the entry that names it.
func (l *loader) include(f field) []*Activation {
	items, ok := l.list(f)
	if !ok {
		return nil
	}
	var out []*Activation
	for _, n := range items {
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || strings.TrimSpace(n.Value) == "" {
			l.errorf(n, "include: expected a file name or %s, got %s", Builtin, kindName(n))
			continue
		}
		var (
			key, file string
			data      []byte
		)
		if n.Value == Builtin {
			key, file, data = Builtin, builtin.File, builtin.YAML
		} else {
			if l.file == builtin.File {
				l.errorf(n, "include %s: the built-in spec includes no files", n.Value)
				continue
			}
			file = filepath.FromSlash(n.Value)
			if !filepath.IsAbs(file) {
				file = filepath.Join(filepath.Dir(l.file), file)
			}
			abs, err := filepath.Abs(file)
			if err != nil {
				l.errorf(n, "include %s: %v", n.Value, err)
				continue
			}
			key = abs
		}
		if slices.Contains(l.inc.stack, key) {
			l.errorf(n, "include %s: include cycle (the file is already being loaded)", n.Value)
			continue
		}
		if prev, dup := l.inc.first[key]; dup {
			l.errorf(n, "include %s: already included at %s", n.Value, prev)
			continue
		}
		l.inc.first[key] = l.pos(n)
		if data == nil {
			var err error
			if data, err = os.ReadFile(file); err != nil {
				l.errorf(n, "include %s: %v", n.Value, err)
				continue
			}
		}
		l.inc.stack = append(l.inc.stack, key)
		sub, err := parse(file, data, l.inc)
		l.inc.stack = l.inc.stack[:len(l.inc.stack)-1]
		if err != nil {
			var list ErrorList
			if errors.As(err, &list) {
				l.errs = append(l.errs, list...)
			} else {
				l.errorf(n, "include %s: %v", n.Value, err)
			}
			continue
		}
		out = append(out, sub.Activations...)
	}
	return out
}

// positions of fields, kept beside the Activation for error messages that
// come after decoding.
func (l *loader) posOfField(n *yaml.Node, key string) Pos {
	n = resolve(n)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return l.pos(resolve(n.Content[i+1]))
		}
	}
	return l.pos(n)
}

// goNamePos is where a's go_name is: known for this file's entries; the
// entry itself for an included one.
func (l *loader) goNamePos(a *Activation) Pos {
	if w := l.where[a]; w != nil {
		return w.goName
	}
	return a.Pos
}

// reservedGoNames are the identifiers the generated packages declare
// beside the activations.
var reservedGoNames = map[string]bool{"New": true, "ISA": true, "Params": true, "Rowwise": true, "NewRowwise": true, "RowwiseNames": true}

// reservedVars are the kernels' own argument names: a parameter, constant
// or threshold of the same name would shadow them in generated code.
var reservedVars = map[string]string{
	"x":   "the input variable",
	"y":   "the output variable",
	"dst": "a kernel argument",
	"dx":  "a kernel argument",
	"dy":  "a kernel argument",
}

// checkLocalName checks the name of a parameter, constant or threshold:
// snake_case, not shadowing anything formulas or generated code rely on,
// unique in its entry.
func (l *loader) checkLocalName(v *yaml.Node, name, what string, seen map[string]int) bool {
	switch {
	case !snakeRE.MatchString(name):
		l.errorf(v, "%s name %q: must be snake_case ([a-z][a-z0-9_]*)", what, name)
	case reservedVars[name] != "":
		l.errorf(v, "%s name %s shadows %s", what, name, reservedVars[name])
	case expr.Functions[name] != 0:
		l.errorf(v, "%s name %s shadows the function %s", what, name, name)
	case expr.Constants[name] != "":
		l.errorf(v, "%s name %s shadows the built-in constant %s", what, name, name)
	case token.IsKeyword(name) || types.Universe.Lookup(name) != nil:
		l.errorf(v, "%s name %s is a Go keyword or predeclared identifier, which generated code cannot use", what, name)
	default:
		if line, dup := seen[name]; dup {
			l.errorf(v, "duplicate name %s in this activation (first at line %d)", name, line)
			return false
		}
		seen[name] = v.Line
		return true
	}
	return false
}

// formulaPos is the position of byte offset off inside the formula held by
// scalar n. It is exact for one-line plain and quoted scalars (escapes in
// quoted scalars are accounted for) and for literal blocks (|); for other
// multi-line scalars it falls back to the scalar's own position.
func (l *loader) formulaPos(n *yaml.Node, off int) Pos {
	base := l.pos(n)
	if off < 0 || off > len(n.Value) {
		return base
	}
	ri := utf8.RuneCountInString(n.Value[:off]) // yaml columns count characters
	if n.Line < 1 || n.Line > len(l.lines) {
		return base
	}
	raw := l.lines[n.Line-1]
	start := n.Column - 1
	if start < 0 || start > len(raw) {
		return base
	}
	switch n.Style {
	case 0, yaml.FlowStyle:
		val := []rune(n.Value)
		if strings.Contains(n.Value, "\n") || start+len(val) > len(raw) || string(raw[start:start+len(val)]) != n.Value {
			return base
		}
		return Pos{l.file, n.Line, n.Column + ri}
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		j := start + 1 // after the opening quote
		for i := 0; i < ri; i++ {
			if j >= len(raw) {
				return base // the scalar continues on the next line
			}
			switch {
			case n.Style == yaml.SingleQuotedStyle && raw[j] == '\'':
				j += 2 // '' stands for '
			case n.Style == yaml.DoubleQuotedStyle && raw[j] == '\\' && j+1 < len(raw):
				switch raw[j+1] {
				case 'x':
					j += 4
				case 'u':
					j += 6
				case 'U':
					j += 10
				default:
					j += 2
				}
			default:
				j++
			}
		}
		if j >= len(raw) {
			return base
		}
		return Pos{l.file, n.Line, j + 1}
	case yaml.LiteralStyle:
		// Content lines follow the "|" line, all with the indentation of
		// the first non-empty one.
		before := n.Value[:off]
		k := strings.Count(before, "\n")
		col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
		indent := -1
		for i := n.Line; i < len(l.lines); i++ {
			if s := strings.TrimLeft(string(l.lines[i]), " "); s != "" {
				indent = len(l.lines[i]) - utf8.RuneCountInString(s)
				break
			}
		}
		if indent < 0 {
			return base
		}
		return Pos{l.file, n.Line + 1 + k, indent + 1 + col}
	}
	return base
}

// formula parses and checks the formula in f over the names in scope
// (cond: a condition such as a require rule). It reports every error at
// the offending token and returns nil if there was any.
func (l *loader) formula(f field, scope map[string]bool, cond bool) *Formula {
	return l.formulaFor(f, scope, cond, nil)
}

// float32Formulas reads float32:, the formulas the float32 kernels
// evaluate instead of the entry's own (Activation.Float32), each over the
// same names as the formula it replaces.
func (l *loader) float32Formulas(f field, a *Activation, withVar func(string) map[string]bool) {
	if a.Kind != "elementwise" {
		l.errorf(f.key, "float32: only elementwise entries have float32 formulas (a %s entry's kernels use its gate's or its of's)", a.Kind)
		return
	}
	fm, ok := l.mapping(f.val, "float32", "forward", "derivative", "derivative_output", "float32_lanes")
	if !ok {
		return
	}
	defer l.float32Lanes(fm, a)
	if ff, ok := fm["forward"]; ok {
		a.Float32.Forward = l.formula(ff, withVar("x"), false)
	}
	if ff, ok := fm["derivative"]; ok {
		a.Float32.Derivative = l.formula(ff, withVar("x"), false)
	}
	if ff, ok := fm["derivative_output"]; ok {
		if a.DerivativeOutput == nil {
			l.errorf(ff.key, "float32: derivative_output replaces the entry's derivative_output, and it has none")
		} else {
			a.Float32.DerivativeOutput = l.formula(ff, withVar("y"), false)
		}
	}
}

// baselineFormulas reads baseline:, the formulas the benchmarks' plain-Go
// loop evaluates instead of the kernels' (Activation.Baseline).
func (l *loader) baselineFormulas(f field, a *Activation, withVar func(string) map[string]bool) {
	if a.Kind != "elementwise" {
		l.errorf(f.key, "baseline: only elementwise entries have baseline formulas (a %s entry's baseline uses its gate's or its of's)", a.Kind)
		return
	}
	fm, ok := l.mapping(f.val, "baseline", "forward", "derivative")
	if !ok {
		return
	}
	if ff, ok := fm["forward"]; ok {
		a.Baseline.Forward = l.formula(ff, withVar("x"), false)
	}
	if ff, ok := fm["derivative"]; ok {
		a.Baseline.Derivative = l.formula(ff, withVar("x"), false)
	}
}

// float32Lanes reads the float32 block's float32_lanes: the names of the
// formulas the float32 kernels compute in float32 lanes
// (Formula.Float32Lanes). A name the block gives a formula for marks that
// one; any other marks the entry's own, which is then written for float32
// arithmetic as it stands (hardsigmoid's gradient, a constant times a
// mask) and needs no copy in the block. Only float32 kernels read the
// mark.
func (l *loader) float32Lanes(fm map[string]field, a *Activation) {
	f, ok := fm["float32_lanes"]
	if !ok {
		return
	}
	names, ok := l.list(f)
	if !ok {
		return
	}
	kernels := a.Kernels(true)
	given := map[string]*Formula{"forward": kernels.Forward, "derivative": kernels.Derivative,
		"derivative_output": kernels.DerivativeOutput}
	for _, n := range names {
		g, known := given[n.Value]
		switch {
		case n.Kind != yaml.ScalarNode || !known:
			l.errorf(n, "float32_lanes: expected forward, derivative or derivative_output, got %q", n.Value)
		case g == nil:
			if _, written := fm[n.Value]; !written {
				l.errorf(n, "float32_lanes: %s: the entry has no derivative_output", n.Value)
			}
		default:
			g.Float32Lanes = true
		}
	}
}

// formulaFor is formula for the formula of the let user (nil: a formula
// that is not a let's), which matters for the lets it may use and for
// knowing which lets are used.
func (l *loader) formulaFor(f field, scope map[string]bool, cond bool, user *letDef) *Formula {
	src, ok := l.str(f)
	if !ok {
		return nil
	}
	e, err := expr.Parse(src)
	if err != nil {
		l.lets.blind = true // its uses of lets are unknown
		var pe expr.Error
		if errors.As(err, &pe) {
			l.errs.add(l.formulaPos(f.val, pe.Offset), "%s: %s", f.key.Value, pe.Msg)
		} else {
			l.errorf(f.val, "%s: %v", f.key.Value, err)
		}
		return nil
	}
	errs, scope := l.lets.letUses(e, scope, user)
	if cond {
		errs = append(errs, expr.CheckCond(e, scope)...)
	} else {
		errs = append(errs, expr.Check(e, scope)...)
	}
	for _, pe := range errs {
		l.errs.add(l.formulaPos(f.val, pe.Offset), "%s: %s", f.key.Value, pe.Msg)
	}
	if len(errs) > 0 {
		return nil
	}
	return &Formula{Src: src, Expr: e, Pos: l.formulaPos(f.val, 0)}
}

// numberRE is what a constant's value may be: a plain decimal number, so
// that the reference can take every digit.
var numberRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// label names a mapping for messages: "parameter beta" when it has a
// usable name, else just "parameter".
func label(n *yaml.Node, what string) string {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return what
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := resolve(n.Content[i]), resolve(n.Content[i+1]); k.Value == "name" && v.Kind == yaml.ScalarNode && snakeRE.MatchString(v.Value) {
			return what + " " + v.Value
		}
	}
	return what
}

func (l *loader) activation(n *yaml.Node) *Activation {
	what := label(n, "activation")
	m, ok := l.mapping(n, what, append(slices.Clone(activationFields), shapedFields()...)...)
	if !ok {
		return nil
	}
	n = resolve(n)
	before := len(l.errs)
	l.lets = &letTable{byName: map[string]*letDef{}}
	a := &Activation{Pos: l.pos(n), Kind: "elementwise"}
	at := &entryPos{goName: a.Pos}
	l.where[a] = at
	if f, ok := m["name"]; ok {
		if s, ok := l.str(f); ok {
			if snakeRE.MatchString(s) {
				a.Name = s
			} else {
				l.errorf(f.val, "name %q: must be snake_case ([a-z][a-z0-9_]*)", s)
			}
		}
	}
	if f, ok := m["go_name"]; ok {
		at.goName = l.pos(f.val)
		if s, ok := l.str(f); ok {
			switch {
			case !token.IsIdentifier(s) || !token.IsExported(s):
				l.errorf(f.val, "go_name %q: must be an exported Go identifier (such as LeakyReLU)", s)
			case reservedGoNames[s]:
				l.errorf(f.val, "go_name %s is reserved: the generated package declares it", s)
			default:
				a.GoName = s
			}
		}
	}
	if f, ok := m["kind"]; ok {
		if s, ok := l.str(f); ok {
			if !slices.Contains(kinds, s) {
				l.errorf(f.val, "kind %q: must be one of %s", s, strings.Join(kinds, ", "))
			} else {
				a.Kind = s
			}
		}
	}
	l.checkKindFields(n, m, a, what)
	if f, ok := m["doc"]; ok {
		a.Doc, _ = l.line(f)
	}
	if f, ok := m["torch"]; ok {
		a.Torch, _ = l.line(f)
	}

	// Names first: every formula below may use them.
	seen := map[string]int{}
	params := map[string]bool{}
	scope := map[string]bool{}
	var requires []field // each param's require, checked once the scope is known
	if f, ok := m["params"]; ok {
		items, _ := l.list(f)
		for _, pn := range items {
			pwhat := label(pn, "parameter")
			pm, ok := l.mapping(pn, pwhat, "name", "default", "require", "doc")
			if !ok {
				continue
			}
			p := Param{Pos: l.pos(pn)}
			l.required(pn, pm, pwhat, "name", "default")
			if nf, ok := pm["name"]; ok {
				if s, ok := l.str(nf); ok {
					if l.checkLocalName(nf.val, s, "parameter", seen) {
						p.Name = s
					}
					// In scope even if refused, so that its uses do not
					// each repeat the error.
					params[s] = true
					scope[s] = true
				}
			}
			if df, ok := pm["default"]; ok {
				p.Default, _ = l.num(df)
				at.defaults = append(at.defaults, l.pos(df.val))
			} else {
				at.defaults = append(at.defaults, p.Pos)
			}
			if df, ok := pm["doc"]; ok {
				p.Doc, _ = l.line(df)
			}
			if rf, ok := pm["require"]; ok {
				requires = append(requires, rf)
			} else {
				requires = append(requires, field{})
			}
			a.Params = append(a.Params, p)
		}
	}
	if f, ok := m["constants"]; ok {
		items, _ := l.list(f)
		for _, cn := range items {
			cwhat := label(cn, "constant")
			cm, ok := l.mapping(cn, cwhat, "name", "value", "doc")
			if !ok {
				continue
			}
			c := Constant{Pos: l.pos(cn)}
			l.required(cn, cm, cwhat, "name", "value")
			if nf, ok := cm["name"]; ok {
				if s, ok := l.str(nf); ok {
					if l.checkLocalName(nf.val, s, "constant", seen) {
						c.Name = s
					}
					scope[s] = true
				}
			}
			if vf, ok := cm["value"]; ok {
				if s, ok := l.str(vf); ok {
					if numberRE.MatchString(s) {
						c.Value = s
					} else {
						l.errorf(vf.val, "value %q: must be a decimal number such as 1.6732632423543772848170429916717", s)
					}
				}
			}
			if df, ok := cm["doc"]; ok {
				c.Doc, _ = l.line(df)
			}
			a.Constants = append(a.Constants, c)
		}
	}
	if f, ok := m["thresholds"]; ok {
		items, _ := l.list(f)
		for _, tn := range items {
			twhat := label(tn, "threshold")
			tm, ok := l.mapping(tn, twhat, "name", "f32", "f64", "what")
			if !ok {
				continue
			}
			t := Threshold{Pos: l.pos(tn)}
			l.required(tn, tm, twhat, "name", "f32", "f64")
			if nf, ok := tm["name"]; ok {
				if s, ok := l.str(nf); ok {
					if l.checkLocalName(nf.val, s, "threshold", seen) {
						t.Name = s
					}
					scope[s] = true
				}
			}
			if vf, ok := tm["f32"]; ok {
				if v, ok := l.num(vf); ok {
					if math.Abs(v) > math.MaxFloat32 {
						l.errorf(vf.val, "f32: %s is beyond the float32 range", vf.val.Value)
					}
					t.F32 = v
				}
			}
			if vf, ok := tm["f64"]; ok {
				t.F64, _ = l.num(vf)
			}
			if wf, ok := tm["what"]; ok {
				t.What, _ = l.line(wf)
			}
			a.Thresholds = append(a.Thresholds, t)
		}
	}

	// A rows entry's reductions are named before the lets, which may use them.
	fwdNames := map[string]bool{}
	fwdRed := l.reductionNames(m, "reduce", seen, fwdNames)
	bwdNames := map[string]bool{}
	bwdRed := l.reductionNames(m, "backward_reduce", seen, bwdNames)
	for k := range fwdNames {
		scope[k] = true
	}
	for k := range bwdNames {
		scope[k] = true
	}

	// Lets: names, then formulas, in order (each may use the earlier).
	l.letNames(m, a, seen)
	l.letFormulas(scope)

	// Formulas. Parameters' rules and output_requires are conditions over
	// the parameters (and named values); the rest are numbers. withVar(v)
	// is the scope of a formula over v ("" for none): the names above, v,
	// and the lets that depend on v or on no variable.
	withVar := func(v string) map[string]bool { return l.lets.scope(scope, v, allLets) }
	fixed := withVar("")
	for i, rf := range requires {
		if rf.key != nil {
			a.Params[i].Require = l.formula(rf, fixed, true)
		}
	}
	without := func(s, names map[string]bool) map[string]bool {
		for k := range names {
			delete(s, k)
		}
		return s
	}
	if f, ok := m["forward"]; ok {
		if fo := l.formula(f, without(withVar("x"), bwdNames), false); fo != nil {
			a.Forward = *fo
		}
	}
	if a.Kind == "rows" {
		a.Reduce = l.reductions(fwdRed, "reduce", without(withVar("x"), bwdNames))
		bwd := without(withVar("y"), fwdNames)
		bwd["dy"] = true
		if f, ok := m["output"]; ok && f.val.Value == "row" {
			// A row output's backward sees x per element, y and dy per row.
			for k := range withVar("x") {
				if !fwdNames[k] {
					bwd[k] = true
				}
			}
		}
		a.BackwardReduce = l.reductions(bwdRed, "backward_reduce", bwd)
		l.rowsFields(m, a, fixed, bwd)
	}
	l.composedFields(m, a)
	if f, ok := m["derivative"]; ok {
		if fo := l.formula(f, withVar("x"), false); fo != nil {
			a.Derivative = *fo
		}
	}
	if f, ok := m["derivative_output"]; ok {
		a.DerivativeOutput = l.formula(f, withVar("y"), false)
	}
	if f, ok := m["float32"]; ok {
		l.float32Formulas(f, a, withVar)
	}
	if f, ok := m["baseline"]; ok {
		l.baselineFormulas(f, a, withVar)
	}
	if f, ok := m["output_requires"]; ok {
		if _, has := m["derivative_output"]; !has {
			l.errorf(f.key, "output_requires without derivative_output: it says when derivative_output is valid")
		} else {
			a.OutputRequires = l.formula(f, fixed, true)
		}
	}
	if f, ok := m["kinks"]; ok {
		items, _ := l.list(f)
		for _, kn := range items {
			km, ok := l.mapping(kn, "kink", "at", "gradient", "why")
			if !ok {
				continue
			}
			k := Kink{Pos: l.pos(kn)}
			l.required(kn, km, "kink", "at", "gradient")
			if ff, ok := km["at"]; ok {
				if fo := l.formula(ff, fixed, false); fo != nil {
					k.At = *fo
				}
			}
			if ff, ok := km["gradient"]; ok {
				if fo := l.formula(ff, fixed, false); fo != nil {
					k.Gradient = *fo
				}
			}
			if ff, ok := km["why"]; ok {
				k.Why, _ = l.line(ff)
			}
			a.Kinks = append(a.Kinks, k)
		}
	}
	if f, ok := m["special"]; ok {
		items, ok := l.list(f)
		if ok && len(items) == 0 {
			l.errorf(f.val, "special: must list at least one special value (-inf, inf, nan ...)")
		}
		for _, sn := range items {
			sm, ok := l.mapping(sn, "special value", "x", "forward", "backward")
			if !ok {
				continue
			}
			sp := Special{Pos: l.pos(sn)}
			l.required(sn, sm, "special value", "x", "forward", "backward")
			for key, dst := range map[string]*Formula{"x": &sp.X, "forward": &sp.Forward, "backward": &sp.Backward} {
				if ff, ok := sm[key]; ok {
					if fo := l.formula(ff, fixed, false); fo != nil {
						*dst = *fo
					}
				}
			}
			a.Special = append(a.Special, sp)
		}
	}
	if f, ok := m["deviations"]; ok {
		items, _ := l.list(f)
		for _, dn := range items {
			if s, ok := l.line(field{f.key, dn}); ok {
				a.Deviations = append(a.Deviations, s)
			}
		}
	}
	if f, ok := m["test_params"]; ok {
		items, _ := l.list(f)
		for _, tn := range items {
			tn = resolve(tn)
			if tn.Kind != yaml.MappingNode {
				l.errorf(tn, "test_params: expected a mapping of parameter to value, got %s", kindName(tn))
				continue
			}
			set := map[string]float64{}
			for i := 0; i+1 < len(tn.Content); i += 2 {
				k, v := resolve(tn.Content[i]), resolve(tn.Content[i+1])
				if !params[k.Value] {
					l.errorf(k, "test_params: %q is not a parameter of %s (parameters: %s)", k.Value, a.Name, strings.Join(a.ParamNames(), ", "))
					continue
				}
				if _, dup := set[k.Value]; dup {
					l.errorf(k, "test_params: %s given twice", k.Value)
					continue
				}
				if x, ok := l.numNode(k.Value, v); ok {
					set[k.Value] = x
				}
			}
			if len(set) == 0 && len(tn.Content) == 0 {
				l.errorf(tn, "test_params: empty set (the defaults are always tested)")
			}
			a.TestParams = append(a.TestParams, set)
			at.testParams = append(at.testParams, l.pos(tn))
		}
	}
	if f, ok := m["specialize_defaults"]; ok {
		a.SpecializeDefaults = l.specializeDefaults(f, a)
	}
	if f, ok := m["rare"]; ok && a.Kind != "elementwise" {
		l.errorf(f.key, "rare: only elementwise entries name rare branches (a gated entry's kernels take its gate's), not a %s entry", a.Kind)
	} else if ok {
		items, _ := l.list(f)
		for _, rn := range items {
			if fo := l.formula(field{key: f.key, val: rn}, withVar("x"), true); fo != nil {
				a.Rare = append(a.Rare, *fo)
			}
		}
	}
	if f, ok := m["accuracy_gaps"]; ok {
		items, _ := l.list(f)
		for _, gn := range items {
			if g, ok := l.gap(gn); ok {
				a.Gaps = append(a.Gaps, g)
			}
		}
	}
	l.finishLets(a, before)
	if len(l.errs) == before {
		l.checkRare(a)
	}
	return a
}

// specializeDefaults reads specialize_defaults: true or false, for an
// elementwise entry with parameters (the kernels it asks for bind them).
func (l *loader) specializeDefaults(f field, a *Activation) bool {
	v := resolve(f.val)
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		l.errorf(v, "specialize_defaults: expected true or false, got %s", kindName(v))
		return false
	}
	on := v.Value == "true" || v.Value == "True" || v.Value == "TRUE"
	switch {
	case on && a.Kind != "elementwise":
		l.errorf(f.key, "specialize_defaults: only elementwise entries have kernels of their own to specialize, not a %s entry", a.Kind)
	case on && len(a.Params) == 0:
		l.errorf(f.key, "specialize_defaults: %s has no parameters to bind", a.Name)
	default:
		return on
	}
	return false
}

// gap reads one accuracy_gaps entry: a kernel known to miss the bar, with
// its measured figure and the reason.
func (l *loader) gap(n *yaml.Node) (Gap, bool) {
	n = resolve(n)
	m, ok := l.mapping(n, "accuracy_gaps entry", "type", "direction", "max_ulp", "why")
	if !ok {
		return Gap{}, false
	}
	l.required(n, m, "accuracy_gaps entry", "type", "direction", "max_ulp", "why")
	g := Gap{Pos: l.pos(n)}
	ok = true
	if f, has := m["type"]; has {
		g.Type, _ = l.str(f)
		if g.Type != "f32" && g.Type != "f64" {
			l.errorf(f.val, "accuracy_gaps: type must be f32 or f64, not %q", g.Type)
			ok = false
		}
	}
	if f, has := m["direction"]; has {
		g.Direction, _ = l.str(f)
		switch g.Direction {
		case "forward", "backward", "backward_from_output":
		default:
			l.errorf(f.val, "accuracy_gaps: direction must be forward, backward or backward_from_output, not %q", g.Direction)
			ok = false
		}
	}
	if f, has := m["max_ulp"]; has {
		g.MaxULP, _ = l.num(f)
		if g.MaxULP <= 2 {
			l.errorf(f.val, "accuracy_gaps: max_ulp %v is within the 2-ULP bar: not a gap, remove the entry", g.MaxULP)
			ok = false
		}
	}
	if f, has := m["why"]; has {
		g.Why, _ = l.line(f)
	}
	return g, ok && len(m) == 4
}
