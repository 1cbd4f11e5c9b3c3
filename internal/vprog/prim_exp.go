package vprog

import (
	"fmt"
	"math"
)

// exp and expm1 (and, through expCore, sigmoid and tanh) share one range
// reduction: x = k·ln2 + r with k = round(x/ln2), |r| ≤ ln2/2, so that
// exp(x) = 2^k·exp(r) and the scaling by 2^k is a single correctly rounded
// Ldexp. There are no tables, so r is not reduced further and the
// polynomial covers the whole of [-ln2/2, ln2/2].
//
// Float64 targets carry r and the result as unevaluated sums hi + lo
// (double-double), which keeps the error of every intermediate rounding
// well below the final one: the result is then within about 0.5 ULP.
// Float32 targets only need a relative error below 2^-33, so they use one
// plain polynomial and no compensation.

// Cody–Waite split of ln2 for the F64 reduction. expLn2Hi is ln2 rounded to
// float64; expLn2Lo is the next 53 bits. x − k·expLn2Hi is exact in one FMA
// (see expReduce), and k·(ln2 − expLn2Hi − expLn2Lo), below 2^-99 for
// |k| ≤ 2107, is negligible.
const (
	expLog2e = 0x1.71547652b82fep+0 // 1/ln2
	expLn2Hi = 0x1.62e42fefa39efp-1
	expLn2Lo = 0x1.abc9e3b39803fp-56
)

// Clamps that keep every intermediate finite and every Ldexp exponent small
// while leaving the rounded result unchanged. Min/Max give their second
// operand when the first is NaN, so clamping x first maps NaN to a finite
// number; the NaN is put back at the end.
const (
	// exp(x) rounds to +Inf above 709.782712893384 and to +0 below
	// -745.1332191019412 (half the smallest subnormal), in both precisions'
	// compute type.
	expMaxArg = 710.0
	// A float64 target reduces arguments down to -1460: the value rounds
	// to +0 below -745.13, but a scaled product (scale.go) that
	// multiplies the unrounded 2^k·(y0 + w) by up to MaxFloat64 = 2^1024
	// has results down to 2^-1075 to recover, which need e^x ≥ 2^-2099,
	// x ≥ -1455. The reduction stays exact (x − k·expLn2Hi is a multiple of
	// 2^-53 below 0.35) and k ≥ -2107 is within Ldexp's range.
	expMinArgF64 = -1460.0
	// A float32 target's exp works in float64's normal range: its
	// argument is clamped to [exp32MinArg, exp32MaxArg], where k =
	// round(x·log2 e) is -1023 and 1023, and 2^k·p is scaled by
	// LdexpFlush, whose 2^-1023 is +0. So e^x is +0 below about
	// -1022.5·ln 2 = -708.74 (where k becomes -1023), and above about
	// 1023.5·ln 2 = 709.44 it stays at e^exp32MaxArg ≈ 2^1023.5, which is
	// +Inf in float32. Between, it is 2^k·p with k in [-1022, 1023].
	//
	// No finite float32 result changes: times the largest factors a
	// float32 kernel meets (dy and a gated half, each below 2^128), the
	// flushed e^x < 2^-1022.5 stays below 2^-766, far under float32's
	// least subnormal 2^-149, and the capped one, over 2^1023, divided by
	// them stays far above float32's largest finite value; the kernels'
	// formulas select their large-argument forms long before exp nears
	// either end. What the flush saves is the float64 subnormal range: an
	// x86 core takes tens of cycles for each operation with a subnormal
	// operand or result, which made the generic sigmoid' kernel 2.4 times
	// slower for x < -708, and a softmax row of masked (-1e9) entries on
	// AVX2 1.7 times slower. (Down to -708.74, 2^k·p may still be a
	// subnormal when k = -1022, or after a product with a small factor: a
	// window of rare inputs. The flush used to be a comparison at -703,
	// which cost AVX2 a comparison and a blend per vector, 7-9% of
	// sigmoid's, silu's and softplus's time.) ±Inf times the flushed 0 is
	// NaN, as with PyTorch's float32 exp, which is 0 below -103.97.
	exp32MinArg = -709.0
	exp32MaxArg = 709.4
	// expm1(x) rounds to -1 for x < -37.43 (e^x < 2^-54); -40 keeps k ≥ -58.
	expm1MinArg = -40.0
	// expm1 for a float32 target stops at 708, which keeps k ≤ 1022: then
	// 2^k and 2^-k are normal and each scaling is one product
	// (LdexpNormal). expm1(708) is +Inf in float32.
	expm132MaxArg = 708.0
)

