package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/actkern/actkern/generated/f32"
	"github.com/actkern/actkern/generated/f64"
	"github.com/actkern/actkern/internal/parallel"
	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/kerneltest"
)

// accuracy measures every kernel of the generated packages against the
// exact reference with the same harness as the tests (kerneltest), and
// writes the table of maximum errors.
func accuracy(args []string) error {
	fs := newFlags("accuracy")
	n := fs.Int("n", 100000, "log-uniform random inputs per kernel (plus n/10 random bit patterns)")
	funcs := fs.String("func", "", "comma-separated activation names (default: all)")
	specPath := fs.String("spec", "spec/activations.yaml", "the spec the packages were generated from")
	out := fs.String("out", "", "write the Markdown table here (default: standard output)")
	intervalN := fs.Int("interval-n", 2000, "float64 inputs per interval of the interval table (0 to leave it out)")
	rowCols := fs.String("rows-cols", "1,10,100,1000,10000,100000,1000000", "row lengths of the row-wise table (\"\" to leave it out)")
	fs.Parse(args)

	s, err := spec.Load(*specPath)
	if err != nil {
		return err
	}
	acts, err := elementwise(s, *funcs)
	if err != nil {
		return err
	}

	jobs := accuracyJobs(acts)
	start := time.Now()
	reports := make([]kerneltest.Report, len(jobs))
	errs := make([]error, len(jobs))
	parallel.ForEach(len(jobs), func(i int) {
		j := jobs[i]
		desc := kerneltest.FromSpec(j.act)
		if j.prec == "f32" {
			reports[i], errs[i] = measure32(desc, j.dir, j.params, *n)
		} else {
			reports[i], errs[i] = measure64(desc, j.dir, j.params, *n)
		}
		fmt.Fprintf(os.Stderr, "%s %s %s %s: %.3g ULP\n", j.act.Name, j.prec, j.dir, reports[i].Params, reports[i].MaxULP)
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "# Accuracy\n\n")
	fmt.Fprintf(&b, "Written by `go run ./cmd/actkern accuracy -n %d -out docs/ACCURACY.md` (`make accuracy`) in %s on %d cores; backend %s (float32) / %s (float64).\n\n",
		*n, time.Since(start).Round(time.Second), runtime.GOMAXPROCS(0), f32.ISA(), f64.ISA())
	fmt.Fprintf(&b, "Each kernel is compared with the exact value of its spec formula (internal/reference: big.Float, rounded once) on %d log-uniform inputs in ±[1e-30, 1e4] plus %d random bit patterns; backward kernels with random dy in [-2, 2], backward-from-output kernels at y = the forward kernel's output. The error is in ULPs of the correctly rounded result; the bar is %d ULP. A zero must also have the sign of the correctly rounded result (+0 and -0 are 0 ULP apart): the last column counts those that do not. Every other backend gives the same bits as the generic kernels (agreement tests), so one table holds for all.\n\n", *n, *n/10, kerneltest.MaxULP)
	fmt.Fprintf(&b, "| activation | type | direction | parameters | max ULP | at x | over the bar | zeros of the wrong sign |\n|---|---|---|---|---:|---|---:|---:|\n")
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(p, q int) bool { return jobs[order[p]].act.Name < jobs[order[q]].act.Name })
	for _, i := range order {
		j, r := jobs[i], reports[i]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.3f | %v | %d | %d |\n", j.act.Name, j.prec, j.dir, r.Params, r.MaxULP, r.Worst.X, r.Over, r.ZeroSign)
	}
	var gaps []string
	for _, a := range acts {
		for _, g := range a.Gaps {
			gaps = append(gaps, fmt.Sprintf("| %s | %s | %s | %.0f | %s |", a.Name, g.Type, g.Direction, g.MaxULP, g.Why))
		}
	}
	if len(gaps) > 0 {
		fmt.Fprintf(&b, "\n## Known gaps\n\nKernels on record (the spec's `accuracy_gaps`) as missing the %d-ULP bar; their tests hold them to the figure below instead, and say so in the log. Each is an open defect.\n\n| activation | type | direction | max ULP on record | why |\n|---|---|---|---:|---|\n%s\n", kerneltest.MaxULP, strings.Join(gaps, "\n"))
	}
	worst := append([]int(nil), order...)
	sort.SliceStable(worst, func(p, q int) bool { return reports[worst[p]].MaxULP > reports[worst[q]].MaxULP })
	fmt.Fprintf(&b, "\n## Worst kernels\n\n| activation | type | direction | parameters | max ULP | %s |\n|---|---|---|---|---:|---|\n", "worst input")
	for _, i := range worst[:min(10, len(worst))] {
		j, r := jobs[i], reports[i]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.3f | %s |\n", j.act.Name, j.prec, j.dir, r.Params, r.MaxULP, r.Worst)
	}
	if *intervalN > 0 {
		if err := intervalTable(&b, jobs, *intervalN); err != nil {
			return err
		}
	}
	if *rowCols != "" {
		if err := rowsCurve(&b, s, *rowCols); err != nil {
			return err
		}
	}
	if *out == "" {
		_, err = os.Stdout.Write(b.Bytes())
		return err
	}
	return os.WriteFile(*out, b.Bytes(), 0o644)
}

