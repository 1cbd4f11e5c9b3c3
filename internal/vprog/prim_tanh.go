package vprog

// tanh(x) = sign(x)·tanh(|x|) with
//
//	tanh(a) = −E/(2 + E),  E = expm1(−2a) in (−1, 0],
//
// which has no cancellation anywhere: for small a, E ≈ −2a carries full
// relative precision (expm1), and for large a, 2 + E ≥ 1. |x| is clamped at
// 20, past which tanh rounds to 1 in both precisions (1 − tanh(20) ≈
// 2^-56.7). Float64 targets keep E as a double-double and divide with
// sigmoidDivDD (about 0.5 ULP); float32 targets use a plain quotient.

// tanhMaxAbs is where tanh(|x|) has rounded to 1 in float64 (above 19.06).
const tanhMaxAbs = 20.0

func init() {
	register("tanh", func(b *Builder, args []Value, target Type) Value {
		return tanhLower(b, args[0], target)
	})
}

func tanhLower(b *Builder, x Value, target Type) Value {
	// −2|x| ≥ −2·tanhMaxAbs, exact (a doubling); NaN → −2·tanhMaxAbs.
	t := b.Max(b.Mul(b.Abs(x), b.Const(-2)), b.Const(-2*tanhMaxAbs))
	two := b.Const(2)
	var res Value
	if target == F64 {
		k, y0, w := expm1DD(b, t)
		y, ylo := expSplit(b, y0, w)
		// −58 ≤ k ≤ 0 and |y| ≥ 0.5 unless k = 0, so both scalings by the
		// normal p = 2^k are exact (ylo may lose bits below 2^-1074, which
		// are negligible).
		p := b.LdexpNormal(b.Const(1), k)
		eh := b.Mul(y, p)
		el := b.Mul(ylo, p)
		// 2 + E = dh + dl (Fast2Sum, |E| < 1).
		dh := b.Add(two, eh)
		dl := b.Add(b.Add(b.Sub(two, dh), eh), el)
		res = sigmoidDivDD(b, b.Neg(eh), b.Neg(el), dh, dl)
		// Odd: the sign of x, including tanh(−0) = −0.
		res = b.CopySign(res, x)
	} else {
		// e = expm1(−2|x|) ≤ 0, so e/(2 + e) is −tanh|x|: copysign
		// gives its magnitude x's sign, without a negation (AVX-512: one
		// instruction fewer; AVX2: as many as 0 − e and ORing in x's sign
		// bit).
		e := expm132(b, t)
		res = b.CopySign(b.Div(e, b.Add(two, e)), x)
	}
	return b.Select(b.IsNaN(x), x, res)
}
