package kerneltest

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a tester that records instead of failing, so these tests can
// assert that the harness fails on broken kernels, and where.
type recorder struct {
	path   string
	errors *[]string
	logs   *[]string
}

func newRecorder() *recorder { return &recorder{errors: new([]string), logs: new([]string)} }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	*r.errors = append(*r.errors, r.path+": "+fmt.Sprintf(format, args...))
}
func (r *recorder) Logf(format string, args ...any) {
	*r.logs = append(*r.logs, r.path+": "+fmt.Sprintf(format, args...))
}
func (r *recorder) Sub(name string, f func(tester)) bool {
	f(&recorder{path: r.path + "/" + name, errors: r.errors, logs: r.logs})
	return true
}

// failedIn returns the subtest paths that recorded errors.
func (r *recorder) failedIn() []string {
	var out []string
	for _, e := range *r.errors {
		p, _, _ := strings.Cut(e, ": ")
		out = append(out, p)
	}
	return out
}

// --- hand-written kernels, the way the generated API behaves ---

// checkShapes panics like the generated functions do.
func checkShapes[T float32 | float64](fn string, names []string, out []T, ins ...[]T) {
	for i, in := range ins {
		if len(in) != len(out) {
			panic(fmt.Errorf("actkern: %s: len(%s) = %d, len(%s) = %d", fn, names[0], len(out), names[i+1], len(in)))
		}
	}
	if len(out) == 0 {
		return
	}
	var z T
	size := uintptr(unsafe.Sizeof(z))
	o := uintptr(unsafe.Pointer(&out[0]))
	for i, in := range ins {
		p := uintptr(unsafe.Pointer(&in[0]))
		end := uintptr(len(out)) * size
		if p != o && p < o+end && o < p+end {
			panic(fmt.Errorf("actkern: %s: %s and %s overlap partially", fn, names[0], names[i+1]))
		}
	}
}

func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// goodSigmoid32 computes in float64 and rounds once: within 1 ULP.
func goodSigmoid32() Kernels[float32] {
	return Kernels[float32]{
		Forward: func(dst, x []float32, p []float32) {
			checkShapes("Sigmoid", []string{"dst", "x"}, dst, x)
			for i, v := range x {
				dst[i] = float32(sigmoid64(float64(v)))
			}
		},
		Backward: func(dx, dy, x []float32, p []float32) {
			checkShapes("SigmoidBackward", []string{"dx", "dy", "x"}, dx, dy, x)
			for i, v := range x {
				d := sigmoid64(float64(v)) * sigmoid64(-float64(v))
				dx[i] = float32(float64(dy[i]) * d)
			}
		},
		BackwardFromOutput: func(dx, dy, y []float32, p []float32) {
			checkShapes("SigmoidBackwardFromOutput", []string{"dx", "dy", "y"}, dx, dy, y)
			for i, v := range y {
				dx[i] = float32(float64(dy[i]) * float64(v) * (1 - float64(v)))
			}
		},
	}
}

var sigmoidSpec = Activation{
	Name: "sigmoid", GoName: "Sigmoid",
	Thresholds: []Threshold{{Name: "exp_big", F32: 88.72283, F64: 709.782712893384}},
	Forward:    "sigmoid(x)", Derivative: "sigmoid(x)*sigmoid(-x)", DerivativeOutput: "y*(1-y)",
	Special: []Special{
		{X: "-inf", Forward: "0", Backward: "0"},
		{X: "inf", Forward: "1", Backward: "0"},
		{X: "0", Forward: "0.5", Backward: "0.25"},
		{X: "nan", Forward: "nan", Backward: "nan"},
	},
}

func leaky(x, s float64) float64 {
	if x > 0 {
		return x
	}
	return s * x
}

// goodLeaky64 is exact: every result is one rounded product.
func goodLeaky64() Kernels[float64] {
	return Kernels[float64]{
		Forward: func(dst, x []float64, p []float64) {
			checkShapes("LeakyReLU", []string{"dst", "x"}, dst, x)
			for i, v := range x {
				dst[i] = leaky(v, p[0])
			}
		},
		Backward: func(dx, dy, x []float64, p []float64) {
			checkShapes("LeakyReLUBackward", []string{"dx", "dy", "x"}, dx, dy, x)
			for i, v := range x {
				switch {
				case v != v:
					dx[i] = v
				case v > 0:
					dx[i] = dy[i]
				default:
					dx[i] = dy[i] * p[0]
				}
			}
		},
		BackwardFromOutput: func(dx, dy, y []float64, p []float64) {
			checkShapes("LeakyReLUBackwardFromOutput", []string{"dx", "dy", "y"}, dx, dy, y)
			for i, v := range y {
				switch {
				case v != v:
					dx[i] = v
				case v > 0:
					dx[i] = dy[i]
				default:
					dx[i] = dy[i] * p[0]
				}
			}
		},
	}
}

