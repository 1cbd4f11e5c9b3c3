package reference

import (
	"fmt"
	"go/ast"
	"go/token"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync"
)

// DefaultPrec is the precision (bits) Float64 and Float32 evaluate at.
const DefaultPrec = 200

// evalGuard is the number of bits every node of a formula carries beyond the
// requested precision, so that the final rounding to prec is the only one
// that matters.
const evalGuard = 32

// Error is a compile error. Pos is the position of the offending token as
// go/ast reports it; for an expression parsed by go/parser.ParseExpr (file
// base 1), Pos-1 is the byte offset in the source, which Error prints.
type Error struct {
	Pos token.Pos
	Msg string
}

// Offset is the byte offset of the token in a formula parsed by ParseExpr.
func (e *Error) Offset() int { return int(e.Pos) - 1 }

func (e *Error) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset(), e.Msg) }

func errorf(n ast.Node, format string, a ...any) error {
	return &Error{Pos: n.Pos(), Msg: fmt.Sprintf(format, a...)}
}

// Func is a compiled formula. It is safe for concurrent use.
type Func struct {
	vars   []string
	big    bigFn
	fast   fastFn
	nslots int       // shared nodes an evaluation keeps
	envs   sync.Pool // *fastEnv for Fast
}

// Compile prepares e for evaluation. vars are the variable names in
// argument order (e.g. ["x", "beta", "threshold"]); consts are extra named
// constants (decimal strings, "inf"/"-inf"/"nan" allowed) on top of
// expr.Constants (they override a built-in of the same name; a variable
// overrides both). It fails on unknown names, unknown functions, wrong
// arity and unsupported syntax, naming the token's offset.
func Compile(e ast.Expr, vars []string, consts map[string]string) (*Func, error) {
	return compile(e, vars, consts, true)
}

// compile is Compile; share false evaluates the formula as a tree (every
// occurrence of a subexpression on its own, nothing folded), which the tests
// compare with the shared evaluation.
func compile(e ast.Expr, vars []string, consts map[string]string, share bool) (*Func, error) {
	c, err := newCompiler(vars, consts, nil)
	if err != nil {
		return nil, err
	}
	root, err := c.num(e)
	if err != nil {
		return nil, err
	}
	c.nodes[root].uses++
	if !share {
		for i := range c.nodes {
			c.nodes[i].uses, c.nodes[i].konst = 1, false
		}
	}
	slot, n := c.slots()
	big, _ := c.buildBig(slot)
	fast, _ := c.buildFast(slot)
	return &Func{vars: append([]string(nil), vars...), big: big[root], fast: fast[root], nslots: n}, nil
}

// CompileProgram compiles several formulas together for the fast path (see
// Program). fixed binds some names to values for good (parameters, in a
// sweep): they are not variables, and what depends only on them and on
// constants is computed once, here.
func CompileProgram(es []ast.Expr, vars []string, consts map[string]string, fixed map[string]float64) (*Program, error) {
	c, err := newCompiler(vars, consts, fixed)
	if err != nil {
		return nil, err
	}
	roots := make([]int, len(es))
	for k, e := range es {
		if roots[k], err = c.num(e); err != nil {
			return nil, err
		}
		c.nodes[roots[k]].uses++
	}
	slot, n := c.slots()
	fast, _ := c.buildFast(slot)
	exact := c.buildExact(slot)
	cols := c.buildColumns(fast)
	p := &Program{nslots: n, nvars: len(vars)}
	for _, nd := range c.nodes {
		p.isCond = append(p.isCond, nd.op >= opCmp)
	}
	for _, r := range roots {
		p.roots = append(p.roots, fast[r])
		p.exact = append(p.exact, exact[r])
		p.cols = append(p.cols, cols[r])
	}
	return p, nil
}

// MustCompile parses src and compiles it, panicking on error (for tests and
// tables of known-good formulas).
func MustCompile(src string, vars []string, consts map[string]string) *Func {
	f, err := CompileString(src, vars, consts)
	if err != nil {
		panic(err)
	}
	return f
}

