package vprog

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSelectDropsSatisfiedNaNRule checks that the NaN rule's select goes
// exactly where the formula already gives x, bit for bit, for a NaN x, and
// that either way a NaN x comes out unchanged: payload, sign and
// signaling bit (which any arithmetic on it would change).
func TestSelectDropsSatisfiedNaNRule(t *testing.T) {
	cases := []struct {
		forward string
		dropped bool
	}{
		{"max(x, 0)", true},
		{"min(max(x, -1), 2)", true},
		{"where(x < 0, 0, x)", true},
		{"where(x <= 0, 2*x, x)", true},
		{"where(abs(x) <= 0.5, 0, x)", true}, // abs(NaN) is a NaN: the comparison is false
		{"where(x < 0 || x > 1, 0, x)", true},
		{"where(x != 0, x, 1)", true}, // != is true for NaN
		{"where(x > 0, x, 2*x)", false},
		{"x - min(max(x, -0.5), 0.5)", false},
		{"where(x > 0, x, 0)", false},
		{"min(x*x, x)", false}, // min's own NaN select gives x*x: a NaN, not x
	}
	nans := []uint64{0x7ff8000000000abc, 0xfff8000000000001, 0x7ff0000000000001, 0xfff4000000000000}
	for _, c := range cases {
		t.Run(c.forward, func(t *testing.T) {
			p, err := Lower(activation(t, "f", c.forward, "1"), Forward, F64)
			require.NoError(t, err)
			res := p.Instrs[p.Result]
			rule := res.Op == OpSelect && p.Instrs[res.Args[0]].Op == OpIsNaN && p.Instrs[res.Args[1]].Op == OpInput
			assert.Equal(t, c.dropped, !rule, "NaN rule dropped")
			for _, bits := range nans {
				got := math.Float64bits(p.Eval([]float64{math.Float64frombits(bits)}, nil))
				assert.Equal(t, fmt.Sprintf("%#x", bits), fmt.Sprintf("%#x", got))
			}
		})
	}
}

// TestForX86DropsNaNRuleArithmeticKeeps checks which NaN rules the x86
// kernels drop: those whose formula reaches x's NaN through arithmetic that
// x86 makes return its first NaN operand, never one where a negation, an
// absolute value or an operand that may be another NaN comes first. The
// assembly end-to-end tests (asm, programs nanRuleX86*) check the bits.
func TestForX86DropsNaNRuleArithmeticKeeps(t *testing.T) {
	cases := []struct {
		forward string
		dropped bool
	}{
		{"x - min(max(x, -0.5), 0.5)", true}, // softshrink
		{"2 - 3*x", true},                    // constants are never NaN
		{"fma(0.5, x, 1)", true},
		{"x*min(max(x + 3, 0), 6)/6", true}, // hardswish
		{"sqrt(x*x + 1)", true},
		{"-x + 1", false},          // -x is a NaN of the other sign
		{"abs(x)*2", false},        // |x| too
		{"1/(1 + exp(-x))", false}, // exp's reduction goes through bit operations
		{"min(x*x, x)", true},      // min gives its second operand, x
	}
	for _, c := range cases {
		t.Run(c.forward, func(t *testing.T) {
			p, err := Lower(activation(t, "f", c.forward, "1"), Forward, F64)
			require.NoError(t, err)
			hasRule := func(p *Program) bool {
				for i, in := range p.Instrs {
					if p.Live()[i] && in.Op == OpSelect && p.Instrs[in.Args[0]].Op == OpIsNaN && p.Instrs[in.Args[1]].Op == OpInput {
						return true
					}
				}
				return false
			}
			require.True(t, hasRule(p), "the portable program keeps its NaN rule")
			q := p.ForX86(false)
			assert.Equal(t, c.dropped, !hasRule(q), "NaN rule dropped for x86")
			for _, x := range []float64{-7, -0.5, 0, 0.25, 3, math.Inf(1), math.Inf(-1)} {
				assert.Equal(t, math.Float64bits(p.Eval([]float64{x}, nil)), math.Float64bits(q.Eval([]float64{x}, nil)), "x = %v", x)
			}
		})
	}
}

// TestForX86Step checks the step rewrite for AVX-512: where(x > 0, 1, 0)
// on the NaN rule's input becomes one OpStep, whose product with dy then passes x's
// NaN on and drops the rule; a condition on anything but that input keeps
// its select. The x86 program must give the portable program's bits
// wherever x is a number, and a NaN x up to the quiet bit.
func TestForX86Step(t *testing.T) {
	cases := []struct {
		der     string
		steps   int
		dropped bool
	}{
		{"where(x > 0, 1, 0)", 1, true},      // relu
		{"where(x >= 0, 1, 0)", 0, false},    // the step is for x > 0 only
		{"where(x - 1 > 0, 1, 0)", 0, false}, // x - 1 is not the NaN rule's input
		{"where(x > 0, 2, 0)", 0, false},
	}
	xs := []float64{-math.MaxFloat32, -1, -0x1p-149, math.Copysign(0, -1), 0, 0x1p-149, 0.5, 1, 3, math.Inf(1), math.Inf(-1)}
	dys := []float64{2, -0.5, 0, math.Copysign(0, -1), math.Inf(1), math.NaN()}
	nan := math.Float64frombits(0x7ff4000000000abc) // signalling, with a payload
	for _, c := range cases {
		t.Run(c.der, func(t *testing.T) {
			for _, mem := range []Type{F32, F64} {
				p, err := Lower(activation(t, "f", "x", c.der), Backward, mem)
				require.NoError(t, err)
				for i, in := range p.ForX86(false).Instrs {
					assert.False(t, in.Op == OpStep, "%s: without VFIXUPIMM, v%d is a step", mem, i)
				}
				q := p.ForX86(true)
				steps, rule := 0, false
				for i, in := range q.Instrs {
					steps += boolInt(q.Live()[i] && in.Op == OpStep)
					rule = rule || q.Live()[i] && in.Op == OpSelect && q.Instrs[in.Args[0]].Op == OpIsNaN
				}
				assert.Equal(t, c.steps, steps, "%s: steps", mem)
				assert.Equal(t, c.dropped, !rule, "%s: NaN rule dropped", mem)
				for _, x := range xs {
					for _, dy := range dys {
						want, got := p.Eval([]float64{x, dy}, nil), q.Eval([]float64{x, dy}, nil)
						assert.True(t, math.Float64bits(want) == math.Float64bits(got) || want != want && got != got, "%s: x = %v, dy = %v: %v, want %v", mem, x, dy, got, want)
					}
				}
				in := []float64{nan, 2}
				if mem == F32 {
					in[0] = float64(math.Float32frombits(0x7fa00abc))
				}
				const quiet = 1 << 51
				want, got := math.Float64bits(p.Eval(in, nil)), math.Float64bits(q.Eval(in, nil))
				assert.Equal(t, fmt.Sprintf("%#x", want|quiet), fmt.Sprintf("%#x", got|quiet), "%s: NaN x", mem)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