// expR64 is the minimax fit (relative error 2^-54.2 on |r| ≤ 0.3466, before
// rounding the coefficients) of R(r) = (expm1(r) − r − r²/2)/r³; constant term first.
var expR64 = []float64{
	0x1.5555555555556p-3, 0x1.5555555555554p-5, 0x1.11111111109b8p-7,
	0x1.6c16c16c1811dp-10, 0x1.a01a01a7c0f12p-13, 0x1.a01a0198a8804p-16,
	0x1.71de0db91cbbap-19, 0x1.27e502c598216p-22, 0x1.af38930c76304p-26,
	0x1.1f2a265956fb2p-29,
}

// expP32 is a near-minimax fit (mpmath.chebyfit) of exp(r) on |r| ≤ 0.3467,
// degree 7, relative error 2^-34.1: the float32 target's 2^-33.
var expP32 = []float64{
	0x1.ffffffffa6d0cp-1, 0x1.fffffffff6187p-1, 0x1.0000005cbdd4bp-1, 0x1.5555557e88376p-3,
	0x1.55546446e1464p-5, 0x1.1110a5fa2e975p-7, 0x1.6da79e0d30050p-10, 0x1.a17e35818933cp-13,
}

// expM32 is a near-minimax fit (mpmath.chebyfit) of expm1(r)/r on |r| ≤
// 0.3467, degree 7, relative error 2^-37.5.
var expM32 = []float64{
	0x1.fffffffff6187p-1, 0x1.fffffffffe051p-2, 0x1.5555557e88376p-3, 0x1.55555565ce931p-5,
	0x1.1110a5fa2e975p-7, 0x1.6c166bc75e823p-10, 0x1.a17e35818933cp-13, 0x1.a136e5a92400ep-16,
}

func init() {
	register("exp", func(b *Builder, args []Value, target Type) Value {
		return expLower(b, args[0], target)
	})
	register("expm1", func(b *Builder, args []Value, target Type) Value {
		return expm1Lower(b, args[0], target)
	})
	register("exp_err", func(b *Builder, args []Value, target Type) Value {
		return expErrLower(b, args[0], target)
	})
}

// expClamp is min(max(x, lo), hi), with NaN mapped to lo.
func expClamp(b *Builder, x Value, lo, hi float64) Value {
	return b.Min(b.Max(x, b.Const(lo)), b.Const(hi))
}

// expFast2Sum returns s = fl(a+c) and its rounding error e, exactly
// (a + c = s + e), provided |a| ≥ |c| or a = 0.
func expFast2Sum(b *Builder, a, c Value) (s, e Value) {
	s = b.Add(a, c)
	e = b.Add(b.Sub(a, s), c)
	return s, e
}

// expTwoSum is expFast2Sum without the ordering condition (Knuth).
func expTwoSum(b *Builder, a, c Value) (s, e Value) {
	s = b.Add(a, c)
	cc := b.Sub(s, a)
	e = b.Add(b.Sub(a, b.Sub(s, cc)), b.Sub(c, cc))
	return s, e
}

