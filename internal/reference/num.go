// Package reference evaluates spec formulas exactly: every operation and
// every elementary function is computed in math/big with guard bits, and the
// result is rounded once to float32 or float64. It is the judge of every
// kernel, so it shares no code with the kernels' approximations
// (internal/vprog); package math is used only for starting guesses that are
// then corrected to full precision, and for the separate Fast path.
package reference

import (
	"math"
	"math/big"
)

// Num is a real number with IEEE specials: NaN, ±Inf, ±0 (big.Float has all
// but NaN). When NaN is true, F is ignored (it may be nil).
type Num struct {
	F   *big.Float
	NaN bool
	// lost counts the bits of relative accuracy this value may have lost to
	// cancellation upstream (0: exact, ≥ 1: rounded somewhere). A fixed
	// working precision is not exact when a formula cancels (1 + tanh(-90)
	// at 200 bits is 0, the truth 1e-78), so the evaluation is repeated with
	// more bits when too few survive (see Func.rounded).
	lost int
}

// NaNNum is the NaN value.
var nanNum = Num{NaN: true}

// NumFloat64 converts v exactly (NaN, ±Inf and ±0 included).
func NumFloat64(v float64) Num {
	if math.IsNaN(v) {
		return nanNum
	}
	return Num{F: new(big.Float).SetFloat64(v)}
}

// Float64 rounds n once to the nearest float64 (ties to even), subnormals
// included.
func (n Num) Float64() float64 {
	if n.NaN {
		return math.NaN()
	}
	// big.Float.Float64 rounds to nearest even and handles the subnormal
	// range by reducing the precision, so this is a single correct rounding.
	v, _ := n.F.Float64()
	return v
}

// Float32 rounds n once to the nearest float32 (ties to even), directly
// from the exact value: never through float64, which could round twice.
func (n Num) Float32() float32 {
	if n.NaN {
		return float32(math.NaN())
	}
	v, _ := n.F.Float32()
	return v
}

// String formats n with 40 significant digits (for messages).
func (n Num) String() string {
	if n.NaN {
		return "NaN"
	}
	return n.F.Text('g', 40)
}

func newF(prec uint) *big.Float { return new(big.Float).SetPrec(prec) }

func num(f *big.Float) Num { return Num{F: f} }

// fromInt is the exact value v at precision prec.
func fromInt(v int64, prec uint) *big.Float { return newF(prec).SetInt64(v) }

// signedZero is ±0 at precision prec.
func signedZero(neg bool, prec uint) *big.Float {
	z := newF(prec)
	if neg {
		z.Neg(z)
	}
	return z
}

func inf(neg bool, prec uint) *big.Float { return newF(prec).SetInf(neg) }

// round returns n rounded to prec bits (a fresh value); lost counts that
// rounding too, so that lost 0 still means exact.
func (n Num) round(prec uint) Num {
	if n.NaN {
		return n
	}
	r := num(newF(prec).Set(n.F))
	r.lost = max(n.lost, inexact(r))
	return r
}

// Arithmetic with IEEE 754 semantics for the special values. big.Float
// already follows IEEE for signed zeros (-0 + -0 = -0, x - x = +0, sign of
// products and quotients) and for infinities, but panics where IEEE gives
// NaN, so those cases are caught first.

func add(a, b Num, prec uint) Num {
	if a.NaN || b.NaN {
		return nanNum
	}
	if a.F.IsInf() && b.F.IsInf() && a.F.Signbit() != b.F.Signbit() {
		return nanNum // Inf - Inf
	}
	return cancelled(a, b, num(newF(prec).Add(a.F, b.F)), prec)
}

func sub(a, b Num, prec uint) Num {
	if a.NaN || b.NaN {
		return nanNum
	}
	if a.F.IsInf() && b.F.IsInf() && a.F.Signbit() == b.F.Signbit() {
		return nanNum
	}
	return cancelled(a, b, num(newF(prec).Sub(a.F, b.F)), prec)
}

