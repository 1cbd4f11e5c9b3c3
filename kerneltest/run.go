package kerneltest

import (
	"fmt"
	"math"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/actkern/actkern/internal/testutil"
)

// tester is the part of *testing.T the checks use. It is an interface so
// that the harness's own tests can run the checks against a recorder and
// prove that each one fails on a broken kernel.
type tester interface {
	Helper()
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
	// Sub runs f as a subtest named name.
	Sub(name string, f func(tester)) bool
}

type stdT struct{ *testing.T }

func (t stdT) Sub(name string, f func(tester)) bool {
	return t.T.Run(name, func(t *testing.T) {
		t.Helper()
		f(stdT{t})
	})
}

// Run checks the kernels of one activation in one precision. It runs, for
// each direction present (forward, backward, backward_from_output) and each
// parameter set (the defaults, each of a.TestParams, then randomSets drawn
// at random: params.go), the subtests
//
//	special  the special-value table, bit for bit
//	kinks    the gradient at each kink (bit for bit; where the kink's
//	         abscissa rounds, the derivative at the rounded x will do
//	         too), and the floats within 4 ULP of each kink and of each
//	         threshold (both signs) against the reference
//	random   10^5 log-uniform inputs and 10^4 random bit patterns (10^4 and
//	         10^3 with -short; a tenth of that for the extra parameter sets)
//	         against the reference: max ULP <= MaxULP
//	nan      NaN in, NaN out, at every position of slices of length 0..33
//	shapes   lengths 0..40 against element-by-element calls, in place
//	         against out of place, panics on length mismatch and overlap
//	bounds   no access outside the slices (inaccessible pages around them)
//
// named e.g. TestSigmoid/forward/params=default/random.
func Run[T float32 | float64](t *testing.T, a Activation, k Kernels[T]) {
	t.Helper()
	run(stdT{t}, a, k, testing.Short())
}

// randomSets is how many random parameter sets Run checks besides the
// listed ones, for an activation with parameters.
const randomSets = 4

func run[T float32 | float64](t tester, a Activation, k Kernels[T], short bool) {
	t.Helper()
	if k.Forward == nil {
		t.Errorf("%s: Kernels.Forward is nil", a.Name)
		return
	}
	sets := append([]map[string]float64{nil}, a.TestParams...)
	sets = append(sets, randomParamSets(a, k, randomSets)...)
	setups := make([]*setup[T], 0, len(sets))
	for _, set := range sets {
		s, err := newSetup[T](&a, set)
		if err != nil {
			t.Errorf("%v", err)
			return
		}
		setups = append(setups, s)
	}
	n, nBits := 100_000, 10_000
	if short {
		n, nBits = 10_000, 1_000
	}
	xs, dys := randomInputs[T](n, nBits)
	// Extra parameter sets get a tenth of the inputs: the approximation is
	// the same code with other constants, and the exact float64 reference
	// (tens of µs per point) would otherwise put an activation with three
	// sets over the ~10 s budget. Their kinks, thresholds, specials, NaN
	// and shape checks are all still run in full.
	xsP, dysP := randomInputs[T](n/10, nBits/10)
	if k.Backward != nil && a.Derivative == "" {
		t.Errorf("%s: a Backward kernel is given but the activation has no derivative", a.Name)
	}
	if k.BackwardFromOutput != nil && a.DerivativeOutput == "" {
		t.Errorf("%s: a BackwardFromOutput kernel is given but the activation has no derivative_output", a.Name)
	}
	for _, dir := range []string{Forward, Backward, BackwardFromOutput} {
		if !slices.ContainsFunc(setups, func(s *setup[T]) bool { return s.hasDir(k, dir) }) {
			continue
		}
		t.Sub(dir, func(t tester) {
			for _, s := range setups {
				if !s.hasDir(k, dir) {
					if dir == BackwardFromOutput {
						t.Logf("params=%s: %s skipped: output_requires %q does not hold", s.label, dir, a.OutputRequires)
					}
					continue
				}
				t.Sub("params="+s.label, func(t tester) {
					c := &checker[T]{s: s, k: k, dir: dir}
					t.Sub("special", c.special)
					t.Sub("kinks", c.kinks)
					t.Sub("random", func(t tester) {
						if s.label == "default" {
							c.random(t, xs, dys)
						} else {
							c.random(t, xsP, dysP)
						}
					})
					t.Sub("nan", c.nan)
					t.Sub("shapes", c.shapes)
					t.Sub("bounds", c.bounds)
				})
			}
		})
	}
}

