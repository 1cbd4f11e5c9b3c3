package reference

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The condition-number bounds must hold wherever the function is finite and
// nonzero: measured κ = |x f'(x)/f(x)| (in float64, from the analytic
// derivative) never exceeds 2^conditionBits. A bound too low would let the
// exact evaluation miss a loss of accuracy.
func TestConditionBounds(t *testing.T) {
	deriv := map[string]func(x float64) float64{
		"exp":     math.Exp,
		"expm1":   math.Exp,
		"log":     func(x float64) float64 { return 1 / x },
		"log1p":   func(x float64) float64 { return 1 / (1 + x) },
		"tanh":    func(x float64) float64 { t := math.Tanh(x); return 1 - t*t },
		"sigmoid": func(x float64) float64 { s := fastSigmoid(x); return s * fastSigmoid(-x) },
		"erf":     func(x float64) float64 { return 2 / math.SqrtPi * math.Exp(-x*x) },
		"erfc":    func(x float64) float64 { return -2 / math.SqrtPi * math.Exp(-x*x) },
		"sqrt":    func(x float64) float64 { return 0.5 / math.Sqrt(x) },
		"exp_err": func(float64) float64 { return 0 }, // constant 0: nothing to amplify
	}
	require.Len(t, deriv, len(conditionBits))
	r := rand.New(rand.NewPCG(5, 6))
	xs := []float64{0x1p-1000, 1e-10, 0.1, 0.5, 1, 2, 30, 700}
	for range 20000 {
		xs = append(xs, math.Exp(r.Float64()*60-40)) // 4e-18 .. 2e8
	}
	for name, d := range deriv {
		f := fastUnaries[name]
		for _, a := range xs {
			for _, x := range []float64{a, -a, a - 1, 1 + a, -1 + a/2} {
				fx, dx := f(x), d(x)
				k := math.Abs(x * dx / fx)
				if fx == 0 || math.IsInf(fx, 0) || math.IsNaN(k) || math.IsInf(k, 0) {
					continue
				}
				bits := conditionBits[name](new(big.Float).SetFloat64(x), new(big.Float).SetFloat64(fx))
				require.LessOrEqual(t, k, math.Ldexp(1, bits), "%s at %v: κ = %v, bound 2^%d", name, x, k, bits)
			}
		}
	}
}