var leakySpec = Activation{
	Name: "leaky_relu", GoName: "LeakyReLU",
	Params:           []Param{{Name: "negative_slope", Default: 0.01}},
	Forward:          "where(x > 0, x, negative_slope*x)",
	Derivative:       "where(x > 0, 1, negative_slope)",
	DerivativeOutput: "where(y > 0, 1, negative_slope)",
	OutputRequires:   "negative_slope > 0",
	Kinks:            []Kink{{At: "0", Gradient: "negative_slope"}},
	Special: []Special{
		{X: "inf", Forward: "inf", Backward: "1"},
		// Forward at 0 is left out: its sign of zero depends on the slope.
		{X: "0", Backward: "negative_slope"},
		{X: "1", Forward: "1", Backward: "1"},
	},
	TestParams: []map[string]float64{{"negative_slope": 0.2}, {"negative_slope": -0.5}},
}

// --- the harness passes correct kernels ---

func TestGoodKernelsPass(t *testing.T) {
	r := newRecorder()
	run(r, sigmoidSpec, goodSigmoid32(), true)
	assert.Empty(t, *r.errors)
	r2 := newRecorder()
	run(r2, leakySpec, goodLeaky64(), true)
	assert.Empty(t, *r2.errors)

	logs := strings.Join(append(*r.logs, *r2.logs...), "\n")
	// Every direction reports its figure, and the output form is skipped
	// exactly where output_requires fails.
	for _, want := range []string{
		"/forward/params=default/random: Sigmoid forward params=default: max 0 ULP",
		"/backward/params=default/random: SigmoidBackward backward",
		"/backward_from_output/params=default/random: SigmoidBackwardFromOutput",
		"/backward/params=negative_slope=-0.5/random: LeakyReLUBackward backward params=negative_slope=-0.5: max 0 ULP",
		"/backward_from_output/params=negative_slope=0.2/random",
		"params=negative_slope=-0.5: backward_from_output skipped",
	} {
		assert.Contains(t, logs, want)
	}
	assert.NotContains(t, logs, "backward_from_output/params=negative_slope=-0.5")
}

// TestRunReal runs the public entry points on real *testing.T values.
func TestRunReal(t *testing.T) {
	Run(t, sigmoidSpec, goodSigmoid32())
	Run(t, leakySpec, goodLeaky64())
}

func FuzzSigmoid(f *testing.F)   { Fuzz(f, sigmoidSpec, goodSigmoid32()) }
func FuzzLeakyReLU(f *testing.F) { Fuzz(f, leakySpec, goodLeaky64()) }

// --- the harness fails broken kernels, in the right subtest ---

// inEverySet lists the subtest paths dir/params=<set>/<sub> for each
// parameter set Run checks: the defaults, the test_params and the random
// sets (which TestRandomParamSets shows are drawn).
func inEverySet[T float32 | float64](a Activation, k Kernels[T], dir string, subs ...string) []string {
	sets := append(append([]map[string]float64{nil}, a.TestParams...), randomParamSets(a, k, randomSets)...)
	var paths []string
	for _, set := range sets {
		s, err := newSetup[T](&a, set)
		if err != nil {
			panic(err)
		}
		for _, sub := range subs {
			paths = append(paths, dir+"/params="+s.label+"/"+sub)
		}
	}
	return paths
}

// TestRandomParamSets: an activation with parameters gets randomSets more
// sets, deterministic, none of them listed already or rejected by the
// kernels, and Run checks them.
func TestRandomParamSets(t *testing.T) {
	sets := randomParamSets(leakySpec, goodLeaky64(), randomSets)
	require.Len(t, sets, randomSets)
	assert.Equal(t, sets, randomParamSets(leakySpec, goodLeaky64(), randomSets))
	for _, set := range sets {
		assert.NotContains(t, leakySpec.TestParams, set)
	}
	assert.Empty(t, randomParamSets(sigmoidSpec, goodSigmoid32(), randomSets), "no parameters, no sets")
	// A kernel that rejects negative slopes gets none.
	picky := goodLeaky64()
	forward := picky.Forward
	picky.Forward = func(dst, x []float64, p []float64) {
		if p[0] < 0 {
			panic("negative slope")
		}
		forward(dst, x, p)
	}
	for _, set := range randomParamSets(leakySpec, picky, randomSets) {
		assert.GreaterOrEqual(t, set["negative_slope"], 0.0)
	}
	// A kernel wrong at the first random set's slope only fails there.
	wrong := goodLeaky64()
	wrong.Forward = func(dst, x []float64, p []float64) {
		forward(dst, x, p)
		if p[0] == sets[0]["negative_slope"] {
			for i := range dst {
				dst[i] *= 1 + 1e-9
			}
		}
	}
	s, err := newSetup[float64](&leakySpec, sets[0])
	require.NoError(t, err)
	mustFail(t, leakySpec, wrong, "/params="+s.label+"/")
}

