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
	// GateOn is the gated half ("a" or "b"); Gate is the gate's g(x), for
	// the fuzz target's ±Inf·0 rule.
	GateOn string
	Gate   string
}

// within reports whether got is within bar ULP of want: in ULPs, or in
// distance, bar units of want's ULP (a result just below a power of two is
// 2 ULP from want just above it when it is 1 ULP of want's binade away).
// A zero of the wrong sign is not within any bar.
func within[T float32 | float64](got, want T, bar float64) (float64, bool) {
	u := testutil.ULP(got, want)
	if ZeroSignDiffers(got, want) {
		return u, false
	}
	if u <= bar {
		return u, true
	}
	return u, math.Abs(float64(got)-float64(want)) <= bar*ulpOf(T(math.Abs(float64(want))))
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
// (forward ≤ MaxULP, backward ≤ GatedBackwardMaxULP), among them rows whose
// gate value or derivative is far below the normal range while the other
// half and dy are large enough for the product to be a number; the row
// form against the pair form; NaN propagation from either half; and shape
// panics.
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
			if cols == 33 {
				tinyGates(rng, g.GateOn == "b", x, dy, cols)
			}
			y := make([]T, rows*cols)
			k.Forward(y, x, cols)
			dx := make([]T, len(x))
			k.Backward(dx, dy, x, cols)
			worstF, worstB := 0.0, 0.0
			for r := range rows {
				for j := range cols {
					a, b, d := x[2*r*cols+j], x[2*r*cols+cols+j], dy[r*cols+j]
					i := r*cols + j
					u, ok := within(y[i], exact(fwd, a, b), MaxULP)
					worstF = max(worstF, u)
					if !ok {
						t.Fatalf("%s(a=%v, b=%v) = %v, want %v (%v ULP)", g.Name, a, b, y[i], exact(fwd, a, b), u)
					}
					for h, f := range []*reference.Func{da, db} {
						got := dx[2*r*cols+h*cols+j]
						u, ok := within(got, exact(f, a, b, d), GatedBackwardMaxULP)
						worstB = max(worstB, u)
						if !ok {
							t.Fatalf("%s backward d%c at a=%v b=%v dy=%v: got %v, want %v (%v ULP)", g.Name, "ab"[h], a, b, d, got, exact(f, a, b, d), u)
						}
					}
				}
			}
			t.Logf("%s cols=%d: max error forward %v ULP, backward %v ULP", g.Name, cols, worstF, worstB)

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

// tinyGates rewrites every row of x (and its dy) into a case where the
// gate's value and derivative are far below the normal range: the gated
// half in [-745, -700] (float64; [-104, -87] for float32), where they are
// subnormal, or beyond, where they underflow to 0, while the other half
// and dy are large (up to 1e300 and 1e100, or 1e30 and 1e10) so that the
// true products are numbers, and dy times the other half sometimes
// overflows. A kernel that rounds the gate first and multiplies after gets
// them wrong by many ULPs or gives 0.
func tinyGates[T float32 | float64](rng *rand.Rand, gateOnB bool, x, dy []T, cols int) {
	lo, hi, big := -745.0, -700.0, 300.0
	if testutil.Is32[T]() {
		lo, hi, big = -104, -87, 30
	}
	for r := range len(dy) / cols {
		for j := range cols {
			u, v := 2*r*cols+j, 2*r*cols+cols+j
			if gateOnB {
				u, v = v, u
			}
			x[u] = T(lo + (hi-lo)*rng.Float64())
			if j%3 == 0 {
				x[u] = T(lo - 2*(hi-lo)*rng.Float64()) // underflows in the gate alone
			}
			x[v] = T(math.Pow(10, big*rng.Float64()))
			dy[r*cols+j] = T(math.Pow(10, (big/3)*rng.Float64()))
			if j%2 == 1 {
				x[v], dy[r*cols+j] = -x[v], -dy[r*cols+j]
			}
		}
	}
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
