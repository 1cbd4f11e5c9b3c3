package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
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
	"github.com/actkern/actkern/internal/testutil"
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

// checkJob is one activation at one parameter set in one precision: all
// its directions are swept together, input by input, so that a chunk of
// inputs is generated, run and judged once for every direction, dy and
// backend.
type checkJob struct {
	act    *spec.Activation
	typ    string
	set    map[string]float64
	label  string
	dirs   []string
	count  uint64 // inputs
	lo     uint64 // float32: input i has the bits lo + i*stride
	stride uint64
	run    jobRunner

	mu       sync.Mutex
	stats    [][]dirStats // [dir][backend]
	special  []specialVerdict
	done     uint64        // inputs judged
	exact    int64         // big.Float evaluations
	busy     time.Duration // goroutine time spent on the job's chunks
	specDone bool
	restored bool // its results come from the -state file
}

type jobRunner interface {
	chunk(ctx context.Context, st *goState, i0, i1 uint64) (*chunkResult, error)
	specials(st *goState) ([]specialVerdict, error)
}

type chunkResult struct {
	stats [][]dirStats
	base  []dirStats // generic's verdicts, per output spec
	exact int64
}

// sweepPoint is one judged output.
type sweepPoint struct {
	key                uint64 // input index * 8 + dy index: ties go to the first
	X, Y, DY, Got, Ref float64
	ULP                float64
}

// dirStats is what the sweep found for one direction on one backend.
type dirStats struct {
	N       uint64 // outputs judged (inputs × dy values)
	MaxULP  float64
	Worst   sweepPoint
	NotCR   uint64 // results not correctly rounded (error > 0)
	Over1   uint64 // results more than 1 ULP off
	Differ  uint64 // results not bit-identical to generic (any NaN matches NaN)
	MaxDiff float64
	First   sweepPoint // the first differing result
}

// add counts one result ulp ULPs off; point describes it, and is called
// only when it is the worst so far (the common case builds nothing).
func (s *dirStats) add(ulp float64, key uint64, point func(ulp float64) sweepPoint) {
	s.N++
	if ulp > 0 {
		s.NotCR++
		if ulp > 1 {
			s.Over1++
		}
	}
	if s.N == 1 || ulp > s.MaxULP || (ulp == s.MaxULP && key < s.Worst.key) {
		s.MaxULP, s.Worst = ulp, point(ulp)
	}
}

func (s *dirStats) differ(p sweepPoint) {
	s.Differ++
	s.MaxDiff = max(s.MaxDiff, p.ULP)
	if s.Differ == 1 || p.key < s.First.key {
		s.First = p
	}
}

func (s *dirStats) merge(o *dirStats) {
	if o.N > 0 && (s.N == 0 || o.MaxULP > s.MaxULP || (o.MaxULP == s.MaxULP && o.Worst.key < s.Worst.key)) {
		s.MaxULP, s.Worst = o.MaxULP, o.Worst
	}
	s.N += o.N
	s.NotCR += o.NotCR
	s.Over1 += o.Over1
	if o.Differ > 0 && (s.Differ == 0 || o.First.key < s.First.key) {
		s.First = o.First
	}
	s.Differ += o.Differ
	s.MaxDiff = max(s.MaxDiff, o.MaxDiff)
}

// specialVerdict is the special-value table's outcome on one backend.
type specialVerdict struct {
	Checked  int
	Failures []string
}

func newStats(dirs, backends int) [][]dirStats {
	s := make([][]dirStats, dirs)
	for d := range s {
		s[d] = make([]dirStats, backends)
	}
	return s
}

