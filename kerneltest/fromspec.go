package kerneltest

import "github.com/actkern/actkern/internal/spec"

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