// checker runs the checks of one direction at one parameter set.
type checker[T float32 | float64] struct {
	s   *setup[T]
	k   Kernels[T]
	dir string
}

// name is the Go name of the function under test, as it appears in the
// kernels' panic messages.
func (c *checker[T]) name() string {
	switch c.dir {
	case Backward:
		return c.s.a.GoName + "Backward"
	case BackwardFromOutput:
		return c.s.a.GoName + "BackwardFromOutput"
	}
	return c.s.a.GoName
}

// call1 runs the kernel on one element.
func (c *checker[T]) call1(x, dy T) T {
	out := []T{0}
	switch c.dir {
	case Forward:
		c.k.Forward(out, []T{x}, c.s.pT)
	case Backward:
		c.k.Backward(out, []T{dy}, []T{x}, c.s.pT)
	case BackwardFromOutput:
		c.k.BackwardFromOutput(out, []T{dy}, []T{x}, c.s.pT)
	}
	return out[0]
}

// callN runs the kernel on slices; in is x, or y for BackwardFromOutput.
func (c *checker[T]) callN(out, dy, in []T) {
	switch c.dir {
	case Forward:
		c.k.Forward(out, in, c.s.pT)
	case Backward:
		c.k.Backward(out, dy, in, c.s.pT)
	case BackwardFromOutput:
		c.k.BackwardFromOutput(out, dy, in, c.s.pT)
	}
}

func fmtBits[T float32 | float64](v T) string {
	if testutil.Is32[T]() {
		return fmt.Sprintf("%v [%#08x]", v, testutil.Bits(v))
	}
	return fmt.Sprintf("%v [%#016x]", v, testutil.Bits(v))
}

// special checks the special-value table bit for bit. Backward rows use
// dy = 1, and dy = -1 must give the negated value wherever it is finite
// (a zero may come out with either sign: the sign of dy*0 is a convention
// of the formula, not of the gradient).
func (c *checker[T]) special(t tester) {
	t.Helper()
	if c.dir == BackwardFromOutput || len(c.s.special) == 0 {
		return // the table is over x; y-form kernels are covered by random
	}
	for _, row := range c.s.special {
		if c.dir == Forward {
			if !row.fwdValid {
				continue
			}
			if got := c.call1(row.x, 0); !testutil.SameBits(got, row.fwd) {
				t.Errorf("%s(%s = %s) = %s, want %s = %s", c.name(), row.src.X, fmtBits(row.x), fmtBits(got), row.src.Forward, fmtBits(row.fwd))
			}
			continue
		}
		if !row.hasBwd {
			continue
		}
		if got := c.call1(row.x, 1); !testutil.SameBits(got, row.bwd) {
			t.Errorf("%s(dy=1, x=%s = %s) = %s, want %s = %s", c.name(), row.src.X, fmtBits(row.x), fmtBits(got), row.src.Backward, fmtBits(row.bwd))
		}
		want := -row.bwd
		got := c.call1(row.x, -1)
		switch {
		case math.IsInf(float64(want), 0) || want != want:
		case want == 0:
			if got != 0 {
				t.Errorf("%s(dy=-1, x=%s) = %s, want ±0", c.name(), row.src.X, fmtBits(got))
			}
		case !testutil.SameBits(got, want):
			t.Errorf("%s(dy=-1, x=%s) = %s, want %s", c.name(), row.src.X, fmtBits(got), fmtBits(want))
		}
	}
}