// TestKinkOffItsAbscissa: a kink at -1/c with c = 1e-300 rounds to an x
// where c*x rounds above -1, so a kernel deciding as PyTorch does takes the
// linear side there; the kink check accepts that, and still fails a kernel
// that gives neither side's gradient.
func TestKinkOffItsAbscissa(t *testing.T) {
	a := Activation{
		Name: "ramp", GoName: "Ramp",
		Params:     []Param{{Name: "c", Default: 1e-300}},
		Forward:    "where(c*x > -1, c*x + 1, 0)",
		Derivative: "where(c*x > -1, c, 0)",
		Kinks:      []Kink{{At: "-1/c", Gradient: "0"}},
	}
	s, err := newSetup[float64](&a, nil)
	require.NoError(t, err)
	require.Len(t, s.kinks, 1)
	require.True(t, s.kinks[0].off, "-1/1e-300 is not a float64")
	require.Greater(t, 1e-300*s.kinks[0].at, -1.0, "the rounded x lies on the linear side")
	backward := func(grad float64) Kernels[float64] {
		return Kernels[float64]{Backward: func(dx, dy, x []float64, p []float64) {
			for i, v := range x {
				switch {
				case v == s.kinks[0].at:
					dx[i] = dy[i] * grad
				case p[0]*v > -1:
					dx[i] = dy[i] * p[0]
				default:
					dx[i] = dy[i] * 0
				}
			}
		}}
	}
	for grad, ok := range map[float64]bool{1e-300: true, 0: true, 7: false} {
		r := newRecorder()
		c := &checker[float64]{s: s, k: backward(grad), dir: Backward}
		c.kinks(r)
		assert.Equal(t, ok, len(*r.errors) == 0, "gradient %g at the rounded kink: %v", grad, *r.errors)
	}
	// Where the kink is a float64 itself, only the kink gradient will do.
	exact, err := newSetup[float64](&leakySpec, nil)
	require.NoError(t, err)
	assert.False(t, exact.kinks[0].off)
}

// mustFail runs the harness and requires failures, all in subtests whose
// path contains where.
func mustFail[T float32 | float64](t *testing.T, a Activation, k Kernels[T], where ...string) []string {
	t.Helper()
	r := newRecorder()
	run(r, a, k, true)
	require.NotEmpty(t, *r.errors, "the harness accepted a broken kernel")
	seen := map[string]bool{}
	for _, p := range r.failedIn() {
		if seen[p] {
			continue
		}
		seen[p] = true
		ok := false
		for _, w := range where {
			ok = ok || strings.Contains(p, w)
		}
		if !assert.True(t, ok, "unexpected failure in %s (expected only %v)", p, where) {
			for _, e := range *r.errors {
				if strings.HasPrefix(e, p) {
					t.Log(e)
					break
				}
			}
		}
	}
	return *r.errors
}

func TestOffBy3ULP(t *testing.T) {
	k := goodSigmoid32()
	k.Forward = func(dst, x []float32, p []float32) {
		checkShapes("Sigmoid", []string{"dst", "x"}, dst, x)
		for i, v := range x {
			dst[i] = float32(sigmoid64(float64(v)))
			if v >= 1.5 && v < 2 {
				dst[i] = math.Float32frombits(math.Float32bits(dst[i]) - 3)
			}
		}
	}
	errs := mustFail(t, sigmoidSpec, k, "forward/params=default/random", "backward_from_output/params=default/random")
	assert.Contains(t, strings.Join(errs, "\n"), "over the 2 ULP bar")
	m, x := Measure(sigmoidSpec, k, Forward, 20000)
	assert.Equal(t, 3.0, m)
	assert.True(t, x >= 1.5 && x < 2, "worst x %v", x)
}

