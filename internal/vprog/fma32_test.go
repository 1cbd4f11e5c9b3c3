package vprog

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fma32Exact is a*b + c rounded once to float32 through big.Float.
func fma32Exact(a, b, c float32) float32 {
	if math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) || math.IsInf(float64(c), 0) ||
		a != a || b != b || c != c {
		return float32(float64(a)*float64(b) + float64(c))
	}
	x := new(big.Float).SetPrec(400).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetPrec(400).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(400).SetFloat64(float64(c)))
	f, _ := x.Float32()
	if f == 0 && x.Signbit() != math.Signbit(float64(f)) {
		// big.Float has no signed zero for an exact zero sum; IEEE gives
		// +0 for x + (-x) and keeps the sign when both addends are -0.
		f = float32(float64(a)*float64(b) + float64(c))
	}
	return f
}

// TestFMA32 checks FMA32 against the exactly rounded a*b + c, on operands
// chosen so that the sum needs more than 53 bits and lands near float32
// midpoints (where rounding twice goes wrong), and on random bit patterns
// including subnormals, zeros and infinities.
func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(a, b, c float32) {
		got, want := FMA32(a, b, c), fma32Exact(a, b, c)
		if got != got && want != want {
			return
		}
		require.Equal(t, math.Float32bits(want), math.Float32bits(got), "FMA32(%g, %g, %g)", a, b, c)
	}
	twice := 0
	for i := 0; i < 200000; i++ {
		// a*b on a float32 midpoint (a 25-bit product), c a tiny nudge.
		a := float32(1 + float64(rng.IntN(1<<12))/(1<<12))
		b := float32(1 + float64(rng.IntN(1<<12))/(1<<12))
		c := float32(math.Ldexp(rng.Float64()-0.5, -40-rng.IntN(60)))
		check(a, b, c)
		if math.Float32bits(float32(math.FMA(float64(a), float64(b), float64(c)))) != math.Float32bits(fma32Exact(a, b, c)) {
			twice++
		}
		check(math.Float32frombits(rng.Uint32()), math.Float32frombits(rng.Uint32()), math.Float32frombits(rng.Uint32()))
		check(math.Float32frombits(rng.Uint32()>>8), math.Float32frombits(rng.Uint32()), math.Float32frombits(rng.Uint32()>>4))
	}
	require.Positive(t, twice, "the midpoint cases must include some that rounding twice gets wrong, or they test nothing")
	// A float32 midpoint among the subnormals ends in 29 zero bits in
	// float64, as a float32 value does: a*b = 2^-150·(1 - 2^-40) plus a
	// subnormal c rounds, in float64, onto the midpoint c + 2^-150, and
	// only the slow path sees that the exact sum lies below it.
	a, b := float32(0x1p-75*(1+0x1p-20)), float32(0x1p-75*(1-0x1p-20))
	for range 1000 {
		c := math.Float32frombits(rng.Uint32() & 0x807fffff)
		check(a, b, c)
		check(-a, b, c)
	}
	specials := []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)),
		math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, float32(math.NaN())}
	for _, a := range specials {
		for _, b := range specials {
			for _, c := range specials {
				check(a, b, c)
			}
		}
	}
}

// TestFMA32NaN checks FMA32's NaN: the first NaN operand, quieted, as
// VFMADD…PS in the order asm/fma.go keeps; x86's default NaN where the
// operation makes one.
func TestFMA32NaN(t *testing.T) {
	n1, n2 := math.Float32frombits(0x7fc00001), math.Float32frombits(0xff800002) // quiet; signalling
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		a, b, c float32
		want    uint32
	}{
		{n1, n2, 1, 0x7fc00001},
		{2, n2, n1, 0xffc00002},
		{0, inf, n1, 0x7fc00001},
		{0, inf, 1, 0xffc00000},
		{inf, 1, -inf, 0xffc00000},
	} {
		assert.Equal(t, c.want, math.Float32bits(FMA32(c.a, c.b, c.c)), "FMA32(%v, %v, %v)", c.a, c.b, c.c)
	}
}
