package reference

import (
	"math"
	"math/big"
	"math/bits"
)

// Elementary functions of a finite argument. Each takes the precision of its
// result, works internally with guard bits, and returns a value whose
// relative error is a small fraction of an ulp at that precision (exact
// results, like exp(0) = 1, are returned exactly). Special values (NaN, ±Inf)
// are handled by the Num wrappers in funcs.go.

// guard is the number of extra bits every elementary function carries.
const guard = 16

// expo returns e with |x| in [2^(e-1), 2^e) for finite nonzero x.
func expo(x *big.Float) int { return x.MantExp(nil) }

// approx is x as a float64 (±Inf or 0 beyond float64's range), for
// decisions only, never for values.
func approx(x *big.Float) float64 {
	f, _ := x.Float64()
	return f
}

// horner returns Σ cs[i] y^i at precision prec. Each step works at only
// the precision its tail contributes: the partial sum multiplying y^i is
// about |tail_i| / |sum| of the result, so its low bits do not matter
// below 2^-prec of the whole. This roughly halves the cost of a series of
// rapidly decreasing terms; for growing terms (erf for x > 1) the estimate
// uses the largest term, which bounds the sum from below.
func horner(cs []*big.Float, y *big.Float, prec uint) *big.Float {
	n := len(cs)
	ly := float64(expo(y))
	if y.Sign() == 0 {
		ly = math.Inf(-1)
	}
	// tail[i] = log2 of the largest |c_j y^j|, j ≥ i (within a bit or two).
	var tailBuf [64]float64
	tail := tailBuf[:0]
	if n > len(tailBuf) {
		tail = make([]float64, 0, n)
	}
	tail = tail[:n]
	top := math.Inf(-1)
	for i := n - 1; i >= 0; i-- {
		if cs[i].Sign() != 0 {
			top = max(top, float64(expo(cs[i]))+float64(i)*ly)
		}
		tail[i] = top
	}
	stepPrec := func(i int) uint {
		p := float64(prec) + 4 + tail[i] - tail[0]
		if p < 64 || math.IsNaN(p) {
			return 64
		}
		return min(uint(p), prec)
	}
	// Two buffers used in turn: big.Float reuses a result's memory only
	// when it is not also an operand.
	acc := newF(stepPrec(n - 1)).Set(cs[n-1])
	tmp := new(big.Float)
	for i := n - 2; i >= 0; i-- {
		p := stepPrec(i)
		tmp.SetPrec(p).Mul(acc, y)
		acc.SetPrec(p).Add(tmp, cs[i])
	}
	return acc
}

var log2FactTable = func() []float64 {
	t := make([]float64, 4096)
	for n := 1; n < len(t); n++ {
		t[n] = t[n-1] + math.Log2(float64(n))
	}
	return t
}()

// log2Fact is log2(n!).
func log2Fact(n int) float64 {
	if n < len(log2FactTable) {
		return log2FactTable[n]
	}
	lg, _ := math.Lgamma(float64(n) + 1)
	return lg / math.Ln2
}

// reductionTarget is how small (2^-T) an argument is made by halving before
// a Taylor series: fewer terms against more doublings; √prec balances them.
func reductionTarget(prec uint) int { return int(math.Sqrt(float64(prec))) }

// scale2 returns x·2^k exactly (a new value).
func scale2(x *big.Float, k int) *big.Float { return new(big.Float).SetMantExp(x, k) }

