package vprog

import (
	"go/parser"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/spec"
)

func formula(t *testing.T, src string) spec.Formula {
	t.Helper()
	e, err := parser.ParseExpr(src)
	require.NoError(t, err)
	return spec.Formula{Src: src, Expr: e, Pos: spec.Pos{File: "test.yaml", Line: 1, Col: 1}}
}

func activation(t *testing.T, name, fwd, der string, params ...spec.Param) *spec.Activation {
	return &spec.Activation{Name: name, Params: params, Forward: formula(t, fwd), Derivative: formula(t, der)}
}

func TestKernelName(t *testing.T) {
	assert.Equal(t, "leakyReluBackward", KernelName("leaky_relu", Backward))
	assert.Equal(t, "sigmoid", KernelName("sigmoid", Forward))
	assert.Equal(t, "geluTanhBackwardFromOutput", KernelName("gelu_tanh", BackwardFromOutput))
}

func TestLowerChoosesComputeType(t *testing.T) {
	slope := spec.Param{Name: "negative_slope", Default: 0.01}
	cases := []struct {
		a    *spec.Activation
		d    Direction
		want Type
	}{
		{activation(t, "relu", "max(x, 0)", "where(x > 0, 1, 0)"), Forward, F32},
		{activation(t, "relu", "max(x, 0)", "where(x > 0, 1, 0)"), Backward, F32},
		{activation(t, "leaky_relu", "where(x > 0, x, x*negative_slope)", "where(x > 0, 1, negative_slope)", slope), Forward, F32},
		// x+3 is rounded and then multiplied: float32 lanes would round twice.
		{activation(t, "hardswish", "x*min(max(x+3, 0), 6)/6", "1"), Forward, F64},
		// 0.1 is not a float32: the constant itself is a rounding.
		{activation(t, "scale", "x*0.1", "0.1"), Forward, F64},
	}
	for _, c := range cases {
		p, err := Lower(c.a, c.d, F32)
		require.NoError(t, err)
		assert.Equal(t, c.want, p.Compute, "%s %s", c.a.Name, c.d)
		p64, err := Lower(c.a, c.d, F64)
		require.NoError(t, err)
		assert.Equal(t, F64, p64.Compute)
	}
}

func TestLowerEvaluates(t *testing.T) {
	hs := activation(t, "hardswish", "x*min(max(x+3, 0), 6)/6", "where(x < -3, 0, where(x <= 3, (2*x+3)/6, 1))")
	fwd, err := Lower(hs, Forward, F64)
	require.NoError(t, err)
	bwd, err := Lower(hs, Backward, F64)
	require.NoError(t, err)
	for _, x := range []float64{-5, -3, -1, 0, 2, 3, 7} {
		want := x * math.Min(math.Max(x+3, 0), 6) / 6
		assert.Equal(t, want, fwd.Eval([]float64{x}, nil), "x=%v", x)
	}
	assert.Equal(t, 1.5*2, bwd.Eval([]float64{3, 2}, nil), "kink at 3 takes (2x+3)/6")
	assert.Equal(t, 0.0, bwd.Eval([]float64{-4, 2}, nil))

	// NaN in gives the same NaN out, forward and backward; NaN dy propagates.
	payload := math.Float64frombits(0x7ff8000000000abc)
	assert.Equal(t, math.Float64bits(payload), math.Float64bits(fwd.Eval([]float64{payload}, nil)))
	assert.True(t, math.IsNaN(bwd.Eval([]float64{payload, 1}, nil)))
	assert.True(t, math.IsNaN(bwd.Eval([]float64{-4, math.NaN()}, nil)))
}

func TestLowerMinMaxPropagateNaN(t *testing.T) {
	a := activation(t, "clip", "min(max(x, -1), x*x)", "1")
	p, err := Lower(a, Forward, F64)
	require.NoError(t, err)
	assert.True(t, math.IsNaN(p.Eval([]float64{math.NaN()}, nil)))
	assert.Equal(t, -1.0, p.Eval([]float64{-5}, nil))
	assert.Equal(t, 0.25, p.Eval([]float64{0.5}, nil))
}

func TestLowerReportsPosition(t *testing.T) {
	a := activation(t, "bad", "x + foo", "1")
	_, err := Lower(a, Forward, F64)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "test.yaml:1:5: unknown name foo")
}
