package kerneltest

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/actkern/actkern/internal/testutil"
)

// Point is one compared input. Y is the forward output fed to the
// backward-from-output kernel (zero otherwise); DY the incoming gradient
// (zero for the forward direction).
type Point struct {
	X, Y, DY  float64
	Got, Want float64
	ULP       float64
}

func (p Point) String() string {
	return fmt.Sprintf("x=%v (y=%v, dy=%v): got %v, want %v (%v ULP)", p.X, p.Y, p.DY, p.Got, p.Want, p.ULP)
}

// Report is the outcome of comparing one kernel with the reference over a
// set of inputs.
type Report struct {
	Dir    string // Forward, Backward or BackwardFromOutput
	Params string // "default" or the parameter set, e.g. "beta=2"
	N      int    // inputs compared
	MaxULP float64
	Worst  Point // the input with the largest error (the first one on ties)
	Over   int   // inputs with an error above the MaxULP bar
	// Examples are the first few inputs over the bar, in input order.
	Examples []Point
	// ZeroSign counts the zeros whose sign is not the reference's (+0
	// for -0 or the reverse: 0 ULP apart, but PyTorch and IEEE
	// arithmetic tell them apart), and FirstZeroSign is the first one.
	ZeroSign      int
	FirstZeroSign Point
}

const maxExamples = 5

// Measure compares one direction of a kernel with the reference at the
// default parameters over n log-uniform inputs in [1e-30, 1e4] of both
// signs plus n/10 random bit patterns (deterministic), and returns the
// largest error in ULPs and the x where it occurs. It panics if the
// activation's formulas do not compile or dir has no kernel; use
// MeasureParams for an error instead.
func Measure[T float32 | float64](a Activation, k Kernels[T], dir string, n int) (maxULP float64, worstX T) {
	r, err := MeasureParams(a, k, dir, nil, n)
	if err != nil {
		panic("kerneltest.Measure: " + err.Error())
	}
	return r.MaxULP, T(r.Worst.X)
}

// MeasureParams is Measure with a parameter set (nil: the defaults) and the
// full report.
func MeasureParams[T float32 | float64](a Activation, k Kernels[T], dir string, params map[string]float64, n int) (Report, error) {
	s, err := newSetup[T](&a, params)
	if err != nil {
		return Report{}, err
	}
	xs, dys := randomInputs[T](n, n/10)
	return s.measure(k, dir, xs, dys)
}

// Seeds of the input sets: fixed, so that every run (and every machine)
// tests the same inputs and a failure reproduces.
const (
	seedX  = 0x61637400 // "act\0"
	seedDY = 0x61637401
)

// randomInputs returns the x values of the random check and, for each, a
// gradient dy drawn from [-2, 2].
func randomInputs[T float32 | float64](n, nBits int) (xs, dys []T) {
	xs = testutil.Inputs[T](seedX, n, nBits)
	r := testutil.NewRand(seedDY)
	dys = make([]T, len(xs))
	for i := range dys {
		dys[i] = testutil.Uniform[T](r, -2, 2)
	}
	return xs, dys
}

// hasDir reports whether the kernels and the activation provide direction dir
// at these parameters.
func (s *setup[T]) hasDir(k Kernels[T], dir string) bool {
	switch dir {
	case Forward:
		return k.Forward != nil
	case Backward:
		return k.Backward != nil && s.a.Derivative != ""
	case BackwardFromOutput:
		return k.BackwardFromOutput != nil && k.Forward != nil && s.a.DerivativeOutput != "" && s.outputOK
	}
	return false
}

// apply runs the kernel of direction dir over whole slices: the inputs are
// passed in one call, so the SIMD body sees them as the user's arrays would.
// For BackwardFromOutput the forward kernel first computes y from xs, and y
// is returned too.
func (s *setup[T]) apply(k Kernels[T], dir string, xs, dys []T) (out, ys []T) {
	out = make([]T, len(xs))
	switch dir {
	case Forward:
		k.Forward(out, xs, s.pT)
	case Backward:
		k.Backward(out, dys, xs, s.pT)
	case BackwardFromOutput:
		ys = make([]T, len(xs))
		k.Forward(ys, xs, s.pT)
		k.BackwardFromOutput(out, dys, ys, s.pT)
	}
	return out, ys
}

// measure runs the kernel of direction dir on xs (and dys) and compares
// every result with the reference, spreading the reference evaluations
// over GOMAXPROCS goroutines.
func (s *setup[T]) measure(k Kernels[T], dir string, xs, dys []T) (Report, error) {
	rep := Report{Dir: dir, Params: s.label, N: len(xs)}
	if !s.hasDir(k, dir) {
		return rep, fmt.Errorf("%s: no %s kernel to measure at params %s", s.a.Name, dir, s.label)
	}
	got, ys := s.apply(k, dir, xs, dys)

	workers := max(1, min(runtime.GOMAXPROCS(0), len(xs)/256))
	chunk := (len(xs) + workers - 1) / workers
	type part struct {
		rep      Report
		worstIdx int
		err      error
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, len(xs))
		wg.Go(func() {
			p := &parts[w]
			p.worstIdx = -1
			r, err := s.newRefs()
			if err != nil {
				p.err = err
				return
			}
			for i := lo; i < hi; i++ {
				in := xs[i]
				pt := Point{X: float64(xs[i]), Got: float64(got[i])}
				if dir != Forward {
					pt.DY = float64(dys[i])
				}
				if dir == BackwardFromOutput {
					in = ys[i]
					pt.Y = float64(ys[i])
				}
				want, err := s.want(r, dir, in, dys[i], got[i])
				if err != nil {
					p.err = fmt.Errorf("%s %s at %v: %v", s.a.Name, dir, pt, err)
					return
				}
				pt.Want = float64(want)
				pt.ULP = testutil.ULP(got[i], want)
				if ZeroSignDiffers(got[i], want) {
					if p.rep.ZeroSign == 0 {
						p.rep.FirstZeroSign = pt
					}
					p.rep.ZeroSign++
				}
				if p.worstIdx < 0 || pt.ULP > p.rep.MaxULP {
					p.rep.MaxULP, p.rep.Worst, p.worstIdx = pt.ULP, pt, i
				}
				if pt.ULP > MaxULP {
					p.rep.Over++
					if len(p.rep.Examples) < maxExamples {
						p.rep.Examples = append(p.rep.Examples, pt)
					}
				}
			}
		})
	}
	wg.Wait()
	// Merge in input order, so the result does not depend on scheduling.
	first := true
	for _, p := range parts {
		if p.err != nil {
			return rep, p.err
		}
		if p.worstIdx < 0 {
			continue
		}
		if first || p.rep.MaxULP > rep.MaxULP {
			rep.MaxULP, rep.Worst = p.rep.MaxULP, p.rep.Worst
			first = false
		}
		rep.Over += p.rep.Over
		if rep.ZeroSign == 0 && p.rep.ZeroSign > 0 {
			rep.FirstZeroSign = p.rep.FirstZeroSign
		}
		rep.ZeroSign += p.rep.ZeroSign
		for _, e := range p.rep.Examples {
			if len(rep.Examples) < maxExamples {
				rep.Examples = append(rep.Examples, e)
			}
		}
	}
	return rep, nil
}

// ZeroSignDiffers reports whether got and want are zeros of opposite
// signs: 0 ULP apart, but not the same result.
func ZeroSignDiffers[T float32 | float64](got, want T) bool {
	return got == 0 && want == 0 && math.Signbit(float64(got)) != math.Signbit(float64(want))
}
