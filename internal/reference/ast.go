package reference

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"math/big"
	"regexp"
	"strings"

	"github.com/actkern/actkern/internal/expr"
)

func parseExpr(src string) (ast.Expr, error) { return parser.ParseExpr(src) }

// compiler turns go/ast expressions into a graph of distinct
// subexpressions (equal subtrees become one node), from which the exact
// (Num) and the fast (float64) evaluators are built. Names are resolved
// here, once. Sharing matters: the spec's formulas arrive with their lets
// substituted, so a derivative of 8000 nodes may have 250 distinct ones, and
// a tree evaluation would compute the same sigmoid dozens of times.
type compiler struct {
	vars   map[string]int
	consts map[string]*literal
	nodes  []dnode
	index  map[string]int // structural key → node
	lits   map[string]*literal
}

func newCompiler(vars []string, consts map[string]string, fixed map[string]float64) (*compiler, error) {
	c := &compiler{vars: map[string]int{}, consts: map[string]*literal{}, index: map[string]int{}, lits: map[string]*literal{}}
	for i, v := range vars {
		if _, dup := c.vars[v]; dup {
			return nil, fmt.Errorf("reference: variable %q listed twice", v)
		}
		c.vars[v] = i
	}
	for _, table := range []map[string]string{expr.Constants, consts} {
		for name, s := range table {
			l, err := parseLiteral(s)
			if err != nil {
				return nil, fmt.Errorf("reference: constant %s = %q: %v", name, s, err)
			}
			c.consts[name] = l
		}
	}
	for name, v := range fixed {
		if _, ok := c.vars[name]; ok {
			return nil, fmt.Errorf("reference: %q is both a variable and a fixed value", name)
		}
		c.consts[name] = literalFloat64(v)
	}
	return c, nil
}

type opKind uint8

const (
	opVar opKind = iota
	opLit
	opNeg
	opAdd
	opSub
	opMul
	opQuo
	opMin
	opMax
	opFMA
	opAbs
	opUnary
	opWhere
	// Conditions (the first argument of where).
	opCmp
	opNot
	opAnd
	opOr
)

// dnode is one distinct subexpression.
type dnode struct {
	op    opKind
	fn    string // opUnary: the function; opCmp: the comparison
	args  []int
	vi    int      // opVar: argument index
	lit   *literal // opLit
	uses  int      // references from other nodes and from the roots
	konst bool     // depends on no variable
}

// add returns the node for n, creating it unless an equal one exists.
func (c *compiler) add(n dnode) int {
	var key strings.Builder
	fmt.Fprintf(&key, "%d %s %d", n.op, n.fn, n.vi)
	if n.lit != nil {
		fmt.Fprintf(&key, " %p", n.lit)
	}
	for _, a := range n.args {
		fmt.Fprintf(&key, " %d", a)
	}
	if i, ok := c.index[key.String()]; ok {
		return i
	}
	n.konst = n.op != opVar
	for _, a := range n.args {
		c.nodes[a].uses++
		n.konst = n.konst && c.nodes[a].konst
	}
	c.nodes = append(c.nodes, n)
	c.index[key.String()] = len(c.nodes) - 1
	return len(c.nodes) - 1
}

// legacyOctal matches Go integer literals like 010 (= 8), which
// big.ParseFloat would read as decimal: refused rather than misread.
var legacyOctal = regexp.MustCompile(`^0[0-9_]+$`)

func (c *compiler) num(e ast.Expr) (int, error) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return c.num(e.X)
	case *ast.BasicLit:
		if e.Kind != token.INT && e.Kind != token.FLOAT {
			return 0, errorf(e, "unsupported literal %s (only numbers)", e.Value)
		}
		if e.Kind == token.INT && legacyOctal.MatchString(e.Value) {
			return 0, errorf(e, "ambiguous legacy octal literal %s (write 0o…)", e.Value)
		}
		l, ok := c.lits[e.Value]
		if !ok {
			var err error
			if l, err = parseLiteral(e.Value); err != nil {
				return 0, errorf(e, "bad number %s: %v", e.Value, err)
			}
			c.lits[e.Value] = l
		}
		return c.add(dnode{op: opLit, lit: l}), nil
	case *ast.Ident:
		if i, ok := c.vars[e.Name]; ok {
			return c.add(dnode{op: opVar, vi: i}), nil
		}
		if l, ok := c.consts[e.Name]; ok {
			return c.add(dnode{op: opLit, lit: l}), nil
		}
		if _, ok := expr.Functions[e.Name]; ok {
			return 0, errorf(e, "function %s used as a value", e.Name)
		}
		return 0, errorf(e, "unknown name %q", e.Name)
	case *ast.UnaryExpr:
		switch e.Op {
		case token.ADD:
			return c.num(e.X)
		case token.SUB:
			x, err := c.num(e.X)
			if err != nil {
				return 0, err
			}
			return c.add(dnode{op: opNeg, args: []int{x}}), nil
		case token.NOT:
			return 0, errorf(e, "operator ! outside the condition of where")
		}
		return 0, errorf(e, "unsupported operator %s", e.Op)
	case *ast.BinaryExpr:
		return c.binary(e)
	case *ast.CallExpr:
		return c.call(e)
	case *ast.IndexExpr, *ast.IndexListExpr:
		return 0, errorf(e, "unsupported syntax: indexing")
	case *ast.SelectorExpr:
		return 0, errorf(e, "unsupported syntax: selector")
	case *ast.StarExpr:
		return 0, errorf(e, "unsupported syntax: pointer dereference")
	case *ast.SliceExpr:
		return 0, errorf(e, "unsupported syntax: slicing")
	}
	return 0, errorf(e, "unsupported syntax (%T)", e)
}