// expReduce returns k = round(x/ln2) and r + rlo = x − k·ln2 (to ~2^-100
// absolute), for finite x in [expMinArgF64, 746].
func expReduce(b *Builder, x Value) (k, r, rlo Value) {
	k = b.Round(b.Mul(x, b.Const(expLog2e)), RoundNearestEven)
	nk := b.Neg(k)
	// Exact: for k ≠ 0, |x| > 0.34 so x and k·expLn2Hi are multiples of
	// 2^-54 and their difference, below 0.35 in magnitude, fits in 53 bits.
	rh := b.FMA(nk, b.Const(expLn2Hi), x)
	lo := b.Const(expLn2Lo)
	r = b.FMA(nk, lo, rh)
	// rh − r is exact (Sterbenz, or both tiny), so this recovers the
	// rounding error of r up to a negligible last rounding.
	rlo = b.FMA(nk, lo, b.Sub(rh, r))
	return k, r, rlo
}

// expCore returns k and s + t ≈ expm1(x − k·ln2) for finite x in
// [expMinArgF64, 746], with |t| ≲ 2^-52·|s| and an error near 2^-62
// relative to |s|, for F64 targets.
//
// expm1(r) = r + r²/2 + r³·R(r): r²/2 is split exactly with an FMA, so the
// leading part r + r²/2 is a compensated sum and only r³·R(r) (at most
// 0.7% of the value) carries polynomial and rounding error.
func expCore(b *Builder, x Value) (k, s, t Value) {
	k, r, rlo := expReduce(b, x)
	half := b.Const(0.5)
	r2 := b.Mul(r, r)
	r2lo := b.FMA(r, r, b.Neg(r2))
	h := b.Mul(half, r2)
	hl := b.Mul(half, r2lo)
	s, e := expFast2Sum(b, r, h)
	// exp(r + rlo) − 1 = expm1(r) + rlo·(1 + r) + O(rlo²).
	low := b.Add(b.Add(e, hl), b.FMA(rlo, r, rlo))
	t = b.FMA(b.Mul(r2, r), b.Horner(r, expR64...), low)
	return k, s, t
}

// expScaled returns y0 + w ≈ c + s + t, with y0 = fl(c + s) and w its
// rounding error plus t, given |c| ≥ |s| or c = 0 and |t| ≪ |s|: the common
// last step of exp and expm1 before scaling by 2^k. fl(y0 + w) is the
// result rounded once; expSplit gives its low part when a caller needs it.
func expScaled(b *Builder, c, s, t Value) (y0, w Value) {
	y0, e := expFast2Sum(b, c, s)
	return y0, b.Add(e, t)
}

// expSplit rounds y0 + w to y and returns the exact remainder ylo, for
// |y0| ≥ |w|.
func expSplit(b *Builder, y0, w Value) (y, ylo Value) {
	y = b.Add(y0, w)
	return y, b.Add(b.Sub(y0, y), w)
}

