package testutil

import (
	"math"
	"math/rand/v2"
)

// Special returns the values every kernel must be exercised with: both
// zeros, the edges of the subnormal and normal ranges, ±1, ±MaxFloat, ±Inf,
// and NaNs of several kinds (the default quiet NaN, a quiet NaN with a
// payload, a negative NaN and a signalling NaN), because x86 min/max and
// blends treat NaN operands asymmetrically and payloads expose that.
func Special[T Float]() []T {
	var bits []uint64
	if Is32[T]() {
		bits = []uint64{
			0x00000000, 0x80000000, // ±0
			0x00000001, 0x80000001, // ±smallest subnormal
			0x007fffff, 0x807fffff, // ±largest subnormal
			0x00800000, 0x80800000, // ±smallest normal
			0x3f800000, 0xbf800000, // ±1
			0x7f7fffff, 0xff7fffff, // ±MaxFloat32
			0x7f800000, 0xff800000, // ±Inf
			0x7fc00000, // quiet NaN
			0x7fc12345, // quiet NaN with payload
			0xffc00001, // negative quiet NaN with payload
			0x7f800001, // signalling NaN
		}
	} else {
		bits = []uint64{
			0x0000000000000000, 0x8000000000000000,
			0x0000000000000001, 0x8000000000000001,
			0x000fffffffffffff, 0x800fffffffffffff,
			0x0010000000000000, 0x8010000000000000,
			0x3ff0000000000000, 0xbff0000000000000,
			0x7fefffffffffffff, 0xffefffffffffffff,
			0x7ff0000000000000, 0xfff0000000000000,
			0x7ff8000000000000,
			0x7ff8000000012345,
			0xfff8000000000001,
			0x7ff0000000000001,
		}
	}
	out := make([]T, len(bits))
	for i, b := range bits {
		out[i] = FromBits[T](b)
	}
	return out
}

// NaNs returns the NaN members of Special: the inputs used to check that
// NaN in gives NaN out on every path.
func NaNs[T Float]() []T {
	var out []T
	for _, v := range Special[T]() {
		if v != v {
			out = append(out, v)
		}
	}
	return out
}

// NewRand returns a deterministic generator (PCG) for the given seed, so
// that a failing input is reproduced by rerunning the test.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// LogUniform draws a value whose magnitude is log-uniformly distributed in
// [lo, hi] (0 < lo < hi), with a random sign. Log-uniform sampling gives
// every binade the same weight, which is what finds errors in range
// reduction and in the tiny-|x| branches alike.
func LogUniform[T Float](r *rand.Rand, lo, hi float64) T {
	l, h := math.Log(lo), math.Log(hi)
	v := T(math.Exp(l + (h-l)*r.Float64()))
	if r.IntN(2) == 1 {
		v = -v
	}
	return v
}

// RandomBits draws a uniformly random bit pattern of T: every float,
// subnormal, infinity and NaN is possible, in proportion to how many
// encodings it has.
func RandomBits[T Float](r *rand.Rand) T {
	return FromBits[T](r.Uint64())
}

// Inputs returns n log-uniform values over [1e-30, 1e4] (both signs)
// followed by nBits random bit patterns, from the generator seeded with
// seed. This is the default input set of the kernel tests: 1e-30 reaches
// deep into the float32 subnormals' neighbourhood and 1e4 is past every
// overflow threshold of exp in both precisions.
func Inputs[T Float](seed uint64, n, nBits int) []T {
	r := NewRand(seed)
	out := make([]T, 0, n+nBits)
	for range n {
		out = append(out, LogUniform[T](r, 1e-30, 1e4))
	}
	for range nBits {
		out = append(out, RandomBits[T](r))
	}
	return out
}

// Uniform draws a value of T uniformly from [lo, hi). The result is a value
// of T, hence exactly representable, which is what a gradient dy must be
// for the reference dy*f'(x) to be the same product the kernel sees.
func Uniform[T Float](r *rand.Rand, lo, hi float64) T {
	return T(lo + (hi-lo)*r.Float64())
}
