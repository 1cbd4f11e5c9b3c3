package main

import (
	"go/parser"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/spec"
)

func TestPiecewiseLinear(t *testing.T) {
	for src, want := range map[string]bool{
		"where(x < 0, 0, x)":              true,
		"min(max(x, 0), 6)":               true,
		"x/6 + 0.5":                       true,
		"where(x > lambd, x - lambd, 0)":  true,
		"where(x < 0, alpha*x, x)":        true,
		"fma(x, 0.5, exp(alpha))":         true,
		"x*min(max(x + 3, 0), 6)/6":       false, // hardswish: quadratic
		"1/(1 + exp(-x))":                 false,
		"x/(1 + abs(x))":                  false,
		"where(x > 0, x, alpha*expm1(x))": false,
		"fma(x, x, 1)":                    false,
	} {
		e, err := parser.ParseExpr(src)
		require.NoError(t, err, src)
		assert.Equal(t, want, piecewiseLinear(e), src)
	}
	// The spec's own piecewise-linear entries, as the report marks them.
	s, err := spec.Load("../../spec/activations.yaml")
	require.NoError(t, err)
	for _, name := range []string{"relu", "relu6", "hardtanh", "leaky_relu", "hardshrink"} {
		if a := s.Lookup(name); a != nil {
			assert.True(t, piecewiseLinear(a.Forward.Expr), name)
		}
	}
	for _, name := range []string{"sigmoid", "gelu", "hardswish", "softsign", "elu"} {
		if a := s.Lookup(name); a != nil {
			assert.False(t, piecewiseLinear(a.Forward.Expr), name)
		}
	}
}

const sampleBench = `date: 2026-01-02
go: go1.26.8
command: actkern bench -count 2

goos: linux
goarch: amd64
pkg: github.com/actkern/actkern/generated/f32
cpu: Test CPU @ 3.00GHz
BenchmarkReLU/isa=avx2/n=4096-2         	  100	      400 ns/op	81920.00 MB/s
BenchmarkReLU/isa=avx2/n=4096-2         	  100	      600 ns/op	54613.33 MB/s
BenchmarkReLU/isa=avx2/n=4096-2         	  100	      500 ns/op	65536.00 MB/s
BenchmarkReLU/isa=plaingo/n=4096-2      	  100	     4096 ns/op	 8000.00 MB/s
BenchmarkReLUBackward/isa=avx2/n=4096-2 	  100	     8192 ns/op	 6000.00 MB/s
BenchmarkCopy/n=4096-2                  	  100	      250 ns/op	131072.00 MB/s
PASS
`

func TestBenchReport(t *testing.T) {
	rep, err := parseBench([]byte(sampleBench), "sample")
	require.NoError(t, err)
	assert.Equal(t, "Test CPU @ 3.00GHz", rep.cpu)
	assert.Equal(t, "go1.26.8", rep.goVersion)
	assert.Equal(t, []string{"avx2", "plaingo"}, rep.isas)
	assert.Equal(t, []int{4096}, rep.sizes)
	sec, bps, ok := rep.get(benchKey{"ReLU", "f32", "avx2", 4096})
	require.True(t, ok)
	assert.InDelta(t, 500e-9, sec, 1e-15, "median of three runs")
	assert.InDelta(t, 65536e6, bps, 1)

	s, err := spec.Load("../../spec/activations.yaml")
	require.NoError(t, err)
	relu := s.Lookup("relu")
	require.NotNil(t, relu)
	s.Activations = []*spec.Activation{relu}
	md := rep.markdown(s)
	assert.Contains(t, md, "- CPU: Test CPU @ 3.00GHz\n")
	assert.Contains(t, md, "## float32, n = 4096")
	assert.Contains(t, md, "copy(): 0.061 ns/element, 131.07 GB/s.")
	// 500 ns / 4096 elements; 4096/500 = 8.2× plaingo; 500/250 = 2.0× copy.
	assert.Contains(t, md, "| relu | 0.122 · 65.54 · 8.2× | 1.00 · 8.00 | 2.0× |")
	assert.Contains(t, md, "| relu backward | 2.00 · 6.00 | – | 32.8× |")
	assert.False(t, strings.Contains(md, "## float64"), "no f64 results, no f64 section")
}

const barsBench = `goos: linux
goarch: amd64
pkg: github.com/actkern/actkern/generated/f32
cpu: Test CPU
BenchmarkSigmoid/isa=avx512/n=4096-2        	100	  1000 ns/op	1.00 MB/s
BenchmarkSigmoid/isa=avx2/n=4096-2          	100	  2500 ns/op	1.00 MB/s
BenchmarkSigmoid/isa=plaingo/n=4096-2       	100	 40000 ns/op	1.00 MB/s
BenchmarkSigmoidBackward/isa=avx512/n=4096-2	100	  1900 ns/op	1.00 MB/s
BenchmarkSoftsign/isa=avx512/n=4096-2       	100	   100 ns/op	1.00 MB/s
BenchmarkSoftsign/isa=plaingo/n=4096-2      	100	   500 ns/op	1.00 MB/s
BenchmarkHardswish/isa=avx512/n=4096-2      	100	   500 ns/op	1.00 MB/s
BenchmarkSELU/isa=avx512/n=4096-2           	100	  1000 ns/op	1.00 MB/s
BenchmarkSELU/isa=plaingo/n=4096-2          	100	 19000 ns/op	1.00 MB/s
BenchmarkCopy/n=4096-2                      	100	   200 ns/op	1.00 MB/s
pkg: github.com/actkern/actkern/generated/f64
BenchmarkSigmoid/isa=avx512/n=4096-2        	100	  2600 ns/op	1.00 MB/s
`

// TestBenchBars: each bar's cell compares the right figures with the
// right bar, in the right direction.
func TestBenchBars(t *testing.T) {
	rep, err := parseBench([]byte(barsBench), "bars")
	require.NoError(t, err)
	s, err := spec.Load("../../spec/activations.yaml")
	require.NoError(t, err)
	var b strings.Builder
	rep.bars(&b, s)
	md := b.String()
	assert.Contains(t, md, "best level measured (avx512)")
	// sigmoid: 40000/1000 = 40× against 0.8·40 = 32×; backward 1.9; AVX2
	// 2.5 (over 2.2); float64 2.6 (over 2.5).
	assert.Contains(t, md, "| sigmoid | 40.0× / 32× ✓ | – | – | 1.90 ✓ | 2.50 ✗ | 2.60 ✗ |")
	// selu: transcendental, not in the table: 19× against 20×.
	assert.Contains(t, md, "| selu | 19.0× / 20× ✗ |")
	// softsign is algebraic: no speedup bar; hardswish is piecewise
	// quadratic: 500/200 = 2.5 times copy().
	assert.Contains(t, md, "| softsign | – | – |")
	assert.Contains(t, md, "| hardswish | – | 2.50 ✗ |")
}
