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
			q := p.ForX86()
			assert.Equal(t, c.dropped, !hasRule(q), "NaN rule dropped for x86")
			for _, x := range []float64{-7, -0.5, 0, 0.25, 3, math.Inf(1), math.Inf(-1)} {
				assert.Equal(t, math.Float64bits(p.Eval([]float64{x}, nil)), math.Float64bits(q.Eval([]float64{x}, nil)), "x = %v", x)
			}
		})
	}
}
