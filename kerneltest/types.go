// Package kerneltest is the test harness of actkern's generated kernel
// packages. The *_test.go files that `actkern generate` writes describe each
// activation with an Activation value (copied from the spec) and hand the
// package's kernels to Run and Fuzz, which check them against the exact
// reference (internal/reference): special values bit for bit, the gradient
// taken at kinks, the maximum error in ULPs over a large deterministic input
// set, NaN propagation at every slice position, body/tail consistency, in
// place operation, shape panics and out-of-bounds accesses.
//
// The package is public because generated packages may live in a user's own
// module, which cannot import actkern's internal packages.
package kerneltest

import "github.com/actkern/actkern/internal/testutil"

// MaxULP is the accuracy bar of every kernel, forward and backward, in both
// precisions: the distance to the correctly rounded exact value, in units in
// the last place. There are no per-activation exceptions; a kernel that
// cannot meet it is a bug in its approximation, not in the bar.
const MaxULP = 2

// Directions, as accepted by Measure and used in subtest names.
const (
	Forward            = "forward"
	Backward           = "backward"
	BackwardFromOutput = "backward_from_output"
)

// Activation describes one activation as the spec does. Formulas are Go
// expressions in the language of the spec (see internal/expr).
type Activation struct {
	Name   string // snake_case spec name: "leaky_relu"
	GoName string // exported Go name of the forward function: "LeakyReLU"

	// Params in kernel argument order, with their defaults.
	Params []Param
	// Consts are the entry's named constants as decimal strings (every
	// digit is used by the reference).
	Consts map[string]string
	// Thresholds are named per-precision values usable in formulas.
	Thresholds []Threshold

	Forward    string // f(x)
	Derivative string // f'(x)
	// DerivativeOutput is f' written in terms of y = f(x); "" if none.
	DerivativeOutput string
	// OutputRequires is the condition on the parameters under which
	// DerivativeOutput is valid; "" if always.
	OutputRequires string

	Kinks   []Kink
	Special []Special
	// TestParams are parameter sets tested besides the defaults; a set
	// names only the parameters it changes.
	TestParams []map[string]float64
	// Gaps are kernels on record as missing MaxULP (the spec's
	// accuracy_gaps): they are held to their measured figure instead, and
	// the test log says so every time.
	Gaps []Gap
}

// Gap is a kernel known to miss the bar: Type "f32" or "f64", Direction
// as in Measure, MaxULP its measured maximum error, Why the reason.
type Gap struct {
	Type, Direction string
	MaxULP          float64
	Why             string
}

// Bar is the accuracy a kernel of type T and direction dir is held to:
// MaxULP, or the measured figure of a gap on record.
func Bar[T float32 | float64](a Activation, dir string) (bar float64, gap *Gap) {
	typ := "f64"
	if isFloat32[T]() {
		typ = "f32"
	}
	for i, g := range a.Gaps {
		if g.Type == typ && g.Direction == dir {
			return g.MaxULP, &a.Gaps[i]
		}
	}
	return MaxULP, nil
}

func isFloat32[T float32 | float64]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

// Param is a scalar parameter of the activation.
type Param struct {
	Name    string
	Default float64
}

// Threshold is a named stability threshold with one value per precision.
type Threshold struct {
	Name     string
	F32, F64 float64
}

// Kink is a point where f' jumps. At and Gradient are formulas over the
// parameters; the backward kernel with dy = 1 must give exactly Gradient
// (rounded to the precision) at x = At (rounded to the precision).
type Kink struct {
	At       string
	Gradient string
}

// Special is one row of the special-value table: formulas over the
// parameters ("inf", "-0.0", "nan", "alpha" ...). The kernels must match
// these bit for bit, including the sign of zero; any NaN matches NaN.
// Backward is f'(X), i.e. the backward kernel's output with dy = 1; "" if
// the row says nothing about the backward direction.
type Special struct {
	X        string
	Forward  string
	Backward string
}

// Kernels are the functions under test for one precision. p holds the
// activation's parameters in Params order. Backward and BackwardFromOutput
// may be nil when the package has no such function; Forward is required.
type Kernels[T float32 | float64] struct {
	Forward            func(dst, x []T, p []T)
	Backward           func(dx, dy, x []T, p []T)
	BackwardFromOutput func(dx, dy, y []T, p []T)
}

// ULP is the distance between got and want in units in the last place of
// T; +0 and -0 are 0 apart, NaN and NaN are 0 apart, NaN and a number are
// +Inf apart, and ±Inf is one step beyond ±MaxFloat. It is the measure the
// MaxULP bar applies to.
func ULP[T float32 | float64](got, want T) float64 { return testutil.ULP(got, want) }
