package reference

import (
	"math"
	"sync"
)

// The evaluators built from a compiler's graph. A node referred to more than
// once is evaluated once per evaluation (its value kept in a slot of the
// evaluation's environment); a node that depends on no variable is folded
// to its value (fast path) or kept per precision (exact path), so that
// 2^-640 written as a product of sixteen quotients costs nothing. Values are
// deterministic functions of the arguments, so sharing changes no result.

// bigEnv is one exact evaluation: its arguments, working precision and the
// values of the shared nodes computed so far.
type bigEnv struct {
	args []Num
	prec uint
	memo []Num
	done []bool
}

type (
	bigFn     func(e *bigEnv) Num
	bigCondFn func(e *bigEnv) bool
)

// fastEnv is the state of fast evaluations: a shared node's value is current
// when its stamp is the evaluation's epoch.
type fastEnv struct {
	args  []float64
	vals  []float64
	stamp []uint32
	epoch uint32
}

// next starts a new evaluation.
func (e *fastEnv) next(args []float64) {
	e.args = args
	e.epoch++
	if e.epoch == 0 { // wrapped: forget every stamp
		clear(e.stamp)
		e.epoch = 1
	}
}

type (
	fastFn     func(e *fastEnv) float64
	fastCondFn func(e *fastEnv) bool
)

// slots numbers the nodes whose values an evaluation keeps: those used more
// than once, other than variables and literals (as cheap to read again).
func (c *compiler) slots() (slot []int, n int) {
	slot = make([]int, len(c.nodes))
	for i, nd := range c.nodes {
		slot[i] = -1
		if nd.uses > 1 && nd.op != opVar && nd.op != opLit && !nd.konst {
			slot[i] = n
			n++
		}
	}
	return slot, n
}

// buildBig returns the exact evaluator of every node (nil for conditions)
// and of every condition (nil for numbers); nodes come children first.
func (c *compiler) buildBig(slot []int) ([]bigFn, []bigCondFn) {
	num := make([]bigFn, len(c.nodes))
	cond := make([]bigCondFn, len(c.nodes))
	for i, nd := range c.nodes {
		a := nd.args
		var f bigFn
		switch nd.op {
		case opVar:
			vi := nd.vi
			f = func(e *bigEnv) Num { return e.args[vi] }
		case opLit:
			l := nd.lit
			f = func(e *bigEnv) Num { return l.value(e.prec) }
		case opNeg:
			x := num[a[0]]
			f = func(e *bigEnv) Num { return neg(x(e)) }
		case opAdd, opSub, opMul, opQuo:
			op := map[opKind]func(a, b Num, prec uint) Num{opAdd: add, opSub: sub, opMul: mul, opQuo: quo}[nd.op]
			x, y := num[a[0]], num[a[1]]
			f = func(e *bigEnv) Num { return op(x(e), y(e), e.prec) }
		case opMin, opMax:
			op := minimum
			if nd.op == opMax {
				op = maximum
			}
			x, y := num[a[0]], num[a[1]]
			f = func(e *bigEnv) Num { return op(x(e), y(e)) }
		case opFMA:
			x, y, z := num[a[0]], num[a[1]], num[a[2]]
			f = func(e *bigEnv) Num { return fma(x(e), y(e), z(e), e.prec) }
		case opAbs:
			x, u := num[a[0]], unaries["abs"]
			f = func(e *bigEnv) Num { v := x(e); r := u(v, e.prec); r.lost = v.lost; return r }
		case opUnary:
			x, u := num[a[0]], unaries[nd.fn]
			cnd := conditionBits[nd.fn]
			if cnd == nil {
				cnd = conditionGeneric
			}
			f = func(e *bigEnv) Num { v := x(e); return amplified(v, u(v, e.prec), cnd) }
		case opWhere:
			// Only the chosen branch is evaluated: the branches have no side
			// effects, so this is the select of both, faster.
			k, x, y := cond[a[0]], num[a[1]], num[a[2]]
			f = func(e *bigEnv) Num {
				if k(e) {
					return x(e)
				}
				return y(e)
			}
		case opCmp:
			op, x, y := nd.fn, num[a[0]], num[a[1]]
			cond[i] = func(e *bigEnv) bool { return compare(op, x(e), y(e)) }
		case opNot:
			x := cond[a[0]]
			cond[i] = func(e *bigEnv) bool { return !x(e) }
		case opAnd:
			x, y := cond[a[0]], cond[a[1]]
			cond[i] = func(e *bigEnv) bool { return x(e) && y(e) }
		case opOr:
			x, y := cond[a[0]], cond[a[1]]
			cond[i] = func(e *bigEnv) bool { return x(e) || y(e) }
		}
		if f == nil {
			continue
		}
		switch {
		case nd.konst && nd.op != opLit:
			// The same at every evaluation of a precision: kept per
			// precision, like a literal.
			inner := f
			var byPrec sync.Map // uint → Num
			f = func(e *bigEnv) Num {
				if v, ok := byPrec.Load(e.prec); ok {
					return v.(Num)
				}
				v := inner(e)
				byPrec.Store(e.prec, v)
				return v
			}
		case slot[i] >= 0:
			inner, s := f, slot[i]
			f = func(e *bigEnv) Num {
				if e.done[s] {
					return e.memo[s]
				}
				v := inner(e)
				e.memo[s], e.done[s] = v, true
				return v
			}
		}
		num[i] = f
	}
	return num, cond
}

