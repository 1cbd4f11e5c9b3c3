package vprog

// erf and erfc.
//
// Both are built from two pieces, both always computed and chosen per lane:
//
//   - |x| < 1/2: erf x = x + x·P(x²), a minimax polynomial for erf(x)/x - 1.
//     erfc x = 1 - erf x is then ≥ 0.47, so the subtraction loses nothing
//     when carried out as (1 - x) - x·P with the rounding error of 1 - x
//     recovered exactly.
//   - |x| ≥ 1/2: erfc a = e^{-a²} · h(q) / (a + 4), a = |x|, with
//     q = (a - 4)/(a + 4) ∈ [-0.78, 0.75] for a ∈ [1/2, 28] (the Möbius map
//     that makes the scaled complementary error function a tame polynomial
//     over the whole half-line, as in Shepherd & Laframboise 1981). erf is
//     1 - erfc there, erfc of a negative argument 2 - erfc(|x|).
//
// For target F64 (≤ 1 ULP) every factor of the tail is carried as an
// unevaluated double-double sum, because the result's relative error is the
// sum of the factors' errors:
//
//   - a² = S + s exactly (FMA); S = k·ln2 + r1 with r1 exact (FMA against
//     the double nearest ln2; the residue of ln2 goes into the tiny term
//     c = s - k·ln2lo), so e^{-a²} = 2^-k · e^{-r1} · (1 - c) and e^{-r1} is
//     1 + y + y²/2 + y³Q(y), y = -r1, summed as hi + lo.
//   - q = q0 + q1 from one division and its exact residual; the first four
//     Horner steps of h run in double-double with double-double
//     coefficients and feed q1 in through the product terms, so h(q0+q1) is
//     right to about 2^-57 although h falls from 2.8 to 0.64 over the range.
//   - e^{-a²}·h/(a+4) is formed as hi + lo and divided with one residual
//     correction; only then is it scaled by 2^-k (Ldexp), so the one
//     rounding into the subnormal range happens last: erfc stays within
//     1 ULP down to its underflow at a ≈ 27.3 (erfc is 0 beyond, exactly
//     as the clamp of a to 28 gives).
//
// For target F32 (relative error < 2^-33) the same formulas run in plain
// double with shorter polynomials.
//
// Cost (TestErfOpCount, lane operations without constants): target F64
// erf 162, erfc 171 (1 division, 2–3 Ldexp); target F32 erf 48, erfc 57
// (1 division). erf and erfc share everything but the final combination.

func init() {
	register("erf", func(b *Builder, args []Value, target Type) Value {
		return erfLower(b, args[0], target, false)
	})
	register("erfc", func(b *Builder, args []Value, target Type) Value {
		return erfLower(b, args[0], target, true)
	})
}

// Coefficients: minimax-quality (Chebyshev interpolation at 50 digits with
// mpmath, then rounded to float64; errors measured with the rounded
// coefficients). Ascending powers.

// erfSmall64 is P(z) ≈ erf(√z)/√z - 1 on z ∈ [0, 1/4], degree 9; max error
// 1.8e-17 (relative to erf: 2^-56).
var erfSmall64 = [...]float64{
	0.1283791670955126,
	-0.3761263890318375,
	0.1128379167095487,
	-0.02686617064499972,
	0.0052239776220169365,
	-0.0008548326510724796,
	0.00012055286202005714,
	-1.4923003368152099e-05,
	1.637123442577e-06,
	-1.462091340945175e-07,
}

// erfSmall32 is the degree-5 version for target F32; max error 2^-36.
var erfSmall32 = [...]float64{
	0.12837916708240948,
	-0.37612638525650693,
	0.11283774013179539,
	-0.026863143032249386,
	0.005200413724335493,
	-0.0007694534279142308,
}

// erfExpQ64 is Q(y) = (e^y - 1 - y - y²/2)/y³ on y ∈ [-0.3475, 0.3475]
// (|y| ≤ ln2/2 plus the slack of rounding k), degree 9; max error 1.9e-17,
// which y³ ≤ 0.042 turns into 2^-60 of e^y.
var erfExpQ64 = [...]float64{
	0.16666666666666669,
	0.041666666666666664,
	0.008333333333329994,
	0.0013888888888886504,
	0.00019841269863392214,
	2.48015873173863e-05,
	2.7557267935231926e-06,
	2.755728259480407e-07,
	2.5100634461878497e-08,
	2.0911414421956654e-09,
}

