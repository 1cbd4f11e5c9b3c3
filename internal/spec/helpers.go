package spec

import (
	"fmt"
	"strconv"
)

// Lookup returns the activation called name, or nil.
func (s *Spec) Lookup(name string) *Activation {
	for _, a := range s.Activations {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// ParamNames returns the parameters' names in spec order: the order of the
// generated functions' scalar arguments and of the reference's variables
// after x (or y).
func (a *Activation) ParamNames() []string {
	out := make([]string, len(a.Params))
	for i, p := range a.Params {
		out[i] = p.Name
	}
	return out
}

// Defaults returns the parameters' default values in ParamNames order.
func (a *Activation) Defaults() []float64 {
	out := make([]float64, len(a.Params))
	for i, p := range a.Params {
		out[i] = p.Default
	}
	return out
}

// ParamValues returns the values of one parameter set (such as an entry of
// TestParams) in ParamNames order, with the defaults for those it omits.
func (a *Activation) ParamValues(set map[string]float64) []float64 {
	out := a.Defaults()
	for i, p := range a.Params {
		if v, ok := set[p.Name]; ok {
			out[i] = v
		}
	}
	return out
}

// Consts returns the entry's named values as decimal strings, the form
// reference.Compile takes: the constants with all their digits, and the
// thresholds of precision t ("f32" or "f64"). An f32 threshold is given as
// the exact value of the float32 nearest to the spec's number, which is the
// value a float32 kernel compares with.
func (a *Activation) Consts(t string) map[string]string {
	if t != "f32" && t != "f64" {
		panic(fmt.Sprintf("spec: Consts(%q): precision must be f32 or f64", t))
	}
	out := make(map[string]string, len(a.Constants)+len(a.Thresholds))
	for _, c := range a.Constants {
		out[c.Name] = c.Value
	}
	for _, th := range a.Thresholds {
		if t == "f32" {
			out[th.Name] = strconv.FormatFloat(float64(float32(th.F32)), 'g', -1, 64)
		} else {
			out[th.Name] = strconv.FormatFloat(th.F64, 'g', -1, 64)
		}
	}
	return out
}
