package vprog

import "math"

// FMA32 is a*b + c rounded once to float32, as VFMADD…PS computes it: the
// meaning of OpFMA in F32 compute. float32(math.FMA(a, b, c)) would round
// twice (to float64, then to float32) and can land on the wrong side of a
// float32 midpoint. Here the float64 sum is rounded to odd instead (its
// last bit set wherever it is inexact), which keeps the information that
// it is not a midpoint: rounding to odd at 53 bits and then to nearest at
// 24 (or fewer, for subnormals) is correctly rounded, since 53 ≥ 24 + 2.
//
// a*b is exact in float64 (two 24-bit significands), so the sum's rounding
// error is exactly TwoSum's e.
func FMA32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if math.IsInf(s, 0) || s != s {
		return float32(s) // Inf and NaN: no rounding to correct
	}
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb)
	if bits := math.Float64bits(s); e != 0 && bits&1 == 0 {
		// s is inexact and even: step to its odd neighbour on e's side
		// (s ≠ 0 here, since a zero sum is exact).
		if (e > 0) == (s > 0) {
			bits++
		} else {
			bits--
		}
		s = math.Float64frombits(bits)
	}
	return float32(s)
}
