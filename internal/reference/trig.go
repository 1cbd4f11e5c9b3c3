package reference

import (
	"math/big"
	"math/bits"
)

// sin and cos. The argument is reduced exactly: x = k·π/2 + r with
// |r| ≤ π/4, using π with as many bits as x has integer bits plus the
// working precision, and more again when x happens to lie close to a
// multiple of π/2 (r must keep its relative accuracy). Then sin r and
// cos r - 1 come from Taylor series on r/2^s and s doublings.

var quarterPi = new(big.Float).SetFloat64(0.785) // just below π/4

// reduceHalfPi returns r and k mod 4 with ax = k·π/2 + r, |r| ≤ π/4 (a
// hair more at the boundary), for finite ax > 0.
func reduceHalfPi(ax *big.Float, prec uint) (*big.Float, uint) {
	if ax.Cmp(quarterPi) < 0 {
		return ax, 0
	}
	ex := expo(ax)
	extra := uint(64)
	for {
		pr := uint(max(ex, 0)) + prec + extra
		q := newF(pr).Mul(ax, twoOverPi(pr))
		half := newF(pr+1).Add(q, big.NewFloat(0.5))
		k, _ := half.Int(nil) // q > 0: truncation is floor
		// f = q - k is exact: k is a multiple of q's ulp (pr ≥ q's
		// integer bits) and |f| ≤ 1/2.
		f := newF(pr).Sub(q, new(big.Float).SetInt(k))
		// q is known to about 2^(expo(q) - pr) absolutely, so f has
		// pr - expo(q) + expo(f) correct bits.
		if f.Sign() != 0 {
			good := int(pr) - expo(q) + expo(f)
			if good >= int(prec)+guard {
				r := newF(prec).Mul(f, piConst(prec+guard))
				r.SetMantExp(r, -1) // ·π/2
				var m uint
				if w := k.Bits(); len(w) > 0 {
					m = uint(w[0]) & 3
				}
				return r, m
			}
			extra += uint(int(prec) + guard - good + 32)
		} else {
			extra *= 2
		}
	}
}

// sinCosCore returns sin r (if wantSin) and cos r - 1 for finite nonzero
// |r| ≤ 0.8.
func sinCosCore(r *big.Float, prec uint, wantSin bool) (sin, cm1 *big.Float) {
	ex := expo(r)
	s := max(0, ex+reductionTarget(prec))
	wp := prec + guard + uint(bits.Len(uint(s)))
	t := scale2(r, -s)
	y := newF(wp).Mul(t, t)
	e0 := float64(s - ex) // |t| < 2^-e0
	// Terms t^j/j! of both series up to j = 2n+1; the first omitted one
	// is below 2^-(wp+4) times the leading term (t or t²/2).
	n := 1
	for float64(2*n)*e0+log2Fact(2*n+1) < float64(wp+4) {
		n++
	}
	cm1 = horner(coefs(coefCos, n, wp), y, wp)
	cm1.Mul(cm1, y)
	cm1.Neg(cm1)
	if wantSin {
		sin = horner(coefs(coefSin, n, wp), y, wp)
		sin.Mul(sin, t)
	}
	// sin 2t = 2 sin t (1 + (cos t - 1)); cos 2t - 1 = 2 (cos t - 1)(cos t + 1).
	one, two := fromInt(1, 64), fromInt(2, 64)
	tmp := newF(wp)
	for range s {
		if wantSin {
			tmp.Add(cm1, one)
			sin.Mul(sin, tmp)
			sin.SetMantExp(sin, 1)
		}
		tmp.Add(cm1, two)
		cm1.Mul(cm1, tmp)
		cm1.SetMantExp(cm1, 1)
	}
	if wantSin {
		sin.SetPrec(prec)
	}
	return sin, cm1.SetPrec(prec)
}

// sinCosFinite is sin x (cos false) or cos x (cos true) for finite x.
func sinCosFinite(x *big.Float, prec uint, cos bool) *big.Float {
	if x.Sign() == 0 {
		if cos {
			return fromInt(1, prec)
		}
		return new(big.Float).Set(x)
	}
	wp := prec + guard
	ax := new(big.Float).Abs(x)
	r, k := reduceHalfPi(ax, wp)
	if cos {
		k = (k + 1) & 3 // cos a = sin(a + π/2)
	}
	// sin(kπ/2 + r) = sin r, cos r, -sin r, -cos r for k = 0, 1, 2, 3.
	var res *big.Float
	if k&1 == 0 {
		res, _ = sinCosCore(r, wp, true)
	} else {
		_, cm1 := sinCosCore(r, wp, false)
		res = cm1.Add(cm1, fromInt(1, 64))
	}
	if k&2 != 0 {
		res.Neg(res)
	}
	if x.Signbit() && !cos {
		res.Neg(res) // sin is odd, cos even
	}
	return res.SetPrec(prec)
}
