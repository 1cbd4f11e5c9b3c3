package reference

import (
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"regexp"

	"github.com/actkern/actkern/internal/expr"
)

func parseExpr(src string) (ast.Expr, error) { return parser.ParseExpr(src) }

// compiler turns a go/ast expression into two closure trees: one over Num
// (exact) and one over float64 (Fast). Names are resolved here, once.
type compiler struct {
	vars   map[string]int
	consts map[string]*literal
}

// legacyOctal matches Go integer literals like 010 (= 8), which
// big.ParseFloat would read as decimal: refused rather than misread.
var legacyOctal = regexp.MustCompile(`^0[0-9_]+$`)

func (c *compiler) num(e ast.Expr) (bigNode, fastNode, error) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return c.num(e.X)
	case *ast.BasicLit:
		if e.Kind != token.INT && e.Kind != token.FLOAT {
			return nil, nil, errorf(e, "unsupported literal %s (only numbers)", e.Value)
		}
		if e.Kind == token.INT && legacyOctal.MatchString(e.Value) {
			return nil, nil, errorf(e, "ambiguous legacy octal literal %s (write 0o…)", e.Value)
		}
		l, err := parseLiteral(e.Value)
		if err != nil {
			return nil, nil, errorf(e, "bad number %s: %v", e.Value, err)
		}
		return c.lit(l)
	case *ast.Ident:
		if i, ok := c.vars[e.Name]; ok {
			return func(a []Num, _ uint) Num { return a[i] },
				func(a []float64) float64 { return a[i] }, nil
		}
		if l, ok := c.consts[e.Name]; ok {
			return c.lit(l)
		}
		if _, ok := expr.Functions[e.Name]; ok {
			return nil, nil, errorf(e, "function %s used as a value", e.Name)
		}
		return nil, nil, errorf(e, "unknown name %q", e.Name)
	case *ast.UnaryExpr:
		switch e.Op {
		case token.ADD:
			return c.num(e.X)
		case token.SUB:
			b, f, err := c.num(e.X)
			if err != nil {
				return nil, nil, err
			}
			return func(a []Num, p uint) Num { return neg(b(a, p)) },
				func(a []float64) float64 { return -f(a) }, nil
		case token.NOT:
			return nil, nil, errorf(e, "operator ! outside the condition of where")
		}
		return nil, nil, errorf(e, "unsupported operator %s", e.Op)
	case *ast.BinaryExpr:
		return c.binary(e)
	case *ast.CallExpr:
		return c.call(e)
	case *ast.IndexExpr, *ast.IndexListExpr:
		return nil, nil, errorf(e, "unsupported syntax: indexing")
	case *ast.SelectorExpr:
		return nil, nil, errorf(e, "unsupported syntax: selector")
	case *ast.StarExpr:
		return nil, nil, errorf(e, "unsupported syntax: pointer dereference")
	case *ast.SliceExpr:
		return nil, nil, errorf(e, "unsupported syntax: slicing")
	}
	return nil, nil, errorf(e, "unsupported syntax (%T)", e)
}

func (c *compiler) lit(l *literal) (bigNode, fastNode, error) {
	v := l.f64
	return func(_ []Num, p uint) Num { return l.value(p) },
		func([]float64) float64 { return v }, nil
}

var comparisons = map[token.Token]string{
	token.LSS: "<", token.LEQ: "<=", token.GTR: ">", token.GEQ: ">=", token.EQL: "==", token.NEQ: "!=",
}

func (c *compiler) binary(e *ast.BinaryExpr) (bigNode, fastNode, error) {
	var op func(a, b Num, prec uint) Num
	var fop func(a, b float64) float64
	switch e.Op {
	case token.ADD:
		op, fop = add, func(a, b float64) float64 { return a + b }
	case token.SUB:
		op, fop = sub, func(a, b float64) float64 { return a - b }
	case token.MUL:
		// float64(·) keeps Go from fusing a product into a neighbouring
		// addition (FMA) on arm64: Fast must be plain float64 arithmetic.
		op, fop = mul, func(a, b float64) float64 { return float64(a * b) }
	case token.QUO:
		op, fop = quo, func(a, b float64) float64 { return a / b }
	case token.LAND, token.LOR:
		return nil, nil, errorf(e, "operator %s outside the condition of where", e.Op)
	default:
		if _, ok := comparisons[e.Op]; ok {
			return nil, nil, errorf(e, "comparison %s outside the condition of where", e.Op)
		}
		return nil, nil, &Error{Pos: e.OpPos, Msg: "unsupported operator " + e.Op.String()}
	}
	bx, fx, err := c.num(e.X)
	if err != nil {
		return nil, nil, err
	}
	by, fy, err := c.num(e.Y)
	if err != nil {
		return nil, nil, err
	}
	return func(a []Num, p uint) Num { return op(bx(a, p), by(a, p), p) },
		func(a []float64) float64 { return fop(fx(a), fy(a)) }, nil
}

