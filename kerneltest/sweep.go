package kerneltest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"math"
	"slices"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
)

// Sweep judges kernel outputs input by input against the correctly rounded
// reference, for sweeps far larger than the tests' (`actkern check`: every
// float32, 10^7 float64 samples). It is the tests' verdict (the same
// special-value table, NaN rule, thresholds and fast/exact policy), exported
// in a form that lets one reference evaluation serve many outputs: every
// backend's, and every dy of a backward kernel.
type Sweep[T float32 | float64] struct {
	s *setup[T]
}

// NewSweep prepares activation a at a parameter set (nil: the defaults; a
// set names only the parameters it changes).
func NewSweep[T float32 | float64](a Activation, params map[string]float64) (*Sweep[T], error) {
	s, err := newSetup[T](&a, params)
	if err != nil {
		return nil, err
	}
	return &Sweep[T]{s: s}, nil
}

// Label is "default" or the parameter set, e.g. "beta=2,threshold=10".
func (w *Sweep[T]) Label() string { return w.s.label }

// KernelParams are the parameter values as the kernels see them (rounded to
// T), in the activation's parameter order.
func (w *Sweep[T]) KernelParams() []T { return slices.Clone(w.s.pT) }

// Has reports whether direction dir exists at these parameters: the
// activation has the formula, and for BackwardFromOutput its
// output_requires condition holds.
func (w *Sweep[T]) Has(dir string) bool {
	switch dir {
	case Forward:
		return true
	case Backward:
		return w.s.a.Derivative != ""
	case BackwardFromOutput:
		return w.s.a.DerivativeOutput != "" && w.s.outputOK
	}
	return false
}

// SpecialValue is one row of the spec's special-value table at these
// parameters: the exact x, and f(x) and f'(x) rounded to T. The kernels must
// give these bit for bit (any NaN matches NaN).
type SpecialValue[T float32 | float64] struct {
	X, Forward, Backward      T
	HasForward, HasBackward   bool
	XSrc, ForwardSrc, BackSrc string // the table's formulas, for messages
}

// Specials returns the special-value table at these parameters.
func (w *Sweep[T]) Specials() []SpecialValue[T] {
	out := make([]SpecialValue[T], len(w.s.special))
	for i, r := range w.s.special {
		out[i] = SpecialValue[T]{
			X: r.x, Forward: r.fwd, Backward: r.bwd,
			HasForward: r.fwdValid, HasBackward: r.hasBwd,
			XSrc: r.src.X, ForwardSrc: r.src.Forward, BackSrc: r.src.Backward,
		}
	}
	return out
}

// Judge evaluates the reference for one goroutine (it holds its own compiled
// formulas and argument buffers; it is not safe for concurrent use).
type Judge[T float32 | float64] struct {
	s       *setup[T]
	r       *refs
	fwdArgs []float64 // x, params...
	dyArgs  []float64 // x or y, dy, params...
	// Exact counts the big.Float evaluations made: the cost of the inputs
	// the fast path could not decide.
	Exact int64

	// The fast formulas compiled together with the parameters fixed, for
	// FastX and FastY: built on first use, per set of directions.
	xprogs  map[[2]bool]*reference.ProgramEval
	yprog   *reference.ProgramEval
	xbuf    []float64
	outs    [][]float64
	special uint64 // bit h(x) set for each x of the special-value table

	// dy*(formula) of each direction (dy = 1 for Forward), for exactOf.
	exactProgs map[string]*reference.ProgramEval
	exactArgs  [2]float64
	exactOut   [1]float64
	exactOK    [1]bool
}

// NewJudge returns a judge with freshly compiled reference formulas.
func (w *Sweep[T]) NewJudge() (*Judge[T], error) {
	r, err := w.s.newRefs()
	if err != nil {
		return nil, err
	}
	j := &Judge[T]{s: w.s, r: r, xprogs: map[[2]bool]*reference.ProgramEval{}, exactProgs: map[string]*reference.ProgramEval{}}
	j.fwdArgs = append([]float64{0}, w.s.params...)
	j.dyArgs = append([]float64{0, 1}, w.s.params...)
	for _, row := range w.s.special {
		j.special |= 1 << specialHash(row.xBits)
	}
	return j, nil
}

// specialHash picks the bit of Judge.special that stands for bit pattern b.
func specialHash(b uint64) uint64 { return (b * 0x9e3779b97f4a7c15) >> 58 }

