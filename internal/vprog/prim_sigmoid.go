package vprog

import "fmt"

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

// sigmoid in float32 lanes (a float32_lanes formula: every operation
// rounds to float32, 16 lanes per AVX-512 vector instead of 8, and one
// VDIVPS where float64 lanes take two VDIVPD, the slowest instructions of
// the float64-lanes kernel). The float64 path's plan in float32
// arithmetic, with the double-float steps a float32 result needs:
//
//   - e = exp(−|x|) = 2^k·E with E carried as hi + lo: r1 = −|x| − k·ln2Hi
//     exact (one FMA, see expLn2Hi32), exp(r1) = 1 + r1 + r1²·C(r1) with
//     1 + r1 split exactly, and the factor 1 + k·ln2Lo folded in last. A
//     rounded E alone was worth up to 1 ULP of e/(1+e) for x < 0, which
//     keeps E's relative error whole.
//   - the quotient of nh + nl (1 for x ≥ 0; E, unscaled, for x < 0) by
//     1 + e: one division by 1 + eh rounded and one correction step,
//     then the scaling by 2^k for x < 0, so that a subnormal result
//     rounds once more only.
//
// Over every float32 x the result is within 0.588 ULP where it is normal
// and 0.779 ULP where it is subnormal (two roundings); 0.018% of the
// results are not correctly rounded.
//
// The primitive takes no factor: x·sigmoid(x) would need the product
// folded in before the final scaling, where it may overflow although the
// result does not; a formula writes sigmoid(x) alone.
const (
	// sigmoidLanes32MinArg: below it sigmoid(x) < 2^-150, which rounds to
	// +0, as the clamped value does (e^-104 = 2^-150.04). k ≥ −151 there.
	sigmoidLanes32MinArg = -104
	// sigmoidLanes32MinScale bounds the scale of e in d = 1 + 2^k·E.
	sigmoidLanes32MinScale = -64
	// From sigmoidLanes32SubnormalBelow up, k ≥ sigmoidLanes32MinNormal
	// (−86·log2 e = −124.07), where 2^k·y is normal for every y ≥ 0.35.
	sigmoidLanes32SubnormalBelow = -86
	sigmoidLanes32MinNormal      = -124
)

func init() {
	registerLanes32("sigmoid", func(b *Builder, scale factor, args []Value) (Value, error) {
		if !isOne(b, scale.hi) || scale.hasLo {
			return 0, fmt.Errorf("it takes no factor (write the product in float64 lanes)")
		}
		return sigmoidLanes32(b, args[0]), nil
	})
}

// sigmoidLanes32 is sigmoid(x) in float32 lanes: +0 from −104 down, 1
// from about 17.33 up, NaN → NaN.
func sigmoidLanes32(b *Builder, x Value) Value {
	nax := b.Neg(b.Abs(x))
	neg := b.LT(x, b.Const(0))
	pick := func(t, f Value) Value { return b.Select(neg, t, f) }
	if b.AtMost(x, 0) {
		// As in sigmoidLower: only ±0 take the other side, and give 1/2.
		nax = x
		pick = func(t, _ Value) Value { return t }
	}
	one := b.Const(1)
	t := b.Max(nax, b.Const(sigmoidLanes32MinArg)) // NaN → the clamp, put back below
	k := b.Round(b.Mul(t, b.Const(expLog2e32)), RoundNearestEven)
	nk := b.Neg(k)
	r1 := b.FMA(nk, b.Const(expLn2Hi32), t)
	rl := b.Mul(nk, b.Const(expLn2Lo32))
	// exp(r1) = 1 + r1 + r1²·C(r1): 1 + r1 and its error, exact, then the
	// rest, and the pair renormalized (Fast2Sum), so that lo is within
	// 2^-24 of hi, as the correction step of the division needs. Then
	// E = exp(r1)·(1 + rl) to 2^-44 (|rl| < 2^-21.8): the polynomial of
	// the rounded r1 + rl was off by up to 2^-27 of E, through r²·C(r).
	h1 := b.Add(one, r1)
	l1 := b.FMA(b.Mul(r1, r1), b.Horner(r1, expm1C32...), b.Add(b.Sub(one, h1), r1))
	hi := b.Add(h1, l1)
	lo := b.FMA(hi, rl, b.Add(b.Sub(h1, hi), l1))
	// e = 2^k·(hi + lo), both products exact. The scale stops at 2^-64:
	// below, e no longer matters in 1 + e, and near 2^-126 lo·2^k would
	// be subnormal, a product x86 takes a microcode assist for.
	s := b.LdexpNormal(one, b.Max(k, b.Const(sigmoidLanes32MinScale)))
	eh := b.Mul(hi, s)
	el := b.Mul(lo, s)
	// (nh + nl)/(1 + eh + el): one division by dh = 1 + eh, rounded, then
	// the residual of its quotient y0 against the whole denominator,
	// nh − y0 (exact: y0 is in [nh/2, nh], Sterbenz) − y0·eh − y0·el + nl,
	// each step rounding a value within a few ULP of y0·2^-24, and one
	// correction, y0 + rem/dh. No Fast2Sum of 1 + e is needed.
	nh, nl := pick(hi, one), pick(lo, b.Const(0))
	q := b.Div(one, b.Add(one, eh))
	y0 := b.Mul(nh, q)
	ny0 := b.Neg(y0)
	rem := b.FMA(ny0, eh, b.Sub(nh, y0))
	rem = b.Add(b.FMA(ny0, el, rem), nl)
	y := b.FMA(rem, q, y0)
	// x < 0: 2^k·y, y = E/(1 + e) in [0.35, 1.42] and k in [−151, 0].
	// From x = −86 up, k ≥ −124 and 2^k·y is normal, one product (the
	// exponent clamped where x ≥ 0 or NaN, whose lanes drop the product).
	// Below, the result is subnormal or 0, and the rare branch rounds it
	// without subnormal arithmetic (LdexpTiny: as a product, the kernel
	// took 20 times as long on such inputs here); the lanes whose result
	// is still normal there scale z = 2^(k+126)·y, exact, by 2^-126.
	usual := b.LdexpNormal(y, b.Max(k, b.Const(sigmoidLanes32MinNormal)))
	z := b.LdexpNormal(y, b.Add(k, b.Const(126)))
	rare := b.Select(b.LT(z, one), b.LdexpTiny(y, k), b.LdexpNormal(b.Max(z, one), b.Const(-126)))
	res := pick(b.SelectRare(b.LT(x, b.Const(sigmoidLanes32SubnormalBelow)), rare, usual), y)
	return b.Select(b.IsNaN(x), x, res)
}
