package vprog

import "math"

// log and log1p share one method (fdlibm's, rearranged for FMA): write the
// argument as 2^e·m with m in [√½, √2), f = m − 1 (exact), then
//
//	log1p(f) = 2·atanh(s) = f − f²/2 + s·(f²/2 + W(s²)),  s = f/(2+f),
//
// with |s| ≤ 0.1716 and W(z) = z·V(z) a short polynomial. The one division
// only feeds the correction term s·(…), whose rounding errors are scaled
// down by f²/4 ≤ 0.043 relative to the result.
//
// Float64 targets evaluate f − f²/2 and e·ln2 + log1p(f) as compensated
// (double-double) sums, for about 0.5 ULP; float32 targets (relative error
// below 2^-40) use plain FMAs.

// ln2 split so that e·logLn2Hi is exact for |e| < 2^11 (logLn2Hi has 32
// significant bits); logLn2Lo is the rest, rounded.
const (
	logLn2Hi = 0x1.62e42feep-1
	logLn2Lo = 0x1.a39ef35793c76p-33
	logLn2   = 0x1.62e42fefa39efp-1
	// logSqrt2 is √2 rounded to float64: mantissas at or above it are halved.
	logSqrt2    = 0x1.6a09e667f3bcdp+0
	logMinNorm  = 0x1p-1022
	logMaxFloat = math.MaxFloat64
)

// logV64 is the minimax fit of V(z) = (2·atanh(√z) − 2√z)/z^(3/2) on
// z in [0, 0.02945], relative error 2^-58.2 (constant term first).
var logV64 = []float64{
	0x1.5555555555555p-1, 0x1.9999999999a39p-2, 0x1.2492492476a71p-2,
	0x1.c71c7201986bep-3, 0x1.745cf8eb46e66p-3, 0x1.3b1c3a84ed830p-3,
	0x1.0fbe1027b3574p-3, 0x1.0c08e89f36ea1p-3,
}

// logV32 is the same fit at degree 4, relative error 2^-36.4 (the term it
// feeds is below 1% of the result, so log's error stays near 2^-43).
var logV32 = []float64{
	0x1.5555555565024p-1, 0x1.999998ca15d13p-2, 0x1.2493248a2c39dp-2,
	0x1.c67a8e771dd6dp-3, 0x1.8c916f4bab4aep-3,
}

func init() {
	register("log", func(b *Builder, args []Value, target Type) Value {
		return logLower(b, args[0], target)
	})
	register("log1p", func(b *Builder, args []Value, target Type) Value {
		return log1pLower(b, args[0], target)
	})
}

// logSplit returns e and f with u = 2^e·(1 + f), f in [√½−1, √2−1), for u
// a normal positive float.
func logSplit(b *Builder, u Value) (e, f Value) {
	m := b.GetMant(u)
	e = b.GetExp(u)
	big := b.GE(m, b.Const(logSqrt2))
	m = b.Select(big, b.Mul(m, b.Const(0.5)), m)
	e = b.Select(big, b.Add(e, b.Const(1)), e)
	return e, b.Sub(m, b.Const(1)) // exact: m in [0.7, 1.42)
}

// logSum returns e·ln2 + log1p(f + flo) for target, where the optional flo
// is a tiny correction to f: |flo| ≲ 2^-53.
func logSum(b *Builder, e, f Value, target Type, flo ...Value) Value {
	s := b.Div(f, b.Add(b.Const(2), f))
	z := b.Mul(s, s)
	if target != F64 {
		w := b.Mul(z, b.Horner(z, logV32...))
		// log1p(f) = 2s + s·W and 2s = f − s·f.
		l := b.FMA(s, b.Sub(w, f), f)
		if len(flo) > 0 {
			// log1p(f + flo) ≈ log1p(f) + flo·(1 − f); the neglected
			// flo·f² is below 2^-53 relative to the result.
			l = b.Add(l, b.FMA(flo[0], b.Neg(f), flo[0]))
		}
		return b.FMA(e, b.Const(logLn2), l)
	}
	w := b.Mul(z, b.Horner(z, logV64...))
	// f²/2 = h + hl exactly.
	f2 := b.Mul(f, f)
	half := b.Const(0.5)
	h := b.Mul(half, f2)
	hl := b.Mul(half, b.FMA(f, f, b.Neg(f2)))
	// f − h = bh + bl exactly (|f| ≥ h).
	bh := b.Sub(f, h)
	bl := b.Sub(b.Sub(f, bh), h)
	tail := b.FMA(s, b.Add(h, w), b.Sub(bl, hl))
	if len(flo) > 0 {
		// log1p(f + flo) ≈ log1p(f) + flo/(1+f), 1/(1+f) ≈ 1 + (f² − f):
		// the neglected flo·f³ is below 2^-57 absolute.
		tail = b.Add(tail, b.FMA(flo[0], b.Mul(f, b.Sub(f, b.Const(1))), flo[0]))
	}
	// e·ln2 = ah + al, ah exact; ah + bh by Fast2Sum (|ah| ≥ ln2 > |bh|, or ah = 0).
	ah := b.Mul(e, b.Const(logLn2Hi))
	al := b.Mul(e, b.Const(logLn2Lo))
	sh := b.Add(ah, bh)
	sl := b.Add(b.Sub(ah, sh), bh)
	return b.Add(sh, b.Add(sl, b.Add(al, tail)))
}

