package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/actkern/actkern/generated/f32"
	"github.com/actkern/actkern/generated/f64"
	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/kerneltest"
	builtin "github.com/actkern/actkern/spec"
)

const checkUsageLine = "[-func a,b] [-type f32|f64] [-dir forward,backward,backward_from_output] [-isa generic,avx2,avx512|best] [-range lo:hi] [-sample N] [-n N] [-spec file] [-out file] [-state file] [-progress D]"

// Chunk sizes: one chunk is the unit a goroutine takes, merges and, on
// Ctrl-C, abandons. A float32 input costs ~0.05-1 µs of CPU (kernels and
// judging, every backend and dy), a float64 one ~5-100 µs (mostly
// big.Float).
const (
	chunk32   = 1 << 16
	chunk64   = 1 << 9
	hashBlock = 1024 // outputs per hash a worker returns
)

// checkChildEnv marks the environment of a worker process, and
// checkReexecEnv that of a check run again at the generic level.
const (
	checkChildEnv  = "ACTKERN_CHECK_WORKER"
	checkReexecEnv = "ACTKERN_CHECK_REEXEC"
)

// checkOptions are the parsed and validated flags.
type checkOptions struct {
	args     []string
	funcs    []string
	types    []string
	dirs     []string
	isas     []string // asked for; nil: every level this machine runs
	lo, hi   uint64   // float32 bit patterns swept: [lo, hi)
	sample   uint64   // 0: every pattern in [lo, hi); else this many, strided
	n        uint64   // float64 inputs per kernel
	out      string
	progress time.Duration
	specPath string
	state    *checkState // nil: no -state
}