// kinks checks the gradient at each kink exactly, then compares the floats
// around every kink and threshold with the reference: these are where
// branch conditions flip, and an off-by-one comparison (< for <=) shows up
// nowhere else.
func (c *checker[T]) kinks(t tester) {
	t.Helper()
	if c.dir == Backward {
		for _, kp := range c.s.kinks {
			got := c.call1(kp.at, 1)
			switch {
			case testutil.SameBits(got, kp.grad):
			case !kp.off:
				t.Errorf("%s(dy=1, x=%s = %s) = %s, want the kink gradient %s = %s", c.name(), kp.src.At, fmtBits(kp.at), fmtBits(got), kp.src.Gradient, fmtBits(kp.grad))
			case !testutil.SameBits(got, kp.formula):
				t.Errorf("%s(dy=1, x=%s = %s) = %s, want the kink gradient %s = %s or, as x is not the kink exactly, the derivative there, %s", c.name(), kp.src.At, fmtBits(kp.at), fmtBits(got), kp.src.Gradient, fmtBits(kp.grad), fmtBits(kp.formula))
			}
		}
	}
	var xs []T
	for _, kp := range c.s.kinks {
		xs = append(xs, testutil.Neighbours(kp.at, 4)...)
		if c.dir != Backward {
			xs = append(xs, kp.at) // f itself is continuous at a kink
		}
	}
	for _, th := range c.s.a.Thresholds {
		v := T(th.F64)
		if testutil.Is32[T]() {
			v = T(float32(th.F32))
		}
		for _, s := range []T{v, -v} {
			xs = append(xs, s)
			xs = append(xs, testutil.Neighbours(s, 4)...)
		}
	}
	if len(xs) == 0 {
		return
	}
	dys := make([]T, len(xs))
	for i := range dys {
		dys[i] = []T{1, -1, 0.75, -1.5}[i%4]
	}
	c.compare(t, "kink and threshold neighbours", xs, dys)
}

// random compares the kernel with the reference over the random inputs.
func (c *checker[T]) random(t tester, xs, dys []T) {
	t.Helper()
	c.compare(t, "random inputs", xs, dys)
}

func (c *checker[T]) compare(t tester, what string, xs, dys []T) {
	t.Helper()
	rep, err := c.s.measure(c.k, c.dir, xs, dys)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	t.Logf("%s %s params=%s: max %v ULP over %d %s, worst at %v", c.name(), c.dir, c.s.label, rep.MaxULP, rep.N, what, rep.Worst)
	bar, gap := Bar[T](*c.s.a, c.dir)
	if gap != nil {
		t.Logf("KNOWN ACCURACY GAP: %s %s is on record at %v ULP, over the %d-ULP bar: %s", c.name(), c.dir, gap.MaxULP, MaxULP, gap.Why)
	}
	if rep.MaxULP > bar {
		var b strings.Builder
		for _, e := range rep.Examples {
			fmt.Fprintf(&b, "\n\t%v", e)
		}
		t.Errorf("%s: %d of %d %s over the %d ULP bar; worst %v; first ones:%s", c.name(), rep.Over, rep.N, what, MaxULP, rep.Worst, b.String())
	}
	if rep.ZeroSign > 0 {
		t.Errorf("%s: %d of %d %s give a zero of the wrong sign; first at %v", c.name(), rep.ZeroSign, rep.N, what, rep.FirstZeroSign)
	}
}

// ordinary returns n finite values of moderate size, the background
// against which a NaN or a length is tested.
func ordinary[T float32 | float64](n int, seed uint64) []T {
	r := testutil.NewRand(seed)
	out := make([]T, n)
	for i := range out {
		out[i] = testutil.LogUniform[T](r, 1e-3, 20)
	}
	return out
}