// expm1Core is e^r - 1 for finite nonzero r with |r| ≲ 1, with full
// relative accuracy: Taylor series on r/2^s, then s doublings
// e^{2t}-1 = (e^t-1)(e^t-1+2), which never cancel.
func expm1Core(r *big.Float, prec uint) *big.Float {
	ex := expo(r)
	s := max(0, ex+reductionTarget(prec))
	wp := prec + guard + uint(bits.Len(uint(s)))
	t := scale2(r, -s)
	e0 := float64(s - ex) // |t| < 2^-e0
	// Terms t^n/n! for n = 1..N; the first omitted one is below 2^-(wp+4)|t|.
	n := 1
	for float64(n)*e0+log2Fact(n+1) < float64(wp+4) {
		n++
	}
	cs := coefs(coefInvFact, n+2, wp)[1 : n+1] // 1/1!, 1/2!, …, 1/n!
	em := horner(cs, t, wp)
	em.Mul(em, t)
	two := fromInt(2, wp)
	tmp := newF(wp)
	for range s {
		tmp.Add(em, two)
		em.Mul(em, tmp)
	}
	return newF(prec).Set(em)
}

// hugeExp bounds the arguments of e^x the reference computes: beyond it,
// e^x is returned as +Inf or +0. Every float format the reference rounds to
// overflows above e^710 (float64) and underflows below e^-746, so the cut
// changes no rounded result, and it keeps the cost of a huge argument
// (ln2 needs the bits of k) and its memory bounded.
const hugeExp = 1 << 17

func expFinite(x *big.Float, prec uint) *big.Float {
	if x.Sign() == 0 {
		return fromInt(1, prec)
	}
	xf := approx(x)
	if xf > hugeExp {
		return inf(false, prec)
	}
	if xf < -hugeExp {
		return signedZero(false, prec)
	}
	wp := prec + guard
	if math.Abs(xf) < 0.5 {
		em := expm1Core(x, wp)
		return newF(prec).Add(em, fromInt(1, wp))
	}
	// x = k ln2 + r with |r| ≤ ln2/2 (+ a little: k comes from float64).
	// The absolute error of r is the relative error of the result, so ln2
	// needs the bits of k on top of the working precision.
	k := math.Round(xf / math.Ln2)
	kb := uint(bits.Len64(uint64(math.Abs(k)))) + 2
	kf := newF(64).SetFloat64(k)
	kl := newF(wp+kb).Mul(kf, ln2(wp+kb))
	r := newF(wp+kb).Sub(x, kl)
	var res *big.Float
	if r.Sign() == 0 {
		res = fromInt(1, wp)
	} else {
		res = expm1Core(r, wp)
		res.Add(res, fromInt(1, wp))
	}
	// SetMantExp saturates to ±Inf / ±0 outside big.Float's exponent range.
	res.SetMantExp(res, int(k))
	return newF(prec).Set(res)
}

func expm1Finite(x *big.Float, prec uint) *big.Float {
	if x.Sign() == 0 {
		return new(big.Float).Set(x) // keeps the sign of zero
	}
	xf := approx(x)
	if math.Abs(xf) < 1 {
		return expm1Core(x, prec)
	}
	if xf < -float64(prec+8)*math.Ln2 {
		return fromInt(-1, prec) // e^x < 2^-(prec+8): rounds to -1
	}
	// |x| ≥ 1: e^x - 1 cancels by at most 2 bits.
	e := expFinite(x, prec+guard)
	return newF(prec).Sub(e, fromInt(1, prec))
}

var sqrtHalf = new(big.Float).SetFloat64(math.Sqrt2 / 2)

