package kerneltest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
)

// Gated describes a gated entry (the GLU family): formulas over the
// halves a and b (and dy), as the generator composes them from the gate.
type Gated struct {
	Name    string
	Consts  map[string]string
	Forward string // f(a, b)
	DA, DB  string // dy·∂f/∂a, dy·∂f/∂b
	// GateOn is the gated half ("a" or "b"); Gate and GateDerivative are
	// the gate's g(x) and g'(x), for the subnormal allowance.
	GateOn               string
	Gate, GateDerivative string
}

// subnormalAllowance is the error a float64 gated kernel cannot avoid
// where the gate's value (or derivative) g is below the normal range: g
// itself is then rounded to a multiple of 2^-1074, an absolute error of
// up to 2^-1075 that the product multiplies by |factor| (the other half,
// times dy); g below 2^-1075 rounds to 0, the same error. It is 0 where g
// is normal, and for float32 (whose kernels
// compute in float64, where g this small makes the result round to 0).
func subnormalAllowance[T float32 | float64](g float64, factor T) float64 {
	if testutil.Is32[T]() || math.Abs(g) >= 0x1p-1022 {
		return 0
	}
	// 2^-1075 itself is not a float64: scale in two steps.
	return math.Abs(float64(factor)) * 0x1p-1000 * 0x1p-75
}

// within reports whether got is within bar ULP of want, plus an absolute
// allowance.
func within[T float32 | float64](got, want T, bar, allowance float64) (float64, bool) {
	u := testutil.ULP(got, want)
	if u <= bar {
		return u, true
	}
	return u, math.Abs(float64(got)-float64(want)) <= bar*ulpOf(T(math.Abs(float64(want))))+allowance
}

// GatedKernels are a gated entry's public functions.
type GatedKernels[T float32 | float64] struct {
	Forward      func(dst, x []T, cols int)
	Backward     func(dx, dy, x []T, cols int)
	Pair         func(dst, a, b []T)
	PairBackward func(da, db, dy, a, b []T)
}

// GatedBackwardMaxULP is the gated backward bar: the gate's derivative
// (within MaxULP) is multiplied by the other half and by dy, two more
// roundings.
const GatedBackwardMaxULP = MaxULP + 1

