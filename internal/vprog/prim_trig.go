package vprog

import "math"

// sin and cos.
//
// Both reduce x to r = x - n·π/2, |r| ≤ π/4 (+ a little), evaluate the sine
// and cosine polynomials of r, and pick one of ±sin r, ±cos r from n mod 4
// with arithmetic and one Select (no branches, no tables).
//
// Target F64 (≤ 1 ULP): Cody–Waite reduction with π/2 = P1 + P2 + P3
// (159 bits). n = round(x·2/π); x - n·P1 is exact in one FMA for every n
// (the product is exact inside the FMA and the difference, below 2 in
// magnitude, is a multiple of 2^-53); n·P2 is split exactly with a second
// FMA and the sum kept as hi + lo. The reduction is accurate (r to ~2^-117
// absolute, while no double lies closer than ~2^-62 to a multiple of π/2)
// for |x| ≤ 2^44·π/2 ≈ 2.76e13: up to there n may be one off when x·2/π
// rounds across a half-integer, which leaves |r| ≤ π/4 + 2^-7.5, inside the
// interval the polynomials are fitted on. Beyond that bound (and up to
// MaxFloat64) a branch-free, table-free Payne–Hanek reduction takes over
// (trigReduceHuge64); both run on every lane and a Select keeps one. Both
// give r as a double-double, and the same polynomials finish the job.
// Measured (TestPrimSinCosRandomBits, TestPrimSinCosHuge): ≤ 0.73 ULP over
// random bit patterns and on the doubles closest to multiples of π/2 in
// every binade, the classic worst case 6381956970095103·2^797 included.
//
// Target F32 (relative error < 2^-40) reduces in float64 too: the
// argument of sin in a float32 kernel is a float64 value (w0*x, computed in
// float64 lanes), not a float32, so nothing narrower would be exact. But r
// needs only float64's precision, not a double-double's, so Cody–Waite is
// three FMAs (trigHalfTurn32), and the budget lets one polynomial, the
// sine's on |r| ≤ π/2, do the work of both: the usual path removes a
// multiple of π (an odd multiple of π/2 for cos) instead of π/2, which
// leaves sin(x) = ±sin r with no choice between two polynomials.

func init() {
	register("sin", func(b *Builder, args []Value, target Type) Value {
		return trigLower(b, args[0], target, 0)
	})
	register("cos", func(b *Builder, args []Value, target Type) Value {
		// cos x = sin(x + π/2): the same reduction, one quadrant on.
		return trigLower(b, args[0], target, 1)
	})
}

// Polynomials in z = r², ascending powers, minimax-quality (Chebyshev
// interpolation at 50 digits with mpmath, rounded to float64):
// sin r = r + r³·S(z), cos r = 1 - z/2 + z²·C(z).

// trigSin64 and trigCos64 hold on |r| ≤ π/4 + 2^-7 (the slack covers n one
// off, see above). Errors: S 9.4e-18 (degree 6), C 2.3e-18 (degree 5).
var trigSin64 = [...]float64{
	-0.16666666666666666,
	0.008333333333333331,
	-0.0001984126984126457,
	2.7557319218956863e-06,
	-2.5052106100971508e-08,
	1.605851098650251e-10,
	-7.585492910470085e-13,
}

var trigCos64 = [...]float64{
	0.041666666666666664,
	-0.0013888888888887241,
	2.4801587298533534e-05,
	-2.75573171525077e-07,
	2.087612166717849e-09,
	-1.1380877534950292e-11,
}

// trigSin32 holds S with sin r = r·(1 + z·S(z)), z = r², on |r| ≤ π/2 +
// 2^-6 for the F32 target (the slack covers k one off, see
// trigHalfTurn32): degree 5, relative error 2^-41.3 (mpmath chebyfit),
// within the target's 2^-40.
var trigSin32 = [...]float64{
	-0.16666666666657437,
	0.00833333333069282,
	-0.00019841268616404938,
	2.75571112829127e-06,
	-2.503613171595384e-08,
	1.5491574122751917e-10,
}