// expLdexpDD returns 2^k·(y0 + w) rounded once, for 0 ≤ y0 < 2 and |w| ≲
// 2^-50 (exp(r) from expScaled, or sigmoid's quotient), and 2^k·(y0 + w)
// normal when k ≥ −1021. That includes the subnormal range, where
// Ldexp(fl(y0 + w), k) would round twice (to 53 bits, then to the
// subnormal's shorter significand) and reach 0.75 ULP. When the result can
// be subnormal (k ≤ −1022), y0 + w is instead rounded directly to a
// multiple of its final ulp u = 2^(−1074−k) by adding and subtracting
// c = 1.5·2^52·u (u ≥ 2^-52, so y0 + c rounds to a multiple of u or, for
// k = −1022, of 2u, and the correction step rounds to a multiple of u),
// which makes the final Ldexp exact; for k ≥ −1021, c = 0 and this is
// plain Ldexp(y0 + w, k). unclamped is the mask of lanes whose argument
// was not clamped (where y0 + w is the value), for NoteUnrounded.
func expLdexpDD(b *Builder, y0, w, k, unclamped Value) Value {
	// For k < -2022 (x < -1401) c stops at 1.5·2^1000, not a power that
	// overflows: u is then far above 2 and the result the +0 it should be.
	// The lanes that take c have ce in [0, 1000]; the others, whose ce is
	// clamped to 0, select it away. So 2^ce is a normal power of two
	// (LdexpNormal: on AVX2 one product instead of the general Ldexp's 21
	// instructions).
	ce := b.Max(b.Min(b.Sub(b.Const(-1022), k), b.Const(1000)), b.Const(0))
	c := b.Select(b.LT(k, b.Const(-1021)), b.LdexpNormal(b.Const(1.5), ce), b.Const(0))
	hi := b.Sub(b.Add(y0, c), c) // y0 rounded to a multiple of u (exact steps)
	d := b.Sub(y0, hi)           // exact, |d| ≤ u/2
	corr := b.Sub(b.Add(b.Add(d, w), c), c)
	sum := b.Add(hi, corr)
	// sum is 0 or in [0.3, 4] (y0 + w rounded to a multiple of u, or 0
	// where u > 4), so the scaling is LdexpMidRange's (on AVX2 9
	// instructions instead of 21). For k < -1100 it is then 0 whatever
	// the exponent: clamping k there keeps it within that form's range.
	// A scaled product scales by the true 2^k (scale.go).
	res := b.LdexpMidRange(sum, b.Max(k, b.Const(-1100)))
	b.NoteUnrounded(res, y0, w, unclamped, k)
	return res
}

// expDD returns k and y0 + w ≈ exp(x)/2^k for finite x in [expMinArgF64,
// 746], with fl(y0 + w) in [0.7, 1.42] (F64 target).
func expDD(b *Builder, x Value) (k, y0, w Value) {
	k, s, t := expCore(b, x)
	y0, w = expScaled(b, b.Const(1), s, t)
	return k, y0, w
}

// expm1DD returns k and y0 + w ≈ expm1(x)/2^k for finite x in
// [expm1MinArg, 710] (F64 target).
//
// expm1(x) = 2^k·((1 − 2^-k) + expm1(r)); 1 − 2^-k is formed exactly as a
// sum of two floats, so neither the cancellation for k ≤ 0 nor the lost −1
// for k > 53 costs accuracy.
func expm1DD(b *Builder, x Value) (k, y0, w Value) {
	k, s, t := expCore(b, x)
	c, clo := expTwoSum(b, b.Const(1), b.LdexpMidRange(b.Const(-1), b.Neg(k)))
	// |c| ≥ |s|: c = 0 (k = 0), c ≥ 0.5 > 0.42 ≥ |s| (k ≥ 1), or |c| ≥ 1 (k < 0).
	y0, w = expScaled(b, c, s, b.Add(t, clo))
	return k, y0, w
}

// exp32Scaled returns k and p with exp(x) ≈ 2^k·p, relative error ~2^-34
// (F32 target), for finite |x| ≤ 746. One FMA reduces: ln2 − expLn2Hi is
// 2.3e-17, so |k| ≤ 1076 moves r by at most 2.5e-14, 2^-45 relative.
func exp32Scaled(b *Builder, x Value) (k, p Value) {
	k = b.Round(b.Mul(x, b.Const(expLog2e)), RoundNearestEven)
	r := b.FMA(b.Neg(k), b.Const(expLn2Hi), x)
	return k, b.Horner(r, expP32...)
}

// exp32 is a float32 target's exp(x), relative error ~2^-34, from x
// clamped to [exp32MinArg, exp32MaxArg] (only below where x is known to
// be at most exp32MaxArg, as sigmoid's −|x|): +0 below about -708.74, e^x
// up to 709.44, and about 2^1023.5 above (+Inf in float32). NaN x gives
// +0.
func exp32(b *Builder, x Value) Value {
	xc := b.Max(x, b.Const(exp32MinArg))
	if !b.AtMost(x, exp32MaxArg) {
		xc = b.Min(xc, b.Const(exp32MaxArg))
	}
	k, p := exp32Scaled(b, xc)
	return b.LdexpFlush(p, k) // k in [-1023, 1023]
}

