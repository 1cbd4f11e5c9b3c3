package main

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/actkern/actkern/generated/f64"
	"github.com/actkern/actkern/internal/parallel"
	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/testutil"
	"github.com/actkern/actkern/kerneltest"
)

// The float64 interval table of `actkern accuracy`: inputs drawn uniformly
// from fixed intervals of x, where the other float64 samples (the main
// table, and actkern check) spread theirs over binades. A binade sample
// gives each binade the same share, 1 in 4094 of actkern check's inputs:
// about 5000 of 10^7 in [-2, -0.5], 350 in [-745, -708], while the
// derivatives' 2-ULP inputs there were 1 in 100 to 1 in 10^4. Sampling
// these intervals uniformly is what found them (silu' in [-2, -0.5],
// gelu_tanh' in [-1, -0.55], silu' and mish' in [-745, -708]).

// intervalEdges bound the intervals: the kinks and cancellation regions
// near 0, the ranges where the float64 formulas switch branches, the last
// binades before exp(x) is subnormal (-708) and 0 (-745), and beyond, where
// the formulas give 0 or ±0 outright (-800), which only a huge dy shows
// wrong.
var intervalEdges = []float64{-1500, -800, -745, -708, -100, -30, -10, -3, -1, -0.25, 0, 0.25, 1, 3, 10, 30, 100, 708, 745, 800, 1500}

// hugeDY scales dy in the table's second pass: a gradient of 10^200 times
// a derivative far below the float64 range is a normal number, which the
// kernels' scalings (2^640) and shortcuts (0 past -800) may not reach.
const hugeDY = 1e200

// intervalSeed fixes the inputs, so that every run measures the same ones.
const intervalSeed = 0x1e7e5a1

// intervalReport is one float64 kernel's outcome over every interval.
type intervalReport struct {
	n, over, notCR  int
	maxULP          float64
	worstX, worstDY float64
	worstSet        bool
	label           string // the parameter set, as kerneltest labels it
}

// measureIntervals64 runs one direction of a float64 kernel (the best
// backend this machine has) on n inputs uniform in each interval and
// judges every output against the correctly rounded value. dy is 1 for
// even inputs and uniform in [-1, 1) for odd ones, times dyScale;
// backward-from-output kernels take y = the forward kernel's output.
func measureIntervals64(a *spec.Activation, dir string, params map[string]float64, n int, dyScale float64) (intervalReport, error) {
	var rep intervalReport
	sw, err := kerneltest.NewSweep[float64](kerneltest.FromSpec(a), params)
	if err != nil {
		return rep, err
	}
	rep.label = sw.Label()
	judge, err := sw.NewJudge()
	if err != nil {
		return rep, err
	}
	act, err := f64.New(a.Name, f64.Params(params))
	if err != nil {
		return rep, err
	}
	r := testutil.NewRand(intervalSeed)
	xs, dys, ys, out := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for k := 0; k+1 < len(intervalEdges); k++ {
		for i := range xs {
			xs[i], dys[i] = testutil.Uniform[float64](r, intervalEdges[k], intervalEdges[k+1]), 1
			if i%2 == 1 {
				dys[i] = testutil.Uniform[float64](r, -1, 1)
			}
			dys[i] *= dyScale
		}
		in := xs
		switch dir {
		case kerneltest.Forward:
			act.Forward(out, xs)
		case kerneltest.Backward:
			act.Backward(out, dys, xs)
		case kerneltest.BackwardFromOutput:
			act.Forward(ys, xs)
			act.BackwardFromOutput(out, dys, ys)
			in = ys
		}
		for i, v := range in {
			want, err := judge.Want(dir, v, dys[i], judge.Fast(dir, v), out[i:i+1])
			if err != nil {
				return rep, fmt.Errorf("%s %s at x = %v: %w", a.Name, dir, xs[i], err)
			}
			ulp := testutil.ULP(out[i], want)
			rep.n++
			if ulp != 0 {
				rep.notCR++
			}
			if ulp > 1 {
				rep.over++
			}
			if !rep.worstSet || ulp > rep.maxULP {
				rep.maxULP, rep.worstX, rep.worstDY, rep.worstSet = ulp, xs[i], dys[i], true
			}
		}
	}
	return rep, nil
}