// nan checks NaN in, NaN out: a NaN (of each kind, payloads included) at
// every position of slices of length 1..33, in each input, must give NaN
// at that position and leave the other positions as they are when computed
// one by one.
func (c *checker[T]) nan(t tester) {
	t.Helper()
	const maxLen = 33
	ins, dys := ordinary[T](maxLen, 11), ordinary[T](maxLen, 12)
	if c.dir == BackwardFromOutput {
		// y must be a possible output, not any number.
		c.k.Forward(ins, ins, c.s.pT)
	}
	one := make([]T, maxLen)
	for i := range one {
		one[i] = c.call1(ins[i], dys[i])
	}
	inputs := []string{"x"}
	if c.dir == BackwardFromOutput {
		inputs[0] = "y"
	}
	if c.dir != Forward {
		inputs = append(inputs, "dy")
	}
	for _, which := range inputs {
		failures := 0 // counted per input, so each one's first failures show
		for _, nan := range testutil.NaNs[T]() {
			for n := 1; n <= maxLen; n++ {
				for pos := range n {
					in, dy := append([]T(nil), ins[:n]...), append([]T(nil), dys[:n]...)
					if which == "dy" {
						dy[pos] = nan
					} else {
						in[pos] = nan
					}
					out := make([]T, n)
					c.callN(out, dy, in)
					for i, v := range out {
						ok := v != v
						if i != pos {
							ok = testutil.SameBits(v, one[i])
						}
						if !ok {
							failures++
							if failures <= maxExamples {
								t.Errorf("%s: len %d, %s[%d] = NaN %s: out[%d] = %s, want %s", c.name(), n, which, pos, fmtBits(nan), i, fmtBits(v), map[bool]string{true: "NaN", false: fmtBits(one[i])}[i == pos])
							}
						}
					}
				}
			}
		}
		if failures > maxExamples {
			t.Errorf("%s: %d failures in all with NaN in %s", c.name(), failures, which)
		}
	}
}

// shapes checks that every length 0..40 (and one long slice) gives the
// same bits as element-by-element calls (SIMD body and scalar tail agree),
// that in-place calls give the same bits as out-of-place ones, and that
// mismatched lengths and partial overlaps panic with a useful message.
func (c *checker[T]) shapes(t tester) {
	t.Helper()
	lens := make([]int, 0, 44)
	for n := 0; n <= 40; n++ {
		lens = append(lens, n)
	}
	lens = append(lens, 63, 64, 65, 1000)
	mismatches := 0 // lengths at which some element disagreed
	for _, n := range lens {
		in, dy := c.inputs(n, uint64(n))
		want := make([]T, n)
		for i := range want {
			want[i] = c.call1(in[i], dy[i])
		}
		check := func(how string, got []T) {
			for i := range got {
				if !testutil.SameBits(got[i], want[i]) {
					mismatches++
					if mismatches > maxExamples {
						return
					}
					t.Errorf("%s, len %d, %s: out[%d] = %s, but %s on that element alone = %s (input %s)", c.name(), n, how, i, fmtBits(got[i]), c.name(), fmtBits(want[i]), fmtBits(in[i]))
					return
				}
			}
		}
		out := make([]T, n)
		c.callN(out, dy, in)
		check("out of place", out)

		buf := append([]T(nil), in...)
		c.callN(buf, dy, buf)
		check("in place (output = "+c.inName()+")", buf)
		if c.dir != Forward {
			buf = append([]T(nil), dy...)
			c.callN(buf, buf, in)
			check("in place (output = dy)", buf)
		}
	}

	if mismatches > maxExamples {
		t.Errorf("%s: %d (length, mode) pairs in all disagree with element-by-element calls", c.name(), mismatches)
	}

	// Length mismatches: 5 and 7 are distinctive in a message.
	mism := [][3]int{{5, 7, 7}, {7, 5, 7}, {7, 7, 5}} // out, dy, in
	if c.dir == Forward {
		mism = [][3]int{{5, 7, 7}, {7, 7, 5}}
	}
	lenRE := regexp.MustCompile(`\b5\b[^0-9]*\b7\b|\b7\b[^0-9]*\b5\b`)
	for _, m := range mism {
		out, dy, in := make([]T, m[0]), ordinary[T](m[1], 1), ordinary[T](m[2], 2)
		msg, ok := panics(func() { c.callN(out, dy, in) })
		desc := fmt.Sprintf("len(out) = %d, len(%s) = %d", m[0], c.inName(), m[2])
		if c.dir != Forward {
			desc += fmt.Sprintf(", len(dy) = %d", m[1])
		}
		switch {
		case !ok:
			t.Errorf("%s with %s did not panic", c.name(), desc)
		case !strings.Contains(msg, c.name()) || !lenRE.MatchString(msg):
			t.Errorf("%s with %s panicked with %q, which does not name the function and both lengths", c.name(), desc, msg)
		}
	}

	// Partial overlaps between the output and each input, both ways round.
	const n = 8
	inputs := []string{c.inName()}
	if c.dir != Forward {
		inputs = append(inputs, "dy")
	}
	for _, which := range inputs {
		for _, shift := range []int{1, -1} {
			buf := ordinary[T](n+1, 3)
			out, other := buf[1:n+1], buf[0:n]
			if shift < 0 {
				out, other = buf[0:n], buf[1:n+1]
			}
			in, dy := ordinary[T](n, 4), ordinary[T](n, 5)
			if which == "dy" {
				dy = other
			} else {
				in = other
			}
			msg, ok := panics(func() { c.callN(out, dy, in) })
			desc := fmt.Sprintf("output overlapping %s shifted by %d", which, shift)
			switch {
			case !ok:
				t.Errorf("%s with %s did not panic", c.name(), desc)
			case !strings.Contains(msg, "overlap"):
				t.Errorf("%s with %s panicked with %q, which does not say overlap", c.name(), desc, msg)
			}
		}
	}
}

