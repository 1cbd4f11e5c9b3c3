package spec

import (
	"fmt"
	"go/ast"
	"go/token"
	"math"
	"math/big"
	"sort"
	"strings"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
)

// The derivative check: derivative must agree with a central difference of
// forward, and derivative_output (at y = forward(x)) with derivative, at
// many points and for every parameter set the tests use. All arithmetic is
// in big.Float so that neither the difference nor its step is limited by
// float64.
const (
	checkPrec = 200
	// stepExp: h = 2^stepExp·max(1,|x|). The truncation error of a central
	// difference is O(h²·f''') ≈ 2^-120 relative; the rounding error of
	// forward at checkPrec bits, divided by h, ≈ 2^-140: both far below
	// relTol.
	stepExp = -60
	// relTol is how closely derivative must match; a wrong formula misses
	// by far more, a right one by far less.
	relTol = 1e-12
	// absTol: derivatives below it (deep in a flat tail) count as 0.
	absTol = 1e-300
	// roundSlack: the reference's results are taken as good to
	// 2^(roundSlack-checkPrec) relative; differences are allowed that much
	// rounding error on top of relTol.
	roundSlack = 12
	// minChecked: a parameter set where fewer probe points survive the
	// skips (non-finite values, kinks, thresholds) has not really been
	// checked, which is itself an error.
	minChecked = 100
	// kinkExp: one-sided slopes differing by more than 2^kinkExp·max(1,
	// |slope|) mean f or f' jumps. A smooth f would need |f''| ≈ 2^30 to
	// get there; any kink in practice jumps by far more.
	kinkExp = -30
)

// probePoints are the x where derivatives are checked: 0, 120 magnitudes
// log-uniform over [1e-3, 30] with both signs (where activations do their
// interesting things), and a few large ones where the stable branches take
// over (chosen off round numbers, where thresholds tend to sit). Ordered
// by magnitude, so the x an error names is the most ordinary one that
// fails. Fixed, so that a spec either loads or not, every run.
func probePoints() []float64 {
	const n = 120
	pts := []float64{0}
	for k := range n {
		m := 1e-3 * math.Pow(3e4, float64(k)/(n-1))
		pts = append(pts, m, -m)
	}
	for _, m := range []float64{45.5, 77.25, 101.5, 300.75, 1000.5, 10000.25} {
		pts = append(pts, m, -m)
	}
	sort.SliceStable(pts, func(i, j int) bool { return math.Abs(pts[i]) < math.Abs(pts[j]) })
	return pts
}

// cond wraps a condition as where(c, 1, 0) so that the reference, which
// evaluates numbers, can evaluate it: 1 means the condition holds.
func cond(c ast.Expr) ast.Expr {
	return &ast.CallExpr{
		Fun:  ast.NewIdent("where"),
		Args: []ast.Expr{c, &ast.BasicLit{Kind: token.INT, Value: "1"}, &ast.BasicLit{Kind: token.INT, Value: "0"}},
	}
}

// paramSet is one set of parameter values the spec promises to work with.
type paramSet struct {
	vals  []float64 // in ParamNames order
	label string    // for messages
}