// TestZeroOfWrongSign: a zero is compared by its sign too, although +0
// and -0 are 0 ULP apart. sigmoid(x) for x < -103.97 rounds to +0; this
// kernel gives -0 there.
func TestZeroOfWrongSign(t *testing.T) {
	k := goodSigmoid32()
	k.Forward = func(dst, x []float32, p []float32) {
		goodSigmoid32().Forward(dst, x, p)
		for i, v := range dst {
			if v == 0 {
				dst[i] = float32(math.Copysign(0, -1))
			}
		}
	}
	errs := mustFail(t, sigmoidSpec, k, "forward/params=default/special", "forward/params=default/random")
	assert.Contains(t, strings.Join(errs, "\n"), "a zero of the wrong sign")
	rep, err := MeasureParams(sigmoidSpec, k, Forward, nil, 20000)
	require.NoError(t, err)
	assert.Equal(t, 0.0, rep.MaxULP)
	assert.Positive(t, rep.ZeroSign)
	assert.Less(t, rep.FirstZeroSign.X, -103.0)
}

func TestOffBy3ULPBackward64(t *testing.T) {
	k := goodLeaky64()
	k.Backward = func(dx, dy, x []float64, p []float64) {
		goodLeaky64().Backward(dx, dy, x, p)
		for i, v := range x {
			if v < -1e-5 && v > -1e-3 {
				dx[i] = math.Float64frombits(math.Float64bits(dx[i]) + 3)
			}
		}
	}
	rep, err := MeasureParams(leakySpec, k, Backward, map[string]float64{"negative_slope": 0.2}, 20000)
	require.NoError(t, err)
	assert.Equal(t, 3.0, rep.MaxULP)
	assert.Positive(t, rep.Over)
	assert.Len(t, rep.Examples, maxExamples)
	mustFail(t, leakySpec, k, "backward/params=")
}

func TestWrongSpecialValue(t *testing.T) {
	k := goodSigmoid32()
	k.Forward = func(dst, x []float32, p []float32) {
		checkShapes("Sigmoid", []string{"dst", "x"}, dst, x)
		for i, v := range x {
			dst[i] = float32(sigmoid64(float64(v)))
			if math.IsInf(float64(v), 1) {
				dst[i] = float32(math.NaN()) // exp(x)/(1+exp(x)) at +Inf
			}
		}
	}
	mustFail(t, sigmoidSpec, k, "forward/params=default/special")
}

func TestWrongKinkGradient(t *testing.T) {
	k := goodLeaky64()
	k.Backward = func(dx, dy, x []float64, p []float64) {
		checkShapes("LeakyReLUBackward", []string{"dx", "dy", "x"}, dx, dy, x)
		for i, v := range x {
			switch {
			case v != v:
				dx[i] = v
			case v >= 0: // the kink taken on the wrong side
				dx[i] = dy[i]
			default:
				dx[i] = dy[i] * p[0]
			}
		}
	}
	// The special table lists x = 0 too, so it fails as well.
	mustFail(t, leakySpec, k, inEverySet(leakySpec, k, "backward", "kinks", "special")...)
	r := newRecorder()
	run(r, leakySpec, k, true)
	assert.Contains(t, strings.Join(*r.errors, "\n"), "want the kink gradient negative_slope")
}

func TestNoNaNPropagation(t *testing.T) {
	// x86 MAXPS/MINPS semantics: the second operand wins when either is NaN,
	// so this clamp turns NaN into a number.
	minps := func(a, b float64) float64 {
		if a < b {
			return a
		}
		return b
	}
	maxps := func(a, b float64) float64 {
		if a > b {
			return a
		}
		return b
	}
	k := goodSigmoid32()
	k.Forward = func(dst, x []float32, p []float32) {
		checkShapes("Sigmoid", []string{"dst", "x"}, dst, x)
		for i, v := range x {
			dst[i] = float32(sigmoid64(minps(maxps(float64(v), -200), 200)))
		}
	}
	mustFail(t, sigmoidSpec, k, "forward/params=default/nan", "forward/params=default/special", "forward/params=default/random", "backward_from_output/params=default/nan")

	// Backward that ignores a NaN dy where x < 0 (where(x > 0, dy, 0)).
	k2 := goodLeaky64()
	k2.Backward = func(dx, dy, x []float64, p []float64) {
		checkShapes("LeakyReLUBackward", []string{"dx", "dy", "x"}, dx, dy, x)
		for i, v := range x {
			d := dy[i]
			switch {
			case v > 0:
				dx[i] = d
			case d != d:
				dx[i] = 0
			default:
				dx[i] = d * p[0]
			}
		}
	}
	// (A random bit pattern may be a NaN too, so random may fail as well.)
	errs := mustFail(t, leakySpec, k2, inEverySet(leakySpec, k2, "backward", "nan", "random")...)
	assert.Contains(t, strings.Join(errs, "\n"), "dy[")
}

