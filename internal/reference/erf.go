package reference

import (
	"math"
	"math/big"
)

// erf and erfc. Three regimes on |x|:
//   - |x| < 1: the Taylor series 2/√π Σ (-1)^n x^{2n+1}/(n!(2n+1)); its
//     terms alternate but never exceed e^{x²} ≤ e times the sum.
//   - 1 ≤ |x| < cfStart: 2x e^{-x²}/√π Σ (2x²)^n/(2n+1)!!, all terms positive.
//   - |x| ≥ cfStart: erfc from Laplace's continued fraction
//     erfc x = e^{-x²}/√π · 1/(x+ (1/2)/(x+ 1/(x+ (3/2)/(x+ …)))).
// erfc(x) for 0 < x < cfStart is 1 - erf(x) computed with as many extra
// bits as the cancellation costs (log2(1/erfc x) ≈ 1.44x²).

// cfStart is where the continued fraction becomes cheaper than the series
// (measured: both need ~200 terms at x = 5 and 264 bits).
const cfStart = 5

// squareFor returns x² accurate enough to be the argument of e^{-x²}: its
// absolute error becomes the relative error of the exponential, so it
// carries the bits of x² on top of prec.
func squareFor(x *big.Float, prec uint) *big.Float {
	eb := uint(max(0, 2*expo(x)))
	return newF(prec+eb).Mul(x, x)
}

// erfAlt is erf(x) for 0 < |x| < 1.
func erfAlt(x *big.Float, prec uint) *big.Float {
	wp := prec + guard
	y := newF(wp).Mul(x, x)
	ly := math.Log2(approx(y)) // ≤ 0; -Inf if y underflows float64
	n := 1
	for float64(n)*ly-log2Fact(n) > -float64(wp+4) {
		n++
	}
	s := horner(coefs(coefErfAlt, n, wp), y, wp)
	s.Mul(s, x)
	return s.Mul(s, twoOverSqrtPi(wp)).SetPrec(prec)
}

// erfPos is erf(x) for 1 ≤ |x| < cfStart or so (any x > 0 works, at a cost
// that grows with x²).
func erfPos(x *big.Float, prec uint) *big.Float {
	wp := prec + guard + 8
	y := squareFor(x, wp)
	yf := approx(y)
	// Terms c_n y^n grow until n ≈ y then fall; stop when one is below
	// 2^-(wp+4) times the partial sum (ratio 2y/(2n+3) < 1/2 from then on,
	// so the tail is below the last term).
	n, term, sum := 1, 1.0, 1.0
	for {
		term *= 2 * yf / float64(2*n+1)
		sum += term
		n++
		if 2*yf/float64(2*n+1) < 0.5 && term < sum*math.Ldexp(1, -int(wp+4)) {
			break
		}
	}
	s := horner(coefs(coefErfPos, n, wp), y, wp)
	s.Mul(s, x)
	s.Mul(s, twoOverSqrtPi(wp))
	s.Mul(s, expFinite(neg(num(y)).F, wp))
	return s.SetPrec(prec)
}

// cfTerms is the number of continued-fraction terms for erfc(x) to reach
// prec bits, fitted (with margin) to counts measured against mpmath and
// checked by TestErfcContinuedFraction:
// N(b) = cfA·(b ln2)²/x² + 0.2·b + 16.
func cfTerms(x float64, prec uint) int {
	l := float64(prec) * math.Ln2
	return int(cfA*l*l/(x*x)+0.2*float64(prec)) + 16
}

const cfA = 0.16

// cfBits inverts cfTerms: the bits that the first i terms already settle
// (an underestimate, since cfTerms overestimates).
func cfBits(x float64, i int) float64 {
	if i <= 16 {
		return 0
	}
	a := cfA * math.Ln2 * math.Ln2 / (x * x)
	if a < 1e-12 { // huge x: the linear term alone (and no 0/0)
		return float64(i-16) / 0.2
	}
	return (-0.2 + math.Sqrt(0.04+4*a*float64(i-16))) / (2 * a)
}

