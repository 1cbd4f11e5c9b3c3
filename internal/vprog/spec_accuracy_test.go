package vprog_test

import (
	"flag"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/vprog"
	"github.com/actkern/actkern/kerneltest"
)

// The accuracy of every kernel the spec describes, measured through the
// real pipeline: spec.Load, vprog.Lower, and Program.Eval (the semantics of
// the generated Go and SIMD kernels) compared with the exact reference by
// kerneltest.MeasureParams. It evaluates the reference in big.Float for
// hundreds of thousands of inputs, so it runs only on request:
//
//	go test ./internal/vprog/ -run TestSpecAccuracy -v -args -spec.accuracy
//
// -spec.n sets the random inputs per kernel (plus n/10 bit patterns) and
// -spec.only restricts the run to activations whose name matches a regexp.
var (
	specAccuracy = flag.Bool("spec.accuracy", false, "measure every kernel of spec/activations.yaml against the exact reference (slow)")
	specN        = flag.Int("spec.n", 100000, "random inputs per kernel for -spec.accuracy")
	specOnly     = flag.String("spec.only", "", "regexp: measure only the activations whose name matches")
)

const specFile = "../../spec/activations.yaml"

func TestSpecAccuracy(t *testing.T) {
	if !*specAccuracy {
		t.Skip("slow: enable with -args -spec.accuracy")
	}
	only, err := regexp.Compile(*specOnly)
	require.NoError(t, err)
	s, err := spec.Load(specFile)
	require.NoError(t, err)

	var table strings.Builder
	fmt.Fprintf(&table, "%-12s %-4s %-28s %-20s %8s  %s\n", "activation", "prec", "params", "direction", "max ULP", "worst input")
	measured := 0
	for _, a := range s.Activations {
		if !only.MatchString(a.Name) {
			continue
		}
		ka := harnessActivation(a)
		sets := append([]map[string]float64{nil}, a.TestParams...)
		t.Run(a.Name, func(t *testing.T) {
			for _, set := range sets {
				rows := measureSpec[float64](t, a, ka, set, vprog.F64, "f64")
				rows = append(rows, measureSpec[float32](t, a, ka, set, vprog.F32, "f32")...)
				for _, r := range rows {
					table.WriteString(r)
					measured++
				}
			}
		})
	}
	require.NotZero(t, measured, "no kernel measured (-spec.only %q matches nothing?)", *specOnly)
	t.Logf("max error against the correctly rounded exact value, %d random inputs per kernel (+%d bit patterns); bar %d ULP\n%s",
		*specN, *specN/10, kerneltest.MaxULP, table.String())
}

// measureSpec measures the three directions of one activation at one
// parameter set in precision T (mem), failing t for any kernel over the
// bar, and returns one table row per measured kernel.
func measureSpec[T float32 | float64](t *testing.T, a *spec.Activation, ka kerneltest.Activation, set map[string]float64, mem vprog.Type, prec string) []string {
	t.Helper()
	k := kerneltest.Kernels[T]{
		Forward:  forwardKernel[T](t, a, mem),
		Backward: backwardKernel[T](t, a, vprog.Backward, mem),
	}
	if a.DerivativeOutput != nil {
		k.BackwardFromOutput = backwardKernel[T](t, a, vprog.BackwardFromOutput, mem)
	}
	var rows []string
	for _, dir := range []string{kerneltest.Forward, kerneltest.Backward, kerneltest.BackwardFromOutput} {
		if dir == kerneltest.BackwardFromOutput && !outputValid[T](t, ka, set) {
			continue
		}
		r, err := kerneltest.MeasureParams(ka, k, dir, set, *specN)
		require.NoError(t, err, "%s %s %s", a.Name, prec, dir)
		w := r.Worst
		worst := fmt.Sprintf("x=%v", w.X)
		switch dir {
		case kerneltest.Backward:
			worst += fmt.Sprintf(" dy=%v", w.DY)
		case kerneltest.BackwardFromOutput:
			worst += fmt.Sprintf(" y=%v dy=%v", w.Y, w.DY)
		}
		worst += fmt.Sprintf(": got %v want %v", w.Got, w.Want)
		rows = append(rows, fmt.Sprintf("%-12s %-4s %-28s %-20s %8.3f  %s\n", a.Name, prec, r.Params, dir, r.MaxULP, worst))
		if r.MaxULP > kerneltest.MaxULP {
			t.Errorf("%s %s %s params %s: %.3f ULP > %d (%d inputs over the bar), e.g. %v",
				a.Name, prec, dir, r.Params, r.MaxULP, kerneltest.MaxULP, r.Over, r.Examples)
		}
	}
	return rows
}