func (c *compiler) cond(e ast.Expr) (bigCond, fastCond, error) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return c.cond(e.X)
	case *ast.UnaryExpr:
		if e.Op == token.NOT {
			b, f, err := c.cond(e.X)
			if err != nil {
				return nil, nil, err
			}
			return func(a []Num, p uint) bool { return !b(a, p) },
				func(a []float64) bool { return !f(a) }, nil
		}
	case *ast.BinaryExpr:
		if e.Op == token.LAND || e.Op == token.LOR {
			bx, fx, err := c.cond(e.X)
			if err != nil {
				return nil, nil, err
			}
			by, fy, err := c.cond(e.Y)
			if err != nil {
				return nil, nil, err
			}
			if e.Op == token.LAND {
				return func(a []Num, p uint) bool { return bx(a, p) && by(a, p) },
					func(a []float64) bool { return fx(a) && fy(a) }, nil
			}
			return func(a []Num, p uint) bool { return bx(a, p) || by(a, p) },
				func(a []float64) bool { return fx(a) || fy(a) }, nil
		}
		if op, ok := comparisons[e.Op]; ok {
			bx, fx, err := c.num(e.X)
			if err != nil {
				return nil, nil, err
			}
			by, fy, err := c.num(e.Y)
			if err != nil {
				return nil, nil, err
			}
			fcmp := fastComparisons[op]
			return func(a []Num, p uint) bool { return compare(op, bx(a, p), by(a, p)) },
				func(a []float64) bool { return fcmp(fx(a), fy(a)) }, nil
		}
	}
	return nil, nil, errorf(e, "condition expected: a comparison (%v) or a combination with && || !", expr.Comparisons)
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
}

func (c *compiler) call(e *ast.CallExpr) (bigNode, fastNode, error) {
	id, ok := e.Fun.(*ast.Ident)
	if !ok {
		return nil, nil, errorf(e.Fun, "unsupported call: the function must be a plain name")
	}
	arity, ok := expr.Functions[id.Name]
	if !ok {
		return nil, nil, errorf(id, "unknown function %q", id.Name)
	}
	if e.Ellipsis.IsValid() {
		return nil, nil, &Error{Pos: e.Ellipsis, Msg: "unsupported syntax: ..."}
	}
	if len(e.Args) != arity {
		return nil, nil, errorf(id, "%s takes %d argument(s), got %d", id.Name, arity, len(e.Args))
	}
	if id.Name == "where" {
		bc, fc, err := c.cond(e.Args[0])
		if err != nil {
			return nil, nil, err
		}
		bx, fx, err := c.num(e.Args[1])
		if err != nil {
			return nil, nil, err
		}
		by, fy, err := c.num(e.Args[2])
		if err != nil {
			return nil, nil, err
		}
		// Only the chosen branch is evaluated: the branches have no side
		// effects, so this is the select of both, faster.
		return func(a []Num, p uint) Num {
				if bc(a, p) {
					return bx(a, p)
				}
				return by(a, p)
			}, func(a []float64) float64 {
				if fc(a) {
					return fx(a)
				}
				return fy(a)
			}, nil
	}
	var bs []bigNode
	var fs []fastNode
	for _, arg := range e.Args {
		b, f, err := c.num(arg)
		if err != nil {
			return nil, nil, err
		}
		bs, fs = append(bs, b), append(fs, f)
	}
	switch id.Name {
	case "min", "max":
		op, x, y := minimum, bs[0], bs[1]
		fx, fy := fs[0], fs[1]
		// Go's built-in min and max are IEEE 754-2019 minimum/maximum:
		// NaN wins, -0 < +0.
		ff := func(a []float64) float64 { return min(fx(a), fy(a)) }
		if id.Name == "max" {
			op = maximum
			ff = func(a []float64) float64 { return max(fx(a), fy(a)) }
		}
		return func(a []Num, p uint) Num { return op(x(a, p), y(a, p)) }, ff, nil
	}
	if id.Name == "fma" {
		x, y, z := bs[0], bs[1], bs[2]
		fx, fy, fz := fs[0], fs[1], fs[2]
		return func(a []Num, p uint) Num { return fma(x(a, p), y(a, p), z(a, p), p) },
			func(a []float64) float64 { return math.FMA(fx(a), fy(a), fz(a)) }, nil
	}
	u, fu := unaries[id.Name], fastUnaries[id.Name]
	if u == nil || fu == nil {
		return nil, nil, errorf(id, "function %s is not implemented by the reference", id.Name)
	}
	x, fx := bs[0], fs[0]
	if id.Name == "abs" {
		return func(a []Num, p uint) Num { v := x(a, p); r := u(v, p); r.lost = v.lost; return r },
			func(a []float64) float64 { return fu(fx(a)) }, nil
	}
	return func(a []Num, p uint) Num { v := x(a, p); return amplified(v, u(v, p)) },
		func(a []float64) float64 { return fu(fx(a)) }, nil
}

// amplified sets the lost bits of r = f(x): an elementary function's result
// is rounded (lost ≥ 1), and a relative error in x grows by up to |x| (exp,
// sin) and, where the result is small, by 1/|r| (sin near its zeros).
func amplified(x, r Num) Num {
	if r.NaN {
		return r
	}
	if r.F.IsInf() || r.F.Sign() == 0 || x.NaN || x.F.IsInf() || x.F.Sign() == 0 {
		r.lost = max(r.lost, x.lost, inexact(r))
		return r
	}
	r.lost = max(1, x.lost)
	if x.lost > 0 {
		r.lost += max(0, expo(x.F)) + max(0, -expo(r.F))
	}
	return r
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

// fastSigmoid is 1/(1+e^{-x}), written e^x/(1+e^x) for x < 0 so that the
// subnormal results below x ≈ -709 are not lost to e^{-x} overflowing.
func fastSigmoid(x float64) float64 {
	if x < 0 {
		e := math.Exp(x)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(-x))
}
