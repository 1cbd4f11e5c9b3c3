package main

// The sweep itself: the jobs, what a goroutine does with a chunk of a
// job's inputs (generate them, run the generic kernels here and ask the
// workers for theirs, judge every output against the reference), and the
// statistics the report is made of. Everything here decides verdicts, so
// a state file's fingerprints cover this file (check_fingerprint.go); the
// flags, the scheduling and the report are elsewhere.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/testutil"
	"github.com/actkern/actkern/kerneltest"
)

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
	N      uint64 // outputs judged (inputs × dy values)
	MaxULP float64
	Worst  sweepPoint
	NotCR  uint64 // results not correctly rounded (error > 0, or a zero of the wrong sign)
	Over1  uint64 // results more than 1 ULP off
	// ZeroSign counts the zeros whose sign is not the correctly rounded
	// result's (0 ULP off, but not the same result; NotCR counts them too).
	ZeroSign uint64
	Differ   uint64 // results not bit-identical to generic (any NaN matches NaN)
	MaxDiff  float64
	First    sweepPoint // the first differing result
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

// judged counts one result against want, the correctly rounded value.
func judged[T float32 | float64](s *dirStats, got, want T, key uint64, point func(ulp float64) sweepPoint) {
	s.add(testutil.ULP(got, want), key, point)
	if kerneltest.ZeroSignDiffers(got, want) {
		s.ZeroSign++
		s.NotCR++
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
	s.ZeroSign += o.ZeroSign
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
		judged(st, got[i], want, s.key(i0, i, sp), func(u float64) sweepPoint {
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
		judged(&res.base[sp], g0, want, key, func(u float64) sweepPoint { return s.point(i0, i, sp, dir, ys, dy, g0, want, u) })
		for k, b := range own {
			got := gots[k+1]
			st := &res.stats[d][b]
			judged(st, got, want, key, func(u float64) sweepPoint { return s.point(i0, i, sp, dir, ys, dy, got, want, u) })
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