const (
	trigTwoOverPi = 0.6366197723675814 // 2/π rounded
	// π/2 = trigPio2a + trigPio2b + trigPio2c + O(2^-164).
	trigPio2a = 1.5707963267948966
	trigPio2b = 6.123233995736766e-17
	trigPio2c = -1.4973849048591698e-33
	// π/2 = trigPio2a + trigPio2b32 + trigPio2c32 + O(2^-160): the middle
	// part rounded down, so that all three are positive. trigHalfTurn32
	// subtracts k·P for each with k = +0 at x = ±0, and -(+0·P) + x is x,
	// sign of zero included, only where P is positive (with trigPio2c,
	// +0·(-P) + -0 would be +0).
	trigPio2b32 = 6.123233995736765e-17
	trigPio2c32 = 1.082856673921914e-32
	// trigBoundCW is the largest |x| trigReduce64 reduces exactly,
	// 2^44·π/2 (rounded down); beyond it trigReduceHuge64 takes over.
	trigBoundCW = 0x1p44 * 1.5707963267948966
)

// trigLower builds sin(x) (quadrant offset 0) or cos(x) (offset 1).
func trigLower(b *Builder, x Value, target Type, offset float64) Value {
	if target == F32 {
		return trigLower32(b, x, offset)
	}
	n, rh, rl := trigReduceFull64(b, x)
	return trigFinish(b, x, n, rh, rl, target, offset)
}

// trigLowerDD builds sin (offset 0) or cos (offset 1) of the double-double
// x = xh + xl, |xl| ≤ ulp(xh)/2 (the exact product of two doubles, from
// the lowering of sin(a*b)): rounding x to xh first would cost up to
// |xl|/|sin x| in relative terms, unbounded near the zeros.
//
// Both parts go through the full-range reduction, xh = n1·π/2 + r1 and
// xl = n2·π/2 + r2 (xl may be as large as 2^970). r1 and r2 may be near
// ±π/4 and cancel down to the distance of x to a multiple of π/2 (2^-56
// for 30 times the classic hard case), so a double-double r1 (2^-107
// absolute) would not do: each reduction returns r as three unevaluated
// doubles to ~2^-140 absolute (trigReduce3), r1 + r2 is summed with exact
// TwoSums, one exact Cody–Waite step with k = round(r·2/π) ∈ {-1, 0, 1}
// brings |r| back to π/4 (+ a little), and only then is r rounded to the
// double-double the polynomials take. Measured: ≤ 1 ULP
// (TestPrimSinCosDD, TestLowerTrigOfProduct).
func trigLowerDD(b *Builder, xh, xl Value, target Type, offset float64) Value {
	n1, a1, b1, c1 := trigReduce3(b, xh)
	n2, a2, b2, c2 := trigReduce3(b, xl)
	s, se := erfTwoSum(b, a1, a2) // |s| ≤ π/2 + 2^-6
	m, me := erfTwoSum(b, b1, b2) // |m| ≤ 2^-50
	c := b.Add(b.Add(c1, c2), me) // ≤ 2^-98: its rounding is negligible
	// r - k·π/2: s - k·P1 is exact (k = 0, or s within a factor 2 of P1,
	// Sterbenz) and so is k·P2 (k = ±1); k·P3 is one more small term.
	k := b.Round(b.Mul(s, b.Const(trigTwoOverPi)), RoundNearestEven)
	nk := b.Neg(k)
	t, te := erfTwoSum(b, b.FMA(nk, b.Const(trigPio2a), s), b.Mul(nk, b.Const(trigPio2b)))
	u, ue := erfTwoSum(b, se, m) // the middle terms, ≤ 2^-49
	// t + u may cancel (x near a multiple of π/2): exact TwoSum; everything
	// else is below 2^-100 or below ulp(t)/2 and rounds harmlessly.
	low := b.FMA(nk, b.Const(trigPio2c), b.Add(b.Add(te, ue), c))
	v, ve := erfTwoSum(b, t, u)
	rh, rl := erfTwoSum(b, v, b.Add(ve, low))
	n := b.Add(b.Add(n1, n2), k) // integers below 2^46: exact
	return trigFinish(b, xh, n, rh, rl, target, offset)
}