// cancelled sets the lost bits of r = a ± b from the operands' absolute
// errors: an operand with value 2^e that lost k bits is off by about
// 2^(e+k) in units of the working precision, and what r loses is how far the
// larger of those lies above r's own binade. So a tiny, inexact term added to
// a large one costs nothing (the double-float corrections of the spec,
// fma(a, b, -(a*b)), are such terms), while a sum that cancels down below
// its inexact operands loses the difference. A zero from inexact operands
// is a total loss: the truth may be any small number.
func cancelled(a, b, r Num, prec uint) Num {
	r.lost = inexact(r)
	if a.lost == 0 && b.lost == 0 {
		return r // exact operands: r is correctly rounded
	}
	if a.F.IsInf() || b.F.IsInf() || r.F.IsInf() {
		r.lost = max(r.lost, a.lost, b.lost)
		return r
	}
	// A zero operand is either exact in effect (0·s: its lost is that of s)
	// or the total loss of a cancellation (lost = the precision): only the
	// latter makes the sum unknown.
	if r.F.Sign() == 0 || (a.F.Sign() == 0 && a.lost >= int(prec)/2) || (b.F.Sign() == 0 && b.lost >= int(prec)/2) {
		r.lost = int(prec)
		return r
	}
	e := math.MinInt
	for _, o := range []Num{a, b} {
		if o.F.Sign() != 0 && o.lost > 0 {
			e = max(e, expo(o.F)+o.lost)
		}
	}
	r.lost = max(r.lost, e-expo(r.F))
	return r
}

// inexact is 1 if r's last operation rounded, else 0.
func inexact(r Num) int {
	if r.F.Acc() != big.Exact {
		return 1
	}
	return 0
}

func mul(a, b Num, prec uint) Num {
	if a.NaN || b.NaN {
		return nanNum
	}
	if (a.F.IsInf() && b.F.Sign() == 0) || (b.F.IsInf() && a.F.Sign() == 0) {
		return nanNum // 0 * Inf
	}
	r := num(newF(prec).Mul(a.F, b.F))
	if exactZero(a) || exactZero(b) {
		// 0·s is exactly 0 whatever the error of s: counting s's lost bits
		// would make a sum of such zeros look like a total cancellation and
		// send the evaluation through every retry (tanh' at |x| > 350).
		return r
	}
	r.lost = max(a.lost, b.lost, inexact(r))
	return r
}

// exactZero reports whether a is a zero that lost nothing (not the residue of
// a cancellation or an inexact operation).
func exactZero(a Num) bool { return !a.NaN && a.F.Sign() == 0 && !a.F.IsInf() && a.lost == 0 }

func quo(a, b Num, prec uint) Num {
	if a.NaN || b.NaN {
		return nanNum
	}
	if (a.F.Sign() == 0 && b.F.Sign() == 0) || (a.F.IsInf() && b.F.IsInf()) {
		return nanNum // 0/0, Inf/Inf
	}
	// x/±0 = ±Inf with the sign rule of IEEE; big.Float does this.
	r := num(newF(prec).Quo(a.F, b.F))
	r.lost = max(a.lost, b.lost, inexact(r))
	return r
}

func neg(a Num) Num {
	if a.NaN {
		return a
	}
	r := num(new(big.Float).Neg(a.F))
	r.lost = a.lost
	return r
}

// less reports a < b with -0 < +0 (IEEE 754-2019 minimum/maximum order).
func totalLess(a, b *big.Float) bool {
	c := a.Cmp(b)
	if c != 0 {
		return c < 0
	}
	return a.Sign() == 0 && a.Signbit() && !b.Signbit()
}

// minimum is IEEE 754-2019 minimum: NaN if either is NaN, -0 below +0.
func minimum(a, b Num) Num {
	if a.NaN || b.NaN {
		return nanNum
	}
	if totalLess(b.F, a.F) {
		return b
	}
	return a
}

// maximum is IEEE 754-2019 maximum.
func maximum(a, b Num) Num {
	if a.NaN || b.NaN {
		return nanNum
	}
	if totalLess(a.F, b.F) {
		return b
	}
	return a
}

// compare evaluates an IEEE comparison: false whenever a NaN is involved,
// except != which is then true; -0 == +0.
func compare(op string, a, b Num) bool {
	if a.NaN || b.NaN {
		return op == "!="
	}
	c := a.F.Cmp(b.F)
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "==":
		return c == 0
	case "!=":
		return c != 0
	}
	panic("reference: unknown comparison " + op)
}
