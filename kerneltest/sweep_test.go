package kerneltest

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/testutil"
	builtin "github.com/actkern/actkern/spec"
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

// sweepInputs are float32 inputs for the batch tests: the special values,
// random bit patterns and log-uniform values of both signs.
func sweepInputs(n int) []float32 {
	xs := append([]float32{}, testutil.Special[float32]()...)
	r := testutil.NewRand(11)
	for len(xs) < n {
		if r.Uint64()&1 == 0 {
			xs = append(xs, math.Float32frombits(uint32(r.Uint64())))
		} else {
			xs = append(xs, testutil.LogUniform[float32](r, 1e-30, 1e4)*float32(1-2*int(r.Uint64()&1)))
		}
	}
	return xs
}

// builtinSweeps are the elementwise entries of the built-in spec at each
// parameter set the check sweeps.
func builtinSweeps(t *testing.T) []*Sweep[float32] {
	s, err := spec.Parse(builtin.File, builtin.YAML)
	require.NoError(t, err)
	var out []*Sweep[float32]
	for _, a := range s.Activations {
		if a.Kind != "" && a.Kind != "elementwise" {
			continue
		}
		for _, set := range append([]map[string]float64{nil}, a.TestParams...) {
			w, err := NewSweep[float32](FromSpec(a), set)
			require.NoError(t, err, a.Name)
			out = append(out, w)
		}
	}
	require.NotEmpty(t, out)
	return out
}

// FastX and FastY are Fast, input by input, bit for bit: the formulas
// compiled together with the parameters fixed compute the same values.
func TestFastBatchMatchesFast(t *testing.T) {
	xs := sweepInputs(3000)
	fwd, bwd, out := make([]float64, len(xs)), make([]float64, len(xs)), make([]float64, len(xs))
	same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b) }
	for _, w := range builtinSweeps(t) {
		j, err := w.NewJudge()
		require.NoError(t, err)
		name := w.s.a.Name + " " + w.Label()
		dirs := []string{Forward}
		var b []float64
		if w.Has(Backward) {
			dirs, b = append(dirs, Backward), bwd
		}
		require.NoError(t, j.FastX(xs, fwd, b))
		for i, x := range xs {
			require.True(t, same(j.Fast(Forward, x), fwd[i]), "%s forward at %v", name, x)
			if b != nil {
				require.True(t, same(j.Fast(Backward, x), bwd[i]), "%s backward at %v", name, x)
			}
		}
		if w.Has(Backward) {
			require.NoError(t, j.FastX(xs, nil, bwd)) // the derivative alone
			for i, x := range xs {
				require.True(t, same(j.Fast(Backward, x), bwd[i]), "%s backward alone at %v", name, x)
			}
		}
		if w.s.a.DerivativeOutput != "" {
			require.NoError(t, j.FastY(xs, out))
			for i, y := range xs {
				require.True(t, same(j.Fast(BackwardFromOutput, y), out[i]), "%s from output at %v", name, y)
			}
		}
	}
}

// Screen settles an output only where Want would give the same verdict
// without an exact evaluation, and always leaves the special-value table's
// inputs to Want.
func TestScreenMatchesWant(t *testing.T) {
	inputs := sweepInputs(4000)
	r := testutil.NewRand(5)
	for _, w := range builtinSweeps(t) {
		j, err := w.NewJudge()
		require.NoError(t, err)
		name := w.s.a.Name + " " + w.Label()
		xs := slices.Clone(inputs)
		for _, sp := range w.s.special {
			xs = append(xs, sp.x) // the table's own x values too
		}
		fast := make([]float64, len(xs))
		got := make([]float32, len(xs))
		special := j.SpecialIndices(xs, nil)
		for i, x := range xs {
			_, found := slices.BinarySearch(special, int32(i))
			require.Equal(t, w.s.specialFor(x) != nil, found, "%s x=%v", name, x)
		}
		for _, dir := range []string{Forward, Backward, BackwardFromOutput} {
			if !w.Has(dir) {
				continue
			}
			sp := special
			if dir == BackwardFromOutput {
				require.NoError(t, j.FastY(xs, fast))
				sp = nil
			} else if dir == Forward {
				require.NoError(t, j.FastX(xs, fast, nil))
			} else {
				require.NoError(t, j.FastX(xs, nil, fast))
			}
			dys := []float32{1, -1, 0.75, 3.5, 1e-3}
			if dir == Forward {
				dys = dys[:1]
			}
			for _, dy := range dys {
				for i, x := range xs {
					// Mostly the correctly rounded value, else a neighbour
					// or NaN.
					want, err := j.Want(dir, x, dy, fast[i], nil)
					require.NoError(t, err)
					switch r.Uint64() % 8 {
					case 0:
						got[i] = math.Nextafter32(want, float32(math.Inf(1)))
					case 1:
						got[i] = float32(math.NaN())
					default:
						got[i] = want
					}
				}
				slow := j.Screen(dy, fast, got, sp, nil)
				require.True(t, slices.IsSorted(slow), name)
				for _, k := range sp {
					require.Contains(t, slow, k)
				}
				exact := j.Exact
				for i, x := range xs {
					if _, found := slices.BinarySearch(slow, int32(i)); found {
						continue
					}
					want, err := j.Want(dir, x, dy, fast[i], []float32{got[i]})
					require.NoError(t, err)
					require.True(t, testutil.SameBits(want, float32(fast[i]*float64(dy))), "%s %s dy=%v x=%v: Want %v", name, dir, dy, x, want)
					require.Equal(t, 0.0, testutil.ULP(got[i], want), "%s %s dy=%v x=%v", name, dir, dy, x)
				}
				require.Equal(t, exact, j.Exact, "%s %s dy=%v: a settled output needed the exact evaluation", name, dir, dy)
			}
		}
	}
}

// An output exactly on a rounding boundary is judged without big.Float
// when the float64 evaluation is exact, and to the value big.Float gives.
func TestJudgeExactTies(t *testing.T) {
	a := Activation{Name: "hardswish_like", Forward: "x*(x + 3)/6", Derivative: "(2*x + 3)/6"}
	w, err := NewSweep[float32](a, nil)
	require.NoError(t, err)
	j, err := w.NewJudge()
	require.NoError(t, err)
	r, err := w.s.newRefs()
	require.NoError(t, err)
	ties, settled := 0, 0
	for b := uint32(0x3e000000); b < 0x3e000000+6000; b++ {
		x := math.Float32frombits(b)
		for _, dy := range []float32{1, -1, 0.75, 3.5, 1e-3} {
			fast := j.Fast(Backward, x)
			exact := j.Exact
			got, err := j.Want(Backward, x, dy, fast, nil)
			require.NoError(t, err)
			if nearBoundary32(fast * float64(dy)) {
				ties++
				if j.Exact == exact {
					settled++
				}
			}
			want, err := w.s.want(r, Backward, x, dy, float32(math.NaN()))
			require.NoError(t, err)
			require.True(t, testutil.SameBits(want, got), "x=%v dy=%v: %v, tests' %v", x, dy, got, want)
		}
	}
	// At dy = ±1 the ties are (2x+3)/6 with 2x+3 a multiple of 3: exact.
	require.Greater(t, settled, 500)
	require.Greater(t, ties, settled)
}