// rowsCurve appends the row-wise table: each rows entry's largest forward
// error against the row length, measured as its tests measure it.
func rowsCurve(b *bytes.Buffer, s *spec.Spec, list string) error {
	var cols []int
	for _, f := range strings.Split(list, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return fmt.Errorf("-rows-cols %q: want positive row lengths", f)
		}
		cols = append(cols, c)
	}
	const elems = 20000 // per point: rows of cols, at least one row
	type point struct {
		a    *spec.Activation
		prec string
		cols int
		ulp  float64
		err  error
	}
	var pts []*point
	for _, a := range s.Activations {
		if a.Kind != "rows" {
			continue
		}
		for _, prec := range []string{"f32", "f64"} {
			for _, c := range cols {
				pts = append(pts, &point{a: a, prec: prec, cols: c})
			}
		}
	}
	start := time.Now()
	parallel.ForEach(len(pts), func(i int) {
		p := pts[i]
		r := kerneltest.RowsFromSpec(p.a, p.prec)
		if p.prec == "f32" {
			fn, _ := f32.NewRowwise(p.a.Name)
			p.ulp, p.err = kerneltest.MeasureRows(r, fn.Forward, p.cols, elems, 1)
		} else {
			fn, _ := f64.NewRowwise(p.a.Name)
			p.ulp, p.err = kerneltest.MeasureRows(r, fn.Forward, p.cols, elems, 1)
		}
		fmt.Fprintf(os.Stderr, "%s %s cols=%d: %.3g ULP\n", p.a.Name, p.prec, p.cols, p.ulp)
	})
	fmt.Fprintf(b, "\n## Row-wise functions: error against row length\n\n")
	fmt.Fprintf(b, "Largest forward error over rows of standard-normal values times 3 (%d elements per point, at least one row), in ULP of the larger of the exact value and the magnitude of the formula's terms (they differ only where logsumexp's m + log(s) cancels near 0). The bars are 3 ULP up to 10^4 columns and 8 ULP up to 10^6. Measured in %s.\n\n", elems, time.Since(start).Round(time.Second))
	fmt.Fprintf(b, "| function | type |")
	for _, c := range cols {
		fmt.Fprintf(b, " cols=%d |", c)
	}
	fmt.Fprintf(b, "\n|---|---|%s\n", strings.Repeat("---:|", len(cols)))
	for i := 0; i < len(pts); i += len(cols) {
		fmt.Fprintf(b, "| %s | %s |", pts[i].a.Name, pts[i].prec)
		for _, p := range pts[i : i+len(cols)] {
			if p.err != nil {
				return fmt.Errorf("%s %s cols=%d: %w", p.a.Name, p.prec, p.cols, p.err)
			}
			fmt.Fprintf(b, " %.3f |", p.ulp)
		}
		fmt.Fprintf(b, "\n")
	}
	return nil
}

func measure32(a kerneltest.Activation, dir string, params map[string]float64, n int) (kerneltest.Report, error) {
	k := kerneltest.Kernels[float32]{
		Forward: func(dst, x, p []float32) { bind32(a, p).Forward(dst, x) },
		Backward: func(dx, dy, x, p []float32) {
			bind32(a, p).Backward(dx, dy, x)
		},
		BackwardFromOutput: func(dx, dy, y, p []float32) {
			bind32(a, p).BackwardFromOutput(dx, dy, y)
		},
	}
	return kerneltest.MeasureParams(a, k, dir, params, n)
}

func measure64(a kerneltest.Activation, dir string, params map[string]float64, n int) (kerneltest.Report, error) {
	k := kerneltest.Kernels[float64]{
		Forward: func(dst, x, p []float64) { bind64(a, p).Forward(dst, x) },
		Backward: func(dx, dy, x, p []float64) {
			bind64(a, p).Backward(dx, dy, x)
		},
		BackwardFromOutput: func(dx, dy, y, p []float64) {
			bind64(a, p).BackwardFromOutput(dx, dy, y)
		},
	}
	return kerneltest.MeasureParams(a, k, dir, params, n)
}

// accuracyJob is one row of the accuracy tables: a kernel direction at a
// parameter set (nil: the defaults).
type accuracyJob struct {
	act    *spec.Activation
	prec   string
	dir    string
	params map[string]float64
}

// accuracyJobs lists every kernel of the activations: both precisions,
// every direction, the defaults and each parameter set the spec lists for
// testing.
func accuracyJobs(acts []*spec.Activation) []accuracyJob {
	var jobs []accuracyJob
	for _, a := range acts {
		sets := append([]map[string]float64{nil}, a.TestParams...)
		for _, prec := range []string{"f32", "f64"} {
			for _, dir := range []string{kerneltest.Forward, kerneltest.Backward, kerneltest.BackwardFromOutput} {
				if dir == kerneltest.BackwardFromOutput && a.DerivativeOutput == nil {
					continue
				}
				for _, p := range sets {
					if dir == kerneltest.BackwardFromOutput && !hasFromOutput(a.Name, p) {
						continue // output_requires fails for this set
					}
					jobs = append(jobs, accuracyJob{a, prec, dir, p})
				}
			}
		}
	}
	return jobs
}

// bind32 binds an activation to parameter values given in spec order.
func bind32(a kerneltest.Activation, p []float32) *f32.Activation {
	ps := f32.Params{}
	for i, prm := range a.Params {
		ps[prm.Name] = float64(p[i])
	}
	act, err := f32.New(a.Name, ps)
	if err != nil {
		panic(err) // the harness passes defaults or the spec's test sets
	}
	return act
}

func bind64(a kerneltest.Activation, p []float64) *f64.Activation {
	ps := f64.Params{}
	for i, prm := range a.Params {
		ps[prm.Name] = p[i]
	}
	act, err := f64.New(a.Name, ps)
	if err != nil {
		panic(err)
	}
	return act
}

// hasFromOutput reports whether the output-form gradient is valid for the
// parameter set (the spec's output_requires), as the generated package says.
func hasFromOutput(name string, set map[string]float64) bool {
	act, err := f64.New(name, f64.Params(set))
	return err == nil && act.HasBackwardFromOutput()
}