// trigReduce3 returns n and r = ra + rb + rc (unevaluated, |ra| ≤ π/4 +
// 2^-7.5, |rb| ≤ 2^-50, |rc| ≤ 2^-98) with x = n·π/2 + r (mod 2π) to about
// 2^-140 absolute, for every x (±Inf and NaN give NaN): the two reductions
// of trigReduceFull64 without rounding r to a double-double.
func trigReduce3(b *Builder, x Value) (n, ra, rb, rc Value) {
	xh, pick := trigHuge(b, x)

	// Payne–Hanek: R = (hf + he + tail)·(P1 + P2 + P3). hf·P1, hf·P2 and
	// he·P1 are split exactly; the rest is below 2^-100.
	f := trigFracHuge64(b, xh)
	tail := b.Add(b.Add(f.ge, f.lo2), f.p3)
	p1 := b.Const(trigPio2a)
	p2 := b.Const(trigPio2b)
	ph := b.Mul(f.hf, p1)
	pl := b.FMA(f.hf, p1, b.Neg(ph))
	q := b.Mul(f.hf, p2)
	ql := b.FMA(f.hf, p2, b.Neg(q))
	w := b.Mul(f.he, p1)
	wl := b.FMA(f.he, p1, b.Neg(w))
	m1, m1e := erfTwoSum(b, pl, q)
	mh, m2e := erfTwoSum(b, m1, w)
	small := b.FMA(tail, p1, b.FMA(f.he, p2, b.FMA(f.hf, b.Const(trigPio2c), b.Add(ql, wl))))
	mlo := b.Add(b.Add(m1e, m2e), small)

	// Cody–Waite: r = (x - n·P1) - n·P2 - n·P3 with x - n·P1 exact and both
	// products split exactly (|n| ≤ 2^44).
	nc := b.Round(b.Mul(x, b.Const(trigTwoOverPi)), RoundNearestEven)
	nn := b.Neg(nc)
	r1 := b.FMA(nn, p1, x)
	c2 := b.Mul(nn, p2)
	c2l := b.FMA(nn, p2, b.Neg(c2))
	c3 := b.Mul(nn, b.Const(trigPio2c))
	c3l := b.FMA(nn, b.Const(trigPio2c), b.Neg(c3))
	s, se := erfTwoSum(b, r1, c2)
	t, te := erfTwoSum(b, se, c2l)
	t, te2 := erfTwoSum(b, t, c3)
	clo := b.Add(b.Add(te, te2), c3l)

	// Payne–Hanek is the rare path (rare.go): calls without an argument
	// beyond the Cody–Waite bound skip it.
	return pick(f.n, nc), pick(ph, s), pick(mh, t), pick(mlo, clo)
}

// trigReduceFull64 returns n and r = rh + rl with x = n·π/2 + r (mod 2π),
// |r| ≤ π/4 + 2^-7.5, for every x; ±Inf and NaN give NaN.
func trigReduceFull64(b *Builder, x Value) (n, rh, rl Value) {
	// The argument is a float64 value whatever the target (w0*x is not a
	// float32 even in a float32 kernel), so the reduction is always the
	// float64 one: both reductions run on every lane; Select keeps
	// Cody–Waite up to its bound and Payne–Hanek beyond.
	xh, pick := trigHuge(b, x)
	nh, rhh, rlh := trigReduceHuge64(b, xh)
	nc, rhc, rlc := trigReduce64(b, x)
	// Payne–Hanek is the rare path (rare.go): calls without an argument
	// beyond the Cody–Waite bound skip it.
	return pick(nh, nc), pick(rhh, rhc), pick(rlh, rlc)
}

// trigHuge returns the argument for Payne–Hanek, xh: x on the lanes where
// |x| is finite and beyond the Cody–Waite bound, and elsewhere a harmless
// stand-in, so that GetExp and Ldexp only ever see normal finite values;
// and pick, which keeps Payne–Hanek's value (huge) on those lanes and
// Cody–Waite's (usual) elsewhere: ±Inf stays on Cody–Waite's path, which
// turns it into NaN, and NaN fails every comparison.
//
// pick is a rare select (rare.go) on the wider mask bound < |x|, which
// holds at ±Inf too: the guard that tells whether a call needs Payne–Hanek
// then tests one comparison instead of two, and a call with an infinite
// argument runs the full program, whose inner select still sends ±Inf to
// Cody–Waite.
func trigHuge(b *Builder, x Value) (xh Value, pick func(huge, usual Value) Value) {
	ax := b.Abs(x)
	beyond := b.LT(b.Const(trigBoundCW), ax)
	finite := b.And(beyond, b.LT(ax, b.Const(math.Inf(1))))
	pick = func(huge, usual Value) Value {
		return b.SelectRare(beyond, b.Select(finite, huge, usual), usual)
	}
	return b.Select(finite, x, b.Const(0x1p46)), pick
}

