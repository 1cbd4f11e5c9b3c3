package reference

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCancellation: a fixed working precision is not exact when a formula
// cancels; the evaluation must notice and retry with more bits. Expected
// values from mpmath at 3000 digits.
func TestCancellation(t *testing.T) {
	cases := []struct {
		src  string
		x    float64
		want float64
	}{
		// 1 + tanh(v) at v ≈ -90: 200 bits give 0.
		{"0.5*x*(1+tanh(sqrt2_pi*(x+0.044715*x*x*x)))", -13, -1.0511517767632533e-76},
		// x - tanh(x) ≈ x³/3 needs ~700 bits at 1e-100.
		{"x - tanh(x)", 1e-20, 3.333333333333333e-61},
		{"x - tanh(x)", 1e-100, 3.3333333333333334e-301},
		// The rounding error of a product of rounded values is exactly 0 in
		// the reference at every precision: it must neither hang nor count.
		{"fma(sigmoid(x), sigmoid(x), -(sigmoid(x)*sigmoid(x))) + sigmoid(x)", -3.3, 0.03557118927263618},
	}
	for _, c := range cases {
		f := MustCompile(c.src, []string{"x"}, nil)
		assert.Equal(t, math.Float64bits(c.want), math.Float64bits(f.Float64(c.x)), "%s at %v", c.src, c.x)
	}
}
