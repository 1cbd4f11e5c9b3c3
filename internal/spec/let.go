package spec

import (
	"fmt"
	"go/ast"
	"go/printer"
	"go/token"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/actkern/actkern/internal/expr"
)

// Lets are named sub-expressions of one entry (YAML let: over x,
// let_output: over y). They exist for the people who write the spec:
// formulas that carry double-float corrections repeat the same
// sub-expression three or four times, and a repeated piece of text is one
// that gets edited in one place and not the others. They do not exist for
// anything downstream: once an entry is checked, every use is replaced by
// a parenthesized copy of the let's expression, so the reference, the
// lowering and the generator see plain formulas. (Evaluating a let once
// would be common-subexpression elimination, which is the lowering's
// business, not the spec's.)
//
// The scope rules make every expansion meaningful: a let may use only
// earlier lets (so there are no cycles to detect), and a formula may use a
// let only if the variable the let depends on is in the formula's own
// scope (a let over x means nothing in derivative_output, whose variable
// is y, nor in a require rule, which has no variable at all).

// letDef is one let while its entry loads.
type letDef struct {
	name    string // as written
	refused bool   // name refused (reported): not in the entry's lets
	list    string // "let" or "let_output"
	v       string // the list's variable: "x" or "y"
	index   int    // order over both lists, let first
	node    *yaml.Node
	nameVal *yaml.Node
	doc     string
	src     field    // the formula field; key nil if missing
	formula *Formula // nil until checked, and if the check failed
	needs   string   // the variable it depends on: "x", "y" or ""
	uses    []*letDef
	used    bool // by a formula that is not a let
}

// letTable holds the lets of the entry being loaded.
type letTable struct {
	defs   []*letDef
	byName map[string]*letDef
	// blind: some formula of the entry did not parse, so its uses of
	// lets are unknown and "never used" cannot be decided.
	blind bool
}

// letVars maps each let list to the variable its formulas see.
var letVars = []struct{ list, v string }{{"let", "x"}, {"let_output", "y"}}

// letNames decodes the entry's let and let_output lists (names, docs and
// formula fields; the formulas come later, in letFormulas) into l.lets.
// seen is the entry's namespace of parameters, constants and thresholds.
func (l *loader) letNames(m map[string]field, a *Activation, seen map[string]int) {
	l.lets = &letTable{byName: map[string]*letDef{}}
	kinds := map[string]string{}
	for _, p := range a.Params {
		kinds[p.Name] = "parameter"
	}
	for _, c := range a.Constants {
		kinds[c.Name] = "constant"
	}
	for _, t := range a.Thresholds {
		kinds[t.Name] = "threshold"
	}
	for _, lv := range letVars {
		f, ok := m[lv.list]
		if !ok {
			continue
		}
		items, _ := l.list(f)
		for _, n := range items {
			what := label(n, lv.list)
			lm, ok := l.mapping(n, what, "name", "formula", "doc")
			if !ok {
				continue
			}
			d := &letDef{list: lv.list, v: lv.v, index: len(l.lets.defs), node: n, refused: true}
			l.required(n, lm, what, "name", "formula")
			if nf, ok := lm["name"]; ok {
				d.nameVal = nf.val
				if s, ok := l.str(nf); ok {
					d.name = s
					if prev := l.lets.byName[s]; prev != nil {
						l.errorf(nf.val, "duplicate let name %s (first at line %d)", s, prev.nameVal.Line)
					} else {
						if k := kinds[s]; k != "" {
							l.errorf(nf.val, "let name %s shadows the %s %s (line %d)", s, k, s, seen[s])
						} else {
							d.refused = !l.checkLocalName(nf.val, s, "let", seen)
						}
						// A refused name is still known as a let, so that
						// its uses do not each repeat the error; unless it
						// already means something else (x, a parameter, a
						// function ...), as its uses then mean that.
						if !d.refused || !(kinds[s] != "" || reservedVars[s] != "" || expr.Functions[s] != 0 || expr.Constants[s] != "") {
							l.lets.byName[s] = d
						}
					}
				}
			}
			if df, ok := lm["doc"]; ok {
				d.doc, _ = l.line(df)
			}
			if ff, ok := lm["formula"]; ok {
				d.src = ff
			}
			l.lets.defs = append(l.lets.defs, d)
		}
	}
}