// exactOf returns the value of direction dir at input in and gradient dy
// (1 for Forward) rounded to T, when the float64 evaluation of the formula
// is exact (see reference.ProgramEval.EvalExact): the value the big.Float
// evaluation would return, at the cost of a fast one. It is how an output
// exactly on a rounding boundary (hardswish' = (2x+3)/6 is a float32
// midpoint for 1/12 of all x) or a piecewise-linear float64 kernel is
// judged without big.Float.
func (j *Judge[T]) exactOf(dir string, in, dy T) (T, bool) {
	p, ok := j.exactProgs[dir]
	if !ok {
		var src string
		switch dir {
		case Forward:
			src = j.s.a.Forward
		case Backward:
			src = j.s.a.Derivative
		case BackwardFromOutput:
			src = j.s.a.DerivativeOutput
		}
		if src != "" {
			in := "x"
			if dir == BackwardFromOutput {
				in = "y"
			}
			// A formula that does not compile here has no fast path: the
			// exact evaluation reports the error.
			p, _ = j.program([]string{in, j.s.dyName}, j.s.dyName+"*("+src+")")
		}
		j.exactProgs[dir] = p
	}
	if p == nil {
		return 0, false
	}
	j.exactArgs[0], j.exactArgs[1] = float64(in), float64(dy)
	if dir == Forward {
		j.exactArgs[1] = 1
	}
	p.EvalExact(j.exactArgs[:], j.exactOut[:], j.exactOK[:])
	if !j.exactOK[0] {
		return 0, false
	}
	if testutil.Is32[T]() {
		return T(float32(j.exactOut[0])), true // rounded once, to nearest even
	}
	return T(j.exactOut[0]), true
}

// program compiles formulas for the fast evaluations over the variables
// vars, with the parameters fixed.
func (j *Judge[T]) program(vars []string, srcs ...string) (*reference.ProgramEval, error) {
	fixed := map[string]float64{}
	for i, name := range j.s.names {
		fixed[name] = j.s.params[i]
	}
	es := make([]ast.Expr, len(srcs))
	for k, src := range srcs {
		e, err := parser.ParseExpr(src)
		if err != nil {
			return nil, fmt.Errorf("%s: parse %q: %v", j.s.a.Name, src, err)
		}
		es[k] = e
	}
	p, err := reference.CompileProgram(es, vars, j.s.consts, fixed)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", j.s.a.Name, err)
	}
	return p.NewEval(), nil
}

// FastX sets fwd[i] to Fast(Forward, xs[i]) and bwd[i] to Fast(Backward,
// xs[i]), the same values, for every i; either slice may be nil (not
// wanted). The formulas are evaluated together, so what the derivative
// shares with the forward formula is computed once per x.
func (j *Judge[T]) FastX(xs []T, fwd, bwd []float64) error {
	if !testutil.Is32[T]() || (fwd == nil && bwd == nil) || (bwd != nil && j.s.a.Derivative == "") {
		j.fastEach(Forward, xs, fwd)
		j.fastEach(Backward, xs, bwd)
		return nil
	}
	key := [2]bool{fwd != nil, bwd != nil}
	p := j.xprogs[key]
	if p == nil {
		var srcs []string
		if fwd != nil {
			srcs = append(srcs, j.s.a.Forward)
		}
		if bwd != nil {
			// Fast(Backward) is dy*(derivative) at dy = 1: the
			// derivative's own value, exactly.
			srcs = append(srcs, j.s.a.Derivative)
		}
		var err error
		if p, err = j.program([]string{"x"}, srcs...); err != nil {
			return err
		}
		j.xprogs[key] = p
	}
	return j.batch(p, xs, Forward, fwd, Backward, bwd)
}

// FastY sets out[i] to Fast(BackwardFromOutput, ys[i]) for every i.
func (j *Judge[T]) FastY(ys []T, out []float64) error {
	if !testutil.Is32[T]() || j.s.a.DerivativeOutput == "" {
		j.fastEach(BackwardFromOutput, ys, out)
		return nil
	}
	if j.yprog == nil {
		p, err := j.program([]string{"y"}, j.s.a.DerivativeOutput)
		if err != nil {
			return err
		}
		j.yprog = p
	}
	return j.batch(j.yprog, ys, BackwardFromOutput, out, "", nil)
}