// erfcCF is erfc(x) for x ≥ cfStart (valid, slower, for any x > 2). The
// fraction is evaluated from its tail, t_{i-1} = x + (i/2)/t_i, t_n = x,
// K = 1/t_0. An error of relative size δ in t_i reaches the result damped
// like the truncation at depth i, that is by about 2^-cfBits(i); so the
// deep steps run at low precision (float64 where 53 bits are enough), and
// only the last ones at full precision. Big steps avoid division: with
// t_i = P_i/(2 P_{i+1}), P_{i-1} = 2x P_i + 2i P_{i+1}, and K = 2P_1/P_0.
func erfcCF(x *big.Float, prec uint) *big.Float {
	xf := approx(x)
	wp := prec + guard + 8
	n := cfTerms(xf, wp)
	need := func(i int) float64 { return float64(wp) + 8 - cfBits(xf, i) }
	i := n
	tf := xf
	for ; i >= 1 && need(i) <= 50; i-- {
		tf = xf + float64(i)/2/tf
	}
	// Here t_i = tf: P_i = tf, P_{i+1} = 1/2.
	cur := newF(wp).SetFloat64(tf)
	prev := newF(wp).SetFloat64(0.5)
	next, tmp := new(big.Float), new(big.Float)
	x2 := scale2(x, 1)
	k := newF(64)
	for ; i >= 1; i-- {
		p := uint(max(64, min(need(i), float64(wp))))
		k.SetInt64(int64(2 * i))
		tmp.SetPrec(p).Mul(prev, k)
		next.SetPrec(p).Mul(cur, x2)
		next.Add(next, tmp)
		prev, cur, next = cur, next, prev
	}
	// cur = P_0, prev = P_1.
	t := newF(wp).Quo(prev, cur)
	t.SetMantExp(t, 1)
	y := squareFor(x, wp)
	e := expFinite(y.Neg(y), wp)
	e.Mul(e, t)
	return e.Mul(e, invSqrtPi(wp)).SetPrec(prec)
}

// erfOne is the |x| beyond which erf(x) rounds to ±1 at prec bits:
// erfc(x) < e^{-x²} < 2^-(prec+2).
func erfOne(prec uint) float64 { return math.Sqrt(float64(prec+8) * math.Ln2) }

func erfFinite(x *big.Float, prec uint) *big.Float {
	if x.Sign() == 0 {
		return new(big.Float).Set(x)
	}
	ax := new(big.Float).Abs(x)
	af := approx(ax)
	var res *big.Float
	switch {
	case af < 1:
		return erfAlt(x, prec) // odd series: keeps the sign itself
	case af < cfStart:
		res = erfPos(ax, prec)
	case af > erfOne(prec):
		res = fromInt(1, prec)
	default:
		c := erfcCF(ax, prec+guard)
		res = newF(prec).Sub(fromInt(1, 64), c)
	}
	if x.Signbit() {
		res.Neg(res)
	}
	return res
}

func erfcFinite(x *big.Float, prec uint) *big.Float {
	if x.Sign() == 0 {
		return fromInt(1, prec)
	}
	ax := new(big.Float).Abs(x)
	af := approx(ax)
	one := fromInt(1, 64)
	if x.Signbit() {
		// erfc(-a) = 1 + erf(a) = 2 - erfc(a): no cancellation.
		switch {
		case af < 1:
			return newF(prec).Add(one, erfAlt(ax, prec+guard))
		case af < cfStart:
			return newF(prec).Add(one, erfPos(ax, prec+guard))
		case af > erfOne(prec):
			return fromInt(2, prec)
		}
		return newF(prec).Sub(fromInt(2, 64), erfcCF(ax, prec+guard))
	}
	if af >= cfStart {
		return erfcCF(ax, prec)
	}
	// 1 - erf(x) loses about log2(1/erfc x) ≤ 1.45x² + 2 bits.
	extra := guard + uint(math.Ceil(1.45*af*af)) + 2
	var e *big.Float
	if af < 1 {
		e = erfAlt(ax, prec+extra)
	} else {
		e = erfPos(ax, prec+extra)
	}
	return newF(prec).Sub(one, e)
}