// letFormulas checks each let's formula, in order, over base (the
// parameters, constants and thresholds), the let's variable and the
// earlier lets, and works out what each let depends on.
func (l *loader) letFormulas(base map[string]bool) {
	for _, d := range l.lets.defs {
		if d.src.key == nil {
			continue
		}
		scope := l.lets.scope(base, d.v, d.index)
		what := d.list
		if d.name != "" {
			what += " " + d.name
		}
		// formula prefixes its messages with the key: name the let
		// rather than say "formula:".
		key := *d.src.key
		key.Value = what
		d.formula = l.formulaFor(field{&key, d.src.val}, scope, false, d)
		if d.formula == nil {
			continue
		}
		for _, id := range expr.Uses(d.formula.Expr) {
			if id.Name == d.v {
				d.needs = d.v
			}
		}
		for _, u := range d.uses {
			if u.needs != "" {
				d.needs = u.needs
			}
		}
	}
}

// scope is base plus the variable v ("" for none) plus the lets that a
// formula over v may use: those before index upto whose variable is v or
// who have none. A let whose own formula failed is included whatever it
// depends on, so that its uses do not add errors to the one it has.
func (t *letTable) scope(base map[string]bool, v string, upto int) map[string]bool {
	s := make(map[string]bool, len(base)+len(t.defs)+1)
	for k, ok := range base {
		s[k] = ok
	}
	if v != "" {
		s[v] = true
	}
	for _, d := range t.defs {
		if d.index < upto && t.byName[d.name] == d && (d.formula == nil || d.needs == "" || d.needs == v) {
			s[d.name] = true
		}
	}
	return s
}

// allLets is the index past every let: formulas other than lets may use
// any of them (within the variable rule).
const allLets = int(^uint(0) >> 1)

// letUses records the lets e uses (for user, a let, or for a formula that
// is not one if user is nil) and returns an error for each use that is
// out of scope: a let that is not earlier than user, or one whose
// variable the formula does not have. It returns scope extended with the
// refused names, so that the checker does not report them a second time.
func (t *letTable) letUses(e ast.Expr, scope map[string]bool, user *letDef) ([]expr.Error, map[string]bool) {
	var errs []expr.Error
	extended := scope
	for _, id := range expr.Uses(e) {
		d := t.byName[id.Name]
		if d == nil {
			continue
		}
		if user != nil {
			user.uses = append(user.uses, d)
		} else {
			d.used = true
		}
		if scope[id.Name] {
			continue
		}
		var msg string
		if user != nil && d.index >= user.index {
			msg = fmt.Sprintf("unknown name %s (lets may only use earlier lets)", id.Name)
		} else {
			msg = fmt.Sprintf("let %s depends on %s, which is not available in this formula", id.Name, d.needs)
		}
		errs = append(errs, expr.Error{Offset: expr.Offset(id.Pos()), Msg: msg})
		if !extended[id.Name] {
			if len(extended) == len(scope) {
				extended = make(map[string]bool, len(scope)+1)
				for k, ok := range scope {
					extended[k] = ok
				}
			}
			extended[id.Name] = true
		}
	}
	return errs, extended
}