// batch evaluates p at every input into a (direction dirA, p's first
// formula) and b (dirB, the next), as Fast does: NaN at a NaN input, and
// NaN where the evaluation fails.
func (j *Judge[T]) batch(p *reference.ProgramEval, ins []T, dirA string, a []float64, dirB string, b []float64) error {
	defer func() {
		if r := recover(); r != nil {
			// Not expected of float64 arithmetic; Fast's per-input
			// answer (NaN where it fails) stands in.
			j.fastEach(dirA, ins, a)
			j.fastEach(dirB, ins, b)
		}
	}()
	j.xbuf = slices.Grow(j.xbuf[:0], len(ins))[:len(ins)]
	for i, in := range ins {
		j.xbuf[i] = float64(in)
	}
	outs := j.outs[:0]
	for _, o := range [][]float64{a, b} {
		if o != nil {
			outs = append(outs, o[:len(ins)])
		}
	}
	j.outs = outs
	p.EvalColumns(j.xbuf, outs)
	for i, in := range ins {
		if in != in {
			for _, o := range outs {
				o[i] = math.NaN()
			}
		}
	}
	return nil
}

// fastEach fills out (if not nil) one Fast call at a time.
func (j *Judge[T]) fastEach(dir string, ins []T, out []float64) {
	for i := range out {
		out[i] = j.Fast(dir, ins[i])
	}
}

// SpecialIndices appends to dst the indices i at which ins[i] is an x of
// the special-value table (for Forward and Backward, Want answers there from
// the table, not from the formula) and returns it.
func (j *Judge[T]) SpecialIndices(ins []T, dst []int32) []int32 {
	if j.special == 0 {
		return dst
	}
	for i, in := range ins {
		b := testutil.Bits(in)
		if j.special>>specialHash(b)&1 != 0 && j.s.specialFor(in) != nil {
			dst = append(dst, int32(i))
		}
	}
	return dst
}

// Screen settles, without Want, the outputs it can: got[i], one kernel's
// output at input i and gradient dy (1 for Forward), where the direction's
// fast value is fast[i], is correctly rounded where it equals fast[i]*dy
// rounded to float32 and that value is not near a rounding boundary:
// exactly what Want would decide with gots = {got[i]}. Screen appends the
// other indices to slow, in order, and returns it: those need Want (and
// perhaps the exact evaluation). special are the indices Want answers from
// the special-value table (SpecialIndices; nil for BackwardFromOutput),
// which always go to slow. For float64 every index goes to slow.
func (j *Judge[T]) Screen(dy T, fast []float64, got []T, special []int32, slow []int32) []int32 {
	if !testutil.Is32[T]() {
		for i := range got {
			slow = append(slow, int32(i))
		}
		return slow
	}
	d := float64(dy)
	got = got[:len(fast)]
	start := len(slow)
	// Room for every index, so that the loop stores without appending.
	slow = slices.Grow(slow, len(fast))
	buf, k := slow[:start+len(fast)], start
	const (
		minNormal = 0x3810000000000000 // float64 bits of 2^-126
		maxFinite = 0x47efffffe0000000 // of math.MaxFloat32
	)
	for i, f := range fast {
		v := f * d
		// NaN (a NaN input, or a failed evaluation) never equals.
		// A zero must match the fast value's sign too (a kernel's zero of
		// the other sign goes to the exact evaluation).
		if float32(v) == float32(got[i]) && math.Signbit(v) == math.Signbit(float64(got[i])) {
			// The common case: a normal float32 result, v not near a
			// rounding boundary (nearBoundary32Fast, inlined, on the bits
			// of |v|).
			b := math.Float64bits(v) &^ (1 << 63)
			m := b&(1<<29-1) - (1<<28 - 1<<9 + 1) // below 2^10-1 when near
			if b-minNormal < maxFinite-minNormal && m >= 1<<10-1 {
				continue
			}
			// Zero, and the subnormal range (the general test).
			if b < minNormal && (b == 0 || !nearBoundary32(v)) {
				continue
			}
		}
		buf[k] = int32(i)
		k++
	}
	slow = buf[:k]
	for _, k := range special {
		if at, found := slices.BinarySearch(slow[start:], k); !found {
			slow = slices.Insert(slow, start+at, k)
		}
	}
	return slow
}

// Fast is the fast float64 value of the reference at in (x, or y for
// BackwardFromOutput) with dy = 1, to be passed to Want for every dy and
// every output judged at that input: the formula is evaluated once. For
// float64 sweeps (always exact) and where the fast evaluation fails it is
// NaN, which makes Want evaluate exactly.
func (j *Judge[T]) Fast(dir string, in T) float64 {
	if !testutil.Is32[T]() || in != in {
		return math.NaN()
	}
	var f refFunc
	args := j.dyArgs
	switch dir {
	case Forward:
		f, args = j.r.fwd, j.fwdArgs
	case Backward:
		f = j.r.bwd
	case BackwardFromOutput:
		f = j.r.out
	}
	if f == nil {
		return math.NaN()
	}
	args[0] = float64(in)
	if dir != Forward {
		args[1] = 1
	}
	v, err := call(func() float64 { return f.Fast(args...) })
	if err != nil {
		return math.NaN()
	}
	return v
}