// erfExpQ32 is the degree-5 version for target F32; relative error 2^-30,
// which y³ ≤ 0.042 turns into 2^-37 of e^y.
var erfExpQ32 = [...]float64{
	0.1666666668185573,
	0.041666666681851566,
	0.008333310693802049,
	0.0013888866255340141,
	0.00019891247314183293,
	2.4851554486213973e-05,
}

// erfcK is the centre of the Möbius map q = (a-K)/(a+K). K = 4 gives the
// shortest polynomial for 2^-57 over a ∈ [1/2, 28] among K = 3, 4, 5.
const erfcK = 4

// erfcH64Head and erfcH64Tail are h(q) = erfcx(a)·(a+4), a = 4(1+q)/(1-q),
// on q ∈ [-7/9, 3/4] (a ∈ [1/2, 28]), degree 23, relative error 2^-58 with
// the four leading coefficients kept as double-doubles (rounding them to
// float64 alone would cost 2^-54: they decay slowly).
var erfcH64Head = [...][2]float64{
	{1.095995661000491, 5.762127476238976e-17},
	{-0.976548729080882, -1.5525336881913618e-17},
	{0.7732087022652371, 3.5830570619305056e-17},
	{-0.5408538313132363, 4.241647743293825e-18},
}

var erfcH64Tail = [...]float64{
	0.3308515878780077,
	-0.17401093723988045,
	0.07638151490949553,
	-0.02637005334140122,
	0.006112055652332405,
	-0.0002809588540334851,
	-0.0004550526519730736,
	0.0001768127462857219,
	-3.6353535074163213e-06,
	-1.88606027628845e-05,
	4.695076912398632e-06,
	1.4234818351438602e-06,
	-8.477720346097271e-07,
	-7.441010473264668e-08,
	1.2651923451512515e-07,
	-1.5255116176616932e-10,
	-1.7506112036111487e-08,
	5.617989187952126e-10,
	1.7583639546980303e-09,
	-1.996881491945952e-11,
}

// erfcH32 is h for target F32, degree 13, relative error 2^-35.8.
var erfcH32 = [...]float64{
	1.095995661008627,
	-0.9765487291159096,
	0.7732087008782447,
	-0.5408538298109593,
	0.33085162671537116,
	-0.17401095307253475,
	0.07638110425225939,
	-0.026370012653357658,
	0.006114143841049663,
	-0.00028078362498596066,
	-0.00046059839511729413,
	0.00017567600872601678,
	3.9613174080919735e-06,
	-1.671268543321002e-05,
}

const (
	erfLn2Hi = 0.6931471805599453     // ln 2 rounded to float64
	erfLn2Lo = 2.3190468138462996e-17 // ln 2 - erfLn2Hi
	erfLog2E = 1.4426950408889634     // 1/ln 2
	// erfSplit is where the tail takes over from the small-argument series.
	erfSplit = 0.5
	// erfClamp bounds a before squaring: erfc(28) = 0 after rounding
	// (e^{-784} < 2^-1131), so every larger a (and +Inf) gives the same
	// lanes, and a² cannot overflow.
	erfClamp = 28
	// A float32 target's erfc is 0 above erfc32MaxArg, where it is below
	// 2^-980 (and th·2^-k normal up to it): for the reason, see
	// exp32MinArg.
	erfc32MaxArg = 26
)

// erfTwoSum is Knuth's TwoSum: s + e = x + y exactly, s = fl(x + y).
func erfTwoSum(b *Builder, x, y Value) (s, e Value) {
	s = b.Add(x, y)
	yv := b.Sub(s, x)
	xv := b.Sub(s, yv)
	e = b.Add(b.Sub(x, xv), b.Sub(y, yv))
	return s, e
}

// erfFastTwoSum is Dekker's Fast2Sum, exact when |x| ≥ |y| (or x = 0).
func erfFastTwoSum(b *Builder, x, y Value) (s, e Value) {
	s = b.Add(x, y)
	e = b.Sub(y, b.Sub(s, x))
	return s, e
}

