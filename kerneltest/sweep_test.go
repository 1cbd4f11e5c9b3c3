package kerneltest

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/testutil"
)

// The bit test must agree with the general one everywhere, in particular
// at the edges of its window, at midpoints and at binade boundaries.
func TestNearBoundary32Fast(t *testing.T) {
	r := testutil.NewRand(7)
	check := func(v float64) {
		require.Equal(t, nearBoundary32(v), nearBoundary32Fast(v), "v = %v [%#x]", v, math.Float64bits(v))
	}
	for range 200000 {
		w := math.Float32frombits(uint32(r.Uint64()))
		if w != w || math.IsInf(float64(w), 0) {
			continue
		}
		b := math.Float64bits(float64(w))
		for _, off := range []int64{0, 1, -1, 1 << 28, 1<<28 + 1<<9, 1<<28 + 1<<9 - 1, 1<<28 - 1<<9, 1<<28 - 1<<9 + 1, -(1 << 28), int64(r.Uint64() & (1<<29 - 1))} {
			check(math.Float64frombits(uint64(int64(b) + off)))
		}
	}
	for _, v := range []float64{0x1p-126, math.Nextafter(0x1p-126, 0), 1, math.Nextafter(1, 0), math.MaxFloat32, 1e-45, 3e38} {
		check(v)
		check(-v)
	}
}

// A sweep judge must agree with the tests' verdict (setup.want) input by
// input, for every direction, and count its exact evaluations.
func TestJudgeMatchesWant(t *testing.T) {
	a := Activation{
		Name: "softplus_like", Forward: "log1p(exp(x))", Derivative: "sigmoid(x)",
		DerivativeOutput: "1 - exp(-y)",
		Special:          []Special{{X: "inf", Forward: "inf", Backward: "1"}},
	}
	w, err := NewSweep[float32](a, nil)
	require.NoError(t, err)
	j, err := w.NewJudge()
	require.NoError(t, err)
	r, err := w.s.newRefs()
	require.NoError(t, err)
	rnd := testutil.NewRand(3)
	for i := range 3000 {
		x := testutil.LogUniform[float32](rnd, 1e-6, 100)
		if i == 0 {
			x = float32(math.Inf(1))
		}
		for _, dir := range []string{Forward, Backward, BackwardFromOutput} {
			in := x
			if dir == BackwardFromOutput {
				in = float32(math.Log1p(math.Exp(float64(x))))
			}
			for _, dy := range []float32{1, -1, 0.75, 3.5, 1e-3} {
				// The tests' verdict for a kernel that gives NaN: always the
				// exact value. Then a kernel 1 ULP off: the judge must fall
				// back to the exact value too.
				want, err := w.s.want(r, dir, in, dy, float32(math.NaN()))
				require.NoError(t, err)
				got := math.Nextafter32(want, float32(math.Inf(1)))
				fast := j.Fast(dir, in)
				a, err := j.Want(dir, in, dy, fast, []float32{want, got})
				require.NoError(t, err)
				require.True(t, testutil.SameBits(a, want), "%s x=%v dy=%v: judge %v, tests %v", dir, in, dy, a, want)
			}
		}
	}
	require.Positive(t, j.Exact)
}

// At an x of the special-value table, dy times the table's (rounded) f'(x)
// is not the correctly rounded dy*f'(x) unless the product is exact: the
// judge must use the formula there.
func TestJudgeSpecialRowWithDY(t *testing.T) {
	a := Activation{
		Name: "mish_like", Forward: "x*tanh(log1p(exp(x)))",
		Derivative: "tanh(log1p(exp(x))) + x*sigmoid(x)*(1 - tanh(log1p(exp(x)))*tanh(log1p(exp(x))))",
		Special:    []Special{{X: "0", Forward: "0", Backward: "0.6"}},
	}
	w, err := NewSweep[float32](a, nil)
	require.NoError(t, err)
	j, err := w.NewJudge()
	require.NoError(t, err)
	got, err := j.Want(Backward, 0, 0.75, j.Fast(Backward, 0), nil)
	require.NoError(t, err)
	require.Equal(t, float32(0.45), got) // 0.449999988, not 0.75*float32(0.6) = 0.450000018
	got, err = j.Want(Backward, 0, -1, j.Fast(Backward, 0), nil)
	require.NoError(t, err)
	require.Equal(t, float32(-0.6), got)
}