// trigLower32 is sin (offset 0) or cos (offset 1) of x for an F32 target,
// for every x; ±Inf and NaN give NaN. Up to trigBoundCW the reduction is
// trigHalfTurn32's; beyond, Payne–Hanek's quadrant and remainder (rounded
// once to a double) are turned into the same sign·sin(arg) form, on the
// rare path.
func trigLower32(b *Builder, x Value, offset float64) Value {
	xh, pick := trigHuge(b, x)
	nh, rh, rl := trigReduceHuge64(b, xh)
	argH, parityH := trigQuadrant32(b, nh, b.Add(rh, rl), offset)
	arg, parity := trigHalfTurn32(b, x, offset)
	return trigFinish32(b, pick(argH, arg), pick(parityH, parity))
}

// trigParityBias is 1.5·2^52: for an integer |j| < 2^51, j + trigParityBias
// is exact, in the binade where float64 spacing is 1, and its lowest bit
// is j's parity (OpParityNeg). Adding it to a value rounds that value to
// an integer, to nearest, ties to even.
const trigParityBias = 0x1.8p52

// trigHalfTurn32 returns arg and parity with sin(x + offset·π/2) =
// (-1)^parity·sin(arg) (the lowest bit of parity's encoding; OpParityNeg),
// |arg| ≤ π/2 + 2^-6, for |x| ≤ trigBoundCW: x = m·π/2 + arg with m = 2k
// (sin, k = round(x/π)) or m = 2k + 1 (cos, k = round(x/π - 1/2)), where
// sin x = (-1)^k sin(arg) and cos x = (-1)^(k+1) sin(arg). k can be one
// off where x/π (or x/π - 1/2, |k| ≤ 2^43) rounds across a half-integer,
// by at most 2^-8.4: |arg| ≤ π/2 + 2^-6.
//
// k comes from adding trigParityBias (plus 1 for cos, whose sign is k+1's
// parity): the sum is k + bias exactly, the parity is its lowest bit, and
// k is the sum less the bias, where a rounding and the parity's floor, two
// FMAs and a product took six operations.
//
// arg = ((x - m·P1) - m·P2) - m·P3 (P1, P2, P3: trigPio2a, trigPio2b32,
// trigPio2c32), each step one FMA. The first is exact (see
// trigReduce64: m·P1 and x are multiples of 2^-52 and the difference is
// below 2); the second and third round by 2^-53 relative to their
// results, which are arg to within m·P3 ≤ 2^-61, while |arg| ≳ 2^-56 for
// every double there (trigHard: multiples of π are multiples of π/2): arg
// is within 2^-52 relative. Near a zero of sin or cos, arg is near 0, where
// the polynomial is relatively accurate too.
func trigHalfTurn32(b *Builder, x Value, offset float64) (arg, parity Value) {
	var k, m Value
	var scale float64 // m·Pi = k·(scale·Pi) for sin, exact
	if offset == 0 {
		// x·(1/π) + bias rounds once, x·(1/π) to the nearest integer.
		parity = b.FMA(x, b.Const(1/math.Pi), b.Const(trigParityBias))
		k = b.Sub(parity, b.Const(trigParityBias))
		m, scale = k, 2
	} else {
		parity = b.Add(b.FMA(x, b.Const(1/math.Pi), b.Const(-0.5)), b.Const(trigParityBias+1))
		k = b.Sub(parity, b.Const(trigParityBias+1))
		m, scale = b.FMA(b.Const(2), k, b.Const(1)), 1
	}
	nm := b.Neg(m)
	arg = b.FMA(nm, b.Const(scale*trigPio2a), x) // exact
	arg = b.FMA(nm, b.Const(scale*trigPio2b32), arg)
	arg = b.FMA(nm, b.Const(scale*trigPio2c32), arg)
	return arg, parity
}

// trigQuadrant32 returns arg and parity with sin(x + offset·π/2) =
// (-1)^parity·sin(arg) as trigHalfTurn32 does, |arg| ≤ π/2, from x = n·π/2
// + r, |r| ≤ π/4 + 2^-7.5 (a reduction by quadrants): the quadrants that
// need cos r take it as sin(π/2 - |r|), where π/2 - |r| ≥ π/4 - 2^-7.5
// rounds by 2^-52 relative.
func trigQuadrant32(b *Builder, n, r Value, offset float64) (arg, parity Value) {
	odd, h := trigQuadrant(b, n, offset)
	cosArg := b.Add(b.Sub(b.Const(trigPio2a), b.Abs(r)), b.Const(trigPio2b))
	return b.Select(odd, cosArg, r), b.Add(h, b.Const(trigParityBias)) // h is 0 or 1
}

