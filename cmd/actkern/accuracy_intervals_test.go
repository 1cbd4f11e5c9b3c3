package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/kerneltest"
)

// TestIntervalsFloat64 holds every float64 elementwise kernel, forward and
// backward at every parameter set, to 1 ULP on a small uniform sample of
// each interval of the accuracy table, the backward kernels also with dy
// times 1e200. The binade-spread samples of the kernel tests put too few
// inputs in [-2, -0.5] or [-745, -708] to see the 2-ULP derivatives this
// sample found there (silu', gelu_tanh', mish').
func TestIntervalsFloat64(t *testing.T) {
	s, err := spec.Load(testSpec)
	require.NoError(t, err)
	acts, err := elementwise(s, "")
	require.NoError(t, err)
	n := 400
	if testing.Short() {
		n = 50
	}
	for _, j := range accuracyJobs(acts) {
		if j.prec != "f64" {
			continue
		}
		t.Run(j.act.Name+"/"+j.dir, func(t *testing.T) {
			t.Parallel()
			scales := []float64{1}
			if j.dir != kerneltest.Forward {
				// A gradient of 10^200 times a derivative below the
				// float64 range: the scaled products must carry it.
				scales = append(scales, hugeDY)
			}
			for _, scale := range scales {
				r, err := measureIntervals64(j.act, j.dir, j.params, n, scale)
				require.NoError(t, err)
				assert.Zero(t, r.over, "%s %s (%s), dy × %g: %d of %d outputs over 1 ULP, the worst %v ULP at x = %v, dy = %v",
					j.act.Name, j.dir, r.label, scale, r.over, r.n, r.maxULP, r.worstX, r.worstDY)
			}
		})
	}
}
