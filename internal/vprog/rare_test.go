package vprog_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/vprog"
)

func TestSplitRare(t *testing.T) {
	b := vprog.NewBuilder("toy", vprog.F64, vprog.F64, 1, nil)
	x := b.Input(0)
	big := b.LT(b.Const(100), b.Abs(x))
	cube := b.Mul(b.Mul(x, x), x)
	p := b.Finish(b.SelectRare(big, cube, b.Add(x, b.Const(1))))

	usual := p.SplitRare()
	require.NotNil(t, usual)
	assert.Equal(t, "toyUsual", usual.Name)
	assert.Less(t, len(usual.Instrs), len(p.Instrs), "the rare branch is gone")
	require.Len(t, usual.Stops, 1)
	for i, in := range usual.Instrs {
		assert.NotEqual(t, vprog.OpSelect, in.Op, "v%d: the usual program does not select", i)
		assert.NotEqual(t, vprog.OpMul, in.Op, "v%d: the usual program does not compute the rare branch", i)
	}
	for _, v := range []float64{0, -3, 99.5, 100, 100.5, -1e300, math.Inf(1), math.NaN()} {
		in := []float64{v}
		stops := usual.StopsAt(in, nil)
		if math.Abs(v) > 100 {
			assert.True(t, stops, "x = %v", v)
		} else {
			assert.False(t, stops, "x = %v", v)
			assert.Equal(t, math.Float64bits(p.Eval(in, nil)), math.Float64bits(usual.Eval(in, nil)), "x = %v", v)
		}
	}

	b = vprog.NewBuilder("plain", vprog.F64, vprog.F64, 1, nil)
	q := b.Finish(b.Add(b.Input(0), b.Const(1)))
	assert.Nil(t, q.SplitRare())

	// Of two rare conditions, one implying the other, only the other
	// stops: x < -745 adds nothing to x < -708. Conditions on two values
	// stay.
	b = vprog.NewBuilder("tails", vprog.F64, vprog.F64, 1, nil)
	x = b.Input(0)
	far := b.LT(x, b.Const(-745))
	near := b.LT(x, b.Const(-708))
	v := b.SelectRare(far, b.Mul(x, x), b.SelectRare(near, b.Mul(x, b.Const(3)), x))
	both := b.Finish(b.SelectRare(b.LT(b.Const(9), b.Mul(x, x)), b.Const(0), v))
	usual = both.SplitRare()
	require.NotNil(t, usual)
	require.Len(t, usual.Stops, 2, "x < -708 and 9 < x*x")
	for _, x := range []float64{-800, -720, -700, -2, 0, 2, 3.5, math.NaN()} {
		want := x < -708 || 9 < x*x
		assert.Equal(t, want, usual.StopsAt([]float64{x}, nil), "x = %v", x)
	}

	// A rare condition on a parameter alone holds for every element or
	// none: no element-wise stop serves it, and the program stays whole.
	b = vprog.NewBuilder("byParam", vprog.F64, vprog.F64, 1, []string{"a"})
	x = b.Input(0)
	r := b.Finish(b.SelectRare(b.LT(b.Const(100), b.Param(0)), b.Mul(x, x), x))
	assert.Nil(t, r.SplitRare())
}

// TestSinUsualPath: sin's Payne–Hanek reduction is its rare path; below
// the Cody–Waite bound the usual program gives the full program's bits.
func TestSinUsualPath(t *testing.T) {
	s, err := spec.Load(specFile)
	require.NoError(t, err)
	var sin *spec.Activation
	for _, a := range s.Activations {
		if a.Name == "sin" {
			sin = a
		}
	}
	require.NotNil(t, sin)
	r := rand.New(rand.NewPCG(1, 2))
	for _, mem := range []vprog.Type{vprog.F32, vprog.F64} {
		for _, d := range []vprog.Direction{vprog.Forward, vprog.Backward} {
			p, err := vprog.Lower(sin, d, mem)
			require.NoError(t, err)
			usual := p.SplitRare()
			require.NotNil(t, usual, "%s", p.Name)
			assert.Less(t, len(usual.Instrs), len(p.Instrs)/2, "%s: the usual program skips most of the work", p.Name)
			params := []float64{30}
			for range 20000 {
				x := math.Ldexp(r.Float64()-0.5, r.IntN(80)-30)
				if mem == vprog.F32 {
					x = float64(float32(x))
				}
				in := []float64{x, 0.75}[:p.Inputs]
				// The Cody–Waite bound is 2^44·π/2 = 2.763e13.
				switch ax := math.Abs(30 * x); {
				case ax > 2.77e13:
					assert.True(t, usual.StopsAt(in, params), "%s x = %v", p.Name, x)
					continue
				case ax > 2.76e13:
					continue
				}
				require.False(t, usual.StopsAt(in, params), "%s x = %v", p.Name, x)
				require.Equal(t, math.Float64bits(p.Eval(in, params)), math.Float64bits(usual.Eval(in, params)), "%s x = %v", p.Name, x)
			}
		}
	}
}