// planCheck lists the jobs: activation × precision × parameter set, with
// the directions each has.
func planCheck(acts []*spec.Activation, o *checkOptions) ([]*checkJob, error) {
	var jobs []*checkJob
	for _, a := range acts {
		desc := kerneltest.FromSpec(a)
		sets := append([]map[string]float64{nil}, a.TestParams...)
		for _, typ := range o.types {
			for _, set := range sets {
				j := &checkJob{act: a, typ: typ, set: set}
				var err error
				if typ == "f32" {
					j.run, err = newSweepJob[float32](j, desc, o)
				} else {
					j.run, err = newSweepJob[float64](j, desc, o)
				}
				if err != nil {
					return nil, err
				}
				if len(j.dirs) > 0 {
					jobs = append(jobs, j)
				}
			}
		}
	}
	return jobs, nil
}

// sweepJob is the precision-specific part of a job.
type sweepJob[T float32 | float64] struct {
	job   *checkJob
	sw    *kerneltest.Sweep[T]
	local *kset[T] // this process's kernels: generic
	specs []outSpec
	sDir  []int // direction index of each spec
	sDY   []int // dy index of each spec (float32)
	needY bool
}

func newSweepJob[T float32 | float64](j *checkJob, desc kerneltest.Activation, o *checkOptions) (*sweepJob[T], error) {
	sw, err := kerneltest.NewSweep[T](desc, j.set)
	if err != nil {
		return nil, err
	}
	j.label = sw.Label()
	local, err := bindKernels[T](j.act.Name, j.set)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", j.act.Name, j.label, err)
	}
	s := &sweepJob[T]{job: j, sw: sw, local: local}
	for _, dir := range o.dirs {
		if !sw.Has(dir) || (dir == kerneltest.BackwardFromOutput && local.fromOut == nil) {
			continue
		}
		d := len(j.dirs)
		j.dirs = append(j.dirs, dir)
		switch {
		case dir == kerneltest.Forward:
			s.specs, s.sDir, s.sDY = append(s.specs, outSpec{Dir: dir}), append(s.sDir, d), append(s.sDY, 0)
		case testutil.Is32[T]():
			for k, dy := range dySet {
				// The kernels see dy as a float32: the reference must too.
				s.specs = append(s.specs, outSpec{Dir: dir, DY: float64(float32(dy))})
				s.sDir, s.sDY = append(s.sDir, d), append(s.sDY, k)
			}
		default:
			s.specs, s.sDir, s.sDY = append(s.specs, outSpec{Dir: dir, DYFromX: true}), append(s.sDir, d), append(s.sDY, 0)
		}
		if dir == kerneltest.BackwardFromOutput {
			s.needY = true
		}
	}
	if testutil.Is32[T]() {
		j.lo, j.stride, j.count = o.lo, 1, o.hi-o.lo
		if o.sample > 0 && o.sample < j.count {
			// An odd stride, so that the sample does not keep the low
			// mantissa bits fixed.
			j.stride = j.count / o.sample
			if j.stride > 1 && j.stride%2 == 0 {
				j.stride--
			}
			j.count = o.sample
		}
	} else {
		j.count = o.n
	}
	return s, nil
}

// input is the job's input number i.
func (s *sweepJob[T]) input(i uint64) T {
	if testutil.Is32[T]() {
		return T(math.Float32frombits(uint32(s.job.lo + i*s.job.stride)))
	}
	return T(f64Input(i))
}

// f64Input is float64 input number i: the special values first, then every
// biased exponent in turn (0 for the subnormals, up to 2046), both signs,
// with a mantissa hashed from i.
func f64Input(i uint64) float64 {
	sp := testutil.Special[float64]()
	if i < uint64(len(sp)) {
		return sp[i]
	}
	i -= uint64(len(sp))
	exp, sign := i%2047, (i/2047)&1
	return math.Float64frombits(sign<<63 | exp<<52 | splitmix(i)&(1<<52-1))
}

// goState is one sweeping goroutine's: its workers (one per remote level),
// its judges (one per job) and its buffers.
type goState struct {
	backends []string
	workers  []*worker // nil for generic
	judges   map[*checkJob]any
	s32      *scratch[float32]
	s64      *scratch[float64]
}