// finishLets reports the lets nothing uses, then, if the entry has no
// error (since errors were at before), substitutes the lets into every
// formula and prints each one's Expanded text.
func (l *loader) finishLets(a *Activation, before int) {
	t := l.lets
	if !t.blind {
		reached := map[*letDef]bool{}
		var reach func(d *letDef)
		reach = func(d *letDef) {
			if reached[d] {
				return
			}
			reached[d] = true
			for _, u := range d.uses {
				reach(u)
			}
		}
		for _, d := range t.defs {
			if d.used {
				reach(d)
			}
		}
		for _, d := range t.defs {
			if reached[d] || d.refused {
				continue
			}
			var by []string
			for _, o := range t.defs {
				for _, u := range o.uses {
					if u == d && !o.refused {
						by = append(by, o.name)
						break
					}
				}
			}
			if len(by) == 0 {
				l.errorf(d.nameVal, "let %s is never used", d.name)
			} else {
				l.errorf(d.nameVal, "let %s is never used (only by lets that are themselves never used: %s)", d.name, strings.Join(by, ", "))
			}
		}
	}
	if len(l.errs) > before {
		return
	}
	// In order: each let's expression is expanded before any later let
	// (or formula) copies it.
	for _, d := range t.defs {
		d.formula.Expr = t.expand(d.formula.Expr)
		lt := Let{Pos: l.pos(d.node), Name: d.name, Formula: *d.formula, Var: d.needs, Doc: d.doc}
		if d.list == "let" {
			a.Lets = append(a.Lets, lt)
		} else {
			a.LetsOutput = append(a.LetsOutput, lt)
		}
	}
	for _, f := range a.formulasAndLets() {
		if len(t.defs) > 0 {
			f.Expr = t.expand(f.Expr)
		}
		f.Expanded = printExpr(f.Expr)
		// The generator hands Expanded to code that parses it again; a
		// text that did not parse back to this tree would make the
		// generated tests check another formula than the kernels.
		if back, err := expr.Parse(f.Expanded); err != nil || !sameExpr(back, f.Expr) {
			l.errs.add(f.Pos, "internal error: the expanded formula %q does not parse back to the formula (%v)", f.Expanded, err)
		}
	}
}

// formulasAndLets lists every formula of a and then its lets' formulas.
func (a *Activation) formulasAndLets() []*Formula {
	fs := a.formulas()
	for i := range a.Lets {
		fs = append(fs, &a.Lets[i].Formula)
	}
	for i := range a.LetsOutput {
		fs = append(fs, &a.LetsOutput[i].Formula)
	}
	return fs
}

// formulas lists every formula of a (not the lets'), for passes over all
// of them.
func (a *Activation) formulas() []*Formula {
	var out []*Formula
	for i := range a.Params {
		if a.Params[i].Require != nil {
			out = append(out, a.Params[i].Require)
		}
	}
	for _, f := range []*Formula{&a.Forward, &a.Derivative} {
		if f.Expr != nil { // gated and channel entries have neither
			out = append(out, f)
		}
	}
	for _, rs := range [][]Reduction{a.Reduce, a.BackwardReduce} {
		for i := range rs {
			out = append(out, &rs[i].Of)
		}
	}
	if a.Backward != nil {
		out = append(out, a.Backward)
	}
	for i := range a.SpecialRows {
		for j := range a.SpecialRows[i].X {
			out = append(out, &a.SpecialRows[i].X[j])
		}
		for j := range a.SpecialRows[i].Forward {
			out = append(out, &a.SpecialRows[i].Forward[j])
		}
	}
	if a.DerivativeOutput != nil {
		out = append(out, a.DerivativeOutput)
	}
	for _, f := range []*Formula{a.Float32.Forward, a.Float32.Derivative, a.Float32.DerivativeOutput, a.Baseline.Forward, a.Baseline.Derivative} {
		if f != nil {
			out = append(out, f)
		}
	}
	if a.OutputRequires != nil {
		out = append(out, a.OutputRequires)
	}
	for i := range a.Rare {
		out = append(out, &a.Rare[i])
	}
	for i := range a.Kinks {
		out = append(out, &a.Kinks[i].At, &a.Kinks[i].Gradient)
	}
	for i := range a.Special {
		sp := &a.Special[i]
		out = append(out, &sp.X, &sp.Forward, &sp.Backward)
	}
	return out
}

