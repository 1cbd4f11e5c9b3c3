package main

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/generated/f64"
	"github.com/actkern/actkern/internal/spec"
)

const testSpec = "../../spec/activations.yaml"

func TestPlotWritesPictures(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plots")
	args := []string{"-spec", testSpec, "-func", "relu,sin", "-out", dir}
	require.NoError(t, plot(args))

	first := map[string][]byte{}
	for _, name := range []string{"relu", "sin"} {
		svg, err := os.ReadFile(filepath.Join(dir, name+".svg"))
		require.NoError(t, err)
		require.NotEmpty(t, svg)
		assert.True(t, bytes.HasPrefix(svg, []byte("<?xml")), "%s.svg is not SVG", name)
		first[name+".svg"] = svg

		pb, err := os.ReadFile(filepath.Join(dir, name+".png"))
		require.NoError(t, err)
		require.NotEmpty(t, pb)
		img, err := png.Decode(bytes.NewReader(pb))
		require.NoError(t, err, "%s.png", name)
		assert.Equal(t, 720, img.Bounds().Dx(), "%s.png width", name)
		assert.Equal(t, 480, img.Bounds().Dy(), "%s.png height", name)
		first[name+".png"] = pb
	}
	relu := string(first["relu.svg"])
	assert.Contains(t, relu, "torch.nn.ReLU", "title names the PyTorch module")
	assert.Contains(t, relu, "ReLU  —", "title names the Go function")

	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), `src="relu.png"`)
	assert.Contains(t, string(readme), `href="sin.svg"`)
	assert.NotContains(t, string(readme), "gelu", "the gallery lists only pictures that exist")

	// Plotting one more keeps the gallery whole, and a re-run writes the
	// same bytes.
	require.NoError(t, plot([]string{"-spec", testSpec, "-func", "gelu", "-out", dir}))
	readme, err = os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	for _, name := range []string{"relu", "sin", "gelu"} {
		assert.Contains(t, string(readme), `src="`+name+`.png"`)
	}
	require.NoError(t, plot(args))
	for file, want := range first {
		got, err := os.ReadFile(filepath.Join(dir, file))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "%s differs between runs", file)
	}
}

// TestPlotUnknownFunc runs the command in a child process (this test binary,
// calling main) so that the exit status itself is checked.
func TestPlotUnknownFunc(t *testing.T) {
	if os.Getenv("ACTKERN_PLOT_CHILD") == "1" {
		os.Args = append([]string{"actkern"}, strings.Fields(os.Getenv("ACTKERN_PLOT_ARGS"))...)
		main()
		os.Exit(0)
	}
	dir := filepath.Join(t.TempDir(), "plots")
	cmd := exec.Command(os.Args[0], "-test.run=^TestPlotUnknownFunc$")
	cmd.Env = append(os.Environ(), "ACTKERN_PLOT_CHILD=1",
		"ACTKERN_PLOT_ARGS=plot -spec "+testSpec+" -func relu,nosuch -out "+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "want a failed exit, got %v", err)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Contains(t, stderr.String(), `unknown activation "nosuch"`)
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "nothing may be written, yet %s exists", dir)

	// The same through the function.
	require.Error(t, plot([]string{"-spec", testSpec, "-func", "nosuch", "-out", dir}))
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err))
}

// TestPlotRange checks the range rule on the cases it exists for.
func TestPlotRange(t *testing.T) {
	s, err := spec.Load(testSpec)
	require.NoError(t, err)
	rangeOf := func(name string) (lo, hi float64, kinks []float64) {
		a := s.Lookup(name)
		require.NotNil(t, a, name)
		act, err := f64.New(name, nil)
		require.NoError(t, err)
		eval := kernelEval(act)
		kinks, err = visibleKinks(a, eval)
		require.NoError(t, err)
		lo, hi = plotRange(kinks, eval)
		return lo, hi, kinks
	}
	for _, c := range []struct {
		name   string
		lo, hi float64
		kinks  []float64
	}{
		{"gelu", -6, 6, nil},
		{"relu", -6, 6, []float64{0}},
		{"relu6", -6.5, 8.5, []float64{0, 6}},
		{"hardswish", -6, 6, []float64{-3, 3}},
		{"hardshrink", -6, 6, []float64{-0.5, 0.5}},
		// The linear branch at x = 20 meets the log branch (f' jumps by
		// 2e-9): no feature, so the range stays put.
		{"softplus", -6, 6, nil},
		// ELU's branches meet with equal slope at alpha = 1; SELU's do not.
		{"elu", -6, 6, nil},
		{"selu", -6, 6, []float64{0}},
	} {
		lo, hi, kinks := rangeOf(c.name)
		assert.Equal(t, c.lo, lo, c.name)
		assert.Equal(t, c.hi, hi, c.name)
		assert.Equal(t, c.kinks, kinks, c.name)
	}
	lo, hi, _ := rangeOf("sin")
	assert.InDelta(t, -2*math.Pi, lo, 1e-9, "sin: two periods left of 0")
	assert.InDelta(t, 2*math.Pi, hi, 1e-9, "sin: two periods right of 0")
}

func TestTicks(t *testing.T) {
	var labels []string
	for _, tk := range ticks(-6.5, 8.5) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	assert.Equal(t, []string{"-6", "-4", "-2", "0", "2", "4", "6", "8"}, labels)
	// Step 0.2 with minor ticks every 0.04 from -0.08.
	tk := ticks(-0.1, 1.1)
	require.Len(t, tk, 30)
	assert.Equal(t, -0.08, tk[0].Value)
	assert.Equal(t, "", tk[0].Label)
	assert.Equal(t, 0.0, tk[2].Value, "zero is exactly zero")
	assert.Equal(t, "0", tk[2].Label)
	assert.Equal(t, "0.2", tk[7].Label)
	assert.Equal(t, "1", tk[27].Label)
}

// TestPlotAlongOneInput: the row-wise, gated and per-channel functions are
// drawn along one input through their kernels: softmax of the row [x, 0]
// is the logistic function of x, SwiGLU with b = 1 is silu, GLU (gated on
// b) with a = 1 is the logistic function of b, PReLU is leaky_relu with
// the slope 0.25; and f' is the kernels' gradient.
func TestPlotAlongOneInput(t *testing.T) {
	s, err := spec.Load(testSpec)
	require.NoError(t, err)
	xs := []float64{-3, -0.5, 0, 0.75, 2}
	logistic := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	for _, tc := range []struct {
		name  string
		f, fd func(x float64) float64
	}{
		{"softmax", logistic, func(x float64) float64 { return logistic(x) * (1 - logistic(x)) }},
		{"logsumexp", func(x float64) float64 { return math.Log1p(math.Exp(x)) }, logistic},
		{"glu", logistic, func(x float64) float64 { return logistic(x) * (1 - logistic(x)) }},
		{"swiglu", func(x float64) float64 { return x * logistic(x) }, func(x float64) float64 { return logistic(x) * (1 + x*(1-logistic(x))) }},
		{"prelu", func(x float64) float64 { return max(x, 0.25*x) }, func(x float64) float64 {
			if x > 0 {
				return 1
			}
			return 0.25
		}},
	} {
		eval, _, _, err := evaluator(s.Lookup(tc.name))
		require.NoError(t, err, tc.name)
		f, d := eval(xs)
		for i, x := range xs {
			assert.InDelta(t, tc.f(x), f[i], 1e-12, "%s f(%v)", tc.name, x)
			assert.InDelta(t, tc.fd(x), d[i], 1e-12, "%s f'(%v)", tc.name, x)
		}
	}
}
