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
