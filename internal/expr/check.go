package expr

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"sort"
	"strings"
)

// Error is a problem in one formula. Offset is the 0-based byte offset into
// the formula's source of the token the problem is about, so that a caller
// that knows where the formula sits in a file can point at that token.
type Error struct {
	Offset int
	Msg    string
}

func (e Error) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// Parse parses a formula with go/parser. The returned tree's token.Pos
// values are offset+1 (the tree comes from a fresh FileSet whose only file
// has base 1), which is what Check and Offset rely on. A syntax error comes
// back as an Error positioned at the token go/parser complained about.
func Parse(src string) (ast.Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, Error{0, "empty formula"}
	}
	fset := token.NewFileSet()
	e, err := parser.ParseExprFrom(fset, "", src, 0)
	if err != nil {
		if list, ok := err.(scanner.ErrorList); ok && len(list) > 0 {
			return nil, Error{list[0].Pos.Offset, list[0].Msg}
		}
		return nil, Error{0, err.Error()}
	}
	return e, nil
}

// Offset is the 0-based byte offset of p in the source given to Parse.
func Offset(p token.Pos) int {
	if !p.IsValid() {
		return 0
	}
	return int(p) - 1
}

// Check reports every construct of a numeric formula e that is outside the
// language: unknown functions, wrong arity, names not in scope, and syntax
// the language does not have. names is the scope given by the caller
// (variables, parameters, the entry's constants and thresholds); the
// built-in Constants are always in scope. Errors are sorted by offset.
func Check(e ast.Expr, names map[string]bool) []Error {
	c := newChecker(names)
	c.num(e)
	return c.sorted()
}

// CheckCond is Check for a condition: a formula whose top level is a
// comparison or a logical combination of comparisons, such as a
// parameter's require rule ("beta > 0 && beta < 10").
func CheckCond(e ast.Expr, names map[string]bool) []Error {
	c := newChecker(names)
	c.cond(e)
	return c.sorted()
}

// Vars returns the names e uses as values (not the functions it calls),
// sorted and without duplicates.
func Vars(e ast.Expr) []string {
	seen := map[string]bool{}
	for _, id := range Uses(e) {
		seen[id.Name] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Uses returns every identifier e uses as a value, in source order, one
// per occurrence; the names of called functions are not values and are
// left out. The loader uses it to find (and then replace) uses of named
// sub-expressions without mistaking a call such as t(x) for one.
func Uses(e ast.Expr) []*ast.Ident {
	var out []*ast.Ident
	var walk func(n ast.Expr)
	walk = func(n ast.Expr) {
		switch n := n.(type) {
		case *ast.Ident:
			out = append(out, n)
		case *ast.ParenExpr:
			walk(n.X)
		case *ast.UnaryExpr:
			walk(n.X)
		case *ast.BinaryExpr:
			walk(n.X)
			walk(n.Y)
		case *ast.CallExpr:
			if _, ok := n.Fun.(*ast.Ident); !ok {
				walk(n.Fun)
			}
			for _, a := range n.Args {
				walk(a)
			}
		}
	}
	walk(e)
	return out
}

type checker struct {
	names map[string]bool
	errs  []Error
}

func newChecker(names map[string]bool) *checker {
	return &checker{names: names}
}

func (c *checker) errorf(p token.Pos, format string, args ...any) {
	c.errs = append(c.errs, Error{Offset(p), fmt.Sprintf(format, args...)})
}

func (c *checker) sorted() []Error {
	sort.SliceStable(c.errs, func(i, j int) bool { return c.errs[i].Offset < c.errs[j].Offset })
	return c.errs
}

func isComparison(op token.Token) bool {
	switch op {
	case token.LSS, token.LEQ, token.GTR, token.GEQ, token.EQL, token.NEQ:
		return true
	}
	return false
}

// isCond tells whether e is, syntactically, a condition; used to word the
// error when a condition appears where a number is needed and vice versa.
func isCond(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return isCond(e.X)
	case *ast.UnaryExpr:
		return e.Op == token.NOT
	case *ast.BinaryExpr:
		return isComparison(e.Op) || e.Op == token.LAND || e.Op == token.LOR
	}
	return false
}

// num checks e where a number is expected.
func (c *checker) num(e ast.Expr) {
	switch e := e.(type) {
	case *ast.Ident:
		c.ident(e)
	case *ast.BasicLit:
		c.lit(e)
	case *ast.ParenExpr:
		c.num(e.X)
	case *ast.UnaryExpr:
		switch e.Op {
		case token.ADD, token.SUB:
			c.num(e.X)
		case token.NOT:
			c.errorf(e.OpPos, "! is only allowed in the first argument of where")
			c.cond(e.X)
		case token.XOR:
			c.errorf(e.OpPos, "bit operator ^ is not supported")
			c.num(e.X)
		default:
			c.errorf(e.OpPos, "operator %s is not supported", e.Op)
			c.num(e.X)
		}
	case *ast.BinaryExpr:
		switch {
		case e.Op == token.ADD || e.Op == token.SUB || e.Op == token.MUL || e.Op == token.QUO:
			c.num(e.X)
			c.num(e.Y)
		case isComparison(e.Op):
			c.errorf(e.OpPos, "comparison %s is only allowed in the first argument of where", e.Op)
			c.num(e.X)
			c.num(e.Y)
		case e.Op == token.LAND || e.Op == token.LOR:
			c.errorf(e.OpPos, "%s is only allowed in the first argument of where", e.Op)
			c.cond(e.X)
			c.cond(e.Y)
		case e.Op == token.REM:
			c.errorf(e.OpPos, "operator %% is not supported")
			c.num(e.X)
			c.num(e.Y)
		default: // & | ^ << >> &^
			c.errorf(e.OpPos, "bit operator %s is not supported", e.Op)
			c.num(e.X)
			c.num(e.Y)
		}
	case *ast.CallExpr:
		c.call(e)
	default:
		c.unsupported(e)
	}
}

// cond checks e where a condition is expected: the first argument of
// where, or a require rule.
func (c *checker) cond(e ast.Expr) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		c.cond(e.X)
	case *ast.UnaryExpr:
		if e.Op == token.NOT {
			c.cond(e.X)
			return
		}
		c.notCond(e)
	case *ast.BinaryExpr:
		switch {
		case isComparison(e.Op):
			c.operand(e.X)
			c.operand(e.Y)
		case e.Op == token.LAND || e.Op == token.LOR:
			c.cond(e.X)
			c.cond(e.Y)
		default:
			c.notCond(e)
		}
	default:
		c.notCond(e)
	}
}

