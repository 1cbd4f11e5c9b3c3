package testutil

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestULP32(t *testing.T) {
	f := math.Float32frombits
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	cases := []struct {
		got, want float32
		ulp       float64
	}{
		{1, 1, 0},
		{f(0x3f800001), 1, 1},
		{1, f(0x3f800001), 1},
		{f(0x3f7fffff), f(0x3f800001), 2}, // across a binade boundary
		{0, float32(math.Copysign(0, -1)), 0},
		{f(0x00000001), f(0x80000001), 2}, // through zero
		{f(0x00000001), 0, 1},
		{math.MaxFloat32, inf, 1},
		{-inf, inf, 2 * float64(0x7f800000)},
		{nan, nan, 0},
		{f(0x7fc12345), f(0xffc00001), 0},
		{nan, 1, math.Inf(1)},
		{0, nan, math.Inf(1)},
		{inf, nan, math.Inf(1)},
	}
	for _, c := range cases {
		assert.Equal(t, c.ulp, ULP(c.got, c.want), "ULP(%g [%#x], %g [%#x])", c.got, math.Float32bits(c.got), c.want, math.Float32bits(c.want))
	}
}

func TestULP64(t *testing.T) {
	f := math.Float64frombits
	cases := []struct {
		got, want float64
		ulp       float64
	}{
		{1, 1, 0},
		{f(0x3ff0000000000001), 1, 1},
		{f(0x3fefffffffffffff), f(0x3ff0000000000001), 2},
		{math.Copysign(0, -1), 0, 0},
		{f(0x8000000000000003), f(0x0000000000000004), 7},
		{math.MaxFloat64, math.Inf(1), 1},
		// The largest possible distance must not overflow.
		{math.Inf(-1), math.Inf(1), 2 * float64(0x7ff0000000000000)},
		{math.NaN(), 0, math.Inf(1)},
		{math.NaN(), f(0x7ff0000000000001), 0},
	}
	for _, c := range cases {
		assert.Equal(t, c.ulp, ULP(c.got, c.want), "ULP(%g, %g)", c.got, c.want)
	}
}

type myFloat32 float32

func TestNamedTypes(t *testing.T) {
	assert.True(t, Is32[myFloat32]())
	assert.True(t, Is32[float32]())
	assert.False(t, Is32[float64]())
	assert.Equal(t, 1.0, ULP(myFloat32(1), myFloat32(math.Nextafter32(1, 2))))
}

func TestSameBits(t *testing.T) {
	assert.True(t, SameBits(float32(math.NaN()), math.Float32frombits(0x7fc12345)))
	assert.False(t, SameBits(float32(0), float32(math.Copysign(0, -1))))
	assert.False(t, SameBits(float32(math.NaN()), 1))
	assert.False(t, SameBits(1, float32(math.NaN())))
	assert.True(t, SameBits(2.5, 2.5))
}

func TestNeighbours(t *testing.T) {
	n := Neighbours(float32(1), 2)
	require.Len(t, n, 4)
	assert.Equal(t, []float32{
		math.Float32frombits(0x3f7fffff), math.Float32frombits(0x3f800001),
		math.Float32frombits(0x3f7ffffe), math.Float32frombits(0x3f800002),
	}, n)
	// Around zero the neighbours are the smallest subnormals.
	n64 := Neighbours(0.0, 1)
	assert.Equal(t, []float64{-math.SmallestNonzeroFloat64, math.SmallestNonzeroFloat64}, n64)
	// At the top of the range only Inf lies beyond.
	top := Neighbours(float32(math.MaxFloat32), 3)
	assert.Len(t, top, 4)
	assert.Contains(t, top, float32(math.Inf(1)))
	for _, v := range top {
		assert.False(t, v != v)
	}
	assert.Empty(t, Neighbours(math.NaN(), 3))
}

func TestSpecial(t *testing.T) {
	check := func(vals []float64) {
		var zeros, infs, nans int
		for _, v := range vals {
			switch {
			case v != v:
				nans++
			case math.IsInf(v, 0):
				infs++
			case v == 0:
				zeros++
			}
		}
		assert.Equal(t, 2, zeros)
		assert.Equal(t, 2, infs)
		assert.Equal(t, 4, nans)
	}
	check(Special[float64]())
	s32 := Special[float32]()
	w := make([]float64, len(s32))
	for i, v := range s32 {
		w[i] = float64(v)
	}
	check(w)
	assert.Contains(t, s32, float32(math.SmallestNonzeroFloat32))
	assert.Contains(t, s32, float32(-math.MaxFloat32))
	assert.Len(t, NaNs[float32](), 4)
	// The payloads must survive: they are the point of the NaN list.
	assert.Contains(t, []uint64{0x7fc12345}, Bits(NaNs[float32]()[1]))
}

func TestInputs(t *testing.T) {
	a := Inputs[float32](7, 2000, 200)
	b := Inputs[float32](7, 2000, 200)
	require.Len(t, a, 2200)
	for i := range a {
		require.True(t, SameBits(a[i], b[i]), "not deterministic at %d", i)
	}
	var neg, tiny, big int
	for _, v := range a[:2000] {
		m := math.Abs(float64(v))
		require.True(t, m >= 1e-30*(1-1e-6) && m <= 1e4*(1+1e-6), "%g out of range", v)
		if v < 0 {
			neg++
		}
		if m < 1e-20 {
			tiny++
		}
		if m > 1 {
			big++
		}
	}
	// Log-uniform over 34 decades: ~29% below 1e-20, ~12% above 1.
	assert.InDelta(t, 1000, neg, 150)
	assert.InDelta(t, 2000*10/34.0, tiny, 120)
	assert.InDelta(t, 2000*4/34.0, big, 80)
	c := Inputs[float32](8, 2000, 200)
	assert.NotEqual(t, a[0], c[0])
	r := NewRand(1)
	for range 1000 {
		d := Uniform[float64](r, -2, 2)
		require.True(t, d >= -2 && d < 2)
	}
}

func TestGuarded(t *testing.T) {
	if !GuardPagesWork {
		t.Skip("no memory protection on this platform")
	}
	// n = 0 is left out: Go never makes a zero-capacity slice point past
	// its array, so an empty slice cannot sit flush against the guard.
	for _, n := range []int{1, 7, 1024, 1025} {
		for _, atEnd := range []bool{true, false} {
			g := NewGuarded[float32](n, 0, atEnd)
			s, free := g.S, g.Free
			require.Len(t, s, n)
			for i := range s {
				s[i] = float32(i)
			}
			outside := func() (faulted bool) {
				defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
				defer func() { faulted = recover() != nil }()
				if atEnd {
					// Step one element past the end through the backing array.
					p := extend(s, n+1)
					p[n] = 1
				} else {
					p := extendBack(s, 1)
					p[0] = 1
				}
				return false
			}()
			assert.True(t, outside, "n=%d atEnd=%v: access outside did not fault", n, atEnd)
			free()
		}
	}
}