// logFinite is log(x) for finite x > 0.
func logFinite(x *big.Float, prec uint) *big.Float {
	m := new(big.Float)
	e := x.MantExp(m) // x = m·2^e, m in [0.5, 1)
	if m.Cmp(sqrtHalf) < 0 {
		m.SetMantExp(m, 1)
		e--
	}
	if e == 0 {
		// x in [√½, √2): log(x) = log1p(x-1), x-1 computed exactly (it is
		// a multiple of x's ulp below 1/2 in magnitude).
		d := newF(max(x.Prec(), 64)+2).Sub(x, fromInt(1, 64))
		if d.Sign() == 0 {
			return signedZero(false, prec)
		}
		return log1pCore(d, prec)
	}
	wp := prec + guard
	d := newF(max(m.Prec(), 64)+2).Sub(m, fromInt(1, 64))
	var lm *big.Float
	if d.Sign() == 0 {
		lm = signedZero(false, wp)
	} else {
		lm = log1pCore(d, wp)
	}
	// |e ln2| ≥ ln2 ≥ 2|log m|: the sum cancels by at most one bit.
	eb := uint(bits.Len(uint(abs(e))))
	el := newF(wp+eb).Mul(newF(64).SetInt64(int64(e)), ln2(wp+eb))
	return newF(prec).Add(el, lm)
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// log1pFinite is log(1+u) for finite u > -1.
func log1pFinite(u *big.Float, prec uint) *big.Float {
	if u.Sign() == 0 {
		return new(big.Float).Set(u) // log1p(±0) = ±0
	}
	uf := approx(u)
	if uf > -0.29 && uf < 0.41 {
		return log1pCore(u, prec)
	}
	// Far from 0, rounding 1+u costs nothing: |log(1+u)| > 0.34.
	w := newF(prec+guard).Add(u, fromInt(1, 64))
	return logFinite(w, prec)
}

// log1pCore is log(1+u) for nonzero |u| < 1/2, with full relative accuracy.
// Tiny u: the series u - u²/2 + …. Otherwise a float64 guess y0 is
// corrected: log1p(u) = y0 + log1p(t) with t = (1+u)e^{-y0} - 1
// = u + m + u·m, m = expm1(-y0), and |t| ≈ 2^-52|u| needs only a few terms.
func log1pCore(u *big.Float, prec uint) *big.Float {
	wp := prec + guard
	if expo(u) < -24 {
		return log1pSeries(u, wp).SetPrec(prec)
	}
	y0 := math.Log1p(approx(u))
	y := newF(64).SetFloat64(y0)
	m := expm1Core(newF(64).SetFloat64(-y0), wp)
	t := newF(wp).Add(u, fromInt(1, 64))
	t.Mul(t, m)
	t.Add(t, u)
	if t.Sign() == 0 {
		return newF(prec).Set(y)
	}
	res := log1pSeries(t, wp)
	return res.Add(res, y).SetPrec(prec)
}

// log1pSeries is t Σ (-t)^n/(n+1) for |t| < 2^-20 or so.
func log1pSeries(t *big.Float, prec uint) *big.Float {
	e0 := -expo(t) // |t| < 2^-e0
	n := int(prec+4)/max(e0, 1) + 1
	res := horner(coefs(coefLog1p, n, prec), t, prec)
	return res.Mul(res, t)
}

// tanhFinite is tanh(x) = m/(m+2), m = expm1(2x), on |x| (tanh is odd).
func tanhFinite(x *big.Float, prec uint) *big.Float {
	if x.Sign() == 0 {
		return new(big.Float).Set(x)
	}
	neg := x.Signbit()
	ax := new(big.Float).Abs(x)
	var res *big.Float
	// Beyond this, 1 - tanh = 2e^{-2x}/(1+e^{-2x}) < 2^-(prec+2): tanh
	// rounds to 1.
	if approx(ax) > float64(prec+8)*math.Ln2/2 {
		res = fromInt(1, prec)
	} else {
		wp := prec + guard
		m := expm1Finite(scale2(ax, 1), wp)
		d := newF(wp).Add(m, fromInt(2, 64))
		res = newF(prec).Quo(m, d)
	}
	if neg {
		res.Neg(res)
	}
	return res
}

// sigmoidFinite is 1/(1+e^{-x}), written e^x/(1+e^x) for x < 0 so that
// nothing overflows and tiny results keep their relative accuracy.
func sigmoidFinite(x *big.Float, prec uint) *big.Float {
	wp := prec + guard
	if x.Sign() >= 0 {
		e := expFinite(new(big.Float).Neg(x), wp)
		d := newF(wp).Add(e, fromInt(1, 64))
		return newF(prec).Quo(fromInt(1, 64), d)
	}
	e := expFinite(x, wp)
	d := newF(wp).Add(e, fromInt(1, 64))
	return newF(prec).Quo(e, d)
}