// buildFast is buildBig for the float64 path. It follows the formula
// literally: one IEEE operation per node, products never fused into an
// addition, package math for the functions.
func (c *compiler) buildFast(slot []int) ([]fastFn, []fastCondFn) {
	num := make([]fastFn, len(c.nodes))
	cond := make([]fastCondFn, len(c.nodes))
	for i, nd := range c.nodes {
		a := nd.args
		var f fastFn
		switch nd.op {
		case opVar:
			vi := nd.vi
			f = func(e *fastEnv) float64 { return e.args[vi] }
		case opLit:
			v := nd.lit.f64
			f = func(*fastEnv) float64 { return v }
		case opNeg:
			x := num[a[0]]
			f = func(e *fastEnv) float64 { return -x(e) }
		case opAdd, opSub, opMul, opQuo:
			f = c.fastArith(nd.op, a[0], a[1], num)
		case opMin:
			// Go's built-in min and max are IEEE 754-2019 minimum/maximum:
			// NaN wins, -0 < +0.
			x, y := num[a[0]], num[a[1]]
			f = func(e *fastEnv) float64 { return min(x(e), y(e)) }
		case opMax:
			x, y := num[a[0]], num[a[1]]
			f = func(e *fastEnv) float64 { return max(x(e), y(e)) }
		case opFMA:
			x, y, z := num[a[0]], num[a[1]], num[a[2]]
			f = func(e *fastEnv) float64 { return math.FMA(x(e), y(e), z(e)) }
		case opAbs:
			x := num[a[0]]
			f = func(e *fastEnv) float64 { return math.Abs(x(e)) }
		case opUnary:
			x, u := num[a[0]], fastUnaries[nd.fn]
			f = func(e *fastEnv) float64 { return u(x(e)) }
		case opWhere:
			k, x, y := cond[a[0]], num[a[1]], num[a[2]]
			f = func(e *fastEnv) float64 {
				if k(e) {
					return x(e)
				}
				return y(e)
			}
		case opCmp:
			cond[i] = c.fastCompare(nd.fn, a[0], a[1], num)
		case opNot:
			x := cond[a[0]]
			cond[i] = func(e *fastEnv) bool { return !x(e) }
		case opAnd:
			x, y := cond[a[0]], cond[a[1]]
			cond[i] = func(e *fastEnv) bool { return x(e) && y(e) }
		case opOr:
			x, y := cond[a[0]], cond[a[1]]
			cond[i] = func(e *fastEnv) bool { return x(e) || y(e) }
		}
		if f == nil {
			continue
		}
		switch {
		case nd.konst && nd.op != opLit:
			// Folded: the same operations, done once.
			v := f(&fastEnv{})
			f = func(*fastEnv) float64 { return v }
		case slot[i] >= 0:
			inner, s := f, slot[i]
			f = func(e *fastEnv) float64 {
				if e.stamp[s] == e.epoch {
					return e.vals[s]
				}
				v := inner(e)
				e.vals[s], e.stamp[s] = v, e.epoch
				return v
			}
		}
		num[i] = f
	}
	return num, cond
}