// expm132 is expm1(x) for finite x in [expm1MinArg, expm132MaxArg], relative
// error ~2^-37 (F32 target): expm1(r)·2^k + (2^k − 1) with expm1(r) =
// r·M(r), one FMA; k is in [-58, 1022], so 2^k is a normal power of two
// (LdexpNormal, the product by 1 exact), and 2^k − 1 is exact for |k| ≤ 53
// and otherwise off by at most 2^-54 relative, where the result is near −1
// or near 2^k. (The same rounding as (1 − 2^-k + expm1(r))·2^k, but one
// power of two instead of two: on AVX2 4 instructions fewer.)
func expm132(b *Builder, x Value) Value {
	k := b.Round(b.Mul(x, b.Const(expLog2e)), RoundNearestEven)
	r := b.FMA(b.Neg(k), b.Const(expLn2Hi), x) // one FMA, as in exp32Scaled
	p := b.Mul(r, b.Horner(r, expM32...))
	s := b.LdexpNormal(b.Const(1), k)
	return b.FMA(p, s, b.Sub(s, b.Const(1)))
}

// expDD64 is expDD of x clamped to [expMinArgF64, expMaxArg] (NaN to the
// low end): the float64 exp's reduction, which exp and exp_err share.
func expDD64(b *Builder, x Value) (k, y0, w Value) {
	return expDD(b, expClamp(b, x, expMinArgF64, expMaxArg))
}

// expLower is exp(x): +Inf above the overflow threshold, gradual underflow
// to +0 (one rounding, by Ldexp), exp(±Inf) = +Inf/+0, NaN → NaN. A
// float32 target's (exp32) is +0 below -708.74 and about 2^1023.5 above
// 709.44, +Inf once rounded to float32.
func expLower(b *Builder, x Value, target Type) Value {
	var res Value
	if target == F64 {
		k, y0, w := expDD64(b, x)
		res = expLdexpDD(b, y0, w, k, b.LE(b.Const(expMinArgF64), x))
	} else {
		res = exp32(b, x)
	}
	return b.Select(b.IsNaN(x), x, res)
}

// expErrLower is exp(x) minus expLower's rounded result, for a formula
// that carries exp as a double-float (expr.Functions: exp_err): for a
// float64 target the low part of y0 + w, scaled by 2^k; the same
// instructions as expLower's up to y0 + w, so the builder shares them. It
// is 0 for k < -1021 (x < -707.7, results below 2^-1021, whose error is
// below 2^-1075), near overflow (x > 709), and for a float32 target, whose
// result is a float64 rounded far below float32's precision. NaN gives
// NaN.
func expErrLower(b *Builder, x Value, target Type) Value {
	zero := b.Const(0)
	res := zero
	if target == F64 {
		k, y0, w := expDD64(b, x)
		_, ylo := expSplit(b, y0, w)
		normal := b.AndNot(b.LE(b.Const(-1021), k), b.LT(b.Const(709), x))
		// Where normal, k is in [-1021, 1023] (x ≤ 709); elsewhere the
		// clamped k only keeps 2^k a normal power of two (LdexpNormal).
		kn := b.Min(b.Max(k, b.Const(-1021)), b.Const(1023))
		res = b.Select(normal, b.LdexpNormal(ylo, kn), zero)
	}
	return b.Select(b.IsNaN(x), x, res)
}