// CompileString parses src with go/parser.ParseExpr and compiles it.
func CompileString(src string, vars []string, consts map[string]string) (*Func, error) {
	e, err := parseExpr(src)
	if err != nil {
		return nil, err
	}
	return Compile(e, vars, consts)
}

// Vars are the variable names, in argument order.
func (f *Func) Vars() []string { return append([]string(nil), f.vars...) }

func (f *Func) checkArgs(n int) {
	if n != len(f.vars) {
		panic(fmt.Sprintf("reference: %d arguments for variables %v", n, f.vars))
	}
}

// Big evaluates the formula exactly and rounds the result once to prec
// bits. The arguments are taken as exact values of any precision.
func (f *Func) Big(prec uint, args ...*big.Float) Num {
	ns := make([]Num, len(args))
	for i, a := range args {
		ns[i] = Num{F: a}
	}
	return f.BigNum(prec, ns...)
}

// BigNum is Big with NaN-capable arguments.
func (f *Func) BigNum(prec uint, args ...Num) Num {
	f.checkArgs(len(args))
	if prec == 0 {
		panic("reference: precision 0")
	}
	e := &bigEnv{args: args, prec: prec + evalGuard}
	if f.nslots > 0 {
		e.memo, e.done = make([]Num, f.nslots), make([]bool, f.nslots)
	}
	return f.big(e).round(prec)
}

func numArgs(args []float64) []Num {
	ns := make([]Num, len(args))
	for i, a := range args {
		ns[i] = NumFloat64(a)
	}
	return ns
}

// Float64 is the exact value rounded once to float64.
func (f *Func) Float64(args ...float64) float64 {
	return f.rounded(numArgs(args), 53, -1074).Float64()
}

// Float32 is the exact value rounded once to float32: the big value is
// rounded directly (never through float64, which could round twice).
func (f *Func) Float32(args ...float64) float32 {
	return f.rounded(numArgs(args), 24, -149).Float32()
}

// rounded evaluates at DefaultPrec and, if the value lies so close to a
// rounding boundary of the target format (mant bits, smallest ulp
// 2^minUlp) that the evaluation error could decide the rounding, again at
// a much higher precision (Ziv's strategy). Exact ties stay ties at every
// precision and are then rounded to even, which is right.
//
// Before that, cancellation: while the value may have lost so many bits that
// fewer than mant+64 are left (Num.lost), it is evaluated again with the lost
// bits added to the precision, until two evaluations round to the same
// value. The agreement test matters because the loss count cannot tell a
// catastrophic cancellation (1 + tanh(-90) at 200 bits) from an exact one
// between equal rounded values (fma(s, s, -(s*s)), which is 0 at every
// precision): the first changes with the precision, the second does not.
func (f *Func) rounded(args []Num, mant, minUlp int) Num {
	prec := uint(DefaultPrec)
	v := f.BigNum(prec, args...)
	for try := 0; try < 6 && v.lost > int(prec)-mant-64 && prec < maxPrec; try++ {
		prec = min(prec+uint(v.lost)+64, maxPrec)
		w := f.BigNum(prec, args...)
		// Two zeros prove nothing: a deep cancellation stays 0 until the
		// precision covers it (x - tanh(x) at x = 1e-100 needs 700 bits).
		same := roundedEqual(v, w, mant) && (w.NaN || w.F.Sign() != 0)
		v = w
		if same {
			break
		}
	}
	// An exact value (nothing rounded on the way: lost 0) rounds correctly
	// as it is, even on a boundary (a tie, which more bits would not move).
	if v.lost > 0 && nearBoundary(v, mant, minUlp, int(prec)-v.lost-mant-48) {
		v = f.BigNum(4*prec, args...)
	}
	return v
}

// roundedEqual reports whether a and b round to the same value of the
// format with mant bits (24: float32, else float64).
func roundedEqual(a, b Num, mant int) bool {
	if a.NaN || b.NaN {
		return a.NaN == b.NaN
	}
	if mant == 24 {
		return math.Float32bits(a.Float32()) == math.Float32bits(b.Float32())
	}
	return math.Float64bits(a.Float64()) == math.Float64bits(b.Float64())
}

// maxPrec bounds the retries: a value still cancelling at this precision
// is taken as the zero it rounds to.
const maxPrec = 1 << 14