// constant returns node i's value if it depends on no variable (a literal
// or a folded subexpression: its evaluator ignores the environment).
func (c *compiler) constant(i int, num []fastFn) (float64, bool) {
	if !c.nodes[i].konst {
		return 0, false
	}
	return num[i](nil), true
}

// fastArith is the evaluator of x op y. The formulas are mostly operations
// with a constant or a variable operand (beta*x, x > threshold): those get
// closures of their own, which call one evaluator instead of two.
func (c *compiler) fastArith(op opKind, i, j int, num []fastFn) fastFn {
	x, y := num[i], num[j]
	if k, ok := c.constant(j, num); ok {
		switch op {
		case opAdd:
			return func(e *fastEnv) float64 { return x(e) + k }
		case opSub:
			return func(e *fastEnv) float64 { return x(e) - k }
		case opMul:
			return func(e *fastEnv) float64 { return float64(x(e) * k) }
		case opQuo:
			return func(e *fastEnv) float64 { return x(e) / k }
		}
	}
	if k, ok := c.constant(i, num); ok {
		switch op {
		case opAdd:
			return func(e *fastEnv) float64 { return k + y(e) }
		case opSub:
			return func(e *fastEnv) float64 { return k - y(e) }
		case opMul:
			return func(e *fastEnv) float64 { return float64(k * y(e)) }
		case opQuo:
			return func(e *fastEnv) float64 { return k / y(e) }
		}
	}
	switch op {
	case opAdd:
		return func(e *fastEnv) float64 { return x(e) + y(e) }
	case opSub:
		return func(e *fastEnv) float64 { return x(e) - y(e) }
	case opMul:
		// float64(·) keeps Go from fusing a product into a neighbouring
		// addition (FMA) on arm64: Fast must be plain float64 arithmetic.
		return func(e *fastEnv) float64 { return float64(x(e) * y(e)) }
	}
	return func(e *fastEnv) float64 { return x(e) / y(e) }
}

// fastCompare is the evaluator of the comparison x op y (IEEE: false with a
// NaN, except !=), specialized like fastArith.
func (c *compiler) fastCompare(op string, i, j int, num []fastFn) fastCondFn {
	x, y := num[i], num[j]
	if k, ok := c.constant(j, num); ok {
		switch op {
		case "<":
			return func(e *fastEnv) bool { return x(e) < k }
		case "<=":
			return func(e *fastEnv) bool { return x(e) <= k }
		case ">":
			return func(e *fastEnv) bool { return x(e) > k }
		case ">=":
			return func(e *fastEnv) bool { return x(e) >= k }
		}
	}
	cmp := fastComparisons[op]
	return func(e *fastEnv) bool { return cmp(x(e), y(e)) }
}

// Program is several formulas over the same variables compiled together for
// the fast float64 path: evaluated at one point, a subexpression they share
// (a forward formula and its derivative share most) is computed once.
type Program struct {
	roots  []fastFn
	exact  []exactFn
	cols   []colFn
	isCond []bool // per node, for the column storage
	nslots int
	nvars  int
}

// ProgramEval evaluates a Program; it holds the shared values, so each
// goroutine needs its own.
type ProgramEval struct {
	p   *Program
	env fastEnv
	xe  exactEnv
	ce  *colEnv // made on first use
}

// NewEval returns an evaluator of p.
func (p *Program) NewEval() *ProgramEval {
	return &ProgramEval{p: p,
		env: fastEnv{vals: make([]float64, p.nslots), stamp: make([]uint32, p.nslots)},
		xe:  exactEnv{vals: make([]float64, p.nslots), exact: make([]bool, p.nslots), stamp: make([]uint32, p.nslots)},
	}
}

// Eval sets out[k] to formula k at args (one value per variable), each as
// Func.Fast would compute it.
func (v *ProgramEval) Eval(args, out []float64) {
	if len(args) != v.p.nvars {
		panic("reference: wrong number of arguments")
	}
	v.env.next(args)
	for k, r := range v.p.roots {
		out[k] = r(&v.env)
	}
}

