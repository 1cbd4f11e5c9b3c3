package kerneltest

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
)

// Channel describes a per-channel entry (PReLU): an elementwise function
// whose parameter ChannelParam takes each channel's weight.
type Channel struct {
	Name         string
	Consts       map[string]string
	Params       []Param // the elementwise entry's, with defaults
	ChannelParam string
	Forward      string // f(x), over x and Params
	Derivative   string // ∂f/∂x
	// DerivativeWeight is ∂f/∂ChannelParam; the weight gradient sums dy
	// times it over each channel.
	DerivativeWeight string
}

// ChannelKernels are a channel entry's public functions.
type ChannelKernels[T float32 | float64] struct {
	Forward  func(dst, x, weight []T, inner int)
	Backward func(dx, dweight, dy, x, weight []T, inner int)
}

// WeightGradMaxULP is the bar of a weight gradient: its distance to the
// exact sum in ULP of the sum's magnitude (issue 4).
const WeightGradMaxULP = 4

// RunChannel checks a channel entry: forward and dx against the exact
// reference (≤ MaxULP) for NCHW, NHWC and shared-weight layouts, the weight
// gradient against the exact sum (≤ WeightGradMaxULP, up to 10^6 elements
// per channel with cancelling terms), NaN rules and shape panics.
func RunChannel[T float32 | float64](t *testing.T, c Channel, k ChannelKernels[T]) {
	vars := []string{"x"}
	for _, p := range c.Params {
		vars = append(vars, p.Name)
	}
	compile := func(src string, extra ...string) *reference.Func {
		f, err := reference.CompileString(src, append(append([]string(nil), vars...), extra...), c.Consts)
		require.NoError(t, err, "%s: %s", c.Name, src)
		return f
	}
	fwd, der := compile(c.Forward), compile("dy * ("+c.Derivative+")", "dy")
	dwTerm := compile("dy * ("+c.DerivativeWeight+")", "dy")
	args := func(x, w T, dy ...T) []reference.Num {
		out := nums(x)
		for _, p := range c.Params {
			v := T(p.Default)
			if p.Name == c.ChannelParam {
				v = w
			}
			out = append(out, nums(v)...)
		}
		return append(out, nums(dy...)...)
	}

	type layout struct {
		name        string
		n, C, inner int
	}
	layouts := []layout{{"nchw", 2, 3, 37}, {"nhwc", 41, 5, 1}, {"shared", 3, 1, 29}, {"nchw_one_row", 1, 4, 8}}
	t.Run("random", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, uint64(len(c.Name))))
		for _, l := range layouts {
			size := l.n * l.C * l.inner
			x, dy := make([]T, size), make([]T, size)
			for i := range x {
				x[i], dy[i] = ordinaryValue[T](rng), T(rng.NormFloat64())
			}
			w := make([]T, l.C)
			for i := range w {
				w[i] = T(rng.Float64()*0.5 - 0.1)
			}
			y, dx, dw := make([]T, size), make([]T, size), make([]T, l.C)
			k.Forward(y, x, w, l.inner)
			k.Backward(dx, dw, dy, x, w, l.inner)
			for i := range x {
				wc := w[(i/l.inner)%l.C]
				want := roundTo[T](fwd.BigNum(refPrec, args(x[i], wc)...))
				require.LessOrEqual(t, testutil.ULP(y[i], want), float64(MaxULP), "%s %s forward at x=%v w=%v: got %v, want %v", c.Name, l.name, x[i], wc, y[i], want)
				wantD := roundTo[T](der.BigNum(refPrec, args(x[i], wc, dy[i])...))
				require.LessOrEqual(t, testutil.ULP(dx[i], wantD), float64(MaxULP), "%s %s backward at x=%v w=%v dy=%v: got %v, want %v", c.Name, l.name, x[i], wc, dy[i], dx[i], wantD)
			}
			checkWeightGrad(t, c.Name+" "+l.name, dwTerm, args, x, dy, w, l.inner, dw)
		}
	})
	t.Run("weight_gradient_1e6_per_channel", func(t *testing.T) {
		if testing.Short() {
			t.Skip("10^6 elements per channel: not in -short")
		}
		rng := rand.New(rand.NewPCG(13, 17))
		for _, l := range []layout{{"nchw", 1000, 2, 1000}, {"nhwc", 1000000, 2, 1}} {
			size := l.n * l.C * l.inner
			x, dy := make([]T, size), make([]T, size)
			for i := range x {
				// Both signs of dy: the products cancel, as real gradients do.
				x[i], dy[i] = T(rng.NormFloat64()), T(rng.NormFloat64())
			}
			w := []T{0.25, 0.01}
			dx, dw := make([]T, size), make([]T, l.C)
			k.Backward(dx, dw, dy, x, w, l.inner)
			checkWeightGrad(t, c.Name+" "+l.name+" 1e6", dwTerm, args, x, dy, w, l.inner, dw)
		}
	})
	t.Run("nan", func(t *testing.T) {
		nan := T(math.NaN())
		y := make([]T, 4)
		k.Forward(y, []T{nan, 1, -1, 2}, []T{0.25}, 1)
		assert.True(t, y[0] != y[0], "NaN x: got %v", y[0])
		assert.Equal(t, []T{1, -0.25, 2}, y[1:])
		dx, dw := make([]T, 4), make([]T, 1)
		k.Backward(dx, dw, []T{1, 1, 1, 1}, []T{nan, 1, -1, 2}, []T{0.25}, 1)
		assert.True(t, dx[0] != dx[0] && dw[0] != dw[0], "NaN x: dx %v dweight %v", dx[0], dw[0])
	})
	t.Run("shapes", func(t *testing.T) {
		k.Forward(nil, nil, []T{1}, 4)
		for _, s := range []struct{ n, ndst, nw, inner int }{{6, 6, 0, 1}, {6, 6, 2, 0}, {6, 6, 4, 1}, {6, 5, 2, 3}, {12, 12, 2, 4}} {
			msg, ok := panics(func() { k.Forward(make([]T, s.ndst), make([]T, s.n), make([]T, s.nw), s.inner) })
			assert.True(t, ok, "len(x)=%d len(dst)=%d len(weight)=%d inner=%d: no panic", s.n, s.ndst, s.nw, s.inner)
			assert.Contains(t, msg, c.Name)
		}
		_, ok := panics(func() { k.Backward(make([]T, 4), make([]T, 1), make([]T, 4), make([]T, 4), make([]T, 2), 1) })
		assert.True(t, ok, "len(dweight) != len(weight): no panic")
	})
}

// checkWeightGrad compares each channel's weight gradient with the exact
// sum of its terms.
func checkWeightGrad[T float32 | float64](t *testing.T, what string, term *reference.Func, args func(x, w T, dy ...T) []reference.Num,
	x, dy, w []T, inner int, got []T) {
	C := len(w)
	sums := make([]*big.Float, C)
	for c := range sums {
		sums[c] = new(big.Float).SetPrec(sumPrec)
	}
	for i := range x {
		c := (i / inner) % C
		v := term.BigNum(refPrec, args(x[i], w[c], dy[i])...)
		require.False(t, v.NaN, "%s: NaN term", what)
		sums[c].Add(sums[c], v.F)
	}
	worst := 0.0
	for c, s := range sums {
		want := roundTo[T](reference.Num{F: s})
		u := math.Abs(float64(got[c])-float64(want)) / ulpOf(T(math.Abs(float64(want))))
		assert.LessOrEqual(t, u, float64(WeightGradMaxULP), "%s: dweight[%d] = %v, exact %v", what, c, got[c], want)
		worst = max(worst, u)
	}
	t.Logf("%s: weight gradient within %.3g ULP of the exact sum", what, worst)
}
