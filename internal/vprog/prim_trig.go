package vprog

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
// interval the polynomials are fitted on. Beyond that bound the result is
// still finite and in [-1, 1] (r and the result are clamped) but not
// accurate: see TestSinCosBeyondBound for the measured error.
//
// Target F32 (relative error < 2^-40): a table-free Payne–Hanek reduction,
// correct for every finite float32. 2/π is cut into eight 28-bit chunks
// C0…C7 (224 bits, down to 2^-252). x has 24 significant bits, so every
// product x·Ci is exact in float64, and p - 4·round(p/4) reduces it mod 4
// exactly into [-2, 2]. The eight residues are summed as a double-double
// (TwoSum); products whose bits all lie above 2^2 vanish mod 4 on their
// own, and the truncation of 2/π costs at most 2^128·2^-252 = 2^-124 in
// units of π/2 (TestPrimSinF32Binades measures 2^-45.6 relative error
// over every binade, next to multiples of π/2 included). Small x lose
// nothing: the products stay exact (2^-149·2^-252 is far above the float64
// underflow).

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

// trigSin32 and trigCos32 hold on |r| ≤ π/4 + 2^-17; errors 2.8e-14 and
// 2.0e-15 (degree 4), i.e. below 2^-45 of the result.
var trigSin32 = [...]float64{
	-0.16666666666663885,
	0.008333333331079048,
	-0.00019841266916815917,
	2.7555990878114467e-06,
	-2.480563147615431e-08,
}

var trigCos32 = [...]float64{
	0.04166666666666468,
	-0.0013888888887277219,
	2.4801585210868912e-05,
	-2.7556369658778965e-07,
	2.0700597075307794e-09,
}

const (
	trigTwoOverPi = 0.6366197723675814 // 2/π rounded
	// π/2 = trigPio2a + trigPio2b + trigPio2c + O(2^-164).
	trigPio2a = 1.5707963267948966
	trigPio2b = 6.123233995736766e-17
	trigPio2c = -1.4973849048591698e-33
	// trigRMax clamps r so that the polynomials never see a huge argument
	// (|x| beyond the exact-reduction bound); it is the fitted interval.
	trigRMax = 0.7853981633974483 + 0x1p-7
)

// trigTwoOverPiChunks are 2/π in 28-bit pieces: chunk i holds the bits of
// weight 2^-(28i+1) … 2^-(28i+28), so each is exact with ≤ 28 significant
// bits and their sum is 2/π - O(2^-224.2).
var trigTwoOverPiChunks = [...]float64{
	0.6366197690367699,
	3.3308114738561656e-09,
	2.276010047810136e-18,
	2.5268260189002822e-26,
	1.6682867657019525e-34,
	1.158871328288855e-43,
	7.053959174404295e-52,
	8.910067885731021e-60,
}

// trigLower builds sin(x) (quadrant offset 0) or cos(x) (offset 1).
func trigLower(b *Builder, x Value, target Type, offset float64) Value {
	var n, sinr, cosr Value
	if target == F32 {
		var r Value
		n, r = trigReduce32(b, x)
		z := b.Mul(r, r)
		sinr = b.FMA(b.Mul(r, z), b.Horner(z, trigSin32[:]...), r)
		cosr = b.FMA(b.Mul(z, z), b.Horner(z, trigCos32[:]...), b.FMA(b.Const(-0.5), z, b.Const(1)))
	} else {
		var rh, rl Value
		n, rh, rl = trigReduce64(b, x)
		sinr, cosr = trigPoly64(b, rh, rl)
	}
	// q = (n + offset) mod 4 ∈ {0, 1, 2, 3}; h = floor(q/2) says the sign,
	// q - 2h whether the other function is needed.
	if offset != 0 {
		n = b.Add(n, b.Const(offset))
	}
	q := b.FMA(b.Const(-4), b.Round(b.Mul(n, b.Const(0.25)), RoundFloor), n)
	h := b.Round(b.Mul(q, b.Const(0.5)), RoundFloor)
	odd := b.LT(b.Const(0.5), b.FMA(b.Const(-2), h, q))
	v := b.Select(odd, cosr, sinr)
	res := b.Mul(v, b.FMA(b.Const(-2), h, b.Const(1))) // × (1 - 2h) = ±1
	if target != F32 {
		// Beyond the exact-reduction bound the clamped r still gives a
		// finite value; keep it within [-1, 1]. MINPD/MAXPD order: res
		// second, so NaN (x = ±Inf or NaN) passes through.
		res = b.Max(b.Const(-1), b.Min(b.Const(1), res))
	}
	if offset == 0 {
		// sin(-0) = -0: the reductions compute -0 - 0·c = +0.
		res = b.Select(b.EQ(x, b.Const(0)), x, res)
	}
	return res
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
	rmax := b.Const(trigRMax)
	rh = b.Max(b.Neg(rmax), b.Min(rmax, rh)) // NaN passes (second operand)
	return n, rh, rl
}

// trigPoly64 is sin and cos of rh + rl, |rl| ≤ ulp(rh)/2, each within
// ~0.55 ULP: the first-order terms of rl are added (sin: rl·cos rh ≈
// rl(1 - z/2); cos: -rl·sin rh ≈ -rl·rh) and the leading 1 - z/2 of cos
// keeps its rounding error (z = rh² is split exactly).
func trigPoly64(b *Builder, rh, rl Value) (sinr, cosr Value) {
	one := b.Const(1)
	half := b.Const(0.5)
	z := b.Mul(rh, rh)
	zl := b.FMA(rh, rh, b.Neg(z))
	// sin: rh + (rh·z·S(z) + rl·(1 - z/2)).
	w := b.FMA(b.Mul(b.Const(-0.5), z), rl, rl)
	sinr = b.Add(rh, b.FMA(b.Mul(rh, z), b.Horner(z, trigSin64[:]...), w))
	// cos: w0 = 1 - z/2 rounded, its error (1 - w0) - z/2 exact (w0 ≥ 0.69,
	// Sterbenz), then the small terms.
	hz := b.Mul(half, z)
	w0 := b.Sub(one, hz)
	corr := b.Sub(b.Sub(one, w0), hz)
	small := b.FMA(b.Mul(z, z), b.Horner(z, trigCos64[:]...), b.Neg(b.FMA(half, zl, b.Mul(rh, rl))))
	cosr = b.Add(w0, b.Add(corr, small))
	return sinr, cosr
}

// trigReduce32 returns n ∈ [-16, 16] (integer-valued) and r with
// x = n·π/2 + r (mod 2π), for every finite float32 x.
func trigReduce32(b *Builder, x Value) (n, r Value) {
	quarter := b.Const(0.25)
	four := b.Const(-4)
	var sh, sl Value
	for i, c := range trigTwoOverPiChunks {
		p := b.Mul(x, b.Const(c))                                         // exact: 24 + 28 bits
		w := b.FMA(four, b.Round(b.Mul(p, quarter), RoundNearestEven), p) // p mod 4 ∈ [-2, 2], exact
		if i == 0 {
			sh = w
			continue
		}
		var e Value
		sh, e = erfTwoSum(b, sh, w)
		if i == 1 {
			sl = e
		} else {
			sl = b.Add(sl, e)
		}
	}
	// x·2/π ≡ sh + sl (mod 4), |sh| ≤ 16.
	n = b.Round(sh, RoundNearestEven)
	f := b.Add(b.Sub(sh, n), sl) // sh - n exact
	return n, b.Mul(f, b.Const(trigPio2a))
}