func (st *goState) close() {
	for _, w := range st.workers {
		if w != nil {
			w.close()
		}
	}
}

// scratch is a goroutine's buffers for chunks of one precision, reused from
// chunk to chunk (a sweep of 2^32 inputs would otherwise allocate and clear
// a few MB for every 2^16 of them).
type scratch[T float32 | float64] struct {
	xs, ys       []T
	local        [][]T      // generic's outputs, per spec
	fwd, bwd, fy []float64  // fast reference values, per direction
	mine         [][]uint64 // block hashes of local
	theirs       [][]uint64 // a worker's
	special      []int32
	slow         []int32
	gots         []T
	own          []int
	dys          dyCache[T]
}

func scratchFor[T float32 | float64](st *goState) *scratch[T] {
	var s any
	if testutil.Is32[T]() {
		if st.s32 == nil {
			st.s32 = &scratch[float32]{}
		}
		s = st.s32
	} else {
		if st.s64 == nil {
			st.s64 = &scratch[float64]{}
		}
		s = st.s64
	}
	return s.(*scratch[T])
}

func judgeFor[T float32 | float64](st *goState, s *sweepJob[T]) (*kerneltest.Judge[T], error) {
	if j, ok := st.judges[s.job].(*kerneltest.Judge[T]); ok {
		return j, nil
	}
	j, err := s.sw.NewJudge()
	if err != nil {
		return nil, err
	}
	st.judges[s.job] = j
	return j, nil
}

// request is the worker request for this job's outputs.
func (s *sweepJob[T]) request() workRequest {
	return workRequest{Type: s.job.typ, Func: s.job.act.Name, Params: s.job.set, Out: s.specs}
}

// backendOutputs returns every backend's outputs: generic's own slices
// (local) where the worker's block hashes match, and copies with the
// differing blocks fetched from the worker where they do not. The workers
// were sent the request for their hashes before generic computed local.
func (s *sweepJob[T]) backendOutputs(st *goState, sc *scratch[T], local [][]T) ([][][]T, error) {
	per := make([][][]T, len(st.backends))
	n := len(sc.xs)
	haveMine := false
	for b, w := range st.workers {
		per[b] = local
		if w == nil {
			continue
		}
		var err error
		if sc.theirs, err = recvHashes(w, len(s.specs), n, hashBlock, sc.theirs); err != nil {
			return nil, err
		}
		if !haveMine {
			sc.mine = grow(sc.mine, len(local))
			for sp, o := range local {
				sc.mine[sp] = appendBlockHashes(sc.mine[sp][:0], o, hashBlock)
			}
			haveMine = true
		}
		var blocks []int // every block that differs at some spec
		differs := make([]bool, len(s.specs))
		for sp := range s.specs {
			for blk, h := range sc.mine[sp] {
				if sc.theirs[sp][blk] != h {
					differs[sp] = true
					if !slices.Contains(blocks, blk) {
						blocks = append(blocks, blk)
					}
				}
			}
		}
		if len(blocks) == 0 {
			continue
		}
		slices.Sort(blocks)
		var subX, subY []T
		for _, blk := range blocks {
			lo, hi := blk*hashBlock, min((blk+1)*hashBlock, n)
			subX = append(subX, sc.xs[lo:hi]...)
			if s.needY {
				subY = append(subY, sc.ys[lo:hi]...)
			}
		}
		sub, err := workerOutputs(w, s.request(), subX, subY)
		if err != nil {
			return nil, err
		}
		outs := make([][]T, len(local))
		for sp := range outs {
			outs[sp] = local[sp]
			if !differs[sp] {
				continue
			}
			outs[sp] = slices.Clone(local[sp])
			at := 0
			for _, blk := range blocks {
				lo, hi := blk*hashBlock, min((blk+1)*hashBlock, n)
				at += copy(outs[sp][lo:hi], sub[sp][at:at+hi-lo])
			}
		}
		per[b] = outs
	}
	return per, nil
}