func (a *Activation) describe(vals []float64) string {
	if len(vals) == 0 {
		return ""
	}
	parts := make([]string, len(vals))
	for i, p := range a.Params {
		parts[i] = fmt.Sprintf("%s=%g", p.Name, vals[i])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// semantic runs the checks that evaluate formulas, on an entry that has
// otherwise loaded without error: require rules at the defaults and at the
// test sets, then the derivative check at each of those sets.
func semantic(a *Activation, at *entryPos) ErrorList {
	var errs ErrorList
	names := a.ParamNames()
	consts := a.Consts("f64")

	sets := []paramSet{{a.Defaults(), "default parameters"}}
	for i, set := range a.TestParams {
		sets = append(sets, paramSet{a.ParamValues(set), fmt.Sprintf("test_params set %d", i+1)})
	}

	ruleBroken := false
	for i, p := range a.Params {
		if p.Require == nil {
			continue
		}
		rule, err := reference.Compile(cond(p.Require.Expr), names, consts)
		if err != nil {
			errs.add(p.Require.Pos, "require: the reference cannot evaluate it: %v", err)
			ruleBroken = true
			continue
		}
		if rule.Float64(sets[0].vals...) != 1 {
			errs.add(at.defaults[i], "default %g of %s breaks its own rule %s", p.Default, p.Name, p.Require.Src)
			ruleBroken = true
		}
		for j, set := range sets[1:] {
			if rule.Float64(set.vals...) != 1 {
				errs.add(at.testParams[j], "test_params: %s breaks the rule of %s: %s%s", set.label, p.Name, p.Require.Src, a.describe(set.vals))
				ruleBroken = true
			}
		}
	}
	if ruleBroken {
		return errs // derivatives at invalid parameters prove nothing
	}

	xv := append([]string{"x"}, names...)
	compile := func(f *Formula, vars []string, what string) *reference.Func {
		fn, err := reference.Compile(f.Expr, vars, consts)
		if err != nil {
			errs.add(f.Pos, "%s: the reference cannot evaluate it: %v", what, err)
		}
		return fn
	}
	fwd := compile(&a.Forward, xv, "forward")
	der := compile(&a.Derivative, xv, "derivative")
	var derOut, outReq *reference.Func
	if a.DerivativeOutput != nil {
		derOut = compile(a.DerivativeOutput, append([]string{"y"}, names...), "derivative_output")
	}
	if a.OutputRequires != nil {
		var err error
		if outReq, err = reference.Compile(cond(a.OutputRequires.Expr), names, consts); err != nil {
			errs.add(a.OutputRequires.Pos, "output_requires: the reference cannot evaluate it: %v", err)
		}
	}
	var kinkAt []*reference.Func
	for _, k := range a.Kinks {
		kinkAt = append(kinkAt, compile(&k.At, names, "at"))
	}
	if len(errs) > 0 {
		return errs
	}

	derivFailed, outFailed, kinkFailed := false, false, false
	outChecked := false
	for _, set := range sets {
		// Points too close to a kink or to a threshold (where a where()
		// switches branch) say nothing about the derivative.
		var avoid []float64
		for _, k := range kinkAt {
			avoid = append(avoid, k.Float64(set.vals...))
		}
		for _, t := range a.Thresholds {
			avoid = append(avoid, t.F64)
		}
		withOutput := derOut != nil && (outReq == nil || outReq.Float64(set.vals...) == 1)
		outChecked = outChecked || withOutput
		d := derivChecker{fwd: fwd, der: der, derOut: derOut, params: bigs(set.vals)}
		checked, total := 0, 0
		for _, x := range probePoints() {
			if near(x, avoid) {
				continue
			}
			total++
			r := d.at(x, withOutput, checks{deriv: !derivFailed, out: !outFailed, kink: !kinkFailed})
			if r.kinkMsg != "" && !kinkFailed {
				errs.add(a.Forward.Pos, "forward is not differentiable at x = %g, %s%s: %s; declare the point under kinks", x, set.label, a.describe(set.vals), r.kinkMsg)
				kinkFailed = true
			}
			if !r.usable {
				continue
			}
			checked++
			if r.derivMsg != "" && !derivFailed {
				errs.add(a.Derivative.Pos, "derivative disagrees with forward at x = %g, %s%s: %s", x, set.label, a.describe(set.vals), r.derivMsg)
				derivFailed = true
			}
			if r.outMsg != "" && !outFailed {
				errs.add(a.DerivativeOutput.Pos, "derivative_output disagrees with derivative at x = %g, %s%s: %s", x, set.label, a.describe(set.vals), r.outMsg)
				outFailed = true
			}
		}
		if checked < minChecked {
			errs.add(a.Derivative.Pos, "derivative: only %d of %d probe points could be checked at %s%s (forward or derivative not finite there)", checked, total, set.label, a.describe(set.vals))
		}
	}
	if derOut != nil && !outChecked {
		errs.add(a.DerivativeOutput.Pos, "derivative_output is never checked: output_requires holds neither at the defaults nor at any test_params set")
	}
	return append(errs, float32Agree(a, sets, fwd, der, derOut, compile)...)
}

// float32Agree checks each of a's float32 and baseline formulas against
// the formula it replaces at the probe points and parameter sets: rounded
// to float32, the two exact values may differ by one ULP at most (where
// the exact value lies near a rounding boundary). A typo shows here, with its position;
// the kernels' tests then measure the float32 kernels against the main
// formulas over many more inputs.
func float32Agree(a *Activation, sets []paramSet, fwd, der, derOut *reference.Func,
	compile func(f *Formula, vars []string, what string) *reference.Func) ErrorList {
	var errs ErrorList
	block := "float32"
	check := func(f *Formula, main *reference.Func, what string, onOutput bool) {
		if f == nil || main == nil {
			return
		}
		vars := append([]string{"x"}, a.ParamNames()...)
		if onOutput {
			vars[0] = "y"
		}
		alt := compile(f, vars, block+": "+what)
		if alt == nil {
			return
		}
		for _, set := range sets {
			for _, x := range probePoints() {
				v := x
				if onOutput {
					v = fwd.Float64(append([]float64{x}, set.vals...)...)
				}
				args := append([]float64{v}, set.vals...)
				want, got := main.Float32(args...), alt.Float32(args...)
				if testutil.ULP(got, want) > 1 {
					errs.add(f.Pos, "%s: %s gives %v at %s = %v, %s%s; the entry's %s gives %v",
						block, what, got, vars[0], v, set.label, a.describe(set.vals), what, want)
					return
				}
			}
		}
	}
	check(a.Float32.Forward, fwd, "forward", false)
	check(a.Float32.Derivative, der, "derivative", false)
	check(a.Float32.DerivativeOutput, derOut, "derivative_output", true)
	block = "baseline"
	check(a.Baseline.Forward, fwd, "forward", false)
	check(a.Baseline.Derivative, der, "derivative", false)
	return errs
}

// near tells whether x is within 1e-6 relative of one of the points.
func near(x float64, points []float64) bool {
	for _, p := range points {
		if math.Abs(x-p) <= 1e-6*math.Max(math.Abs(x), math.Abs(p)) {
			return true
		}
	}
	return false
}

func bigs(vals []float64) []*big.Float {
	out := make([]*big.Float, len(vals))
	for i, v := range vals {
		out[i] = new(big.Float).SetFloat64(v) // exact: 53 bits
	}
	return out
}

type derivChecker struct {
	fwd, der, derOut *reference.Func
	params           []*big.Float
}

// checks selects what derivChecker.at compares; a comparison that has
// already failed once is not repeated (nor its costly retries).
type checks struct {
	deriv, out, kink bool
}

type derivResult struct {
	usable                    bool   // finite and smooth at x: the check applies
	derivMsg, outMsg, kinkMsg string // "" when all is well
}

func (r derivResult) failed() bool { return r.derivMsg != "" || r.outMsg != "" || r.kinkMsg != "" }

func finite(n reference.Num) bool { return !n.NaN && n.F != nil && !n.F.IsInf() }

// retryPrecs: a comparison that fails at checkPrec is redone at these
// precisions, more carefully, and reported only if it fails at all of
// them. Formulas with cancellation (1 + tanh(u) for u ≪ 0) lose bits in
// the reference beyond its guard bits; more precision recovers them.
var retryPrecs = []uint{4 * checkPrec, 16 * checkPrec}

// at checks the derivatives at x: first quickly at checkPrec, then, if
// something disagrees, again at each of retryPrecs.
func (d *derivChecker) at(x float64, withOutput bool, want checks) derivResult {
	r := d.atPrec(x, withOutput, want, checkPrec, false)
	for _, p := range retryPrecs {
		if !r.failed() {
			break
		}
		r = d.atPrec(x, withOutput, want, p, true)
	}
	return r
}

// atPrec does the comparisons at x with prec-bit arithmetic. careful adds
// an estimate of the central difference's truncation error, |D(2h)-D(h)|,
// to the tolerance (the O(h²·f”') term matters where f'(x) = 0, as for
// x - tanh(x) at 0); it costs two more evaluations, so only retries pay.
func (d *derivChecker) atPrec(x float64, withOutput bool, want checks, prec uint, careful bool) derivResult {
	newF := func() *big.Float { return new(big.Float).SetPrec(prec) }
	abs := func(v *big.Float) *big.Float { return newF().Abs(v) }
	eval := func(f *reference.Func, v *big.Float) reference.Num {
		return f.Big(prec, append([]*big.Float{v}, d.params...)...)
	}
	// agree: |a-b| ≤ relTol·max(|a|,|b|) + slack + absTol.
	agree := func(a, b, slack *big.Float) bool {
		diff := abs(newF().Sub(a, b))
		m := abs(a)
		if abs(b).Cmp(m) > 0 {
			m = abs(b)
		}
		tol := newF().Mul(m, big.NewFloat(relTol))
		tol.Add(tol, slack)
		tol.Add(tol, big.NewFloat(absTol))
		return diff.Cmp(tol) <= 0
	}

	bx := newF().SetFloat64(x)
	h := newF().SetFloat64(math.Max(1, math.Abs(x)))
	h.SetMantExp(h, stepExp)
	f0, fp, fm := eval(d.fwd, bx), eval(d.fwd, newF().Add(bx, h)), eval(d.fwd, newF().Sub(bx, h))
	dv := eval(d.der, bx)
	if !finite(f0) || !finite(fp) || !finite(fm) || !finite(dv) {
		return derivResult{}
	}
	// Rounding error of the forward values, as a difference quotient.
	roundTol := newF().Add(abs(fp.F), abs(f0.F))
	roundTol.Add(roundTol, abs(fm.F))
	roundTol.Quo(roundTol, h)
	roundTol.SetMantExp(roundTol, roundSlack-int(prec))

	// The one-sided slopes of a smooth f differ by h·|f''| ≈ 2^-60·|f''|;
	// by far more only if f or f' jumps inside [x-h, x+h] (a where()
	// switching branch). There is then no derivative to check, and the
	// point should have been declared a kink (the caller skips those).
	fr := newF().Quo(newF().Sub(fp.F, f0.F), h)
	fl := newF().Quo(newF().Sub(f0.F, fm.F), h)
	jump := abs(newF().Sub(fr, fl))
	limit := newF().SetFloat64(1)
	if abs(fr).Cmp(limit) > 0 {
		limit = abs(fr)
	}
	if abs(fl).Cmp(limit) > 0 {
		limit = abs(fl)
	}
	limit.SetMantExp(limit, kinkExp)
	limit.Add(limit, roundTol)
	limit.Add(limit, roundTol)
	if jump.Cmp(limit) > 0 {
		if !want.kink {
			return derivResult{}
		}
		return derivResult{kinkMsg: fmt.Sprintf("slope %s on the left, %s on the right", text(fl), text(fr))}
	}

	r := derivResult{usable: true}
	if want.deriv {
		central := newF().Quo(newF().Sub(fp.F, fm.F), newF().Mul(h, big.NewFloat(2)))
		slack := roundTol
		if careful {
			h2 := newF().Mul(h, big.NewFloat(2))
			fp2, fm2 := eval(d.fwd, newF().Add(bx, h2)), eval(d.fwd, newF().Sub(bx, h2))
			if finite(fp2) && finite(fm2) {
				central2 := newF().Quo(newF().Sub(fp2.F, fm2.F), newF().Mul(h2, big.NewFloat(2)))
				slack = newF().Add(roundTol, abs(newF().Sub(central2, central)))
			}
		}
		if !agree(dv.F, central, slack) {
			r.derivMsg = fmt.Sprintf("derivative gives %s, central difference of forward gives %s", text(dv.F), text(central))
		}
	}
	if withOutput && want.out {
		y := f0.F
		do := eval(d.derOut, y)
		if !finite(do) {
			r.outMsg = fmt.Sprintf("derivative_output is not finite at y = %s", text(y))
			return r
		}
		// y itself carries a rounding error of 2^-prec relative; allow
		// what derivative_output makes of it (1-y near y = 1, say).
		eps := newF().SetMantExp(big.NewFloat(1), roundSlack-int(prec))
		sens := newF()
		for _, s := range []float64{1, -1} {
			yy := newF().Mul(y, newF().Add(big.NewFloat(1), newF().Mul(eps, big.NewFloat(s))))
			if v := eval(d.derOut, yy); finite(v) {
				if diff := abs(newF().Sub(v.F, do.F)); diff.Cmp(sens) > 0 {
					sens = diff
				}
			}
		}
		if !agree(do.F, dv.F, sens) {
			r.outMsg = fmt.Sprintf("derivative_output gives %s at y = %s, derivative gives %s", text(do.F), text(y), text(dv.F))
		}
	}
	return r
}

func text(v *big.Float) string { return v.Text('g', 17) }