// trigQuadrant splits q = (n + offset) mod 4 ∈ {0, 1, 2, 3}: h = floor(q/2)
// gives the sign (-1)^h, odd = (q - 2h > 1/2) whether the quadrant takes
// the other function.
func trigQuadrant(b *Builder, n Value, offset float64) (odd, h Value) {
	if offset != 0 {
		n = b.Add(n, b.Const(offset))
	}
	q := b.FMA(b.Const(-4), b.Round(b.Mul(n, b.Const(0.25)), RoundFloor), n)
	h = b.Round(b.Mul(q, b.Const(0.5)), RoundFloor)
	return b.LT(b.Const(0.5), b.FMA(b.Const(-2), h, q)), h
}

// trigKeepZero gives sin(±0) = ±0 (offset 0): the reductions compute
// -0 - 0·c = +0.
func trigKeepZero(b *Builder, x0, res Value, offset float64) Value {
	if offset != 0 {
		return res
	}
	return b.Select(b.EQ(x0, b.Const(0)), x0, res)
}

// trigFinish32 is (-1)^parity·sin(arg) for an F32 target (parity as
// trigHalfTurn32 gives it), |arg| ≤ π/2 + 2^-6, as arg·(1 + z·S(z)): the
// two roundings of that form (2^-52) are nothing beside the polynomial's
// 2^-41.3, and a zero arg keeps its sign (arg + arg·z·S(z) gives +0 for
// -0, S(0) being negative). So sin(±0) = ±0 where the reduction gives arg
// = x for x = ±0, as trigHalfTurn32's does (k = +0: each step is -0·P +
// x = x), with no select on x = 0.
func trigFinish32(b *Builder, arg, parity Value) Value {
	z := b.Mul(arg, arg)
	return b.ParityNeg(b.Mul(arg, b.Horner(z, append([]float64{1}, trigSin32[:]...)...)), parity)
}

// trigFinish evaluates sin (offset 0) or cos (offset 1) of n·π/2 + rh + rl;
// x0 is the argument's leading part, for the sign of a zero.
//
// Float64 keeps each polynomial as an unevaluated head + tail and picks
// and signs those (exactly) before the one addition that rounds: a scaled
// product (dy·w0·cos(w0·x), scale.go) then sees that addition and rounds
// once, after the product. Adding first and multiplying after would round
// twice: up to 2 ULP where cos is 0.55 ULP off near the bottom of its
// binade and the product lands near the top of its own.
func trigFinish(b *Builder, x0, n, rh, rl Value, target Type, offset float64) Value {
	if target == F32 {
		// The polynomial's error (2^-41) dwarfs a tail.
		arg, parity := trigQuadrant32(b, n, b.Add(rh, rl), offset)
		return trigKeepZero(b, x0, trigFinish32(b, arg, parity), offset)
	}
	sinHead, sinTail, cosHead, cosTail := trigPoly64(b, rh, rl)
	odd, h := trigQuadrant(b, n, offset)
	head := b.Select(odd, cosHead, sinHead)
	sign := b.FMA(b.Const(-2), h, b.Const(1)) // 1 - 2h = ±1
	res := b.Mul(head, sign)
	// No clamp to [-1, 1] is needed: |sin r| ≤ 0.72 on |r| ≤ π/4 +
	// 2^-7.5, and cos r's head is 1 - z/2 rounded (≤ 1) with a tail
	// below 0 wherever the head is 1 (-z/2 dominates), so the rounded
	// sum never passes 1 (TestPrimSinCosBounded).
	res = b.Add(res, b.Mul(b.Select(odd, cosTail, sinTail), sign))
	return trigKeepZero(b, x0, res, offset)
}

// trigReduce64 returns n and r = rh + rl with x = n·π/2 + r.
func trigReduce64(b *Builder, x Value) (n, rh, rl Value) {
	n = b.Round(b.Mul(x, b.Const(trigTwoOverPi)), RoundNearestEven)
	nn := b.Neg(n)
	r1 := b.FMA(nn, b.Const(trigPio2a), x) // exact
	p2 := b.Mul(n, b.Const(trigPio2b))
	p2l := b.FMA(n, b.Const(trigPio2b), b.Neg(p2)) // n·P2 = p2 + p2l exactly
	s, e := erfTwoSum(b, r1, b.Neg(p2))
	tail := b.FMA(nn, b.Const(trigPio2c), b.Sub(e, p2l))
	// Within the bound |s| ≳ 2^-56 (the closest doubles to multiples of π/2
	// there, see trigHard in the tests) while |tail| ≤ 2^-62: Fast2Sum is
	// exact.
	rh, rl = erfFastTwoSum(b, s, tail)
	return n, rh, rl
}