func (s *sweepJob[T]) chunk(ctx context.Context, st *goState, i0, i1 uint64) (*chunkResult, error) {
	n := int(i1 - i0)
	sc := scratchFor[T](st)
	sc.xs = grow(sc.xs, n)
	for i := range sc.xs {
		sc.xs[i] = s.input(i0 + uint64(i))
	}
	xs := sc.xs
	var ys []T
	if s.needY {
		// y is generic's forward output, and every backend's
		// backward_from_output kernel is given that same y.
		sc.ys = grow(sc.ys, n)
		ys = sc.ys
		s.local.forward(ys, xs)
	}
	// The workers compute while this goroutine runs the generic kernels
	// and the reference. They make float32 inputs themselves.
	req := s.request()
	if testutil.Is32[T]() {
		req.XLo, req.XStride = s.job.lo+i0*s.job.stride, s.job.stride
	}
	for _, w := range st.workers {
		if w != nil {
			if err := sendHashes(w, req, xs, ys, hashBlock); err != nil {
				return nil, err
			}
		}
	}
	sc.local = grow(sc.local, len(s.specs))
	local := sc.local
	for sp := range local {
		local[sp] = grow(local[sp], n)
	}
	for sp, spec := range s.specs {
		if spec.Dir == kerneltest.Forward && ys != nil {
			copy(local[sp], ys) // the same kernel on the same inputs
			continue
		}
		if err := s.local.compute(s.specs[sp:sp+1], xs, ys, local[sp:sp+1], &sc.dys); err != nil {
			return nil, err
		}
	}
	judge, err := judgeFor(st, s)
	if err != nil {
		return nil, err
	}
	// The fast reference, once per input and direction, for every dy and
	// every backend.
	var fwd, bwd, fy []float64
	for _, dir := range s.job.dirs {
		switch dir {
		case kerneltest.Forward:
			sc.fwd = grow(sc.fwd, n)
			fwd = sc.fwd
		case kerneltest.Backward:
			sc.bwd = grow(sc.bwd, n)
			bwd = sc.bwd
		case kerneltest.BackwardFromOutput:
			sc.fy = grow(sc.fy, n)
			fy = sc.fy
		}
	}
	if fwd != nil || bwd != nil {
		if err := judge.FastX(xs, fwd, bwd); err != nil {
			return nil, err
		}
	}
	if fy != nil {
		if err := judge.FastY(ys, fy); err != nil {
			return nil, err
		}
	}
	sc.special = judge.SpecialIndices(xs, sc.special[:0])

	per, err := s.backendOutputs(st, sc, local)
	if err != nil {
		return nil, err
	}
	return s.judgeChunk(ctx, sc, judge, i0, ys, local, per, fwd, bwd, fy)
}

// judgeChunk judges every backend's outputs per[b][sp] (generic's are
// local; a backend whose outputs of a spec match generic's everywhere has
// local itself there) at the chunk's inputs sc.xs (and ys, for
// backward_from_output), given the fast reference values of each
// direction.
func (s *sweepJob[T]) judgeChunk(ctx context.Context, sc *scratch[T], judge *kerneltest.Judge[T], i0 uint64, ys []T, local [][]T, per [][][]T, fwd, bwd, fy []float64) (*chunkResult, error) {
	xs := sc.xs
	exact0 := judge.Exact
	res := &chunkResult{stats: newStats(len(s.job.dirs), len(per)), base: make([]dirStats, len(s.specs))}
	for sp := range s.specs {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		d := s.sDir[sp]
		dir := s.job.dirs[d]
		fast, ins, special := fwd, xs, sc.special
		switch dir {
		case kerneltest.Backward:
			fast = bwd
		case kerneltest.BackwardFromOutput:
			fast, ins, special = fy, ys, nil
		}
		// A backend whose outputs of this spec are generic's own (every
		// block hash matched) has generic's verdicts: each result is judged
		// once, and only the differing backends' results again.
		same := true
		for b := range per {
			same = same && &per[b][sp][0] == &local[sp][0]
		}
		var err error
		if same && testutil.Is32[T]() {
			err = s.judgeScreened(sc, judge, i0, sp, dir, ins, fast, special, local[sp], ys, &res.base[sp])
		} else {
			err = s.judgeEach(sc, judge, i0, sp, dir, ins, fast, local[sp], ys, per, res)
		}
		if err != nil {
			return nil, err
		}
		for b := range per {
			if &per[b][sp][0] == &local[sp][0] {
				res.stats[d][b].merge(&res.base[sp])
			}
		}
	}
	res.exact = judge.Exact - exact0
	return res, nil
}

