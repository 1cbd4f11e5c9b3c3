package vprog_test

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/actkern/actkern/internal/vprog"
)

// selects counts a program's select instructions.
func selects(p *vprog.Program) int {
	n := 0
	for _, in := range p.Instrs {
		if in.Op == vprog.OpSelect {
			n++
		}
	}
	return n
}

// TestDropUnseenSelects: a select on a mask an enclosing select has
// decided is dropped (an inner NaN rule under the kernel's, a mask's
// complement on the other side), one whose value is also seen elsewhere
// stays, and no lane's result changes.
func TestDropUnseenSelects(t *testing.T) {
	build := func(name string, f func(b *vprog.Builder, x vprog.Value) vprog.Value) *vprog.Program {
		b := vprog.NewBuilder(name, vprog.F64, vprog.F64, 1, nil)
		return b.Finish(f(b, b.Input(0)))
	}
	// want is what each program means, every select evaluated.
	cases := []struct {
		name    string
		p       *vprog.Program
		want    func(x float64) float64
		selects int
	}{
		{
			name: "inner NaN rule",
			p: build("nan", func(b *vprog.Builder, x vprog.Value) vprog.Value {
				nan := b.IsNaN(x)
				inner := b.Select(nan, x, b.Add(x, b.Const(1)))
				return b.Select(nan, x, b.Mul(inner, b.Const(2)))
			}),
			want:    func(x float64) float64 { return (x + 1) * 2 },
			selects: 1,
		},
		{
			// isnan(-|x|) is isnan(x) (Builder.IsNaN): a primitive's NaN
			// rule on -|x| shares the kernel's mask and goes too.
			name: "inner NaN rule on -|x|",
			p: build("negabs", func(b *vprog.Builder, x vprog.Value) vprog.Value {
				nax := b.Neg(b.Abs(x))
				inner := b.Select(b.IsNaN(nax), nax, b.Add(nax, b.Const(1)))
				return b.Select(b.IsNaN(x), x, b.Mul(inner, b.Const(2)))
			}),
			want:    func(x float64) float64 { return (1 - math.Abs(x)) * 2 },
			selects: 1,
		},
		{
			// x·(k + c·x²) is NaN only where x is (nanonly.go): the rule
			// on it goes too, though its mask is another.
			name: "inner NaN rule on x·(k + c·x²)",
			p: build("cubic", func(b *vprog.Builder, x vprog.Value) vprog.Value {
				v := b.Mul(x, b.FMA(b.Mul(x, x), b.Const(0.03), b.Const(0.8)))
				inner := b.Select(b.IsNaN(v), v, b.Add(v, b.Const(1)))
				return b.Select(b.IsNaN(x), x, b.Mul(inner, b.Const(2)))
			}),
			want:    func(x float64) float64 { return (x*(x*x*0.03+0.8) + 1) * 2 },
			selects: 1,
		},
		{
			// x·(1/x) is NaN at x = 0 and x = ±Inf: its rule stays.
			name: "inner NaN rule on x·(1/x)",
			p: build("ratio", func(b *vprog.Builder, x vprog.Value) vprog.Value {
				v := b.Mul(x, b.Div(b.Const(1), x))
				inner := b.Select(b.IsNaN(v), b.Const(5), b.Add(v, b.Const(1)))
				return b.Select(b.IsNaN(x), x, b.Mul(inner, b.Const(2)))
			}),
			want: func(x float64) float64 {
				if v := x * (1 / x); v == v {
					return (v + 1) * 2
				}
				return 10
			},
			selects: 2,
		},
		{
			name: "decided on the true side",
			p: build("true", func(b *vprog.Builder, x vprog.Value) vprog.Value {
				neg := b.LT(x, b.Const(0))
				inner := b.Select(neg, b.Neg(x), b.Mul(x, b.Const(3)))
				return b.Select(neg, b.Add(inner, b.Const(5)), b.Const(7))
			}),
			want: func(x float64) float64 {
				if x < 0 {
					return -x + 5
				}
				return 7
			},
			selects: 1,
		},
		{
			name: "also seen outside the branch",
			p: build("shared", func(b *vprog.Builder, x vprog.Value) vprog.Value {
				neg := b.LT(x, b.Const(0))
				inner := b.Select(neg, b.Neg(x), b.Mul(x, b.Const(3)))
				return b.Add(b.Select(neg, b.Const(10), inner), inner)
			}),
			want: func(x float64) float64 {
				inner := x * 3
				if x < 0 {
					return 10 - x
				}
				return inner + inner
			},
			selects: 2,
		},
	}
	for _, c := range cases {
		assert.Equal(t, c.selects, selects(c.p), c.name)
		for _, x := range []float64{-2.5, -0.0, 0, 1.5, 1e300, math.Inf(-1), math.Inf(1), math.NaN()} {
			got, want := c.p.Eval([]float64{x}, nil), c.want(x)
			if strings.HasPrefix(c.name, "inner NaN rule") && math.IsNaN(x) {
				want = x
			}
			if math.IsNaN(want) {
				assert.True(t, math.IsNaN(got), "%s: x = %v", c.name, x)
				continue
			}
			assert.Equal(t, want, got, "%s: x = %v", c.name, x)
		}
	}
}
