package kerneltest

import (
	"math"
	"slices"

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
}

// NewJudge returns a judge with freshly compiled reference formulas.
func (w *Sweep[T]) NewJudge() (*Judge[T], error) {
	r, err := w.s.newRefs()
	if err != nil {
		return nil, err
	}
	j := &Judge[T]{s: w.s, r: r}
	j.fwdArgs = append([]float64{0}, w.s.params...)
	j.dyArgs = append([]float64{0, 1}, w.s.params...)
	return j, nil
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
// and every output agrees with it, and the big.Float evaluation in every
// other case, so that each reported error is measured against the exact
// value. float64 is always evaluated exactly.
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
				if testutil.ULP(g, w) != 0 {
					agree = false
					break
				}
			}
			if agree {
				return w, nil
			}
		}
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