// nearBoundary reports whether finite nonzero v is within 2^-tol ulp of a
// midpoint between two neighbouring values of a binary format.
func nearBoundary(v Num, mant, minUlp, tol int) bool {
	if v.NaN || v.F.IsInf() || v.F.Sign() == 0 {
		return false
	}
	// ulp of the format at v's binade (the subnormal ulp below that).
	ulp := max(expo(v.F)-mant, minUlp)
	// d = frac(v / ulp) - 1/2, exact at the value's precision plus the
	// integer bits of v/ulp.
	s := scale2(v.F, -ulp)
	s.Abs(s)
	ib := max(expo(s), 0)
	fr := newF(s.Prec() + uint(ib) + 2)
	i, _ := s.Int(nil)
	fr.Sub(s, new(big.Float).SetInt(i))
	fr.Sub(fr, big.NewFloat(0.5))
	if fr.Sign() == 0 {
		return true
	}
	return expo(fr) < -tol
}

// Fast evaluates the same formula in float64 with package math: quick and
// about as accurate as math's functions, for judging float32 kernels over
// many points. Not correctly rounded.
func (f *Func) Fast(args ...float64) float64 {
	f.checkArgs(len(args))
	e, _ := f.envs.Get().(*fastEnv)
	if e == nil {
		e = &fastEnv{vals: make([]float64, f.nslots), stamp: make([]uint32, f.nslots)}
	}
	e.next(args)
	v := f.fast(e)
	e.args = nil
	f.envs.Put(e)
	return v
}

// literal is a constant value, parsed once, rounded per precision on demand.
type literal struct {
	src    string
	nan    bool
	inf    int // ±1 for ±Inf
	exact  *big.Float
	f64    float64
	byPrec sync.Map // uint → Num
}

// literalPrec is the precision literals are parsed at; a decimal like 0.1
// is then rounded from this to each working precision (requests above it
// re-parse the string).
const literalPrec = 2048

func parseLiteral(s string) (*literal, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "nan", "+nan", "-nan":
		return &literal{nan: true, f64: math.NaN()}, nil
	case "inf", "+inf", "infinity", "+infinity":
		return &literal{inf: 1, f64: math.Inf(1)}, nil
	case "-inf", "-infinity":
		return &literal{inf: -1, f64: math.Inf(-1)}, nil
	}
	v, _, err := big.ParseFloat(strings.TrimSpace(s), 0, literalPrec, big.ToNearestEven)
	if err != nil {
		return nil, err
	}
	f64, _ := v.Float64()
	return &literal{src: strings.TrimSpace(s), exact: v, f64: f64}, nil
}

// literalFloat64 is the exact value v as a literal (its text, for the
// precisions above literalPrec, is the exact hexadecimal form).
func literalFloat64(v float64) *literal {
	switch {
	case math.IsNaN(v):
		return &literal{nan: true, f64: v}
	case math.IsInf(v, 0):
		l := &literal{inf: 1, f64: v}
		if v < 0 {
			l.inf = -1
		}
		return l
	}
	return &literal{src: strconv.FormatFloat(v, 'x', -1, 64), exact: newF(literalPrec).SetFloat64(v), f64: v}
}

// isFloat64 reports whether the literal is a finite float64 exactly.
func (l *literal) isFloat64() bool {
	return !l.nan && l.inf == 0 && l.exact != nil && new(big.Float).SetFloat64(l.f64).Cmp(l.exact) == 0
}

func (l *literal) value(prec uint) Num {
	if l.nan {
		return nanNum
	}
	if l.inf != 0 {
		return num(inf(l.inf < 0, prec))
	}
	if v, ok := l.byPrec.Load(prec); ok {
		return v.(Num)
	}
	var n Num
	if prec > literalPrec {
		v, _, _ := big.ParseFloat(l.src, 0, prec, big.ToNearestEven) // parsed once already
		n = num(v)
	} else {
		n = num(newF(prec).Set(l.exact))
	}
	n.lost = inexact(n) // a decimal like 0.1 is rounded at every precision
	l.byPrec.Store(prec, n)
	return n
}