// trigPoly64 is sin and cos of rh + rl, |rl| ≤ ulp(rh)/2, each as an
// unevaluated head + tail whose rounded sum is within ~0.55 ULP: the
// first-order terms of rl are added (sin: rl·cos rh ≈ rl(1 - z/2); cos:
// -rl·sin rh ≈ -rl·rh) and the leading 1 - z/2 of cos keeps its rounding
// error (z = rh² is split exactly).
func trigPoly64(b *Builder, rh, rl Value) (sinHead, sinTail, cosHead, cosTail Value) {
	one := b.Const(1)
	half := b.Const(0.5)
	z := b.Mul(rh, rh)
	zl := b.FMA(rh, rh, b.Neg(z))
	// sin: rh + (rh·z·S(z) + rl·(1 - z/2)).
	w := b.FMA(b.Mul(b.Const(-0.5), z), rl, rl)
	sinTail = b.FMA(b.Mul(rh, z), b.Horner(z, trigSin64[:]...), w)
	// cos: w0 = 1 - z/2 rounded, its error (1 - w0) - z/2 exact (w0 ≥ 0.69,
	// Sterbenz), then the small terms.
	hz := b.Mul(half, z)
	w0 := b.Sub(one, hz)
	corr := b.Sub(b.Sub(one, w0), hz)
	small := b.FMA(b.Mul(z, z), b.Horner(z, trigCos64[:]...), b.Neg(b.FMA(half, zl, b.Mul(rh, rl))))
	return rh, sinTail, w0, b.Add(corr, small)
}

// Full-range reduction (|x| > trigBoundCW, every finite
// double up to MaxFloat64): Payne–Hanek without tables or branches.
//
// Write x = M·2^(e-52) with M an integer, 2^52 ≤ |M| < 2^53. The bits of
// 2/π that matter for x·2/π mod 4, to the 2^-125 absolute accuracy the
// hardest double needs (no double lies closer than ~2^-61 to a multiple
// of π/2), are a ~180-bit window T_e = 2^(e-52)·2/π mod 4 whose position
// moves with e. Its chunks cannot be looked up (the IR has no gather), so:
//
//  1. The exponents e ∈ [44, 1023] are cut into 19 bands of 53, band
//     b = ⌊(e-44)/53⌋, s = e - 44 - 53b ∈ [0, 52]. The 53-bit chunks G_j
//     of 2/π (trigTwoOverPi53, j = 0…22, each scaled into [0, 4)) are
//     aligned so that band b needs G_b … G_b+4; a five-stage barrel shifter
//     of Selects on the bits of b brings them into five slots (38 Selects
//     instead of 5·18 for a select chain per slot).
//  2. Rechunking: slot k scaled by 2^(s-53k) (Ldexp, exact) straddles the
//     fixed 53-bit limbs A_k-1, A_k of T_e (limb A_j holds the weights
//     2^(1-53j) … 2^(-51-53j)); one split at 2^(2-53k) with the
//     add-and-subtract-a-power-of-two trick sends each part to its limb,
//     and slot 0 is reduced mod 4. So T_e ≡ A0 + A1 + A2 + A3 (mod 4),
//     with A0 ∈ [-2, 4] on the grid 2^-51, |A1| ≤ 2^-51 on 2^-104,
//     |A2| ≤ 2^-104 on 2^-157, |A3| ≤ 2^-157; every step is exact.
//  3. Products with M, whatever e is: M·A0 = hi0 + lo0 exactly (FMA), both
//     on the grid 2^-51, hi0 reduced mod 4, so their sum E ∈ [-4, 4] is
//     exact; M·A1 = hi1 + lo1 (|hi1| ≤ 4) with hi1's integer part split
//     off; M·A2 = hi2 + lo2 (|hi2| ≤ 2^-51); M·A3 one product (≤ 2^-104).
//  4. Summation: the integer k nearest E + frac(hi1) goes into n; what is
//     left, (E - k) + frac(hi1) + lo1 + hi2, is summed with TwoSums whose
//     every step is exact or provably so (see the comments below), and only
//     terms below 2^-101 are added with plain rounding: the fraction f is
//     found to 2^-104 relative + 2^-150 absolute, x·2/π = n + f (mod 4),
//     |f| ≤ 1/2 + 2^-49.
//
// Cost: about 150 lane operations (measured by TestTrigOpCount), all of
// them executed for every lane, next to ~45 for the Cody–Waite path.