// intervalTable appends the float64 interval table for the jobs' float64
// kernels, measured on every core.
func intervalTable(b *bytes.Buffer, jobs []accuracyJob, n int) error {
	var js []accuracyJob
	for _, j := range jobs {
		if j.prec == "f64" {
			js = append(js, j)
		}
	}
	start := time.Now()
	reps := make([]intervalReport, len(js))
	huge := make([]intervalReport, len(js)) // dy times hugeDY; backward rows only
	errs := make([]error, len(js))
	parallel.ForEach(len(js), func(i int) {
		j := js[i]
		reps[i], errs[i] = measureIntervals64(j.act, j.dir, j.params, n, 1)
		if errs[i] == nil && j.dir != kerneltest.Forward {
			huge[i], errs[i] = measureIntervals64(j.act, j.dir, j.params, n, hugeDY)
		}
		fmt.Fprintf(os.Stderr, "intervals: %s %s %s: %.3g ULP, with huge dy %.3g\n", j.act.Name, j.dir, reps[i].label, reps[i].maxULP, huge[i].maxULP)
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	order := make([]int, len(js))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(p, q int) bool { return js[order[p]].act.Name < js[order[q]].act.Name })

	fmt.Fprintf(b, "\n## float64 by interval\n\n")
	fmt.Fprintf(b, "The samples above spread their inputs over binades, which leaves few of them where the derivatives cancel (|x| of a few units) or where exp(x) turns subnormal. Here each float64 kernel (backend %s) runs on %d inputs drawn uniformly from each of the %d intervals with edges %v, %d in all; dy is 1 for half of them and uniform in [-1, 1) for the others. The last columns run the backward kernels again with every dy times %g: a gradient that large times a derivative below the float64 range is a normal number, which a kernel only gets right if it carries dy through its scalings instead of rounding the derivative first; TestIntervalsFloat64 holds both passes to 1 ULP. Measured in %s.\n\n",
		f64.ISA(), n, len(intervalEdges)-1, intervalEdges, n*(len(intervalEdges)-1), hugeDY, time.Since(start).Round(time.Second))
	fmt.Fprintf(b, "| activation | direction | parameters | max ULP | at x | dy | over 1 ULP | not correctly rounded | dy × %g: max ULP | at x | over 1 ULP |\n|---|---|---|---:|---|---|---:|---:|---:|---|---:|\n", hugeDY)
	for _, i := range order {
		j, r, h := js[i], reps[i], huge[i]
		at, dy := r.worst(j.dir)
		hMax, hAt, hOver := "—", "—", "—"
		if j.dir != kerneltest.Forward {
			hMax, hOver = fmt.Sprintf("%.0f", h.maxULP), fmt.Sprint(h.over)
			hAt, _ = h.worst(j.dir)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.0f | %s | %s | %d | %.2f%% | %s | %s | %s |\n", j.act.Name, j.dir, r.label, r.maxULP, at, dy, r.over, 100*float64(r.notCR)/float64(max(r.n, 1)), hMax, hAt, hOver)
	}
	// The rows over the bar with a huge dy are the exceptions to it: name
	// them, so that the reader need not scan the last column.
	var misses []string
	for _, i := range order {
		if j, h := js[i], huge[i]; j.dir != kerneltest.Forward && h.over > 0 {
			misses = append(misses, fmt.Sprintf("%s %s at %s (%.0f ULP; %d of %d inputs)", j.act.Name, j.dir, h.label, h.maxULP, h.over, h.n))
		}
	}
	if len(misses) == 0 {
		fmt.Fprintf(b, "\nWith dy × %g too, every kernel is within 1 ULP.\n", hugeDY)
		return nil
	}
	fmt.Fprintf(b, "\nOver 1 ULP with dy × %g: %s. Each is an exception to the 1-ULP bar: the comment at the entry's derivative in spec/activations.yaml says why, and what the fix, measured, would cost.\n", hugeDY, strings.Join(misses, "; "))
	return nil
}

// worst is the worst input's x and dy as the table prints them: "—" where
// every output was correctly rounded, and for a forward kernel's dy.
func (r intervalReport) worst(dir string) (x, dy string) {
	x, dy = "—", "—"
	if r.maxULP > 0 {
		x = fmt.Sprint(r.worstX)
		if dir != kerneltest.Forward {
			dy = fmt.Sprint(r.worstDY)
		}
	}
	return x, dy
}