// erfLower builds erf(x) or (complement) erfc(x).
func erfLower(b *Builder, x Value, target Type, complement bool) Value {
	one := b.Const(1)
	a := b.Abs(x)
	// Small arguments: P(x²) ≈ erf(x)/x - 1.
	small := erfSmall64[:]
	if target == F32 {
		small = erfSmall32[:]
	}
	px := b.Horner(b.Mul(x, x), small...)

	// Tail: erfc(|x|) = th + tl (before the final scaling by 2^-k).
	// MINPD order: a second, so NaN passes through the clamp.
	clamp := float64(erfClamp)
	if target == F32 {
		clamp = erfc32MaxArg
	}
	ac := b.Min(b.Const(clamp), a)
	var th, tl, negk Value
	if target == F32 {
		th, negk = erfcTail32(b, ac)
	} else {
		th, tl, negk = erfcTail64(b, ac)
	}
	isSmall := b.LT(a, b.Const(erfSplit))

	if !complement {
		// x + x·P with one rounding (also right for ±0, subnormal x).
		rs := b.FMA(x, px, x)
		var rt Value
		if target == F32 {
			rt = b.Sub(one, b.LdexpNormal(th, negk)) // th in [0.01, 1], negk in [-976, 0]
		} else {
			// 1 - (eh + el), eh ≤ 0.48: Fast2Sum recovers the rounding of
			// 1 - eh. eh and el are exact scalings (erfc ≥ 2^-60 wherever
			// erf is not already exactly 1, far from underflow).
			eh := b.Ldexp(th, negk)
			el := b.Ldexp(tl, negk)
			s := b.Sub(one, eh)
			e := b.Sub(b.Sub(one, s), eh)
			rt = b.Add(s, b.Sub(e, el))
		}
		return b.Select(isSmall, rs, b.CopySign(rt, x))
	}

	// erfc, |x| < 1/2: (1 - x) - w with the error of 1 - x kept (Fast2Sum,
	// |1| ≥ |x|); the result is in [0.47, 1.53].
	s, e := erfFastTwoSum(b, one, b.Neg(x))
	rs := b.Add(s, b.Sub(e, b.Mul(x, px)))
	var pos, neg Value
	two := b.Const(2)
	if target == F32 {
		pos = b.LdexpNormal(th, negk) // th in [0.01, 1], negk in [-976, 0]
		neg = b.Sub(two, pos)
		pos = b.Select(b.LT(b.Const(erfc32MaxArg), a), b.Const(0), pos)
	} else {
		// Scale the unevaluated sum once: one rounding, also into the
		// subnormal range.
		pos = b.Ldexp(b.Add(th, tl), negk)
		// 2 - (eh + el) for x ≤ -1/2: the result is in [1.52, 2].
		eh := b.Ldexp(th, negk)
		el := b.Ldexp(tl, negk)
		s2 := b.Sub(two, eh)
		e2 := b.Sub(b.Sub(two, s2), eh)
		neg = b.Add(s2, b.Sub(e2, el))
	}
	return b.Select(isSmall, rs, b.Select(b.LT(x, b.Const(0)), neg, pos))
}

// erfcExpArg splits a² (a ∈ [0, 28]) as k·ln2 + r1 + c with r1 exact,
// |r1| ≤ 0.3466 + tiny, |c| < 2^-40, and returns k, y = -r1 and c.
func erfcExpArg(b *Builder, a Value) (k, y, c Value) {
	sq := b.Mul(a, a)
	sl := b.FMA(a, a, b.Neg(sq)) // a² = sq + sl exactly
	k = b.Round(b.Mul(sq, b.Const(erfLog2E)), RoundNearestEven)
	// sq - k·ln2hi is exact: both are multiples of 2^-54 (sq ≥ 1/4 when
	// k ≥ 1; k = 0 leaves sq) and the difference is below 1/2.
	r1 := b.FMA(b.Neg(k), b.Const(erfLn2Hi), sq)
	c = b.FMA(b.Neg(k), b.Const(erfLn2Lo), sl)
	return k, b.Neg(r1), c
}

