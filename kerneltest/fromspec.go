package kerneltest

import (
	"errors"
	"fmt"
	"go/types"

	"github.com/actkern/actkern/internal/expr"
	"github.com/actkern/actkern/internal/spec"
)

// FromSpec describes a loaded spec entry for the harness. Formulas are given
// with the entry's lets substituted (Formula.Expanded), so the description
// stands alone: the generator prints it into generated tests, and the
// accuracy command measures with it.
func FromSpec(a *spec.Activation) Activation {
	text := func(f *spec.Formula) string {
		if f == nil {
			return ""
		}
		if f.Expanded != "" {
			return f.Expanded
		}
		return f.Src
	}
	out := Activation{
		Name:             a.Name,
		GoName:           a.GoName,
		Forward:          text(&a.Forward),
		Derivative:       text(&a.Derivative),
		DerivativeOutput: text(a.DerivativeOutput),
		OutputRequires:   text(a.OutputRequires),
		TestParams:       a.TestParams,
	}
	for _, p := range a.Params {
		out.Params = append(out.Params, Param{Name: p.Name, Default: p.Default})
	}
	if len(a.Constants) > 0 {
		out.Consts = map[string]string{}
		for _, c := range a.Constants {
			out.Consts[c.Name] = c.Value
		}
	}
	for _, t := range a.Thresholds {
		out.Thresholds = append(out.Thresholds, Threshold{Name: t.Name, F32: t.F32, F64: t.F64})
	}
	for _, k := range a.Kinks {
		out.Kinks = append(out.Kinks, Kink{At: text(&k.At), Gradient: text(&k.Gradient)})
	}
	for _, g := range a.Gaps {
		out.Gaps = append(out.Gaps, Gap{Type: g.Type, Direction: g.Direction, MaxULP: g.MaxULP, Why: g.Why})
	}
	for _, s := range a.Special {
		out.Special = append(out.Special, Special{X: text(&s.X), Forward: text(&s.Forward), Backward: text(&s.Backward)})
	}
	return out
}

// RowsFromSpec describes a rows entry for RunRows, FuzzRows and
// MeasureRows, at precision prec ("f32" or "f64").
func RowsFromSpec(a *spec.Activation, prec string) Rows {
	reds := func(rs []spec.Reduction) []Reduction {
		var out []Reduction
		for _, r := range rs {
			out = append(out, Reduction{Name: r.Name, Op: r.Op, Of: r.Of.Expanded, Lo: r.Lo})
		}
		return out
	}
	out := Rows{Name: a.Name, Consts: a.Consts(prec), Reduce: reds(a.Reduce), Forward: a.Forward.Expanded,
		RowOutput: a.RowOutput, BackwardReduce: reds(a.BackwardReduce), Backward: a.Backward.Expanded}
	for _, sr := range a.SpecialRows {
		var row SpecialRow
		for _, x := range sr.X {
			row.X = append(row.X, x.Expanded)
		}
		for _, f := range sr.Forward {
			row.Forward = append(row.Forward, f.Expanded)
		}
		out.SpecialRows = append(out.SpecialRows, row)
	}
	return out
}

// GatedFromSpec describes a gated entry for RunGated and FuzzGated: its
// formulas over a, b and dy, composed from the gate's over x as the
// lowering composes the kernels (f = g(u)·v, ∂f/∂u = g'(u)·v, ∂f/∂v =
// g(u), u the gated half).
func GatedFromSpec(a *spec.Activation, prec string) Gated {
	u, v := "a", "b"
	if a.GateOn == "b" {
		u, v = "b", "a"
	}
	g := func(f *spec.Formula) string { return "(" + types.ExprString(expr.Rename(f.Expr, "x", u)) + ")" }
	fwd := g(&a.Gate.Forward) + " * " + v
	du := "dy * (" + g(&a.Gate.Derivative) + " * " + v + ")"
	dv := "dy * " + g(&a.Gate.Forward)
	da, db := du, dv
	if u == "b" {
		da, db = dv, du
	}
	return Gated{Name: a.GoName, Consts: a.Gate.Consts(prec), Forward: fwd, DA: da, DB: db,
		GateOn: a.GateOn, Gate: a.Gate.Forward.Expanded}
}

// ChannelFromSpec describes a channel entry for RunChannel and FuzzChannel.
func ChannelFromSpec(a *spec.Activation, prec string) Channel {
	c := Channel{Name: a.GoName, Consts: a.Of.Consts(prec), ChannelParam: a.ChannelParam,
		Forward: a.Of.Forward.Expanded, Derivative: a.Of.Derivative.Expanded, DerivativeWeight: a.DerivativeWeight.Expanded}
	for _, p := range a.Of.Params {
		c.Params = append(c.Params, Param{Name: p.Name, Default: p.Default})
	}
	return c
}

// ExactRows is the exact forward of a rows entry on x (rows of cols),
// rounded to float64: what the generator prints in examples.
func ExactRows(r Rows, x []float64, cols int) (out []float64, err error) {
	defer catch(&err)
	ref := compileRows(panicT{}, r)
	for i := 0; i < len(x); i += cols {
		want, _ := forwardExact(ref, x[i:i+cols])
		out = append(out, want...)
	}
	return out, nil
}

// ExactGated is the exact forward of a gated entry on x (rows of 2·cols).
func ExactGated(g Gated, x []float64, cols int) (out []float64, err error) {
	defer catch(&err)
	f := mustCompile(panicT{}, g.Forward, []string{"a", "b"}, g.Consts)
	for r := 0; r < len(x); r += 2 * cols {
		for j := range cols {
			out = append(out, roundTo[float64](f.BigNum(refPrec, nums(x[r+j], x[r+cols+j])...)))
		}
	}
	return out, nil
}

// ExactChannel is the exact forward of a channel entry on x with weight
// and inner.
func ExactChannel(c Channel, x, weight []float64, inner int) (out []float64, err error) {
	defer catch(&err)
	vars := []string{"x"}
	for _, p := range c.Params {
		vars = append(vars, p.Name)
	}
	f := mustCompile(panicT{}, c.Forward, vars, c.Consts)
	for i, v := range x {
		args := nums(v)
		for _, p := range c.Params {
			pv := p.Default
			if p.Name == c.ChannelParam {
				pv = weight[(i/inner)%len(weight)]
			}
			args = append(args, nums(pv)...)
		}
		out = append(out, roundTo[float64](f.BigNum(refPrec, args...)))
	}
	return out, nil
}

// panicT is a require.TestingT that panics with the failure, and catch
// turns the panic back into an error, for the Exact functions.
type panicT struct{}

type failure struct{ msg string }

func (panicT) Errorf(format string, args ...any) { panic(failure{fmt.Sprintf(format, args...)}) }
func (panicT) FailNow()                          { panic(failure{"failed"}) }

func catch(err *error) {
	if p := recover(); p != nil {
		f, ok := p.(failure)
		if !ok {
			panic(p)
		}
		*err = errors.New(f.msg)
	}
}