var comparisons = map[token.Token]string{
	token.LSS: "<", token.LEQ: "<=", token.GTR: ">", token.GEQ: ">=", token.EQL: "==", token.NEQ: "!=",
}

var arithmetic = map[token.Token]opKind{token.ADD: opAdd, token.SUB: opSub, token.MUL: opMul, token.QUO: opQuo}

func (c *compiler) binary(e *ast.BinaryExpr) (int, error) {
	op, ok := arithmetic[e.Op]
	if !ok {
		switch {
		case e.Op == token.LAND || e.Op == token.LOR:
			return 0, errorf(e, "operator %s outside the condition of where", e.Op)
		case comparisons[e.Op] != "":
			return 0, errorf(e, "comparison %s outside the condition of where", e.Op)
		}
		return 0, &Error{Pos: e.OpPos, Msg: "unsupported operator " + e.Op.String()}
	}
	x, err := c.num(e.X)
	if err != nil {
		return 0, err
	}
	y, err := c.num(e.Y)
	if err != nil {
		return 0, err
	}
	return c.add(dnode{op: op, args: []int{x, y}}), nil
}

func (c *compiler) cond(e ast.Expr) (int, error) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return c.cond(e.X)
	case *ast.UnaryExpr:
		if e.Op == token.NOT {
			x, err := c.cond(e.X)
			if err != nil {
				return 0, err
			}
			return c.add(dnode{op: opNot, args: []int{x}}), nil
		}
	case *ast.BinaryExpr:
		if e.Op == token.LAND || e.Op == token.LOR {
			x, err := c.cond(e.X)
			if err != nil {
				return 0, err
			}
			y, err := c.cond(e.Y)
			if err != nil {
				return 0, err
			}
			op := opAnd
			if e.Op == token.LOR {
				op = opOr
			}
			return c.add(dnode{op: op, args: []int{x, y}}), nil
		}
		if op, ok := comparisons[e.Op]; ok {
			x, err := c.num(e.X)
			if err != nil {
				return 0, err
			}
			y, err := c.num(e.Y)
			if err != nil {
				return 0, err
			}
			return c.add(dnode{op: opCmp, fn: op, args: []int{x, y}}), nil
		}
	}
	return 0, errorf(e, "condition expected: a comparison (%v) or a combination with && || !", expr.Comparisons)
}

// Go's float64 comparisons are IEEE's: false with a NaN, except !=.
var fastComparisons = map[string]func(a, b float64) bool{
	"<":  func(a, b float64) bool { return a < b },
	"<=": func(a, b float64) bool { return a <= b },
	">":  func(a, b float64) bool { return a > b },
	">=": func(a, b float64) bool { return a >= b },
	"==": func(a, b float64) bool { return a == b },
	"!=": func(a, b float64) bool { return a != b },
}

// fastUnaries are the float64 twins of unaries.
var fastUnaries = map[string]func(float64) float64{
	"exp":     math.Exp,
	"expm1":   math.Expm1,
	"log":     math.Log,
	"log1p":   math.Log1p,
	"tanh":    math.Tanh,
	"erf":     math.Erf,
	"erfc":    math.Erfc,
	"sin":     math.Sin,
	"cos":     math.Cos,
	"sqrt":    math.Sqrt,
	"abs":     math.Abs,
	"sigmoid": fastSigmoid,
	"exp_err": fastExpErr,
}

func (c *compiler) call(e *ast.CallExpr) (int, error) {
	id, ok := e.Fun.(*ast.Ident)
	if !ok {
		return 0, errorf(e.Fun, "unsupported call: the function must be a plain name")
	}
	arity, ok := expr.Functions[id.Name]
	if !ok {
		return 0, errorf(id, "unknown function %q", id.Name)
	}
	if e.Ellipsis.IsValid() {
		return 0, &Error{Pos: e.Ellipsis, Msg: "unsupported syntax: ..."}
	}
	if len(e.Args) != arity {
		return 0, errorf(id, "%s takes %d argument(s), got %d", id.Name, arity, len(e.Args))
	}
	if id.Name == "where" {
		cond, err := c.cond(e.Args[0])
		if err != nil {
			return 0, err
		}
		x, err := c.num(e.Args[1])
		if err != nil {
			return 0, err
		}
		y, err := c.num(e.Args[2])
		if err != nil {
			return 0, err
		}
		return c.add(dnode{op: opWhere, args: []int{cond, x, y}}), nil
	}
	var args []int
	for _, arg := range e.Args {
		a, err := c.num(arg)
		if err != nil {
			return 0, err
		}
		args = append(args, a)
	}
	switch id.Name {
	case "min":
		return c.add(dnode{op: opMin, args: args}), nil
	case "max":
		return c.add(dnode{op: opMax, args: args}), nil
	case "fma":
		return c.add(dnode{op: opFMA, args: args}), nil
	}
	if unaries[id.Name] == nil || fastUnaries[id.Name] == nil {
		return 0, errorf(id, "function %s is not implemented by the reference", id.Name)
	}
	if id.Name == "abs" {
		return c.add(dnode{op: opAbs, args: args}), nil
	}
	return c.add(dnode{op: opUnary, fn: id.Name, args: args}), nil
}

