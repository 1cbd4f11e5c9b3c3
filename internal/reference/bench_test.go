package reference

import (
	"fmt"
	"testing"
)

// Benchmarks of one Float64 evaluation (the cost of judging one kernel
// output): go test -bench . ./internal/reference/
func BenchmarkFloat64(b *testing.B) {
	cases := []struct {
		src string
		x   float64
	}{
		{"x*sigmoid(x)", 3.7},
		{"x*sigmoid(x)", -30},
		{"0.5*x*erfc(-x*sqrt1_2)", 3.7},
		{"0.5*x*erfc(-x*sqrt1_2)", -3.7},
		{"0.5*x*erfc(-x*sqrt1_2)", -9},
		{"0.5*x*erfc(-x*sqrt1_2)", -30},
		{"0.5*x*(1+tanh(sqrt2_pi*(x+0.044715*x*x*x)))", 1.5},
		{"log1p(exp(x))", 3.7},
		{"x*tanh(log1p(exp(x)))", 0.7},
		{"sin(x)", 3.7},
		{"sin(x)", 1e20},
		{"sin(x)", 1e300},
		{"exp(x)", 3.7},
		{"log(x)", 3.7},
		{"erf(x)", 0.3},
		{"erf(x)", 2.5},
	}
	for _, c := range cases {
		f := MustCompile(c.src, []string{"x"}, nil)
		b.Run(fmt.Sprintf("%s/x=%g", c.src, c.x), func(b *testing.B) {
			for b.Loop() {
				f.Float64(c.x)
			}
		})
	}
}

func BenchmarkFast(b *testing.B) {
	f := MustCompile("0.5*x*erfc(-x*sqrt1_2)", []string{"x"}, nil)
	for b.Loop() {
		f.Fast(1.5)
	}
}