// Want returns the exact value of direction dir at input in (x, or y for
// BackwardFromOutput) and gradient dy (ignored for Forward), rounded once to
// T: the value every output in gots is judged against. It is the tests'
// verdict (see setup.want): NaN in gives NaN; an x of the special-value
// table takes the table's value; otherwise, for float32, fast*dy rounded to
// float32 when that value is not within 2^-20 ULP of a rounding boundary
// and every output agrees with it; otherwise the float64 evaluation where
// it is exact (every operation exact: exactOf), and the big.Float
// evaluation in every other case, so that each reported error is measured
// against the exact value. float64 is always evaluated exactly, by one of
// the last two.
func (j *Judge[T]) Want(dir string, in, dy T, fast float64, gots []T) (T, error) {
	nan := T(math.NaN())
	if in != in || (dir != Forward && dy != dy) {
		return nan, nil
	}
	var f refFunc
	args := j.dyArgs
	switch dir {
	case Forward:
		if row := j.s.specialFor(in); row != nil && row.fwdValid {
			return row.fwd, nil
		}
		f, args = j.r.fwd, j.fwdArgs
		dy = 1
	case Backward:
		f = j.r.bwd
		if row := j.s.specialFor(in); row != nil && row.hasBwd {
			// The table's f'(x) is already rounded to T, so dy times it is
			// the correctly rounded dy*f'(x) only when that product is
			// exact: dy = ±1, or f'(x) zero or infinite. Otherwise the
			// formula decides (mish'(0) = 0.6: 0.75 * float32(0.6) rounds
			// to 0.45000002, but 0.75*0.6 to 0.44999999), and the table
			// only where the formula is indeterminate (NaN).
			b := row.bwd
			if dy == 1 || dy == -1 || b == 0 || math.IsInf(float64(b), 0) {
				return T(float64(dy) * float64(b)), nil
			}
			j.dyArgs[0], j.dyArgs[1] = float64(in), float64(dy)
			j.Exact++
			v, err := callT(func() T { return exactT[T](f, j.dyArgs) })
			if err != nil || v != v {
				return T(float64(dy) * float64(b)), nil
			}
			return v, nil
		}
	case BackwardFromOutput:
		f = j.r.out
	}
	if f == nil {
		return nan, errNoFormula(j.s.a.Name, dir)
	}
	if testutil.Is32[T]() {
		v := fast * float64(dy)
		if !math.IsNaN(v) && !math.IsInf(v, 0) && !nearBoundary32Fast(v) {
			w := T(float32(v))
			agree := true
			for _, g := range gots {
				if testutil.ULP(g, w) != 0 || ZeroSignDiffers(g, w) {
					agree = false
					break
				}
			}
			if agree {
				return w, nil
			}
		}
	}
	if v, ok := j.exactOf(dir, in, dy); ok {
		return v, nil
	}
	args[0] = float64(in)
	if dir != Forward {
		args[1] = float64(dy)
	}
	j.Exact++
	return callT(func() T { return exactT[T](f, args) })
}

type noFormulaError struct{ name, dir string }

func (e noFormulaError) Error() string { return e.name + ": no formula for direction " + e.dir }

func errNoFormula(name, dir string) error { return noFormulaError{name, dir} }

// nearBoundary32Fast is nearBoundary32, read off the bits where v is in the
// normal float32 range: there the float32 grid around v has the spacing of
// v's own binade, 2^29 float64 ULPs, so v lies within 2^-20 of its ULP of a
// midpoint exactly when the 29 bits float32 drops are within 2^9 of
// 2^28. (A v that is itself a float32, all 29 bits zero, is not near.)
// The subnormal and overflow ranges take the general path.
func nearBoundary32Fast(v float64) bool {
	a := math.Abs(v)
	if a < 0x1p-126 || a >= math.MaxFloat32 {
		return nearBoundary32(v)
	}
	m := int64(math.Float64bits(a) & (1<<29 - 1))
	d := m - 1<<28
	return d > -(1<<9) && d < 1<<9
}