// expm1Lower is expm1(x): -1 for x ≤ -37.5 and at -Inf, +Inf above the
// overflow threshold, ±0 and tiny x exact, NaN → NaN.
func expm1Lower(b *Builder, x Value, target Type) Value {
	hi := expMaxArg
	if target == F32 {
		hi = expm132MaxArg
	}
	xc := expClamp(b, x, expm1MinArg, hi)
	var res Value
	if target == F64 {
		k, y0, w := expm1DD(b, xc)
		// |y0 + w| is in [0.2, 2^58] where k ≠ 0 (see expm1DD). expm1
		// has the sign of x: the copysign restores expm1(-0) = -0, which
		// the arithmetic turns into +0.
		res = b.CopySign(b.LdexpMidRange(b.Add(y0, w), k), x)
	} else {
		// expm1(x) ≥ x, equal only at 0: max(y, x) is y but where the
		// two are equal, and there it gives x (the second operand), so
		// expm1(-0) = -0, which the arithmetic turns into +0. Where |x| <
		// 2^-36 y may fall below x by its error; x is then the nearer
		// to expm1(x) > x, and both round to x in float32. Above the
		// clamp it gives +Inf for +Inf, and a NaN x itself, so the NaN
		// rule below goes (on AVX2 three instructions fewer than a
		// copysign and the rule).
		res = b.Max(expm132(b, xc), x)
	}
	return b.Select(b.IsNaN(x), x, res)
}

// expm1 in float32 lanes (a float32_lanes formula: every operation rounds
// to float32, 16 lanes per AVX-512 vector instead of 8). Its domain is
// x ≤ 0, the negative side of ELU-like activations: there k ≤ 0, so
// c = 2^k − 1 is exact (for k ≥ −24), and expm1(x) = c + 2^k·expm1(r) with
// r = x − k·ln2.
//
// Alone, the result is fma(p, 2^k, c) with p = expm1(r) rounded: within
// 0.881 ULP for every float32 x ≤ 0, 0.13% of the results not correctly
// rounded. Times a factor a (alpha*expm1(x)) a second rounding reached 2
// ULP (for a = 0.7 and 1.67, 1 and 3 results in 10^6 over 1 ULP), so the sum is
// carried as hi + lo instead: hi = fma(2^k, r, c), whose error lo is exact
// (2^k·r is exact), plus 2^k·(expm1(r) − r), and a·hi + a·lo rounds once,
// in one fma. That costs 5 operations more, and keeps every a within 1 ULP:
// 0.82, 0.85, 0.89 and 0.91 ULP for a = 1, 0.7, 1.67 and 3.3 over every
// float32 x ≤ 0 (a search in float32 arithmetic; actkern check sweeps the
// kernels at 1, 0.7 and 1.67), 0.07-0.09% not correctly rounded.
//
// For x > 0 the same steps reach 1.6 ULP (2^k − 1 rounds for k ≥ 25, and
// near x = ln2/2 the fma's addend is small against p·2^k), so the primitive
// refuses an argument not known to be ≤ 0: a formula writes
// expm1(min(x, 0)) in a branch taken for x ≤ 0 only.
const (
	// expm1Lanes32MinArg keeps k ≥ −25, where 2^k is a normal float32;
	// expm1(x) rounds to −1 below ln 2^-25 = −17.33. (At k = −25, c rounds
	// to −1, by less than 0.71 ULP of the result.)
	expm1Lanes32MinArg = -17.5
	// Cody–Waite split of ln2 in float32: expLn2Hi32 is ln2 rounded to
	// float32, so x − k·expLn2Hi32 is exact in one FMA for |k| ≤ 25 (x and
	// k·expLn2Hi32 are multiples of 2^-25 there, and the difference is
	// below 0.35); expLn2Lo32 is the next 24 bits.
	expLn2Hi32 = 0x1.62e43p-01
	expLn2Lo32 = -0x1.05c61p-29
	expLog2e32 = 0x1.715476p+00
)

// expm1C32 is a near-minimax fit (mpmath.chebyfit, coefficients rounded to
// float32) of C(r) = (expm1(r) − r)/r² on |r| ≤ 0.3467, degree 5: r + r²·C(r)
// is expm1(r) to 2^-29 relative. Degree 4 (2^-25.2) put 7 results over 1 ULP.
var expm1C32 = []float64{
	0x1p-1, 0x1.555556p-3, 0x1.5554e8p-5, 0x1.1110ep-7, 0x1.6d434ep-10, 0x1.a12516p-13,
}