// EvalExact is Eval that also reports, for each formula, whether its value
// is exact: the formula's exact value (then finite), every operation on
// the way having been exact in float64.
func (v *ProgramEval) EvalExact(args, out []float64, exact []bool) {
	if len(args) != v.p.nvars {
		panic("reference: wrong number of arguments")
	}
	v.xe.next(args)
	for k, r := range v.p.exact {
		out[k], exact[k] = r(&v.xe)
	}
}

// The exactness-tracking evaluation: each node's float64 value together
// with whether it is the exact value of its subexpression (every operation
// below it was exact: a sum whose TwoSum error is 0, a product whose FMA
// residual is 0, a branch chosen by a comparison of exact values, ...). An
// exact result is the formula's exact value, so rounding it once is the
// correctly rounded result: the big.Float evaluation would give the same.
// It decides in float64 what the fast path cannot (a value exactly on a
// rounding boundary, hardswish' = (2x+3)/6 on a float32 midpoint for 1/12
// of all x), and an exact result is what the exact path would return.

type exactEnv struct {
	args  []float64
	vals  []float64
	exact []bool
	stamp []uint32
	epoch uint32
}

func (e *exactEnv) next(args []float64) {
	e.args = args
	e.epoch++
	if e.epoch == 0 {
		clear(e.stamp)
		e.epoch = 1
	}
}

type (
	exactFn func(e *exactEnv) (float64, bool)
	// exactCondFn returns the condition and whether it is decided: its
	// comparisons were of exact values.
	exactCondFn func(e *exactEnv) (v, decided bool)
)

// safeLo and safeHi bound the operands and results whose residuals the
// tests below trust: between them a residual (a·b - p, q·b - a) is
// representable, so a zero residual means an exact operation.
const safeLo, safeHi = 0x1p-960, 0x1p960

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func safe(v float64) bool { a := math.Abs(v); return a >= safeLo && a <= safeHi }

// exactSum is a + b and whether it is exact (TwoSum, for finite results).
func exactSum(a, b float64) (float64, bool) {
	s := a + b
	if !isFinite(s) {
		return s, false
	}
	bb := s - a
	return s, (a-(s-bb))+(b-bb) == 0
}

// exactProduct is a·b and whether it is exact.
func exactProduct(a, b float64) (float64, bool) {
	p := float64(a * b)
	switch {
	case !isFinite(p):
		return p, false
	case p == 0:
		return p, a == 0 || b == 0 // else it underflowed
	}
	return p, safe(p) && safe(a) && safe(b) && math.FMA(a, b, -p) == 0
}

// exactQuotient is a/b and whether it is exact.
func exactQuotient(a, b float64) (float64, bool) {
	q := a / b
	switch {
	case !isFinite(q) || b == 0:
		return q, false
	case q == 0:
		return q, a == 0
	}
	return q, safe(q) && safe(a) && safe(b) && math.FMA(q, b, -a) == 0
}

// exactFMA is fma(a, b, c) and whether it is exact: a·b exact and its sum
// with c exact, or c the negated rounded product (the residual idiom
// fma(a, b, -(a*b)), exact when the residual is representable).
func exactFMA(a, b, c float64) (float64, bool) {
	r := math.FMA(a, b, c)
	if !isFinite(r) {
		return r, false
	}
	p, ok := exactProduct(a, b)
	if ok {
		_, ok = exactSum(p, c)
		return r, ok
	}
	return r, isFinite(p) && safe(p) && safe(a) && safe(b) && c == -p
}