const (
	trigHugeMinExp = 44 // smallest exponent of band 0: 2^44 ≤ trigBoundCW
	trigHugeBand   = 53 // exponents per band; ≤ 53 keeps one split per slot
	trigHugeSlots  = 5  // chunks of 2/π a band needs (53·5 bits ≥ 180 + 52)
)

// trigTwoOverPi53 are the 53-bit chunks of 2/π: G_j is the integer
// ⌊2^(43+53j)·2/π⌋ mod 2^53 scaled by 2^-51, i.e. the bits of 2/π of
// weight 2^(-43-53j+52) … 2^(-43-53j) brought into [0, 4) (mpmath, 1600
// bits; TestTrigTwoOverPiChunks recomputes them). 23 chunks reach 2^-1261:
// band 18 (e up to 1023+) needs G_18 … G_22.
var trigTwoOverPi53 = [...]float64{
	0x1.45f306dc9c800p-9, 0x1.054a7f09d5f44p-1, 0x1.ea69bb81b6c52p+1,
	0x1.664f10e4107f9p+1, 0x1.163abdebbc560p+0, 0x1.b7246e3a424ddp+1,
	0x1.700324977504cp-1, 0x1.464873f877ac7p+1, 0x1.62534e7dd1044p-1,
	0x1.5f52ebb4484e9p+1, 0x1.38e04d68befc8p+1, 0x1.3991d63983530p-1,
	0x1.cfa4e422fc5dep+1, 0x1.f9283b1ff897fp+1, 0x1.fbc0b301fde5ep+1,
	0x1.18b5a0a6d1f6cp-1, 0x1.367ecf27cb09ap+0, 0x1.74f463f669e5fp+1,
	0x1.d45aea4f758fdp+1, 0x1.f2f8bd9e839cep+0, 0x1.bc529497535fdp+1,
	0x1.5fb11f8d5d085p+1, 0x1.80cc11bf1edaep+0,
}

// trigReduceHuge64 returns n (integer-valued, |n| ≤ 9) and r = rh + rl,
// |r| ≤ π/4 + 2^-48, with x = n·π/2 + r (mod 2π), for finite x with
// |x| ≥ 2^44 (normal, so GetExp is defined).
func trigReduceHuge64(b *Builder, x Value) (n, rh, rl Value) {
	f := trigFracHuge64(b, x)
	// Everything below he is below ulp(hf)/2 + 2^-102: plain adds lose at
	// most 2^-104·|hf| + 2^-150.
	tail := b.Add(b.Add(b.Add(f.he, f.ge), f.lo2), f.p3)

	// r = (hf + tail)·π/2 as a double-double.
	ph := b.Mul(f.hf, b.Const(trigPio2a))
	pl := b.FMA(f.hf, b.Const(trigPio2a), b.Neg(ph))
	pl = b.Add(pl, b.FMA(f.hf, b.Const(trigPio2b), b.Mul(tail, b.Const(trigPio2a))))
	rh, rl = erfFastTwoSum(b, ph, pl)
	return f.n, rh, rl
}

// trigFrac is x·2/π = n + hf + he + ge + lo2 + p3 (mod 4) from the
// full-range reduction: hf + he exactly the TwoSum of the two leading
// terms, |hf| ≤ 1/2 + 2^-49, |he| ≤ ulp(hf)/2, |ge| ≤ 2^-103,
// |lo2| ≤ 2^-103, |p3| ≤ 2^-104; all exact but p3 (error 2^-157).
type trigFrac struct{ n, hf, he, ge, lo2, p3 Value }

