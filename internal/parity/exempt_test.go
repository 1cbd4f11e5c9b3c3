package parity

import (
	"math"
	"strings"
	"testing"

	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/testutil"
)

// exemption is a difference from PyTorch at a special value or kink that one
// of the spec's deviations explains. The spec records deviations as prose,
// so each exemption quotes part of the deviation it rests on; the quote is
// checked against the spec, and an exemption whose deviation is gone fails.
type exemption struct {
	name string // activation
	// when selects the differences covered: x, direction (0 forward, 1
	// backward with dy = 1, 2 backward with another dy), our result and
	// PyTorch's (scalar and vectorised loops).
	when func(x float64, d int, ours, torchS, torchV float64) bool
	cite string // part of the deviation's text
}

// nanBackward is the deviation most entries share: NaN in gives NaN out,
// where PyTorch's backward masks compute a number for a NaN x.
const nanBackward = "Backward gives NaN where x is NaN"

var exemptions = []exemption{
	{name: "relu", when: zeroGradientSign, cite: zeroCite},
	{name: "relu6", when: zeroGradientSign, cite: zeroCite},
	{name: "threshold", when: zeroGradientSign, cite: zeroCite},
	{name: "hardtanh", when: zeroGradientSign, cite: zeroCite},
	{name: "hardshrink", when: zeroGradientSign, cite: zeroCite},
	{name: "softshrink", when: zeroGradientSign, cite: zeroCite},
	{name: "hardsigmoid", when: zeroGradientSign, cite: zeroCite},
	{name: "tanhshrink", when: zeroGradientSign, cite: zeroCite},
	{name: "elu", when: negZeroForward, cite: negZeroCite},
	{name: "celu", when: negZeroForward, cite: negZeroCite},
	{name: "celu", when: func(x float64, d int, ours, ts, tv float64) bool {
		return x == 0 && !math.Signbit(x) && d == 0 && ours == 0 && !math.Signbit(ours) && isNegZero(ts)
	}, cite: "f(+0) = +0 for alpha < 0"},
	{name: "selu", when: negZeroForward, cite: negZeroCite},
	{name: "tanhshrink", when: negZeroForward, cite: negZeroCite},
	{name: "gelu", when: limitAtInf, cite: "f'(+Inf) = 1, the limit"},
	{name: "gelu_tanh", when: limitAtInf, cite: "f'(+Inf) = 1, the limit"},
	{name: "silu", when: limitAtInf, cite: "f'(+Inf) = 1, the limit"},
	{name: "mish", when: limitAtInf, cite: "f'(+Inf) = 1, the limit"},
	{name: "softsign", when: limitAtInf, cite: "f'(±Inf) = 0, the limit"},
	// PyTorch's float64 hardsigmoid' is 1/6 rounded to float32.
	{name: "hardsigmoid", when: func(x float64, d int, ours, ts, tv float64) bool {
		return d > 0 && ours == 1.0/6 && ts == float64(float32(1.0/6))
	}, cite: "1/6 rounded once to the element type"},
	// Limits at -Inf where PyTorch computes -Inf*0.
	{name: "gelu", when: atNegInfTorchNaN, cite: "PyTorch gives -Inf*0 = NaN"},
	{name: "gelu_tanh", when: atNegInfTorchNaN, cite: "PyTorch gives NaN"},
	{name: "silu", when: atNegInfTorchNaN, cite: "PyTorch gives -Inf*0 = NaN"},
	{name: "mish", when: atNegInfTorchNaN, cite: "PyTorch gives -Inf*0 = NaN"},
	{name: "hardswish", when: func(x float64, d int, ours, ts, tv float64) bool {
		return math.IsInf(x, -1) && d == 0 && isNegZero(ours)
	}, cite: "hardswish(-Inf) = -0.0"},
	{name: "leaky_relu", when: func(x float64, d int, ours, ts, tv float64) bool {
		return math.IsInf(x, -1) && d == 0 && ours == 0 && math.IsNaN(ts)
	}, cite: "negative_slope == 0 at x = -Inf gives -0.0"},
	{name: "linear", when: func(x float64, d int, ours, ts, tv float64) bool {
		return math.IsInf(x, 0) && d == 0 && ours == 0 && math.IsNaN(ts)
	}, cite: "c == 0 at x = ±Inf gives a signed zero"},
	{name: "softsign", when: func(x float64, d int, ours, ts, tv float64) bool {
		return math.IsInf(x, 0) && d == 0 && math.Abs(ours) == 1 && math.IsNaN(ts)
	}, cite: "softsign(±Inf) = ±1"},
	// The deviation's reasoning (the sign of the limit) holds in both
	// precisions; in float32 it starts near x = 104 instead of 745.
	{name: "logsigmoid", when: func(x float64, d int, ours, ts, tv float64) bool {
		return x > 0 && d == 0 && isNegZero(ours) && ts == 0 && !math.Signbit(ts)
	}, cite: "PyTorch's min(x, 0) - log1p(0) gives +0"},
	{name: "softshrink", when: func(x float64, d int, ours, ts, tv float64) bool {
		return math.IsNaN(x) && d == 0 && math.IsNaN(ours)
	}, cite: "softshrink(NaN) = NaN; PyTorch returns 0"},
	// PyTorch's scale*alpha, a product of two rounded constants.
	{name: "selu", when: func(x float64, d int, ours, ts, tv float64) bool {
		return x <= 0 && (d == 0) == math.IsInf(x, -1) && ulp64(ours, ts) <= 1 && ulp64(ours, tv) <= 1
	}, cite: "PyTorch multiplies two rounded constants (values differ by at most 1 ULP)"},
	// CELU's gradient at 0 is exp(0) = 1 exactly; PyTorch's is
	// (1/alpha rounded)*alpha.
	{name: "celu", when: func(x float64, d int, ours, ts, tv float64) bool {
		return x == 0 && d > 0
	}, cite: "PyTorch multiplies by a rounded 1/alpha"},
}