// RunGated checks a gated entry: random rows against the exact reference
// (forward ≤ MaxULP, backward ≤ GatedBackwardMaxULP, where a float64 gate
// value is subnormal plus subnormalAllowance), the row form against
// the pair form, NaN propagation from either half, and shape panics.
func RunGated[T float32 | float64](t *testing.T, g Gated, k GatedKernels[T]) {
	fwd, err := reference.CompileString(g.Forward, []string{"a", "b"}, g.Consts)
	require.NoError(t, err)
	da, err := reference.CompileString(g.DA, []string{"a", "b", "dy"}, g.Consts)
	require.NoError(t, err)
	db, err := reference.CompileString(g.DB, []string{"a", "b", "dy"}, g.Consts)
	require.NoError(t, err)
	exact := func(f *reference.Func, args ...T) T {
		return roundTo[T](f.BigNum(refPrec, nums(args...)...))
	}
	gate, err := reference.CompileString(g.Gate, []string{"x"}, g.Consts)
	require.NoError(t, err)
	gateD, err := reference.CompileString(g.GateDerivative, []string{"x"}, g.Consts)
	require.NoError(t, err)
	gated := func(a, b T) (u, v T) {
		if g.GateOn == "b" {
			return b, a
		}
		return a, b
	}

	t.Run("random", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, uint64(len(g.Name))))
		n := 20000
		if testing.Short() {
			n = 2000
		}
		for _, cols := range []int{1, 7, 16, 33, 1000} {
			rows := max(1, n/cols/4)
			x := make([]T, 2*rows*cols)
			for i := range x {
				x[i] = ordinaryValue[T](rng)
			}
			dy := make([]T, rows*cols)
			for i := range dy {
				dy[i] = T(rng.NormFloat64())
			}
			y := make([]T, rows*cols)
			k.Forward(y, x, cols)
			dx := make([]T, len(x))
			k.Backward(dx, dy, x, cols)
			worstF, worstB := 0.0, 0.0
			subnormal, worstSub := 0, 0.0 // results within the allowance only
			for r := range rows {
				for j := range cols {
					a, b, d := x[2*r*cols+j], x[2*r*cols+cols+j], dy[r*cols+j]
					i := r*cols + j
					gu, gv := gated(a, b)
					gval := gate.Float64(float64(gu))
					u, ok := within(y[i], exact(fwd, a, b), MaxULP, subnormalAllowance(gval, gv))
					if u <= MaxULP {
						worstF = max(worstF, u)
					} else if ok {
						subnormal++
						worstSub = max(worstSub, u)
					}
					if !ok {
						t.Fatalf("%s(a=%v, b=%v) = %v, want %v (%v ULP)", g.Name, a, b, y[i], exact(fwd, a, b), u)
					}
					for h, f := range []*reference.Func{da, db} {
						got := dx[2*r*cols+h*cols+j]
						// The derivative with respect to the gated half
						// is g'(u)·v·dy; the other is g(u)·dy.
						allow := subnormalAllowance(gval, d)
						if (h == 0) == (g.GateOn != "b") {
							allow = subnormalAllowance(gateD.Float64(float64(gu)), gv*d)
						}
						u, ok := within(got, exact(f, a, b, d), GatedBackwardMaxULP, allow)
						if u <= GatedBackwardMaxULP {
							worstB = max(worstB, u)
						} else if ok {
							subnormal++
							worstSub = max(worstSub, u)
						}
						if !ok {
							t.Fatalf("%s backward d%c at a=%v b=%v dy=%v: got %v, want %v (%v ULP)", g.Name, "ab"[h], a, b, d, got, exact(f, a, b, d), u)
						}
					}
				}
			}
			t.Logf("%s cols=%d: max error forward %v ULP, backward %v ULP; %d results of subnormal gates within the allowance (max %v ULP)",
				g.Name, cols, worstF, worstB, subnormal, worstSub)

			// The pair form computes the same thing on separate halves.
			a, b := make([]T, 0, len(y)), make([]T, 0, len(y))
			for r := range rows {
				a = append(a, x[2*r*cols:2*r*cols+cols]...)
				b = append(b, x[2*r*cols+cols:2*(r+1)*cols]...)
			}
			yp := make([]T, len(y))
			k.Pair(yp, a, b)
			assert.Equal(t, bitsOfAll(y), bitsOfAll(yp), "pair form differs from row form")
			dap, dbp := make([]T, len(y)), make([]T, len(y))
			k.PairBackward(dap, dbp, dy, a, b)
			for r := range rows {
				for j := range cols {
					assert.Equal(t, bitsOf(dx[2*r*cols+j]), bitsOf(dap[r*cols+j]))
					assert.Equal(t, bitsOf(dx[2*r*cols+cols+j]), bitsOf(dbp[r*cols+j]))
				}
			}
		}
	})
	t.Run("nan", func(t *testing.T) {
		// NaN in the gated half u makes everything NaN; NaN in the other
		// half v makes the output and ∂f/∂u = g'(u)·v NaN, but not
		// ∂f/∂v = g(u), which does not read v (PyTorch's autograd agrees).
		gatedHalf := 0
		if g.GateOn == "b" {
			gatedHalf = 1
		}
		for _, half := range []int{0, 1} {
			x := []T{1.5, -2, 0.25, 3}
			x[half*2] = T(math.NaN())
			y := make([]T, 2)
			k.Forward(y, x, 2)
			assert.True(t, y[0] != y[0], "NaN in half %d: got %v", half, y[0])
			dx := make([]T, 4)
			k.Backward(dx, []T{1, 1}, x, 2)
			du, dv := dx[gatedHalf*2], dx[(1-gatedHalf)*2]
			assert.True(t, du != du, "NaN in half %d: d/d(gated half) = %v, want NaN", half, du)
			if half == gatedHalf {
				assert.True(t, dv != dv, "NaN in the gated half: d/d(other half) = %v, want NaN", dv)
			} else {
				assert.False(t, dv != dv, "NaN in the other half: d/d(other half) = g(u)·dy is NaN")
			}
		}
	})
	t.Run("shapes", func(t *testing.T) {
		k.Forward(nil, nil, 4)
		for _, c := range []struct{ nx, ndst, cols int }{{8, 3, 2}, {8, 4, 0}, {6, 3, 2}, {8, 4, 3}} {
			msg, ok := panics(func() { k.Forward(make([]T, c.ndst), make([]T, c.nx), c.cols) })
			assert.True(t, ok, "len(x)=%d len(dst)=%d cols=%d: no panic", c.nx, c.ndst, c.cols)
			assert.Contains(t, msg, g.Name)
		}
		_, ok := panics(func() { k.Pair(make([]T, 3), make([]T, 3), make([]T, 2)) })
		assert.True(t, ok, "pair with unequal lengths: no panic")
		x := make([]T, 4)
		_, ok = panics(func() { k.Backward(x, make([]T, 2), x, 2) })
		assert.True(t, ok, "backward with dx overlapping x: no panic")
	})
}

func ordinaryValue[T float32 | float64](rng *rand.Rand) T {
	v := math.Pow(10, rng.Float64()*8-4)
	if rng.IntN(2) == 0 {
		v = -v
	}
	return T(v)
}

func bitsOfAll[T float32 | float64](xs []T) []uint64 {
	out := make([]uint64, len(xs))
	for i, v := range xs {
		out[i] = bitsOf(v)
	}
	return out
}
