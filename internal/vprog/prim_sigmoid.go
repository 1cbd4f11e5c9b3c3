package vprog

// sigmoid(x) = 1/(1 + e^-x), computed from e = exp(−|x|) ≤ 1 so that
// nothing overflows: sigmoid(x) = 1/(1+e) for x ≥ 0 and e/(1+e) for x < 0.
// The smallest results (x ≲ −708) are e itself, subnormal down to
// sigmoid(−745.13…) and then 0, rounded once by Ldexp; float64 targets
// reduce down to −1460 all the same, for a scaled product (see
// expMinArgF64). A float32 target's e is exp32's, 0 below -708.74, so that
// no lane holds a subnormal far below.
//
// Float64 targets keep e and 1+e as double-doubles and divide with one
// correction step (sigmoidDivParts), about 0.5 ULP in all; float32 targets
// (relative error below 2^-33) use a plain quotient.
//
// Float32 sigmoid in float32 lanes (16 per AVX-512 vector, one VDIVPS for
// two VDIVPD, exp and the quotient as double-floats, within 0.78 ULP) was
// measured at 14-19% less time on AVX-512 and the same on AVX2, but its
// pure-Go kernel, whose float32 FMAs Go computes in float64 with a
// midpoint test, took 63 ns per element against 14.7: the float32 kernels
// stay in float64 lanes. (A float32 reciprocal refined by one Newton step
// in place of VDIVPD gained nothing on AVX-512 either.)

func init() {
	register("sigmoid", func(b *Builder, args []Value, target Type) Value {
		return sigmoidLower(b, args[0], target)
	})
}

// sigmoidDivDD returns (nh + nl)/(dh + dl) rounded about once (error near
// 0.5 ULP plus 2^-100 relative), for nonzero finite dh with |dl| ≤ 2^-52·|dh|
// and |nl| ≤ 2^-52·|nh|. One division; the residual of the first quotient
// is computed exactly with an FMA and folded back.
func sigmoidDivDD(b *Builder, nh, nl, dh, dl Value) Value {
	y0, rem, q := sigmoidDivParts(b, nh, nl, dh, dl)
	return b.FMA(rem, q, y0)
}

// sigmoidDivParts returns y0, rem and q with (nh + nl)/(dh + dl) ≈ y0 + rem·q,
// y0 the first quotient and rem its residual.
func sigmoidDivParts(b *Builder, nh, nl, dh, dl Value) (y0, rem, q Value) {
	q = b.Div(b.Const(1), dh)
	y0 = b.Mul(nh, q)
	ny0 := b.Neg(y0)
	// n − y0·d: nh − y0·dh is exact or nearly (y0 ≈ nh/dh), then the low parts.
	rem = b.FMA(ny0, dh, nh)
	rem = b.Add(b.FMA(ny0, dl, rem), nl)
	return y0, rem, q
}

func sigmoidLower(b *Builder, x Value, target Type) Value {
	nax := b.Neg(b.Abs(x))
	neg := b.LT(x, b.Const(0))
	// pick is neg ? t : f. Where x is known ≤ 0 (silu's sigmoid(-|x|)) it
	// is t: neg is false only for x = ±0, where both sides give 1/2.
	pick := func(t, f Value) Value { return b.Select(neg, t, f) }
	if b.AtMost(x, 0) {
		nax = x
		pick = func(t, _ Value) Value { return t }
	}
	one := b.Const(1)
	var res Value
	if target == F64 {
		// −|x| clamped below where exp stays 0 however it is scaled; NaN
		// → the clamp.
		minArg := expMinArgF64
		t := b.Max(nax, b.Const(minArg))
		k, y0, w := expDD(b, t)
		// e = 2^k·(y + ylo).
		y, ylo := expSplit(b, y0, w)
		// A product by p = 2^k is Ldexp, one rounding, while p is normal or
		// subnormal; below (p = 0), e < 2^-1074 is far too small to matter
		// in 1 + e, so k stops at -1100, within LdexpMidRange's range.
		// Where el loses bits to underflow, e < 2^-1000 and dl no longer
		// matters either. One power of two and two products cost AVX2 far
		// less than two general Ldexps.
		p := b.LdexpMidRange(one, b.Max(k, b.Const(-1100)))
		eh := b.Mul(y, p)
		el := b.Mul(ylo, p)
		// 1 + e = dh + dl (Fast2Sum, e ≤ 1).
		dh := b.Add(one, eh)
		dl := b.Add(b.Add(b.Sub(one, dh), eh), el)
		// For x < 0 the quotient is e/(1+e) = 2^k·(y + ylo)/(1+e): divide
		// the unscaled y + ylo and scale last, so the numerator keeps its
		// precision and subnormal results are rounded once (expLdexpDD).
		nh := pick(y, one)
		nl := pick(ylo, b.Const(0))
		q0, rem, q := sigmoidDivParts(b, nh, nl, dh, dl)
		unclamped := b.LE(b.Const(minArg), nax)
		res = expLdexpDD(b, q0, b.Mul(rem, q), pick(k, b.Const(0)), unclamped)
	} else {
		// e = exp32(−|x|): −|x| ≤ 0 needs no upper clamp, and the scaling
		// is one product, +0 below -708.74 (LdexpFlush; on AVX2 3
		// instructions instead of LdexpMidRange's 9).
		e := exp32(b, nax)
		res = b.Div(pick(e, one), b.Add(one, e))
	}
	return b.Select(b.IsNaN(x), x, res)
}