// zeroGradientSign: dy*0 is -0 for dy < 0, where PyTorch's masks give +0.
func zeroGradientSign(x float64, d int, ours, ts, tv float64) bool {
	return d > 0 && ours == 0 && ts == 0 && tv == 0 && math.Signbit(ours) != math.Signbit(ts)
}

// negZeroForward: f(-0.0) = -0.0 where PyTorch gives +0.
func negZeroForward(x float64, d int, ours, ts, tv float64) bool {
	return d == 0 && x == 0 && math.Signbit(x) && isNegZero(ours) && ts == 0 && !math.Signbit(ts)
}

// limitAtInf: a finite gradient (the limit) where PyTorch computes NaN.
func limitAtInf(x float64, d int, ours, ts, tv float64) bool {
	return math.IsInf(x, 0) && d > 0 && !math.IsNaN(ours) && math.IsNaN(ts) && math.IsNaN(tv)
}

const (
	zeroCite    = "the gradient dy*0 keeps dy's sign"
	negZeroCite = "f(-0.0) = -0.0"
)

func atNegInfTorchNaN(x float64, d int, ours, ts, tv float64) bool {
	return math.IsInf(x, -1) && ours == 0 && math.IsNaN(ts) && math.IsNaN(tv)
}

func isNegZero(v float64) bool { return v == 0 && math.Signbit(v) }

// ulp64 is the distance in float64 ULPs, which for float32 values widened
// to float64 is large: callers use it only to ask "at most 1 ULP" of values
// that are both of one type, so for float32 it is converted back first.
func ulp64(a, b float64) float64 {
	if float64(float32(a)) == a && float64(float32(b)) == b {
		return testutil.ULP(float32(a), float32(b))
	}
	return testutil.ULP(a, b)
}

// explain returns the spec deviation that explains a difference, or "".
func explain(a *spec.Activation, x float64, d int, ours, ts, tv float64) string {
	if math.IsNaN(x) && d > 0 && math.IsNaN(ours) {
		if dev := deviation(a, nanBackward); dev != "" {
			return dev
		}
	}
	for _, e := range exemptions {
		if e.name == a.Name && e.when(x, d, ours, ts, tv) {
			if dev := deviation(a, e.cite); dev != "" {
				return dev
			}
		}
	}
	return ""
}

// deviation returns the activation's deviation containing cite, or "".
func deviation(a *spec.Activation, cite string) string {
	for _, d := range a.Deviations {
		if strings.Contains(d, cite) {
			return d
		}
	}
	return ""
}

// checkExemptions fails for an exemption whose activation or deviation the
// spec no longer has: it would excuse a difference nothing explains.
func checkExemptions(t *testing.T, sp *spec.Spec) {
	t.Helper()
	for _, e := range exemptions {
		a := sp.Lookup(e.name)
		if a == nil {
			t.Errorf("exemption for %s: the spec has no such activation", e.name)
			continue
		}
		if deviation(a, e.cite) == "" {
			t.Errorf("exemption for %s cites %q, which none of its spec deviations says", e.name, e.cite)
		}
	}
}
