package vprog

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNanOnlyWith checks the interval analysis on values that are NaN
// only where x is, and on values that are NaN for some number x (or for
// some y or parameter), for both memory types; and, by evaluation, that
// no value it clears is NaN for a number x.
func TestNanOnlyWith(t *testing.T) {
	cases := []struct {
		name string
		f    func(b *Builder, x, y, p Value) Value
		only bool
	}{
		{"x", func(b *Builder, x, y, p Value) Value { return x }, true},
		{"x·x", func(b *Builder, x, y, p Value) Value { return b.Mul(x, x) }, true},
		{"x·(k + c·x²)", func(b *Builder, x, y, p Value) Value {
			return b.Mul(x, b.FMA(b.Mul(x, x), b.Const(0.03), b.Const(0.8)))
		}, true},
		{"-|x|·c + 1", func(b *Builder, x, y, p Value) Value { return b.FMA(b.Neg(b.Abs(x)), b.Const(2), b.Const(1)) }, true},
		{"1/x", func(b *Builder, x, y, p Value) Value { return b.Div(b.Const(1), x) }, true},
		{"min(max(x, -3), 3)·x", func(b *Builder, x, y, p Value) Value {
			return b.Mul(b.Min(b.Max(x, b.Const(-3)), b.Const(3)), x)
		}, true},
		{"round(x)", func(b *Builder, x, y, p Value) Value { return b.Round(x, RoundNearestEven) }, true},
		{"x·(1/x)", func(b *Builder, x, y, p Value) Value { return b.Mul(x, b.Div(b.Const(1), x)) }, false},
		{"x - x", func(b *Builder, x, y, p Value) Value { return b.Sub(x, x) }, false},
		{"x + |x|", func(b *Builder, x, y, p Value) Value { return b.Add(x, b.Abs(x)) }, false},
		{"x/x", func(b *Builder, x, y, p Value) Value { return b.Div(x, x) }, false},
		{"x·y", func(b *Builder, x, y, p Value) Value { return b.Mul(x, y) }, false},
		{"x + 0·y", func(b *Builder, x, y, p Value) Value { return b.FMA(b.Const(0), y, x) }, false},
		{"x·p", func(b *Builder, x, y, p Value) Value { return b.Mul(x, p) }, false},
		{"max(y, x)", func(b *Builder, x, y, p Value) Value { return b.Max(y, x) }, true}, // x86: x where y is NaN
		{"max(x, y)", func(b *Builder, x, y, p Value) Value { return b.Max(x, y) }, false},
		// NaN for finite x: x^16 overflows to Inf at x = 1e20 (float64
		// lanes), and 1/Inf is 0.
		{"x^16·(1/x^16)", func(b *Builder, x, y, p Value) Value {
			x16 := x
			for range 4 {
				x16 = b.Mul(x16, x16)
			}
			return b.Mul(x16, b.Div(b.Const(1), x16))
		}, false},
	}
	// t·(1/t) with t = s², s = min(x², MaxFloat32) + 1 in [1, MaxFloat32]:
	// in float32 lanes t overflows to Inf and 1/t is 0 (x = 1e10), in
	// float64 lanes t is finite and 1/t is not 0.
	for _, compute := range []Type{F32, F64} {
		b := NewBuilder("f", F32, compute, 1, nil)
		x := b.Input(0)
		s := b.Add(b.Min(b.Mul(x, x), b.Const(math.MaxFloat32)), b.Const(1))
		tt := b.Mul(s, s)
		v := b.Mul(tt, b.Div(b.Const(1), tt))
		p := b.Finish(b.Add(v, b.Const(0)))
		assert.Equal(t, compute == F64, p.nanOnlyWith(0)[v], "t·(1/t) in %s lanes", compute)
		assert.Equal(t, compute == F32, math.IsNaN(p.Eval([]float64{1e10}, nil)), "%s lanes", compute)
	}
	for _, mem := range []Type{F32, F64} {
		for _, c := range cases {
			b := NewBuilder("f", mem, F64, 2, []string{"p"})
			v := c.f(b, b.Input(0), b.Input(1), b.Param(0))
			p := b.Finish(b.Add(v, b.Const(0))) // v itself stays a value of p
			only := p.nanOnlyWith(0)[v]
			assert.Equal(t, c.only, only, "%s %s", mem, c.name)
			if !only {
				continue
			}
			for _, x := range []float64{0, math.Copysign(0, -1), 1, -2.5, 1e-45, 3e38, -3e38, 1e300, math.Inf(1), math.Inf(-1)} {
				if mem == F32 && math.Abs(x) > math.MaxFloat32 && !math.IsInf(x, 0) {
					continue
				}
				for _, y := range []float64{0, 1, math.Inf(1), math.NaN()} {
					got := p.Eval([]float64{x, y}, []float64{math.NaN()})
					assert.False(t, math.IsNaN(got), "%s %s: x = %v, y = %v", mem, c.name, x, y)
				}
			}
		}
	}
}