func (c *compiler) buildExact(slot []int) []exactFn {
	num := make([]exactFn, len(c.nodes))
	cond := make([]exactCondFn, len(c.nodes))
	for i, nd := range c.nodes {
		a := nd.args
		var f exactFn
		switch nd.op {
		case opVar:
			vi := nd.vi
			f = func(e *exactEnv) (float64, bool) { v := e.args[vi]; return v, isFinite(v) }
		case opLit:
			v, ok := nd.lit.f64, nd.lit.isFloat64()
			f = func(*exactEnv) (float64, bool) { return v, ok }
		case opNeg:
			x := num[a[0]]
			f = func(e *exactEnv) (float64, bool) { v, ok := x(e); return -v, ok }
		case opAbs:
			x := num[a[0]]
			f = func(e *exactEnv) (float64, bool) { v, ok := x(e); return math.Abs(v), ok }
		case opAdd, opSub:
			x, y, sub := num[a[0]], num[a[1]], nd.op == opSub
			f = func(e *exactEnv) (float64, bool) {
				u, ok1 := x(e)
				v, ok2 := y(e)
				if sub {
					// a - b is a + (-b) in IEEE arithmetic, signed zeros
					// included.
					s, ok := exactSum(u, -v)
					return u - v, ok && ok1 && ok2 && s == u-v
				}
				s, ok := exactSum(u, v)
				return s, ok && ok1 && ok2
			}
		case opMul:
			x, y := num[a[0]], num[a[1]]
			f = func(e *exactEnv) (float64, bool) {
				u, ok1 := x(e)
				v, ok2 := y(e)
				p, ok := exactProduct(u, v)
				return p, ok && ok1 && ok2
			}
		case opQuo:
			x, y := num[a[0]], num[a[1]]
			f = func(e *exactEnv) (float64, bool) {
				u, ok1 := x(e)
				v, ok2 := y(e)
				q, ok := exactQuotient(u, v)
				return q, ok && ok1 && ok2
			}
		case opMin, opMax:
			x, y, isMin := num[a[0]], num[a[1]], nd.op == opMin
			f = func(e *exactEnv) (float64, bool) {
				u, ok1 := x(e)
				v, ok2 := y(e)
				if isMin {
					return min(u, v), ok1 && ok2
				}
				return max(u, v), ok1 && ok2
			}
		case opFMA:
			x, y, z := num[a[0]], num[a[1]], num[a[2]]
			f = func(e *exactEnv) (float64, bool) {
				u, ok1 := x(e)
				v, ok2 := y(e)
				w, ok3 := z(e)
				r, ok := exactFMA(u, v, w)
				return r, ok && ok1 && ok2 && ok3
			}
		case opUnary:
			x, u, sqrt := num[a[0]], fastUnaries[nd.fn], nd.fn == "sqrt"
			f = func(e *exactEnv) (float64, bool) {
				v, ok := x(e)
				r := u(v)
				// Only a square root can be exact here (of a square);
				// other functions are taken as rounded.
				return r, ok && sqrt && isFinite(r) && r > 0 && safe(r) && math.FMA(r, r, -v) == 0
			}
		case opWhere:
			k, x, y := cond[a[0]], num[a[1]], num[a[2]]
			f = func(e *exactEnv) (float64, bool) {
				c, decided := k(e)
				var v float64
				var ok bool
				if c {
					v, ok = x(e)
				} else {
					v, ok = y(e)
				}
				// A branch chosen by rounded values may not be the
				// formula's.
				return v, ok && decided
			}
		case opCmp:
			op, x, y := fastComparisons[nd.fn], num[a[0]], num[a[1]]
			cond[i] = func(e *exactEnv) (bool, bool) {
				u, ok1 := x(e)
				v, ok2 := y(e)
				return op(u, v), ok1 && ok2
			}
		case opNot:
			x := cond[a[0]]
			cond[i] = func(e *exactEnv) (bool, bool) { v, ok := x(e); return !v, ok }
		case opAnd:
			x, y := cond[a[0]], cond[a[1]]
			cond[i] = func(e *exactEnv) (bool, bool) {
				u, ok1 := x(e)
				if !u {
					return false, ok1
				}
				v, ok2 := y(e)
				return v, ok1 && ok2
			}
		case opOr:
			x, y := cond[a[0]], cond[a[1]]
			cond[i] = func(e *exactEnv) (bool, bool) {
				u, ok1 := x(e)
				if u {
					return true, ok1
				}
				v, ok2 := y(e)
				return v, ok1 && ok2
			}
		}
		if f == nil {
			continue
		}
		if nd.konst && nd.op != opLit {
			v, ok := f(&exactEnv{})
			f = func(*exactEnv) (float64, bool) { return v, ok }
		} else if s := slot[i]; s >= 0 {
			inner := f
			f = func(e *exactEnv) (float64, bool) {
				if e.stamp[s] == e.epoch {
					return e.vals[s], e.exact[s]
				}
				v, ok := inner(e)
				e.vals[s], e.exact[s], e.stamp[s] = v, ok, e.epoch
				return v, ok
			}
		}
		num[i] = f
	}
	return num
}