// judgeScreened judges generic's results of spec sp, which every backend
// shares: Screen settles most as correctly rounded against the fast value,
// and Want (the exact evaluation where the fast value cannot decide)
// judges the rest one by one.
func (s *sweepJob[T]) judgeScreened(sc *scratch[T], judge *kerneltest.Judge[T], i0 uint64, sp int, dir string, ins []T, fast []float64, special []int32, got, ys []T, st *dirStats) error {
	dy, screenDY := T(s.specs[sp].DY), T(s.specs[sp].DY)
	if dir == kerneltest.Forward {
		screenDY = 1
	}
	sc.slow = judge.Screen(screenDY, fast, got, special, sc.slow[:0])
	slow := sc.slow
	// The settled results are 0 ULP off: they count, and the first of
	// them is the worst result while no other is off.
	first := 0
	for k := 0; k < len(slow) && int(slow[k]) == first; k++ {
		first++
	}
	if settled := len(got) - len(slow); settled > 0 {
		ref := T(float32(fast[first] * float64(screenDY)))
		st.add(0, s.key(i0, first, sp), func(u float64) sweepPoint {
			return s.point(i0, first, sp, dir, ys, dy, got[first], ref, u)
		})
		st.N += uint64(settled - 1)
	}
	for _, k := range slow {
		i := int(k)
		want, err := judge.Want(dir, ins[i], dy, fast[i], got[i:i+1])
		if err != nil {
			return fmt.Errorf("%s %s %s (%s) at x = %v: %w", s.job.act.Name, s.job.typ, dir, s.job.label, sc.xs[i], err)
		}
		st.add(testutil.ULP(got[i], want), s.key(i0, i, sp), func(u float64) sweepPoint {
			return s.point(i0, i, sp, dir, ys, dy, got[i], want, u)
		})
	}
	return nil
}

// judgeEach judges spec sp result by result: generic's, and those of the
// backends whose outputs differ from generic's somewhere in the chunk, all
// against one value, exact where any of them disagrees with the fast one.
func (s *sweepJob[T]) judgeEach(sc *scratch[T], judge *kerneltest.Judge[T], i0 uint64, sp int, dir string, ins []T, fast []float64, local, ys []T, per [][][]T, res *chunkResult) error {
	spec, d := s.specs[sp], s.sDir[sp]
	for i, in := range ins {
		dy := T(spec.DY)
		if spec.DYFromX {
			dy = dyFor(in)
		}
		g0 := local[i]
		gots, own := append(sc.gots[:0], g0), sc.own[:0]
		for b := range per {
			if &per[b][sp][0] != &local[0] {
				own = append(own, b)
				gots = append(gots, per[b][sp][i])
			}
		}
		sc.gots, sc.own = gots, own
		want, err := judge.Want(dir, in, dy, fast[i], gots)
		if err != nil {
			return fmt.Errorf("%s %s %s (%s) at x = %v: %w", s.job.act.Name, s.job.typ, dir, s.job.label, sc.xs[i], err)
		}
		key := s.key(i0, i, sp)
		res.base[sp].add(testutil.ULP(g0, want), key, func(u float64) sweepPoint { return s.point(i0, i, sp, dir, ys, dy, g0, want, u) })
		for k, b := range own {
			got := gots[k+1]
			st := &res.stats[d][b]
			st.add(testutil.ULP(got, want), key, func(u float64) sweepPoint { return s.point(i0, i, sp, dir, ys, dy, got, want, u) })
			if !testutil.SameBits(got, g0) {
				st.differ(s.point(i0, i, sp, dir, ys, dy, got, g0, testutil.ULP(got, g0)))
			}
		}
	}
	return nil
}