// expand replaces, in place, each use of a let in e by a parenthesized
// copy of the let's (already expanded) expression. The copy's nodes all
// take the position of the name they replace: downstream code reports
// errors at Formula.Pos plus a node's offset, and the let's own offsets
// would point at unrelated text of this formula.
func (t *letTable) expand(e ast.Expr) ast.Expr {
	switch e := e.(type) {
	case *ast.Ident:
		if d := t.byName[e.Name]; d != nil {
			p := e.NamePos
			return &ast.ParenExpr{Lparen: p, X: copyAt(d.formula.Expr, p), Rparen: p}
		}
	case *ast.ParenExpr:
		e.X = t.expand(e.X)
	case *ast.UnaryExpr:
		e.X = t.expand(e.X)
	case *ast.BinaryExpr:
		e.X = t.expand(e.X)
		e.Y = t.expand(e.Y)
	case *ast.CallExpr:
		// e.Fun is a function name, never a let (the checker saw to it).
		for i, arg := range e.Args {
			e.Args[i] = t.expand(arg)
		}
	}
	return e
}

// copyAt deep-copies a checked formula with every position set to p.
func copyAt(e ast.Expr, p token.Pos) ast.Expr {
	switch e := e.(type) {
	case *ast.Ident:
		return &ast.Ident{NamePos: p, Name: e.Name}
	case *ast.BasicLit:
		return &ast.BasicLit{ValuePos: p, Kind: e.Kind, Value: e.Value}
	case *ast.ParenExpr:
		return &ast.ParenExpr{Lparen: p, X: copyAt(e.X, p), Rparen: p}
	case *ast.UnaryExpr:
		return &ast.UnaryExpr{OpPos: p, Op: e.Op, X: copyAt(e.X, p)}
	case *ast.BinaryExpr:
		return &ast.BinaryExpr{X: copyAt(e.X, p), OpPos: p, Op: e.Op, Y: copyAt(e.Y, p)}
	case *ast.CallExpr:
		args := make([]ast.Expr, len(e.Args))
		for i, a := range e.Args {
			args[i] = copyAt(a, p)
		}
		return &ast.CallExpr{Fun: copyAt(e.Fun, p), Lparen: p, Args: args, Rparen: p}
	}
	// expr.Check admits nothing else.
	panic(fmt.Sprintf("spec: copyAt: %T is outside the formula language", e))
}

// sameExpr tells whether a and b are the same formula, positions aside.
func sameExpr(a, b ast.Expr) bool {
	switch a := a.(type) {
	case *ast.Ident:
		b, ok := b.(*ast.Ident)
		return ok && a.Name == b.Name
	case *ast.BasicLit:
		b, ok := b.(*ast.BasicLit)
		return ok && a.Kind == b.Kind && a.Value == b.Value
	case *ast.ParenExpr:
		b, ok := b.(*ast.ParenExpr)
		return ok && sameExpr(a.X, b.X)
	case *ast.UnaryExpr:
		b, ok := b.(*ast.UnaryExpr)
		return ok && a.Op == b.Op && sameExpr(a.X, b.X)
	case *ast.BinaryExpr:
		b, ok := b.(*ast.BinaryExpr)
		return ok && a.Op == b.Op && sameExpr(a.X, b.X) && sameExpr(a.Y, b.Y)
	case *ast.CallExpr:
		b, ok := b.(*ast.CallExpr)
		if !ok || len(a.Args) != len(b.Args) || !sameExpr(a.Fun, b.Fun) {
			return false
		}
		for i := range a.Args {
			if !sameExpr(a.Args[i], b.Args[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// printExpr prints e on one line. The empty FileSet knows none of e's
// positions, so the printer takes no line breaks from them (a formula
// written as a multi-line YAML block comes out on one line).
func printExpr(e ast.Expr) string {
	var b strings.Builder
	if err := printer.Fprint(&b, token.NewFileSet(), e); err != nil {
		// Writing to a strings.Builder does not fail, and every node
		// type of the language prints.
		panic(fmt.Sprintf("spec: printing %T: %v", e, err))
	}
	return b.String()
}