func TestNoLengthPanic(t *testing.T) {
	k := goodLeaky64()
	k.Forward = func(dst, x []float64, p []float64) {
		for i := range min(len(dst), len(x)) {
			dst[i] = leaky(x[i], p[0])
		}
	}
	errs := mustFail(t, leakySpec, k, inEverySet(leakySpec, k, "forward", "shapes")...)
	all := strings.Join(errs, "\n")
	assert.Contains(t, all, "did not panic")
	assert.Contains(t, all, "overlapping x")

	// A panic that does not name the lengths is not good enough either.
	k.Forward = func(dst, x []float64, p []float64) {
		if len(dst) != len(x) {
			panic("LeakyReLU: bad lengths")
		}
		goodLeaky64().Forward(dst, x, p)
	}
	errs = mustFail(t, leakySpec, k, "/shapes")
	assert.Contains(t, strings.Join(errs, "\n"), "does not name the function and both lengths")
}

func TestBodyTailMismatch(t *testing.T) {
	// A "SIMD body" over blocks of 8 that is 1 ULP off the "scalar tail":
	// within the accuracy bar, but the two paths disagree.
	k := goodSigmoid32()
	k.Forward = func(dst, x []float32, p []float32) {
		goodSigmoid32().Forward(dst, x, p)
		for i := 0; i+8 <= len(x); i++ {
			if dst[i] > 0 && dst[i] < 1 {
				dst[i] = math.Float32frombits(math.Float32bits(dst[i]) + 1)
			}
		}
	}
	errs := mustFail(t, sigmoidSpec, k, "forward/params=default/shapes", "forward/params=default/nan", "forward/params=default/bounds", "backward_from_output/params=default/")
	assert.Contains(t, strings.Join(errs, "\n"), "on that element alone")
}

// sink keeps the out-of-bounds loads of TestOutOfBoundsRead from being
// optimised away.
var sink float32

func TestOutOfBoundsRead(t *testing.T) {
	if raceEnabled {
		t.Skip("checkptr (on with -race) aborts on the deliberately bad slice")
	}
	// An unmasked tail: loads a whole block of 8 even past the end.
	k := goodSigmoid32()
	k.Forward = func(dst, x []float32, p []float32) {
		checkShapes("Sigmoid", []string{"dst", "x"}, dst, x)
		for i := 0; i < len(x); i += 8 {
			blk := unsafe.Slice(unsafe.SliceData(x[i:]), 8)
			for _, v := range blk {
				sink = v
			}
			for j := i; j < min(i+8, len(x)); j++ {
				dst[j] = float32(sigmoid64(float64(x[j])))
			}
		}
	}
	errs := mustFail(t, sigmoidSpec, k, "forward/params=default/bounds", "backward_from_output/params=default/bounds")
	assert.Contains(t, strings.Join(errs, "\n"), "access outside the slices (guard page after)")
}

func TestBadSpecIsAnError(t *testing.T) {
	a := sigmoidSpec
	a.Forward = "sigmoid(x"
	r := newRecorder()
	run(r, a, goodSigmoid32(), true)
	require.Len(t, *r.errors, 1)
	a = leakySpec
	a.TestParams = []map[string]float64{{"slope": 1}}
	r = newRecorder()
	run(r, a, goodLeaky64(), true)
	require.Len(t, *r.errors, 1)
	assert.Contains(t, (*r.errors)[0], `"slope" is not a parameter`)
}

func TestNearBoundary32(t *testing.T) {
	one := 1.0
	ulp := math.Ldexp(1, -23)
	assert.False(t, nearBoundary32(one))
	assert.False(t, nearBoundary32(one+ulp/4))
	assert.True(t, nearBoundary32(one+ulp/2))
	assert.True(t, nearBoundary32(one+ulp/2-ulp*0x1p-22))
	assert.True(t, nearBoundary32(one+ulp/2+ulp*0x1p-22))
	assert.False(t, nearBoundary32(one+ulp/2+ulp*0x1p-18))
	assert.True(t, nearBoundary32(-(one + ulp/2)))
	// Overflow boundary: MaxFloat32 + half an ULP.
	assert.True(t, nearBoundary32(math.MaxFloat32+math.Ldexp(1, 103)))
	assert.False(t, nearBoundary32(math.MaxFloat32+math.Ldexp(1, 101)))
	// Subnormal float32 results.
	assert.True(t, nearBoundary32(math.SmallestNonzeroFloat32*1.5))
	assert.False(t, nearBoundary32(math.SmallestNonzeroFloat32*1.25))
}
