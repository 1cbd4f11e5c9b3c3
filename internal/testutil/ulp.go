// Package testutil holds the numeric building blocks of actkern's kernel
// tests: ULP distance, the special values of each float type, float
// neighbours, deterministic random inputs and guard-page buffers. It knows
// nothing about activations; package kerneltest puts these pieces together.
package testutil

import (
	"math"
	"unsafe"
)

// Float is the set of element types the kernels are generated for.
type Float interface {
	~float32 | ~float64
}

// Is32 reports whether T is a 32-bit float type.
func Is32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}

// Bits returns the IEEE bit pattern of v, widened to 64 bits.
func Bits[T Float](v T) uint64 {
	if Is32[T]() {
		return uint64(math.Float32bits(float32(v)))
	}
	return math.Float64bits(float64(v))
}

// FromBits is the inverse of Bits (only the low 32 bits are used for a
// 32-bit type).
func FromBits[T Float](b uint64) T {
	if Is32[T]() {
		return T(math.Float32frombits(uint32(b)))
	}
	return T(math.Float64frombits(b))
}

// ordinal maps a non-NaN float to an integer such that adjacent floats have
// adjacent ordinals, +0 and -0 share ordinal 0, and ±Inf sit one step past
// ±MaxFloat. Distances between ordinals are ULP counts.
func ordinal[T Float](v T) (neg bool, mag uint64) {
	b := Bits(v)
	if Is32[T]() {
		return b&(1<<31) != 0, b &^ (1 << 31)
	}
	return b&(1<<63) != 0, b &^ (1 << 63)
}

// ULP returns the distance between got and want counted in units in the
// last place of T: the number of representable values of T one has to step
// over to get from one to the other.
//
// Conventions, chosen so that a correctly rounded reference compares sanely:
//   - +0 and -0 are 0 ULP apart (the sign of zero is checked bitwise by the
//     special-value tests, not here);
//   - NaN vs NaN is 0 (any payload), NaN vs a number is +Inf;
//   - ±Inf is one step beyond ±MaxFloat, which is exactly how IEEE rounding
//     treats overflow, so a result of Inf where MaxFloat is correct is 1 ULP.
func ULP[T Float](got, want T) float64 {
	gn, wn := got != got, want != want
	switch {
	case gn && wn:
		return 0
	case gn || wn:
		return math.Inf(1)
	}
	gs, gm := ordinal(got)
	ws, wm := ordinal(want)
	if gm == 0 {
		gs = false
	}
	if wm == 0 {
		ws = false
	}
	if gs == ws {
		if gm > wm {
			return float64(gm - wm)
		}
		return float64(wm - gm)
	}
	// Opposite signs: the path goes through zero. Both magnitudes are below
	// 2^63, so the sum fits in a uint64.
	return float64(gm + wm)
}

// SameBits reports whether got and want are the same value in the strict
// sense of the special-value tables: identical bits, except that any NaN
// matches any NaN (payloads are not specified by IEEE arithmetic).
func SameBits[T Float](got, want T) bool {
	if want != want {
		return got != got
	}
	return Bits(got) == Bits(want)
}

// Next returns the float after v in the direction of +Inf (up) or -Inf.
func Next[T Float](v T, up bool) T {
	if Is32[T]() {
		to := float32(math.Inf(-1))
		if up {
			to = float32(math.Inf(1))
		}
		return T(math.Nextafter32(float32(v), to))
	}
	to := math.Inf(-1)
	if up {
		to = math.Inf(1)
	}
	return T(math.Nextafter(float64(v), to))
}

// Neighbours returns the k representable values on each side of v, nearest
// first: v-1ulp, v+1ulp, v-2ulp, v+2ulp, ... It does not include v. Steps
// that would leave the finite range or reach NaN are skipped, so the result
// may be shorter than 2k near ±Inf.
func Neighbours[T Float](v T, k int) []T {
	if v != v {
		return nil
	}
	out := make([]T, 0, 2*k)
	lo, hi := v, v
	for range k {
		if !math.IsInf(float64(lo), -1) {
			lo = Next(lo, false)
			out = append(out, lo)
		}
		if !math.IsInf(float64(hi), 1) {
			hi = Next(hi, true)
			out = append(out, hi)
		}
	}
	return out
}
