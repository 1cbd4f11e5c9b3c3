package kerneltest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
)

// refFunc is what the harness needs of a compiled reference formula.
type refFunc interface {
	Float64(args ...float64) float64
	Float32(args ...float64) float32
	Fast(args ...float64) float64
}

func compileRef(src string, vars []string, consts map[string]string) (refFunc, error) {
	e, err := parser.ParseExpr(src)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %v", src, err)
	}
	return compileExpr(e, vars, consts)
}

func compileExpr(e ast.Expr, vars []string, consts map[string]string) (refFunc, error) {
	f, err := reference.Compile(e, vars, consts)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// setup is one activation at one parameter set, in precision T: everything
// the checks need that does not depend on the input.
type setup[T float32 | float64] struct {
	a      *Activation
	label  string    // "default" or "beta=2,threshold=10"
	names  []string  // parameter names, kernel order
	params []float64 // parameter values as the kernel sees them (rounded to T)
	pT     []T
	consts map[string]string
	dyName string // variable standing for dy in the backward formulas

	outputOK bool // DerivativeOutput is valid for these parameters
	special  []specialRow[T]
	kinks    []kinkPoint[T]
}

type specialRow[T float32 | float64] struct {
	src    Special
	x, fwd T
	bwd    T
	hasBwd bool
	// bwdProduct is dy·(the backward cell), exactly, over dy, x and the
	// parameters.
	bwdProduct refFunc
	xBits      uint64
	fwdValid   bool
}

type kinkPoint[T float32 | float64] struct {
	src      Kink
	at, grad T
	// off says that the kink's abscissa rounds to at (x = threshold/beta):
	// at then lies on one side of the kink, and the kernel, deciding with
	// its own rounded arithmetic as PyTorch does, may take either the kink
	// gradient or formula, the derivative formula's exact value at at.
	off     bool
	formula T
}

// refs are the compiled reference formulas of a setup. Each goroutine
// compiles its own, so nothing is assumed about the reference's thread
// safety.
type refs struct {
	fwd, bwd, out refFunc
}

func newSetup[T float32 | float64](a *Activation, set map[string]float64) (*setup[T], error) {
	s := &setup[T]{a: a, label: "default", dyName: "dy"}
	if a.Forward == "" {
		return nil, fmt.Errorf("%s: no forward formula", a.Name)
	}
	for _, p := range a.Params {
		s.names = append(s.names, p.Name)
		v := p.Default
		if o, ok := set[p.Name]; ok {
			v = o
		}
		t := T(v)
		s.params = append(s.params, float64(t))
		s.pT = append(s.pT, t)
	}
	if len(set) > 0 {
		keys := make([]string, 0, len(set))
		for k := range set {
			if !slices.Contains(s.names, k) {
				return nil, fmt.Errorf("%s: test parameter %q is not a parameter", a.Name, k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + strconv.FormatFloat(set[k], 'g', -1, 64)
		}
		s.label = strings.Join(parts, ",")
	}
	for slices.Contains(s.names, s.dyName) {
		s.dyName += "_"
	}

	// Thresholds enter the reference with the value of the precision under
	// test: the kernel switches branch there, so the reference must too.
	s.consts = make(map[string]string, len(a.Consts)+len(a.Thresholds))
	for k, v := range a.Consts {
		s.consts[k] = v
	}
	for _, th := range a.Thresholds {
		if testutil.Is32[T]() {
			s.consts[th.Name] = strconv.FormatFloat(th.F32, 'g', -1, 32)
		} else {
			s.consts[th.Name] = strconv.FormatFloat(th.F64, 'g', -1, 64)
		}
	}

	// Compile once here so that a bad formula is one clear error, not one
	// per goroutine.
	if _, err := s.newRefs(); err != nil {
		return nil, err
	}

	s.outputOK = a.DerivativeOutput != ""
	if s.outputOK && a.OutputRequires != "" {
		f, err := compileRef("where("+a.OutputRequires+", 1, 0)", s.names, s.consts)
		if err != nil {
			return nil, fmt.Errorf("%s: output_requires: %v", a.Name, err)
		}
		v, err := call(func() float64 { return f.Float64(s.params...) })
		if err != nil {
			return nil, fmt.Errorf("%s: output_requires: %v", a.Name, err)
		}
		s.outputOK = v == 1
	}

	xVars := append([]string{"x"}, s.names...)
	for _, row := range a.Special {
		r := specialRow[T]{src: row}
		var err error
		if r.x, err = s.exact(row.X, s.names, s.params); err != nil {
			return nil, fmt.Errorf("%s: special x = %s: %v", a.Name, row.X, err)
		}
		args := append([]float64{float64(r.x)}, s.params...)
		if row.Forward != "" {
			if r.fwd, err = s.exact(row.Forward, xVars, args); err != nil {
				return nil, fmt.Errorf("%s: special x = %s: forward: %v", a.Name, row.X, err)
			}
			r.fwdValid = true
		}
		if row.Backward != "" {
			if r.bwd, err = s.exact(row.Backward, xVars, args); err != nil {
				return nil, fmt.Errorf("%s: special x = %s: backward: %v", a.Name, row.X, err)
			}
			r.hasBwd = true
			// dy·f'(x) rounds once only if f'(x) is exact in T; otherwise
			// (mish'(0) = 0.6) the product is evaluated from the cell's
			// exact value.
			if r.bwdProduct, err = compileRef("dy * ("+row.Backward+")", append([]string{"dy", "x"}, s.names...), s.consts); err != nil {
				return nil, fmt.Errorf("%s: special x = %s: backward: %v", a.Name, row.X, err)
			}
		}
		r.xBits = testutil.Bits(r.x)
		s.special = append(s.special, r)
	}
	for _, k := range a.Kinks {
		kp := kinkPoint[T]{src: k}
		var err error
		if kp.at, err = s.exact(k.At, s.names, s.params); err != nil {
			return nil, fmt.Errorf("%s: kink at %s: %v", a.Name, k.At, err)
		}
		args := append([]float64{float64(kp.at)}, s.params...)
		if kp.grad, err = s.exact(k.Gradient, xVars, args); err != nil {
			return nil, fmt.Errorf("%s: kink at %s: gradient: %v", a.Name, k.At, err)
		}
		d, err := s.exact("("+k.At+") - x", xVars, args)
		if err != nil {
			return nil, fmt.Errorf("%s: kink at %s: %v", a.Name, k.At, err)
		}
		if kp.off = d != 0 && a.Derivative != ""; kp.off {
			if kp.formula, err = s.exact(a.Derivative, xVars, args); err != nil {
				return nil, fmt.Errorf("%s: kink at %s: derivative: %v", a.Name, k.At, err)
			}
		}
		s.kinks = append(s.kinks, kp)
	}
	return s, nil
}

// exact evaluates a formula once, exactly, rounded to T.
func (s *setup[T]) exact(src string, vars []string, args []float64) (T, error) {
	f, err := compileRef(src, vars, s.consts)
	if err != nil {
		return 0, err
	}
	return callT(func() T { return exactT[T](f, args) })
}

func exactT[T float32 | float64](f refFunc, args []float64) T {
	if testutil.Is32[T]() {
		return T(f.Float32(args...))
	}
	return T(f.Float64(args...))
}

func (s *setup[T]) newRefs() (*refs, error) {
	var r refs
	var err error
	if r.fwd, err = compileRef(s.a.Forward, append([]string{"x"}, s.names...), s.consts); err != nil {
		return nil, fmt.Errorf("%s: forward: %v", s.a.Name, err)
	}
	if s.a.Derivative != "" {
		vars := append([]string{"x", s.dyName}, s.names...)
		if r.bwd, err = compileRef(s.dyName+"*("+s.a.Derivative+")", vars, s.consts); err != nil {
			return nil, fmt.Errorf("%s: derivative: %v", s.a.Name, err)
		}
	}
	if s.a.DerivativeOutput != "" {
		vars := append([]string{"y", s.dyName}, s.names...)
		if r.out, err = compileRef(s.dyName+"*("+s.a.DerivativeOutput+")", vars, s.consts); err != nil {
			return nil, fmt.Errorf("%s: derivative_output: %v", s.a.Name, err)
		}
	}
	return &r, nil
}

// specialFor returns the special-value row whose x has the bits of x.
func (s *setup[T]) specialFor(x T) *specialRow[T] {
	b := testutil.Bits(x)
	for i := range s.special {
		if s.special[i].xBits == b {
			return &s.special[i]
		}
	}
	return nil
}

// want is the value a kernel must approximate for one input: the exact
// result rounded once to T. in is x (forward, backward) or y (backward
// from output). got is the kernel's answer, used only to decide whether the
// fast float64 path is conclusive for float32.
//
// NaN inputs give NaN without asking the reference (NaN in, NaN out is a
// rule of the kernels, not a property of the formula), and x values listed
// in the special-value table use the table (the table is the authority
// where a formula is indeterminate, e.g. x*sigmoid(x) at -Inf).
func (s *setup[T]) want(r *refs, dir string, in, dy, got T) (T, error) {
	nan := T(math.NaN())
	switch dir {
	case Forward:
		if in != in {
			return nan, nil
		}
		if row := s.specialFor(in); row != nil && row.fwdValid {
			return row.fwd, nil
		}
		return s.eval(r.fwd, append([]float64{float64(in)}, s.params...), got)
	case Backward:
		if in != in || dy != dy {
			return nan, nil
		}
		if row := s.specialFor(in); row != nil && row.hasBwd {
			if row.bwd != row.bwd || math.IsInf(float64(row.bwd), 0) || dy == 1 || dy == -1 {
				return dy * row.bwd, nil
			}
			return s.eval(row.bwdProduct, append([]float64{float64(dy), float64(in)}, s.params...), got)
		}
		return s.eval(r.bwd, append([]float64{float64(in), float64(dy)}, s.params...), got)
	case BackwardFromOutput:
		if in != in || dy != dy {
			return nan, nil
		}
		return s.eval(r.out, append([]float64{float64(in), float64(dy)}, s.params...), got)
	}
	return 0, fmt.Errorf("unknown direction %q", dir)
}

// eval rounds the exact value of f(args) to T. float64 always uses the
// exact evaluation. float32 first tries the fast float64 evaluation: its
// rounding to float32 is the correctly rounded value unless the float64
// value lies very close to a float32 rounding boundary, so the exact path
// is taken then, and whenever the kernel disagrees with the fast value,
// even by the sign of a zero (so every reported error is measured against
// the exact value).
func (s *setup[T]) eval(f refFunc, args []float64, got T) (T, error) {
	if !testutil.Is32[T]() {
		return callT(func() T { return T(f.Float64(args...)) })
	}
	v, err := call(func() float64 { return f.Fast(args...) })
	if err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) && !nearBoundary32(v) {
		w := T(float32(v))
		if testutil.ULP(got, w) == 0 && !ZeroSignDiffers(got, w) {
			return w, nil
		}
	}
	return callT(func() T { return T(f.Float32(args...)) })
}

// nearBoundary32 reports whether v is within 2^-20 float32 ULP of a
// midpoint between two adjacent float32 values, where an error of a few
// float64 ULPs in the fast evaluation could change the float32 rounding.
func nearBoundary32(v float64) bool {
	a := math.Abs(v)
	if a >= math.MaxFloat32 {
		// Above MaxFloat32 the boundary is where rounding to nearest
		// overflows: MaxFloat32 plus half its ULP (2^104).
		return math.Abs(a-(math.MaxFloat32+0x1p103)) < 0x1p104*0x1p-20
	}
	w := float32(a)
	if float64(w) == a {
		return false
	}
	toward := float32(math.MaxFloat32)
	if a < float64(w) {
		toward = 0
	}
	o := math.Nextafter32(w, toward)
	mid := (float64(w) + float64(o)) / 2 // exact: 25 significant bits
	ulp := math.Abs(float64(o) - float64(w))
	return math.Abs(a-mid) < ulp*0x1p-20
}

// call runs f and turns a panic (of a reference that cannot evaluate an
// input) into an error, so that one bad point is a test failure naming the
// input rather than a crashed test binary.
func call(f func() float64) (v float64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reference panicked: %v", p)
		}
	}()
	return f(), nil
}

func callT[T float32 | float64](f func() T) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reference panicked: %v", p)
		}
	}()
	return f(), nil
}