// erfcQ returns the Möbius variable q = (a-K)/(a+K) as q0 + q1, the
// divisor a+K as d + dl, and rd ≈ 1/d.
func erfcQ(b *Builder, a Value) (q0, q1, d, dl, rd Value) {
	kc := b.Const(erfcK)
	d, dl = erfTwoSum(b, a, kc)
	n, nl := erfTwoSum(b, a, b.Neg(kc))
	rd = b.Div(b.Const(1), d)
	q0 = b.Mul(n, rd)
	// (n + nl) - q0·(d + dl), the first product exact inside the FMA.
	res := b.Add(b.FMA(b.Neg(q0), d, n), b.FMA(b.Neg(q0), dl, nl))
	q1 = b.Mul(res, rd)
	return q0, q1, d, dl, rd
}

// erfcTail64 returns erfc(a) = (th + tl)·2^negk for a ∈ [1/2, 28] (finite
// garbage below 1/2, which the caller selects away).
func erfcTail64(b *Builder, a Value) (th, tl, negk Value) {
	one := b.Const(1)
	half := b.Const(0.5)
	k, y, c := erfcExpArg(b, a)

	// e^y = 1 + y + y²/2 + y³Q(y) as eh + el.
	hi, lo := erfFastTwoSum(b, one, y)
	y2 := b.Mul(y, y)
	y2l := b.FMA(y, y, b.Neg(y2))
	h2 := b.Mul(half, y2) // exact
	vh, vl := erfFastTwoSum(b, hi, h2)
	t := b.FMA(half, y2l, b.Add(lo, vl))
	t = b.FMA(b.Mul(y2, y), b.Horner(y, erfExpQ64[:]...), t)
	eh, el := erfFastTwoSum(b, vh, t)
	// × e^{-c} ≈ 1 - c (c² < 2^-80).
	el = b.FMA(b.Neg(eh), c, el)

	// h(q0 + q1): plain Horner for the tail, then four double-double steps.
	q0, q1, d, dl, rd := erfcQ(b, a)
	hh := b.Horner(q0, erfcH64Tail[:]...)
	hl := b.Const(0)
	for i := len(erfcH64Head) - 1; i >= 0; i-- {
		// (hh + hl)·(q0 + q1) + coefficient i.
		p := b.Mul(q0, hh)
		pl := b.FMA(q0, hh, b.Neg(p))
		pl = b.FMA(q0, hl, pl)
		pl = b.FMA(q1, hh, pl)
		s, e := erfTwoSum(b, b.Const(erfcH64Head[i][0]), p)
		hh = s
		hl = b.Add(e, b.Add(pl, b.Const(erfcH64Head[i][1])))
	}

	// N = e^y·h as nh + nl, then (nh + nl)/(d + dl).
	nh := b.Mul(eh, hh)
	nl := b.FMA(eh, hh, b.Neg(nh))
	nl = b.FMA(eh, hl, nl)
	nl = b.FMA(el, hh, nl)
	th = b.Mul(nh, rd)
	res := b.Add(b.FMA(b.Neg(th), d, nh), b.FMA(b.Neg(th), dl, nl))
	tl = b.Mul(res, rd)
	return th, tl, b.Neg(k)
}

// erfcTail32 is erfcTail64 in plain double, for relative error ~2^-45.
func erfcTail32(b *Builder, a Value) (t, negk Value) {
	one := b.Const(1)
	// a² = k·ln2 + r1 as in erfcExpArg, without its corrections: a²'s
	// rounding (2^-53 relative, at most 676·2^-53 = 2^-43.6 absolute in
	// the exponent for a ≤ erfc32MaxArg) and ln 2's residue (k·2^-55.3 ≤
	// 2^-45.3) are far below this target's budget. Five instructions
	// fewer.
	sq := b.Mul(a, a)
	k := b.Round(b.Mul(sq, b.Const(erfLog2E)), RoundNearestEven)
	y := b.Neg(b.FMA(b.Neg(k), b.Const(erfLn2Hi), sq)) // exact, see erfcExpArg
	// e^y = 1 + y + y²(1/2 + y·Q).
	p := b.FMA(y, b.Horner(y, erfExpQ32[:]...), b.Const(0.5))
	ey := b.FMA(b.Mul(y, y), p, b.Add(one, y))
	kc := b.Const(erfcK)
	rd := b.Div(one, b.Add(a, kc))
	q := b.Mul(b.Sub(a, kc), rd)
	h := b.Horner(q, erfcH32[:]...)
	t = b.Mul(b.Mul(ey, h), rd)
	return t, b.Neg(k)
}