// outputValid reports whether the backward-from-output kernel exists at
// this parameter set in precision T: derivative_output is given and
// output_requires holds for the parameters as the kernel sees them.
func outputValid[T float32 | float64](t *testing.T, ka kerneltest.Activation, set map[string]float64) bool {
	if ka.DerivativeOutput == "" {
		return false
	}
	if ka.OutputRequires == "" {
		return true
	}
	names := make([]string, len(ka.Params))
	vals := make([]float64, len(ka.Params))
	for i, p := range ka.Params {
		v, ok := set[p.Name]
		if !ok {
			v = p.Default
		}
		names[i], vals[i] = p.Name, float64(T(v))
	}
	f, err := reference.CompileString("where("+ka.OutputRequires+", 1, 0)", names, ka.Consts)
	require.NoError(t, err, "%s: output_requires", ka.Name)
	return f.Float64(vals...) == 1
}

func lower(t *testing.T, a *spec.Activation, d vprog.Direction, mem vprog.Type) *vprog.Program {
	p, err := vprog.Lower(a, d, mem)
	require.NoError(t, err, "%s %s", a.Name, d)
	return p
}

func forwardKernel[T float32 | float64](t *testing.T, a *spec.Activation, mem vprog.Type) func(dst, x, p []T) {
	prog := lower(t, a, vprog.Forward, mem)
	return func(dst, x, p []T) {
		ps := widen(p)
		in := []float64{0}
		for i := range dst {
			in[0] = float64(x[i])
			dst[i] = T(prog.Eval(in, ps))
		}
	}
}

// backwardKernel is the kernel of d (Backward: inputs x, dy;
// BackwardFromOutput: inputs y, dy).
func backwardKernel[T float32 | float64](t *testing.T, a *spec.Activation, d vprog.Direction, mem vprog.Type) func(dx, dy, v, p []T) {
	prog := lower(t, a, d, mem)
	return func(dx, dy, v, p []T) {
		ps := widen(p)
		in := []float64{0, 0}
		for i := range dx {
			in[0], in[1] = float64(v[i]), float64(dy[i])
			dx[i] = T(prog.Eval(in, ps))
		}
	}
}

func widen[T float32 | float64](p []T) []float64 {
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = float64(v)
	}
	return out
}

// harnessActivation is the kerneltest description of a spec entry, as the
// generator writes it into generated tests: formulas with lets expanded.
func harnessActivation(a *spec.Activation) kerneltest.Activation {
	ka := kerneltest.Activation{
		Name:       a.Name,
		GoName:     a.GoName,
		Consts:     map[string]string{},
		Forward:    text(&a.Forward),
		Derivative: text(&a.Derivative),
		TestParams: a.TestParams,
	}
	for _, p := range a.Params {
		ka.Params = append(ka.Params, kerneltest.Param{Name: p.Name, Default: p.Default})
	}
	for _, c := range a.Constants {
		ka.Consts[c.Name] = c.Value
	}
	for _, th := range a.Thresholds {
		ka.Thresholds = append(ka.Thresholds, kerneltest.Threshold{Name: th.Name, F32: th.F32, F64: th.F64})
	}
	if a.DerivativeOutput != nil {
		ka.DerivativeOutput = text(a.DerivativeOutput)
	}
	if a.OutputRequires != nil {
		ka.OutputRequires = text(a.OutputRequires)
	}
	for _, k := range a.Kinks {
		ka.Kinks = append(ka.Kinks, kerneltest.Kink{At: text(&k.At), Gradient: text(&k.Gradient)})
	}
	for _, s := range a.Special {
		ka.Special = append(ka.Special, kerneltest.Special{X: text(&s.X), Forward: text(&s.Forward), Backward: text(&s.Backward)})
	}
	return ka
}

func text(f *spec.Formula) string {
	if f.Expanded != "" {
		return f.Expanded
	}
	return f.Src
}