// amplified sets the lost bits of r = f(x): an elementary function's result
// is rounded (lost ≥ 1), and a relative error in x grows by f's condition
// number |x f'(x)/f(x)|, at most 2^cond(x, r).
func amplified(x, r Num, cond func(x, r *big.Float) int) Num {
	if r.NaN {
		return r
	}
	if r.F.IsInf() || r.F.Sign() == 0 || x.NaN || x.F.IsInf() || x.F.Sign() == 0 {
		r.lost = max(r.lost, x.lost, inexact(r))
		return r
	}
	r.lost = max(1, x.lost)
	if x.lost > 0 {
		r.lost += cond(x.F, r.F)
	}
	return r
}

// conditionGeneric bounds the condition number of any function by |x|/|r|:
// right for exp and sin (growth with |x|, and near sin's zeros), but far
// too pessimistic where the result is tiny and the function well
// conditioned: log1p(exp(-50000)) would count 72000 lost bits and retry at
// the highest precision.
func conditionGeneric(x, r *big.Float) int { return max(0, expo(x)) + max(0, -expo(r)) }

// conditionBits are per-function bounds, in bits, of the condition number
// κ = |x f'(x)/f(x)| at finite nonzero x and r = f(x) (one bit of margin
// each). A bound that is too low would let a cancellation pass unnoticed, so
// each is proved, not measured:
//   - exp: κ = |x|.
//   - expm1: x/(1-e^-x) ≤ 1+x for x > 0; ≤ 1 for x < 0.
//   - log: κ = 1/|log x| = 1/|r|.
//   - log1p: (1-e^-t)/t ≤ 1 for t = log1p(u) > 0; (e^|t|-1)/|t| ≤ e^|t|
//     for t < 0.
//   - tanh: 2|x|/sinh(2|x|) ≤ 1.
//   - sigmoid: |x|σ(-x): below 0.28 for x > 0, below |x| for x < 0.
//   - erf: erf is concave on x > 0, so x·erf'(x) ≤ erf(x): κ ≤ 1.
//   - erfc: for x > 0, erfc(x) > (2/√π)e^(-x²)/(x+√(x²+2)), so κ < 2x²+2x;
//     for x < 0, erfc(x) > 1 and κ < 1.13|x|e^(-x²) < 1/2.
//   - sqrt: κ = 1/2.
//
// sin and cos keep the generic bound.
var conditionBits = map[string]func(x, r *big.Float) int{
	"exp":   func(x, _ *big.Float) int { return max(0, expo(x)) + 1 },
	"expm1": func(x, _ *big.Float) int { return max(0, expo(x)) + 2 },
	"log":   func(_, r *big.Float) int { return max(0, 1-expo(r)) + 1 },
	"log1p": func(_, r *big.Float) int {
		if r.Sign() < 0 {
			return int(math.Ceil(-approx(r)*math.Log2E)) + 1
		}
		return 1
	},
	"tanh":    func(_, _ *big.Float) int { return 1 },
	"sigmoid": func(x, _ *big.Float) int { return max(0, expo(x)) + 1 },
	"erf":     func(_, _ *big.Float) int { return 1 },
	"erfc":    func(x, _ *big.Float) int { return 2*max(0, expo(x)) + 3 },
	"sqrt":    func(_, _ *big.Float) int { return 1 },
	"exp_err": func(_, _ *big.Float) int { return 0 }, // constant 0
}

// fma is a*b + c with the product exact: the reference has no rounding to
// recover, so fma(a, b, -(a*b)) is exactly 0 here.
func fma(a, b, c Num, prec uint) Num {
	if a.NaN || b.NaN || c.NaN {
		return nanNum
	}
	pa, pb := a.F.Prec(), b.F.Prec()
	p := mul(a, b, max(pa+pb, prec))
	if p.NaN {
		return p
	}
	return add(p, c, prec)
}

// fastExpErr is exp_err in exact arithmetic: 0 (NaN for NaN).
func fastExpErr(x float64) float64 {
	if math.IsNaN(x) {
		return x
	}
	return 0
}

// fastSigmoid is 1/(1+e^{-x}), written e^x/(1+e^x) for x < 0 so that the
// subnormal results below x ≈ -709 are not lost to e^{-x} overflowing.
func fastSigmoid(x float64) float64 {
	if x < 0 {
		e := math.Exp(x)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(-x))
}
