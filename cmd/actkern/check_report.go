package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/actkern/actkern/internal/testutil"
	"github.com/actkern/actkern/kerneltest"
)

// checkReport renders what a check found as Markdown (docs/ACCURACY.md).
type checkReport struct {
	opts     *checkOptions
	jobs     []*checkJob
	backends []string
	notes    []string
	wall     time.Duration
	cpu      time.Duration // of the sweep, in this process and its workers (0: not measured)
	partial  bool
	restored int // jobs whose results came from the -state file
}

// row is one kernel on one backend.
type checkRow struct {
	job     *checkJob
	dir     string
	backend string
	st      dirStats
	special specialVerdict
}

func (r *checkReport) rows(typ string) []checkRow {
	var rows []checkRow
	for _, j := range r.jobs {
		if typ != "" && j.typ != typ {
			continue
		}
		j.mu.Lock()
		for d, dir := range j.dirs {
			for b, be := range r.backends {
				sv := specialVerdict{}
				if dir != kerneltest.BackwardFromOutput {
					sv = j.special[b]
				}
				rows = append(rows, checkRow{job: j, dir: dir, backend: be, st: j.stats[d][b], special: sv})
			}
		}
		j.mu.Unlock()
	}
	return rows
}

func fmtULP(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func (row checkRow) worst() string {
	if row.st.N == 0 {
		return "-"
	}
	p := row.st.Worst
	return row.point(p, "want")
}

func (row checkRow) point(p sweepPoint, ref string) string {
	in := "x=" + fmtVal(row.job.typ, p.X)
	if row.dir == kerneltest.BackwardFromOutput {
		in = "y=" + fmtVal(row.job.typ, p.Y) + " (x=" + fmtVal(row.job.typ, p.X) + ")"
	}
	if row.dir != kerneltest.Forward {
		in += " dy=" + fmtVal(row.job.typ, p.DY)
	}
	return fmt.Sprintf("%s: got %s, %s %s", in, fmtVal(row.job.typ, p.Got), ref, fmtVal(row.job.typ, p.Ref))
}

// fmtVal prints a value with the digits its type needs to round-trip.
func fmtVal(typ string, v float64) string {
	if typ == "f32" {
		return strconv.FormatFloat(v, 'g', -1, 32)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (row checkRow) specials() string {
	switch {
	case row.dir == kerneltest.BackwardFromOutput:
		return "n/a"
	case !row.job.specDone:
		return "not reached"
	case row.special.Checked == 0:
		return "none in spec"
	case len(row.special.Failures) == 0:
		return fmt.Sprintf("%d/%d exact", row.special.Checked, row.special.Checked)
	}
	return fmt.Sprintf("**%d of %d wrong**: %s", len(row.special.Failures), row.special.Checked, strings.Join(row.special.Failures, "; "))
}

func (row checkRow) agreement() string {
	if row.backend == "generic" {
		return "(baseline)"
	}
	if row.st.Differ == 0 {
		return "bit-identical"
	}
	return fmt.Sprintf("**%d differ**, max %s ULP apart; first %s", row.st.Differ, fmtULP(row.st.MaxDiff), row.point(row.st.First, "generic"))
}

func (row checkRow) inputs() string {
	j := row.job
	if j.done == j.count {
		return strconv.FormatUint(j.count, 10)
	}
	return fmt.Sprintf("%d of %d", j.done, j.count)
}

func (r *checkReport) markdown() string {
	var b strings.Builder
	o := r.opts
	if r.partial {
		fmt.Fprintf(&b, "# Accuracy (PARTIAL)\n\n> **PARTIAL REPORT.** The check was interrupted after %s: the figures below cover only the inputs counted in the *inputs* column, and are not the result of the sweep the command asked for.\n\n", r.wall.Round(time.Second))
	} else {
		fmt.Fprintf(&b, "# Accuracy\n\n")
	}
	fmt.Fprintf(&b, "Written by `actkern check %s` in %s on %s. Backends: %s.", strings.Join(o.args, " "), r.wall.Round(time.Second), machineLine(), describeISAs(r.backends))
	for _, n := range r.notes {
		fmt.Fprintf(&b, " %s.", n)
	}
	if st := o.state; st != nil {
		wall, cpu := st.totals()
		fmt.Fprintf(&b, " The state file `%s` gave the results of %d of the %d jobs, recorded by earlier runs of the same sources; all %d runs together took %s of wall time and %s of CPU time.",
			filepath.ToSlash(st.path), r.restored, len(r.jobs), len(st.Runs), wall.Round(time.Second), cpu.Round(time.Second))
	}
	b.WriteString("\n\n")
	dys := make([]string, len(dySet))
	for i, d := range dySet {
		dys[i] = strconv.FormatFloat(d, 'g', -1, 64)
	}
	f32Inputs := fmt.Sprintf("every bit pattern in [%#x, %#x)", o.lo, o.hi)
	if o.lo == 0 && o.hi == 1<<32 {
		f32Inputs = "all 2^32 inputs"
	}
	if o.sample > 0 && o.sample < o.hi-o.lo {
		f32Inputs = fmt.Sprintf("%d inputs evenly strided over the bit patterns [%#x, %#x) (a sample, not the exhaustive sweep)", o.sample, o.lo, o.hi)
	}
	has := func(typ string) bool {
		for _, j := range r.jobs {
			if j.typ == typ {
				return true
			}
		}
		return false
	}
	if has("f32") {
		fmt.Fprintf(&b, "**float32**: %s, at the default parameters and at each parameter set the spec lists for testing. Backward kernels run at each dy in {%s} (as float32); backward_from_output kernels at y = the generic forward kernel's output, the same y for every backend. Each result is compared with the correctly rounded exact value: the fast float64 evaluation of the spec's formula rounded to float32, or, wherever the float64 value lies within 2^-20 ULP of a float32 rounding boundary or any backend disagrees with it, the exact value rounded once (the float64 evaluation where every operation in it was exact, else the big.Float evaluation of internal/reference), so every error counted is measured against the exact value.\n\n", f32Inputs, strings.Join(dys, ", "))
	}
	if has("f64") {
		fmt.Fprintf(&b, "**float64**: %d inputs per kernel: the %d special values, then every binade (biased exponents 0 to 2046) of both signs in turn with random mantissas; backward kernels with one dy per input from the same set; every result against the exact value rounded once (the float64 evaluation where every operation in it was exact, else big.Float).\n\n", o.n, len(testutil.Special[float64]()))
	}
	b.WriteString("Columns: *max ULP* is the largest distance to the correctly rounded value (±0 are 0 apart; NaN where a number is due counts as +Inf); *not CR* counts results that are not correctly rounded (a zero of the wrong sign among them: 0 ULP off, but not the same result), *> 1 ULP* those over the 1-ULP bar of the project; *specials* is the spec's special-value table, bit for bit (forward; backward at dy = ±1); *vs generic* compares each backend's results with the generic kernels' bit for bit (any NaN matches NaN).\n\n")

	for _, typ := range []string{"f32", "f64"} {
		rows := r.rows(typ)
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n| activation | params | direction | backend | inputs | max ULP | worst | not CR | > 1 ULP | specials | vs generic |\n|---|---|---|---|---:|---:|---|---:|---:|---|---|\n", map[string]string{"f32": "float32", "f64": "float64"}[typ])
		for _, row := range rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %d | %d | %s | %s |\n",
				row.job.act.Name, row.job.label, row.dir, row.backend, row.inputs(), fmtULP(row.st.MaxULP), row.worst(), row.st.NotCR, row.st.Over1, row.specials(), row.agreement())
		}
		b.WriteString("\n")
	}

	all := r.rows("")
	sort.SliceStable(all, func(p, q int) bool { return all[p].st.MaxULP > all[q].st.MaxULP })
	b.WriteString("## Worst kernels\n\n| activation | type | params | direction | backend | max ULP | worst |\n|---|---|---|---|---|---:|---|\n")
	for _, row := range all[:min(10, len(all))] {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", row.job.act.Name, row.job.typ, row.job.label, row.dir, row.backend, fmtULP(row.st.MaxULP), row.worst())
	}
	var over []string
	for _, row := range all {
		if row.st.MaxULP > 1 {
			over = append(over, fmt.Sprintf("%s %s %s %s (%s): %s ULP", row.job.act.Name, row.job.typ, row.dir, row.backend, row.job.label, fmtULP(row.st.MaxULP)))
		}
	}
	if len(over) > 0 {
		fmt.Fprintf(&b, "\n%d kernel rows miss the 1-ULP bar: %s.\n", len(over), strings.Join(over, "; "))
	} else {
		b.WriteString("\nEvery kernel row checked is within 1 ULP.\n")
	}

	b.WriteString("\n## Cost\n\nPer job: the big.Float evaluations (inputs the fast reference could not decide, or where a kernel disagreed with it) and the goroutine time spent (wall time of its chunks, summed over the goroutines: on a loaded machine more than the CPU time); for float32 also that time scaled to all 2^32 inputs, an estimate of the exhaustive sweep's cost.\n\n| activation | type | params | inputs | big.Float evaluations | goroutine time | scaled to 2^32 inputs |\n|---|---|---|---:|---:|---:|---:|\n")
	var busy, scaled time.Duration
	for _, j := range r.jobs {
		j.mu.Lock()
		full := "-"
		if j.typ == "f32" && j.done > 0 {
			d := time.Duration(float64(j.busy) * float64(uint64(1)<<32) / float64(j.done))
			scaled += d
			full = d.Round(time.Second).String()
		}
		busy += j.busy
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s | %s |\n", j.act.Name, j.typ, j.label, j.done, j.exact, j.busy.Round(time.Millisecond), full)
		j.mu.Unlock()
	}
	fmt.Fprintf(&b, "\nIn all: %s of goroutine time", busy.Round(time.Second))
	if r.opts.state != nil {
		// Restored jobs' goroutine time is in busy: so is every run's CPU.
		_, cpu := r.opts.state.totals()
		fmt.Fprintf(&b, " and %s of CPU time over all the runs of the state file", cpu.Round(time.Second))
	} else if r.cpu > 0 {
		// Goroutine time counts waiting for the workers and for a CPU;
		// this is what the sweep cost the machine.
		cpu := r.cpu.Round(time.Second)
		if r.cpu < time.Minute {
			cpu = r.cpu.Round(10 * time.Millisecond)
		}
		fmt.Fprintf(&b, " and %s of CPU time (this process and its workers)", cpu)
	}
	if scaled > 0 {
		fmt.Fprintf(&b, "; the float32 jobs scaled to all 2^32 inputs: %s, %s of wall time on %d cores", scaled.Round(time.Second), (scaled / time.Duration(runtime.GOMAXPROCS(0))).Round(time.Minute), runtime.GOMAXPROCS(0))
	}
	b.WriteString(".\n")
	return b.String()
}

// summary is a few lines for the terminal: the worst rows so far.
func (r *checkReport) summary() string {
	all := r.rows("")
	sort.SliceStable(all, func(p, q int) bool { return all[p].st.MaxULP > all[q].st.MaxULP })
	var b strings.Builder
	for _, row := range all[:min(10, len(all))] {
		if row.st.N == 0 {
			continue
		}
		fmt.Fprintf(&b, "  %s %s %s %s (%s): max %s ULP at %s; %s inputs\n", row.job.act.Name, row.job.typ, row.dir, row.backend, row.job.label, fmtULP(row.st.MaxULP), row.worst(), row.inputs())
	}
	if b.Len() == 0 {
		b.WriteString("  nothing yet\n")
	}
	return b.String()
}

// violations lists what breaks the bars the tests hold every kernel to:
// an error over kerneltest.MaxULP, a backend that differs from the generic
// kernel, a special value missed. The check fails when it finds any, so
// that CI's sampled sweep can fail.
func (r *checkReport) violations() []string {
	var out []string
	for _, typ := range []string{"f32", "f64"} {
		for _, row := range r.rows(typ) {
			name := fmt.Sprintf("%s %s %s %s on %s", row.job.act.Name, row.job.label, typ, row.dir, row.backend)
			if row.st.MaxULP > kerneltest.MaxULP {
				out = append(out, fmt.Sprintf("%s: %s ULP (bar %d) at %s", name, fmtULP(row.st.MaxULP), kerneltest.MaxULP, row.worst()))
			}
			if row.st.ZeroSign > 0 {
				out = append(out, fmt.Sprintf("%s: %d zeros of the wrong sign", name, row.st.ZeroSign))
			}
			if row.st.Differ > 0 {
				out = append(out, fmt.Sprintf("%s: %d results differ from the generic kernel", name, row.st.Differ))
			}
			if len(row.special.Failures) > 0 {
				out = append(out, fmt.Sprintf("%s: special values: %s", name, strings.Join(row.special.Failures, "; ")))
			}
		}
	}
	return out
}