// operand checks one side of a comparison: a number. A comparison there
// means a chain such as 0 < x < 1, which Go (and so the language) reads as
// (0 < x) < 1; say how to write it instead.
func (c *checker) operand(e ast.Expr) {
	if b, ok := ast.Unparen(e).(*ast.BinaryExpr); ok && isComparison(b.Op) {
		c.errorf(b.OpPos, "comparisons cannot be chained: write a < x && x < b")
		c.operand(b.X)
		c.operand(b.Y)
		return
	}
	c.num(e)
}

// notCond reports a numeric expression where a condition is needed, and
// still checks it as a number so that its own errors are not lost.
func (c *checker) notCond(e ast.Expr) {
	switch e.(type) {
	case *ast.Ident, *ast.BasicLit, *ast.ParenExpr, *ast.UnaryExpr, *ast.BinaryExpr, *ast.CallExpr:
		c.errorf(e.Pos(), "need a condition (a comparison such as x > 0, possibly combined with && || !), got a number")
	}
	c.num(e)
}

func (c *checker) ident(id *ast.Ident) {
	if c.names[id.Name] {
		return
	}
	if _, ok := Constants[id.Name]; ok {
		return
	}
	if _, ok := Functions[id.Name]; ok {
		c.errorf(id.Pos(), "%s is a function: call it as %s(...)", id.Name, id.Name)
		return
	}
	scope := c.scopeNames()
	msg := fmt.Sprintf("unknown name %s", id.Name)
	if id.Name == "x" || id.Name == "y" {
		// The variables are in scope only in some formulas (y only in
		// derivative_output); a suggestion of the other one would mislead.
		msg = fmt.Sprintf("%s is not available in this formula", id.Name)
	} else if s := closest(id.Name, scope); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	c.errorf(id.Pos(), "%s; in scope: %s", msg, strings.Join(scope, ", "))
}

// scopeNames lists what a formula may name: the caller's names first,
// then the built-in constants.
func (c *checker) scopeNames() []string {
	var local, builtin []string
	for n, ok := range c.names {
		if ok {
			local = append(local, n)
		}
	}
	for n := range Constants {
		if !c.names[n] {
			builtin = append(builtin, n)
		}
	}
	sort.Strings(local)
	sort.Strings(builtin)
	return append(local, builtin...)
}