// trigFracHuge64 is the Payne–Hanek part of trigReduceHuge64, up to the
// fraction's unevaluated terms.
func trigFracHuge64(b *Builder, x Value) trigFrac {
	e := b.GetExp(x)
	// Band and shift. (e - 44 + 1/2)/53 stays ≥ 0.009 from an integer, far
	// more than the rounding of 1/53 and of the FMA can move it.
	band := b.Round(b.FMA(e, b.Const(1.0/trigHugeBand), b.Const((0.5-trigHugeMinExp)/trigHugeBand)), RoundFloor)
	s := b.FMA(band, b.Const(-trigHugeBand), b.Sub(e, b.Const(trigHugeMinExp)))
	m := b.Ldexp(x, b.Sub(b.Const(52), e)) // the integer M, signed, exact

	// Barrel shifter: slot[k] = G[band+k]. Stage `step` shifts by step
	// where that bit of band is set; afterwards at most step-1 of shift
	// is left, so step+4 entries still matter. An entry whose source lies
	// past the end is never read when the bit is set (band ≤ 18).
	win := make([]Value, len(trigTwoOverPi53))
	for i, c := range trigTwoOverPi53 {
		win[i] = b.Const(c)
	}
	rem := band
	for _, step := range []int{16, 8, 4, 2, 1} {
		set := b.LE(b.Const(float64(step)), rem)
		if step > 1 {
			rem = b.Select(set, b.Sub(rem, b.Const(float64(step))), rem)
		}
		next := make([]Value, step+trigHugeSlots-1)
		for i := range next {
			if i+step < len(win) {
				next[i] = b.Select(set, win[i+step], win[i])
			} else {
				next[i] = win[i]
			}
		}
		win = next
	}

	// Rechunk into the limbs of T_e (see the comment above).
	var d [trigHugeSlots]Value
	for k := range d {
		d[k] = b.Ldexp(win[k], b.Add(s, b.Const(float64(-trigHugeBand*k))))
	}
	a0 := b.FMA(b.Const(-4), b.Round(b.Mul(d[0], b.Const(0.25)), RoundNearestEven), d[0])
	var lo [trigHugeSlots]Value // part of slot k below 2^(2-53k)
	limbs := []Value{a0}
	for k := 1; k < trigHugeSlots-1; k++ {
		// 0 ≤ d[k] < 2^(54-53k) = c: d[k] + c lies in [c, 2c], where the
		// spacing is 2^(2-53k), so (d[k] + c) - c is d[k] rounded to a
		// multiple of 2^(2-53k), exactly.
		c := b.Const(math.Ldexp(1, 54-trigHugeBand*k))
		hiK := b.Sub(b.Add(d[k], c), c)
		lo[k] = b.Sub(d[k], hiK)
		limbs[k-1] = b.Add(limbs[k-1], hiK) // exact: same grid, no carry out
		limbs = append(limbs, lo[k])
	}
	// A3 = L3 + slot 4 unsplit: its rounding (2^-210) is negligible.
	limbs[3] = b.Add(limbs[3], d[4])

	// Products with M.
	two := func(a Value) (hi, lo Value) {
		hi = b.Mul(m, a)
		return hi, b.FMA(m, a, b.Neg(hi))
	}
	hi0, lo0 := two(limbs[0]) // |hi0| < 2^55, |lo0| ≤ 2, grid 2^-51
	r0 := b.FMA(b.Const(-4), b.Round(b.Mul(hi0, b.Const(0.25)), RoundNearestEven), hi0)
	e0 := b.Add(r0, lo0) // ∈ [-4, 4] on the grid 2^-51: exact
	hi1, lo1 := two(limbs[1])
	n1 := b.Round(hi1, RoundNearestEven)
	f1 := b.Sub(hi1, n1) // ∈ [-1/2, 1/2], grid 2^-104
	hi2, lo2 := two(limbs[2])
	p3 := b.Mul(m, limbs[3])

	// u = e0 - k is exact (grid 2^-51, |u| ≤ 1 + 2^-51).
	k := b.Round(b.Add(e0, f1), RoundNearestEven)
	u := b.Sub(e0, k)
	v, ve := erfTwoSum(b, u, f1) // |v| ≤ 1/2 + 2^-50, |ve| ≤ 2^-54
	// ve and lo1 (≤ 2^-52) are on the grid 2^-104 and their sum is below
	// 2^-51: exact.
	w := b.Add(ve, lo1)
	g, ge := erfTwoSum(b, w, hi2) // |ge| ≤ 2^-103
	hf, he := erfTwoSum(b, v, g)  // |he| ≤ ulp(hf)/2
	return trigFrac{n: b.Add(n1, k), hf: hf, he: he, ge: ge, lo2: lo2, p3: p3}
}