// checkCmd is `actkern check`: the exhaustive float32 sweep and the
// float64 sampling of every elementwise kernel on every backend.
func checkCmd(args []string, std stdio) error {
	fs := flagSet("check", checkUsageLine, std)
	funcs := fs.String("func", "", "comma-separated activation names (default: every elementwise one)")
	typ := fs.String("type", "f32,f64", "element types to check: f32, f64 or both")
	dirs := fs.String("dir", "forward,backward,backward_from_output", "directions to check")
	isa := fs.String("isa", "", "backends to check, comma-separated: generic, avx2, avx512, or best (the best this CPU runs); default every one this CPU runs")
	rng := fs.String("range", "0:0x100000000", "float32 only: the half-open range `lo:hi` of uint32 bit patterns to sweep (decimal or 0x hex)")
	sample := fs.Uint64("sample", 0, "float32 only: check N inputs evenly strided over -range instead of all of them (0: all)")
	n := fs.Uint64("n", 10_000_000, "float64 only: inputs per kernel, spread evenly over every binade of both signs, after the special values")
	out := fs.String("out", "", "write the Markdown report here (default: standard output)")
	progress := fs.Duration("progress", 10*time.Second, "interval between progress lines when standard error is not a terminal")
	specPath := fs.String("spec", "", "the spec the packages were generated from (default: actkern's own, built in)")
	workerMode := fs.Bool("worker", false, "internal: serve one ISA level's kernels to a parent check process")
	statePath := fs.String("state", "", "record each finished job in `file`, and take the jobs it records for the same sources from it instead of sweeping them again (a sweep in several sittings)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (the reference side of the sweep) to `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *workerMode {
		return serveWorker(std.in, std.out)
	}
	if os.Getenv(checkChildEnv) != "" {
		// A worker or re-executed check that got here is a program that
		// does not understand `check -worker` (a test binary running its
		// tests): refuse rather than start workers without end.
		return fmt.Errorf("%s is set: a check started by a check is not run", checkChildEnv)
	}
	o := &checkOptions{args: args, sample: *sample, n: *n, out: *out, progress: *progress, specPath: *specPath}
	var err error
	if o.types, err = listFlag("-type", *typ, []string{"f32", "f64"}); err != nil {
		return err
	}
	if o.dirs, err = listFlag("-dir", *dirs, []string{kerneltest.Forward, kerneltest.Backward, kerneltest.BackwardFromOutput}); err != nil {
		return err
	}
	if *isa != "" {
		if o.isas, err = listFlag("-isa", *isa, append(slices.Clone(isaLevels), "best")); err != nil {
			return err
		}
	}
	if o.lo, o.hi, err = parseRange(*rng); err != nil {
		return err
	}
	rangeSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "range" || f.Name == "sample" {
			rangeSet = true
		}
	})
	if rangeSet && !slices.Contains(o.types, "f32") {
		return errors.New("-range and -sample narrow the float32 sweep, and -type leaves float32 out")
	}
	if o.n == 0 && slices.Contains(o.types, "f64") {
		return errors.New("-n 0: the float64 check needs inputs")
	}
	if o.progress <= 0 {
		return fmt.Errorf("-progress %v: want a positive interval", o.progress)
	}
	var s *spec.Spec
	specBytes := builtin.YAML
	if o.specPath == "" {
		s, err = spec.Parse(builtin.File, builtin.YAML)
	} else if specBytes, err = os.ReadFile(o.specPath); err == nil {
		s, err = spec.Load(o.specPath)
	}
	if err != nil {
		return err
	}
	acts, err := elementwise(s, *funcs)
	if err != nil {
		return fmt.Errorf("-func: %w", err)
	}
	jobs, err := planCheck(acts, o)
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		return errors.New("nothing to check: no activation has the directions asked for")
	}

	// The generic kernels run in this process, so it must run them: a
	// process whose packages chose a SIMD level runs itself again.
	if f32.ISA() != "generic" || f64.ISA() != "generic" {
		if os.Getenv(checkReexecEnv) != "" {
			return fmt.Errorf("run again with %s=generic, the packages still chose %s (f32) and %s (f64)", isaEnv, f32.ISA(), f64.ISA())
		}
		return reexecCheck(args, std)
	}
	backends, notes, err := checkBackends(o.isas)
	if err != nil {
		return err
	}
	restored := 0
	if *statePath != "" {
		if o.state, err = openState(*statePath, specBytes, s); err != nil {
			return err
		}
		stale := 0
		if restored, stale, err = o.state.restore(jobs, backends); err != nil {
			return err
		}
		if stale > 0 {
			fmt.Fprintf(std.err, "actkern check: %s records %d of these jobs for other sources: they are swept again\n", *statePath, stale)
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	if o.state != nil {
		o.state.startRun(start)
	}
	cpu0, cpuOK := cpuTime()
	runErr := runCheck(ctx, jobs, backends, o, std)
	cpu1, _ := cpuTime()
	partial := false
	if runErr != nil {
		if !errors.Is(runErr, context.Canceled) {
			return runErr // a failure writes nothing
		}
		partial = true
	}
	rep := checkReport{opts: o, jobs: jobs, backends: backends, notes: notes, wall: time.Since(start), partial: partial, restored: restored}
	if cpuOK {
		rep.cpu = cpu1 - cpu0
	}
	if o.state != nil {
		if err := o.state.endRun(rep.wall, rep.cpu); err != nil {
			return err
		}
	}
	text := rep.markdown()
	if partial {
		fmt.Fprintf(std.err, "\nactkern check: interrupted after %s; what was found so far:\n%s", rep.wall.Round(time.Second), rep.summary())
	}
	if o.out == "" {
		_, err = std.out.Write([]byte(text))
	} else {
		err = os.WriteFile(o.out, []byte(text), 0o644)
	}
	if err != nil {
		return err
	}
	if partial {
		where := "standard output"
		if o.out != "" {
			where = o.out
		}
		return fmt.Errorf("interrupted: the partial report (marked PARTIAL) is on %s", where)
	}
	if v := rep.violations(); len(v) > 0 {
		return fmt.Errorf("%d kernels break the bars (the report is written):\n  %s", len(v), strings.Join(v, "\n  "))
	}
	return nil
}

// listFlag splits a comma-separated flag value and checks each element.
func listFlag(name, v string, valid []string) ([]string, error) {
	var out []string
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		if !slices.Contains(valid, e) {
			return nil, fmt.Errorf("%s %q: want a comma-separated list of %s", name, v, strings.Join(valid, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// parseRange parses lo:hi, a half-open range of float32 bit patterns.
func parseRange(s string) (lo, hi uint64, err error) {
	a, b, ok := strings.Cut(s, ":")
	if ok {
		lo, err = strconv.ParseUint(strings.TrimSpace(a), 0, 64)
		if err == nil {
			hi, err = strconv.ParseUint(strings.TrimSpace(b), 0, 64)
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("-range %q: want lo:hi, two bit patterns such as 0x3f800000:0x40000000", s)
	}
	if hi > 1<<32 || lo >= hi {
		return 0, 0, fmt.Errorf("-range %q: want lo < hi <= 0x100000000", s)
	}
	return lo, hi, nil
}

// checkBackends returns the levels to check, in isaLevels order, and a note
// for each level of the default set this CPU does not run. A level asked for
// by name that the CPU does not run is an error.
func checkBackends(asked []string) (backends, notes []string, err error) {
	want := asked
	if want == nil {
		want = isaLevels
	}
	// Probe (start a worker at) each SIMD level up to the best one wanted:
	// only a process of that level can say whether the CPU runs it.
	last := 0
	for _, isa := range want {
		if isa == "best" {
			last = len(isaLevels) - 1
		} else {
			last = max(last, slices.Index(isaLevels, isa))
		}
	}
	best := "generic"
	for _, isa := range isaLevels[1 : last+1] {
		if runtime.GOARCH != "amd64" {
			break
		}
		w, err := startWorker(isa)
		if err != nil {
			var un errUnavailable
			if !errors.As(err, &un) {
				return nil, nil, err
			}
			continue
		}
		w.close()
		best = isa
	}
	for _, isa := range isaLevels {
		wanted := slices.Contains(want, isa) || (isa == best && slices.Contains(want, "best"))
		if !wanted {
			continue
		}
		if slices.Index(isaLevels, isa) > slices.Index(isaLevels, best) {
			if asked != nil && slices.Contains(asked, isa) {
				return nil, nil, fmt.Errorf("-isa %s: this machine does not run the %s kernels (the best it runs is %s)", isa, isa, best)
			}
			notes = append(notes, fmt.Sprintf("%s: not checked, this CPU does not run it", isa))
			continue
		}
		backends = append(backends, isa)
	}
	return backends, notes, nil
}

// reexecCheck runs this program again with ACTKERN_ISA=generic. The
// launcher outlives a Ctrl-C (which reaches both processes) so that the
// child can write its partial report and exit first.
func reexecCheck(args []string, std stdio) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this program to run it again with %s=generic: %w (set it yourself instead)", isaEnv, err)
	}
	cmd := exec.Command(exe, append([]string{"check"}, args...)...)
	cmd.Env = append(os.Environ(), isaEnv+"=generic", checkReexecEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = std.in, std.out, std.err
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	if err := cmd.Start(); err != nil {
		return err
	}
	// Pass an interrupt on (a `kill -INT` reaches this process only; a
	// Ctrl-C reaches both, and a second one changes nothing for the child).
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sig:
				cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return errReported
	}
	return err
}

// runCheck sweeps every job on GOMAXPROCS goroutines, each with its own
// workers, taking chunks in order; it returns context.Canceled after a
// Ctrl-C, with what was merged so far kept in the jobs.
func runCheck(ctx context.Context, jobs []*checkJob, backends []string, o *checkOptions, std stdio) error {
	type work struct {
		job    *checkJob
		i0, i1 uint64
	}
	// The live heap is a few MB of reused buffers; what churns is the
	// big.Float evaluations' garbage. Collecting at 4x the live heap
	// instead of 2x halves the collector's share of the CPU.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	var total uint64
	for _, j := range jobs {
		if j.restored {
			continue
		}
		j.stats = newStats(len(j.dirs), len(backends))
		j.special = make([]specialVerdict, len(backends))
		total += j.count
	}
	prog := newProgress(std.err, total, o.progress)
	defer prog.stop()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan work)
	go func() {
		defer close(next)
		for _, j := range jobs {
			if j.restored {
				continue
			}
			size := uint64(chunk32)
			if j.typ == "f64" {
				size = chunk64
			}
			for i0 := uint64(0); i0 < j.count; i0 += size {
				select {
				case next <- work{j, i0, min(i0+size, j.count)}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			st := &goState{backends: backends, judges: map[*checkJob]any{}}
			defer st.close()
			for _, isa := range backends {
				var w *worker
				if isa != "generic" {
					var err error
					if w, err = startWorker(isa); err != nil {
						cancel(err)
						return
					}
				}
				st.workers = append(st.workers, w)
			}
			for wk := range next {
				j := wk.job
				prog.at(j.act.Name + " " + j.typ + " " + j.label)
				if wk.i0 == 0 {
					sv, err := j.run.specials(st)
					if err != nil {
						cancel(err)
						return
					}
					j.mu.Lock()
					j.special, j.specDone = sv, true
					j.mu.Unlock()
				}
				t0 := time.Now()
				r, err := j.run.chunk(ctx, st, wk.i0, wk.i1)
				if err != nil {
					cancel(err)
					return
				}
				j.mu.Lock()
				for d := range r.stats {
					for b := range r.stats[d] {
						j.stats[d][b].merge(&r.stats[d][b])
					}
				}
				j.done += wk.i1 - wk.i0
				j.exact += r.exact
				j.busy += time.Since(t0)
				finished := j.done == j.count
				j.mu.Unlock()
				prog.add(wk.i1 - wk.i0)
				if finished && o.state != nil {
					if err := o.state.finish(j, backends); err != nil {
						cancel(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	// The cause is context.Canceled after a Ctrl-C (the parent context's),
	// or the first error a goroutine met.
	return context.Cause(ctx)
}

// machineLine describes this machine for the report.
func machineLine() string {
	cpuName := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpuName = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores (GOMAXPROCS), %s/%s, %s", cpuName, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
}