func (c *checker) lit(l *ast.BasicLit) {
	switch l.Kind {
	case token.INT, token.FLOAT:
		if !isDecimal(l.Value) {
			c.errorf(l.ValuePos, "number %s: only plain decimal numbers are allowed (digits, optional point, optional exponent)", l.Value)
		}
	case token.STRING:
		c.errorf(l.ValuePos, "string literal %s is not supported", l.Value)
	case token.CHAR:
		c.errorf(l.ValuePos, "character literal %s is not supported", l.Value)
	default:
		c.errorf(l.ValuePos, "literal %s is not supported", l.Value)
	}
}

// isDecimal accepts 12, 1.5, .5, 1., 1e-3, 2.5E+10 and refuses hex, octal,
// binary, digit separators and leading-zero integers (Go reads 017 as
// octal 15; a reader of the spec would read 17).
func isDecimal(s string) bool {
	i := 0
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	intDigits := digits
	frac := false
	if i < len(s) && s[i] == '.' {
		frac = true
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	exp := false
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		exp = true
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		if n == 0 {
			return false
		}
	}
	if i != len(s) {
		return false
	}
	if !frac && !exp && intDigits > 1 && s[0] == '0' {
		return false
	}
	return true
}

func (c *checker) call(e *ast.CallExpr) {
	id, ok := e.Fun.(*ast.Ident)
	if !ok {
		if _, sel := e.Fun.(*ast.SelectorExpr); sel {
			c.unsupported(e.Fun)
		} else {
			c.errorf(e.Fun.Pos(), "only named functions can be called (known: %s)", knownFunctions())
		}
		for _, a := range e.Args {
			c.num(a)
		}
		return
	}
	if e.Ellipsis.IsValid() {
		c.errorf(e.Ellipsis, "... is not supported")
	}
	want, ok := Functions[id.Name]
	if !ok {
		msg := fmt.Sprintf("unknown function %s", id.Name)
		if c.names[id.Name] {
			msg = fmt.Sprintf("%s is not a function", id.Name)
		} else if s := closest(id.Name, sortedFunctions()); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		c.errorf(id.Pos(), "%s; known functions: %s", msg, knownFunctions())
		for _, a := range e.Args {
			c.num(a)
		}
		return
	}
	if len(e.Args) != want {
		c.errorf(id.Pos(), "%s takes %d argument%s, got %d", id.Name, want, plural(want), len(e.Args))
	}
	for i, a := range e.Args {
		if id.Name == "where" && i == 0 {
			if !isCond(a) {
				c.errorf(a.Pos(), "first argument of where must be a condition (a comparison such as x > 0, possibly combined with && || !)")
				c.num(a)
				continue
			}
			c.cond(a)
			continue
		}
		c.num(a)
	}
}

func (c *checker) unsupported(e ast.Expr) {
	switch e := e.(type) {
	case *ast.IndexExpr:
		c.errorf(e.Lbrack, "indexing is not supported")
	case *ast.IndexListExpr:
		c.errorf(e.Lbrack, "indexing is not supported")
	case *ast.SliceExpr:
		c.errorf(e.Lbrack, "slicing is not supported")
	case *ast.SelectorExpr:
		c.errorf(e.Sel.Pos(), "selector .%s is not supported: functions and constants are plain names (known functions: %s)", e.Sel.Name, knownFunctions())
	case *ast.StarExpr:
		c.errorf(e.Star, "pointer dereference * is not supported")
	case *ast.TypeAssertExpr:
		c.errorf(e.Lparen, "type assertion is not supported")
	case *ast.CompositeLit:
		c.errorf(e.Lbrace, "composite literal is not supported")
	case *ast.FuncLit:
		c.errorf(e.Pos(), "function literal is not supported")
	case *ast.KeyValueExpr:
		c.errorf(e.Colon, "key: value is not supported")
	default:
		c.errorf(e.Pos(), "unsupported syntax %T", e)
	}
}

func sortedFunctions() []string {
	fs := make([]string, 0, len(Functions))
	for f := range Functions {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	return fs
}

func knownFunctions() string { return strings.Join(sortedFunctions(), ", ") }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// closest suggests the candidate within edit distance 2 of name (the
// smallest distance, then the first in order), or "".
func closest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
