package vprog

import "math"

// FMA32 is a*b + c rounded once to float32, as VFMADD…PS computes it: the
// meaning of OpFMA in F32 compute. float32(math.FMA(a, b, c)) would round
// twice (to float64, then to float32) and can land on the wrong side of a
// float32 midpoint. Where the float64 sum can be such a midpoint, it is
// rounded to odd instead (its last bit set wherever it is inexact), which
// keeps the information that it is not one: rounding to odd at 53 bits and
// then to nearest at 24 (or fewer, for subnormals) is correctly rounded,
// since 53 ≥ 24 + 2.
//
// a*b is exact in float64 (two 24-bit significands), so the sum's rounding
// error is exactly TwoSum's e.
func FMA32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if fma32Midpoint(s) {
		return fma32Slow(a, b, c)
	}
	// s is no float32 midpoint, so it is on the same side of every float32
	// midpoint as the exact sum, and rounding it is rounding that. This is
	// nearly every call.
	return float32(s)
}

// fma32Midpoint reports whether the float64 sum s may be a float32 midpoint
// (or is NaN), where FMA32 needs its slow path. A normal float32's
// midpoints have the 29 bits below float32's last equal to 100…0. Those
// bits are 0 where s is a float32 itself, which is a midpoint only among
// the subnormals, nonzero |s| < 2^-126, which keep fewer bits. (Exact
// steps, with a zero or a float32 sum, are common: a reduction x − k·ln2
// at k = 0, a clamped lane. They took the slow path, and the float32 ELU's
// pure-Go kernel 4.5 times its time, until the subnormal range was told
// apart.) A NaN s has those 29 bits 0 too: a, b and c are float32, whose
// payloads convert with 29 zero bits below them, and the default NaN of an
// invalid operation has them 0. So one test, that the 28 bits below the
// top one of the 29 are 0, is false for nearly every sum, and the others
// follow only where it holds. Against three tests in a row (benchstat,
// 8 runs, n = 4096), the pure-Go float32 kernels of ELU took 17% less
// time, SELU 15%, hardswish 10%.
func fma32Midpoint(s float64) bool {
	bits := math.Float64bits(s)
	return bits&(1<<28-1) == 0 && (bits&(1<<29-1) != 0 || subnormal32(bits) || s != s)
}

// subnormal32 reports whether the float64 with these bits is nonzero and
// below 2^-126 in magnitude: its bits without the sign, less 1, are below
// those of 2^-126 less 1 (a zero wraps around to the largest value).
func subnormal32(bits uint64) bool {
	return bits<<1-1 < (1023-126)<<53-1
}

// fma32Slow is FMA32 where the float64 sum may be a float32 midpoint, or
// is NaN or infinite.
//
// A NaN result is the first NaN of a, b and c, quieted, as the assembly
// kernels' VFMADD…PS gives it (asm/fma.go orders the operands so), or
// x86's default NaN where the operation makes one (0·Inf, Inf − Inf). The
// order is spelt out because Go may compute a product or a sum with its
// operands swapped, and x86 keeps the first operand's NaN.
func fma32Slow(a, b, c float32) float32 {
	for _, v := range [3]float32{a, b, c} {
		if v != v {
			return math.Float32frombits(math.Float32bits(v) | 1<<22)
		}
	}
	p := float64(a) * float64(b)
	s := p + float64(c)
	if s != s {
		return math.Float32frombits(0xffc00000)
	}
	if math.IsInf(s, 0) {
		return float32(s)
	}
	// a*b is exact in float64, so TwoSum's e is the sum's rounding error.
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