// key orders the results of a job: input, then dy. Ties in the report go to
// the first.
func (s *sweepJob[T]) key(i0 uint64, i, sp int) uint64 {
	return (i0+uint64(i))*8 + uint64(s.sDY[sp])
}

// point describes result got at input i of the chunk, against ref.
func (s *sweepJob[T]) point(i0 uint64, i, sp int, dir string, ys []T, dy, got, ref T, ulp float64) sweepPoint {
	p := sweepPoint{key: s.key(i0, i, sp), X: float64(s.input(i0 + uint64(i))), Got: float64(got), Ref: float64(ref), ULP: ulp}
	if dir != kerneltest.Forward {
		p.DY = float64(dy)
	}
	if ys != nil {
		p.Y = float64(ys[i])
	}
	return p
}

// specials checks the special-value table on every backend, bit for bit:
// forward rows, and backward rows at dy = 1 and, where the value is finite
// and nonzero, at dy = -1 (the negated value), as the tests do.
func (s *sweepJob[T]) specials(st *goState) ([]specialVerdict, error) {
	rows := s.sw.Specials()
	out := make([]specialVerdict, len(st.backends))
	if len(rows) == 0 {
		return out, nil
	}
	xs := make([]T, len(rows))
	for i, r := range rows {
		xs[i] = r.X
	}
	var specs []outSpec
	for _, dir := range s.job.dirs {
		switch dir {
		case kerneltest.Forward:
			specs = append(specs, outSpec{Dir: dir})
		case kerneltest.Backward:
			specs = append(specs, outSpec{Dir: dir, DY: 1}, outSpec{Dir: dir, DY: -1})
		}
	}
	if len(specs) == 0 {
		return out, nil
	}
	for b, w := range st.workers {
		outs := make([][]T, len(specs))
		var err error
		if w == nil {
			for sp := range outs {
				outs[sp] = make([]T, len(xs))
			}
			err = s.local.compute(specs, xs, nil, outs, nil)
		} else {
			req := s.request()
			req.Out = specs
			outs, err = workerOutputs(w, req, xs, nil)
		}
		if err != nil {
			return nil, err
		}
		v := &out[b]
		for sp, spec := range specs {
			for i, r := range rows {
				got := outs[sp][i]
				var want T
				var src string
				switch {
				case spec.Dir == kerneltest.Forward && r.HasForward:
					want, src = r.Forward, r.ForwardSrc
				case spec.Dir == kerneltest.Backward && r.HasBackward && spec.DY == 1:
					want, src = r.Backward, r.BackSrc
				case spec.Dir == kerneltest.Backward && r.HasBackward:
					want, src = -r.Backward, "-("+r.BackSrc+")"
					if want == 0 || want != want || math.IsInf(float64(want), 0) {
						continue // the sign of dy*0 and of dy*Inf is the formula's convention
					}
				default:
					continue
				}
				v.Checked++
				if !testutil.SameBits(got, want) {
					v.Failures = append(v.Failures, fmt.Sprintf("%s dy=%g x=%s: got %v [%#x], want %s = %v [%#x]",
						spec.Dir, spec.DY, r.XSrc, got, testutil.Bits(got), src, want, testutil.Bits(want)))
				}
			}
		}
	}
	return out, nil
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
