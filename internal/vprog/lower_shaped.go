package vprog

import (
	"fmt"

	"github.com/actkern/actkern/internal/expr"
	"github.com/actkern/actkern/internal/spec"
)

// Names binds what a formula of a row-wise, per-channel or gated entry
// refers to besides the entry's parameters, constants and thresholds.
type Names struct {
	// Inputs are per-element slices, in program input order.
	Inputs []string
	// Scalars are per-call values (a row's reductions, a channel's
	// weight), passed after the entry's parameters.
	Scalars []string
	// NaNFrom are the inputs whose NaN the result passes through (when
	// nil: the inputs the formula reads, so that a partial derivative that
	// does not depend on an input is not made NaN by it, as in PyTorch;
	// none when empty but not nil): a channel's weight, given per element, is not
	// one of them (PyTorch's PReLU ignores the weight where x > 0).
	NaNFrom []string
	// ScaleBy names the inputs the formula's value is multiplied by, in
	// order: dy, for a kernel that computes dy times a partial derivative;
	// the other half and dy for a gated unit's.
	ScaleBy []string
}

// LowerFormula builds the program called name that evaluates f over n,
// with slices of type mem, folded by r (NoReduce: stored per element).
// It is Lower for the kinds beyond elementwise, with the same rules: float32
// kernels compute in float64 lanes unless the program rounds once (never for
// a reduction, whose terms are summed in float64), and NaN in any input
// gives that NaN out (the first input's, where several are NaN). A sum of a
// product also carries the product's exact rounding error (see
// Program.ResultErr).
func LowerFormula(a *spec.Activation, name string, f *spec.Formula, n Names, mem Type, r Reducer) (*Program, error) {
	p, err := lowerFormulaWith(a, name, f, n, mem, F64, r)
	if err != nil || mem != F32 || r != NoReduce || !roundsOnce(p) {
		return p, err
	}
	return lowerFormulaWith(a, name, f, n, mem, F32, r)
}

func lowerFormulaWith(a *spec.Activation, name string, f *spec.Formula, n Names, mem, compute Type, r Reducer) (p *Program, err error) {
	l := &lowerer{a: a, mem: mem, formula: f, inputs: map[string]int{}, scalars: map[string]int{}, read: map[string]bool{}}
	for i, v := range n.Inputs {
		l.inputs[v] = i
	}
	// The program's parameters: the entry's (less those bound to an
	// input), then the scalars. All go through scalars, by name.
	var params []string
	for _, prm := range a.Params {
		if _, bound := l.inputs[prm.Name]; !bound {
			l.scalars[prm.Name] = len(params)
			params = append(params, prm.Name)
		}
	}
	for _, v := range n.Scalars {
		l.scalars[v] = len(params)
		params = append(params, v)
	}
	b := NewBuilder(name, mem, compute, len(n.Inputs), params)
	l.b = b
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("%s: lowering %s: %v", f.Pos, name, rec)
		}
	}()
	v, err := l.value(f.Expr)
	if err != nil {
		return nil, err
	}
	top := b.p.Instrs[v]
	isProduct := top.Op == OpMul
	x, y := top.Args[0], top.Args[1]
	if len(n.ScaleBy) > 0 {
		var scale []Value
		for _, in := range n.ScaleBy {
			s, ok := l.inputs[in]
			if !ok {
				return nil, fmt.Errorf("%s: lowering %s: ScaleBy %s is not an input", f.Pos, name, in)
			}
			scale = append(scale, b.Input(s))
		}
		if r == NoReduce {
			v = l.scaled(scale, v)
		} else {
			// A sum keeps the last product's exact error (verr below).
			for _, s := range scale[:len(scale)-1] {
				v = b.Mul(v, s)
			}
			x, y = scale[len(scale)-1], v
			v = b.Mul(x, y)
			isProduct = true
		}
	}
	verr := Value(-1)
	if r == ReduceSum && isProduct && compute == F64 {
		verr = b.FMA(x, y, b.Neg(v))
	}
	nanFrom := n.NaNFrom
	if nanFrom == nil {
		for _, name := range n.Inputs {
			if l.read[name] {
				nanFrom = append(nanFrom, name)
			}
		}
	}
	for i := len(nanFrom) - 1; i >= 0; i-- {
		in := b.Input(l.inputs[nanFrom[i]])
		v = b.Select(b.IsNaN(in), in, v)
	}
	if r == NoReduce {
		return b.Finish(v), nil
	}
	return b.FinishReduce(v, verr, r), nil
}

// GatedPart is which kernel of a gated entry a program computes.
type GatedPart int

const (
	GatedForward GatedPart = iota // gate(a)*b or a*gate(b); inputs a, b
	GatedDA                       // dy·∂f/∂a; inputs a, b, dy
	GatedDB                       // dy·∂f/∂b; inputs a, b, dy
)

// LowerGated builds a gated entry's kernel from its gate's formulas: with
// u the gated half and v the other, f = gate(u)·v, ∂f/∂u = gate'(u)·v and
// ∂f/∂v = gate(u).
func LowerGated(a *spec.Activation, part GatedPart, mem Type) (*Program, error) {
	g := a.Gate
	u, v := "a", "b"
	if a.GateOn == "b" {
		u, v = "b", "a"
	}
	names := Names{Inputs: []string{"a", "b"}, NaNFrom: []string{"a", "b"}, ScaleBy: []string{v}}
	suffix := ""
	kf := g.Kernels(mem == F32)
	formula := kf.Forward
	if part != GatedForward {
		suffix = map[GatedPart]string{GatedDA: "BackwardA", GatedDB: "BackwardB"}[part]
		names.Inputs = []string{"a", "b", "dy"}
		names.ScaleBy = append(names.ScaleBy, "dy")
		if wrtGated := (part == GatedDA) == (u == "a"); wrtGated {
			formula = kf.Derivative
		} else {
			// dy·gate(u): v does not enter, and its NaN does not either.
			names.ScaleBy, names.NaNFrom = []string{"dy"}, []string{u}
		}
	}
	// The gate's formulas are over x: bind x to the gated half, in its
	// rare conditions too, so that they still name their branches.
	bound := *formula
	bound.Expr = expr.Rename(formula.Expr, "x", u)
	gate := *g
	gate.Rare = nil
	for _, r := range g.Rare {
		r.Expr = expr.Rename(r.Expr, "x", u)
		gate.Rare = append(gate.Rare, r)
	}
	return LowerFormula(&gate, KernelName(a.Name, Forward)+suffix, &bound, names, mem, NoReduce)
}