func init() {
	registerLanes32("expm1", func(b *Builder, scale factor, args []Value) (Value, error) {
		x := args[0]
		if !b.AtMost(x, 0) {
			return 0, fmt.Errorf("the argument must be known to be ≤ 0 (write expm1(min(x, 0)) in the x ≤ 0 branch)")
		}
		return expm1Lanes32(b, scale, x), nil
	})
}

// expm1Lanes32 is scale·expm1(x) for x ≤ 0 (or NaN) in float32 lanes:
// −scale at −Inf and below −17.5, the sign of scale·x at zero, NaN → NaN.
func expm1Lanes32(b *Builder, scale factor, x Value) Value {
	xc := b.Max(x, b.Const(expm1Lanes32MinArg)) // NaN → the clamp, put back below
	k := b.Round(b.Mul(xc, b.Const(expLog2e32)), RoundNearestEven)
	nk := b.Neg(k)
	r := b.FMA(nk, b.Const(expLn2Lo32), b.FMA(nk, b.Const(expLn2Hi32), xc))
	r2 := b.Mul(r, r)
	q := b.Horner(r, expm1C32...)
	s := b.LdexpNormal(b.Const(1), k) // k in [−25, 0]
	c := b.Sub(s, b.Const(1))
	if isOne(b, scale.hi) && !scale.hasLo {
		y := b.FMA(b.FMA(r2, q, r), s, c)
		// expm1(x) ≥ x, equal only at 0: max(y, x) is y but where the
		// two are equal, and there it gives x (the second operand), so
		// expm1(−0) = −0, which r's fma turns into +0; and it gives a NaN
		// x itself, so no NaN rule is needed.
		return b.Max(y, x)
	}
	// hi + lo = c + 2^k·r exactly: 2^k·r is exact, and c − hi is exact
	// (Sterbenz, or c = 0), so the second fma computes the first's error,
	// which is a float32.
	hi := b.FMA(s, r, c)
	lo := b.FMA(s, r, b.Sub(c, hi))
	lo = b.FMA(s, b.Mul(r2, q), lo) // + 2^k·(expm1(r) − r)
	// max(hi, x) and max(lo, x) as above: −0 at x = −0 (lo's magnitude is
	// below |x| elsewhere), and a NaN x's payload, which the product and
	// the fmas pass on as their first NaN operand, before scale's. A scale
	// kept as hi + lo (a constant, see factor) adds h·lo: that lo has
	// hi's sign, so the zeros keep theirs.
	h := b.Max(hi, x)
	if !isNonzeroConst(b, scale.hi) {
		lo = b.Min(lo, zeroScaleBound(b, scale.hi))
	}
	l := b.Mul(b.Max(lo, x), scale.hi)
	if scale.hasLo {
		l = b.FMA(h, scale.lo, l)
	}
	return b.FMA(h, scale.hi, l)
}

// zeroScaleBound is −0 for a scale of +0 and +Inf for any other. With a
// scale of +0 both products are zeros, h·0 = −0 for x < 0 but lo·0 = +0
// where lo > 0, and −0 + +0 = +0 where −0 is due: min(lo, −0) makes lo's
// zero −0 too (then max(lo, x) is −0 or negative for x < 0, and +0 at x =
// +0, whose result is +0). Any other scale leaves lo alone. The bound
// depends on the scale only: the kernels compute it once per call, and
// the loop pays one MIN.
func zeroScaleBound(b *Builder, scale Value) Value {
	positiveZero := b.And(b.EQ(scale, b.Const(0)), b.LT(b.Const(0), b.Div(b.Const(1), scale)))
	return b.Select(positiveZero, b.Const(math.Copysign(0, -1)), b.Const(math.Inf(1)))
}

// isNonzeroConst reports whether v is a constant other than ±0.
func isNonzeroConst(b *Builder, v Value) bool {
	in := b.p.Instrs[v]
	return in.Op == OpConst && in.Imm != 0
}