func (c *checker[T]) inName() string {
	if c.dir == BackwardFromOutput {
		return "y"
	}
	return "x"
}

// inputs returns n inputs (x, or y = forward(x) for BackwardFromOutput) and
// n gradients, mixing ordinary values with special ones so that every lane
// of the body and the tail sees branch changes.
func (c *checker[T]) inputs(n int, seed uint64) (in, dy []T) {
	in = ordinary[T](n, 100+seed)
	dy = ordinary[T](n, 200+seed)
	sp := testutil.Special[T]()
	r := testutil.NewRand(300 + seed)
	for i := range in {
		switch r.IntN(4) {
		case 0:
			in[i] = -in[i]
		case 1:
			in[i] = sp[r.IntN(len(sp))]
		}
		if r.IntN(2) == 0 {
			dy[i] = -dy[i]
		}
	}
	if c.dir == BackwardFromOutput {
		c.k.Forward(in, in, c.s.pT)
	}
	return in, dy
}

// panics runs f and returns the panic message, if any.
func panics(f func()) (msg string, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			msg, ok = fmt.Sprint(p), true
		}
	}()
	f()
	return "", false
}

// bounds runs the kernel on slices placed flush against inaccessible
// pages, before and after, so that a read or write outside the slices (a
// masked tail that is not masked, a body that runs one vector too far)
// faults; the fault is turned into a test failure.
func (c *checker[T]) bounds(t tester) {
	t.Helper()
	if !testutil.GuardPagesWork {
		t.Logf("no guard pages on this platform: bounds not checked")
		return
	}
	lens := []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025}
	for _, atEnd := range []bool{true, false} {
		for _, n := range lens {
			in0, dy0 := c.inputs(n, uint64(1000+n))
			want := make([]T, n)
			c.callN(want, dy0, in0)
			go1, gi, gd := testutil.NewGuarded[T](n, 0, atEnd), testutil.NewGuarded[T](n, 0, atEnd), testutil.NewGuarded[T](n, 0, atEnd)
			out, in, dy := go1.S, gi.S, gd.S
			f1, f2, f3 := go1.Free, gi.Free, gd.Free
			copy(in, in0)
			copy(dy, dy0)
			msg, faulted := guardedCall(func() { c.callN(out, dy, in) })
			if faulted {
				t.Errorf("%s, len %d: access outside the slices (guard page %s): %s", c.name(), n, map[bool]string{true: "after", false: "before"}[atEnd], msg)
			} else {
				for i := range out {
					if !testutil.SameBits(out[i], want[i]) {
						t.Errorf("%s, len %d: out[%d] = %s on guarded slices, %s on ordinary ones", c.name(), n, i, fmtBits(out[i]), fmtBits(want[i]))
						break
					}
				}
			}
			f1()
			f2()
			f3()
		}
	}
}

// guardedCall runs f with memory faults turned into panics.
func guardedCall(f func()) (msg string, faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return panics(f)
}