// logLower is log(x): log(±0) = −Inf, log(x<0) = NaN, log(+Inf) = +Inf,
// subnormal x exact (scaled by 2^54 first, since GetExp/GetMant take normal
// inputs only), NaN → NaN.
func logLower(b *Builder, x Value, target Type) Value {
	tiny := b.LT(x, b.Const(logMinNorm))
	xs := b.Select(tiny, b.Mul(x, b.Const(0x1p54)), x)
	// Keep GetExp/GetMant on normal finite values: NaN, ≤ 0 and +Inf are
	// replaced here (Max gives its second operand for NaN) and their
	// results selected below.
	xs = b.Min(b.Max(xs, b.Const(logMinNorm)), b.Const(logMaxFloat))
	e, f := logSplit(b, xs)
	e = b.Select(tiny, b.Sub(e, b.Const(54)), e)
	res := logSum(b, e, f, target)
	res = b.Select(b.EQ(x, b.Const(math.Inf(1))), x, res)
	res = b.Select(b.EQ(x, b.Const(0)), b.Const(math.Inf(-1)), res)
	// x < 0 → NaN; NaN keeps its payload.
	res = b.Select(b.LT(x, b.Const(0)), b.Const(math.NaN()), res)
	return b.Select(b.IsNaN(x), x, res)
}

// log1pLower is log1p(x): log1p(−1) = −Inf, log1p(x < −1) = NaN,
// log1p(±0) = ±0, tiny x exact, log1p(+Inf) = +Inf, NaN → NaN.
//
// u = 1 + x is formed exactly as u + ulo (TwoSum); ulo, scaled like f,
// enters as a first-order correction, so large x and x near −1 lose nothing
// and |x| < 2^-54 gives x itself.
func log1pLower(b *Builder, x Value, target Type) Value {
	// x in [−1, MaxFloat] (NaN → −1), so u in {0} ∪ [2^-53, MaxFloat].
	xc := b.Min(b.Max(x, b.Const(-1)), b.Const(logMaxFloat))
	u, ulo := expTwoSum(b, b.Const(1), xc)
	u = b.Max(u, b.Const(logMinNorm))
	e, f := logSplit(b, u)
	// For e = 0, x itself is f + flo, exactly: using it avoids a
	// cancellation between f and flo when |x| ≲ 2^-52 (then u rounds to 1
	// or a neighbour and f, flo are both of the order of x).
	e0 := b.EQ(e, b.Const(0))
	f = b.Select(e0, xc, f)
	var res Value
	if target == F64 {
		flo := b.Select(e0, b.Const(0), b.Ldexp(ulo, b.Neg(e)))
		res = logSum(b, e, f, target, flo)
	} else {
		// Where e ≠ 0, |log1p(x)| > 0.34 and flo (< 2^-53) moves it by
		// less than 2^-51 relative: below the float32 target's 2^-40.
		res = logSum(b, e, f, target)
	}
	// log1p has the sign of x; this also makes log1p(−0) = −0.
	res = b.CopySign(res, x)
	res = b.Select(b.EQ(x, b.Const(-1)), b.Const(math.Inf(-1)), res)
	res = b.Select(b.EQ(x, b.Const(math.Inf(1))), x, res)
	res = b.Select(b.LT(x, b.Const(-1)), b.Const(math.NaN()), res)
	return b.Select(b.IsNaN(x), x, res)
}

// log1pUnit32 is a near-minimax fit (mpmath.chebyfit) of log1p(e)/e on
// [0, 1], degree 12, relative error 2^-35.4 before rounding the
// coefficients: the float32 target's 2^-33.
var log1pUnit32 = []float64{
	0x1.ffffffffd0cdcp-1, -0x1.ffffff83090a7p-2, 0x1.5555399fff040p-2, -0x1.fffb1dd16699bp-3,
	0x1.995f95ec7abe6p-3, -0x1.53b4260c5cffcp-3, 0x1.1cdfb9f191c54p-3, -0x1.cd9fcac54f9c7p-4,
	0x1.5065a177b9a83p-4, -0x1.923f3d450e431p-5, 0x1.62447f9e11576p-6, -0x1.8cc7aa9740b75p-8,
	0x1.a0d0de7fa0aeap-11,
}

// log1pUnit is log1p(e) for a float32 target where the lowering knows e is
// in [0, 1] or NaN (e = exp(-|a|), see lowerer.log1pOfExpNeg): e times a
// polynomial, 13 operations where log1p's reduction, special cases and
// sign take 32. log1p(0) = 0 and NaN stays NaN.
func log1pUnit(b *Builder, e Value) Value {
	return b.Mul(e, b.Horner(e, log1pUnit32...))
}
