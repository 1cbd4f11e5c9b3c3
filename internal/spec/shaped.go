package spec

import (
	"slices"

	"go.yaml.in/yaml/v3"
)

// The kinds beyond elementwise (see the Activation fields Reduce, Gate and
// Of). A rows entry has its own formulas; a gated or channel entry is built
// from an elementwise entry it names, so that GeGLU uses exactly GELU's
// formulas and PReLU exactly leaky_relu's.

// kindFields are the fields only some kinds have, and the kinds' required ones.
var (
	kindOnly = map[string][]string{
		"elementwise": {"derivative", "derivative_output", "output_requires", "kinks", "special", "let_output"},
		"rows":        {"reduce", "backward_reduce", "backward", "output", "special_rows", "let_output"},
		"gated":       {"gate", "gate_on"},
		"channel":     {"of", "channel_param", "derivative_weight"},
	}
	kindRequired = map[string][]string{
		"elementwise": {"forward", "derivative", "special"},
		"rows":        {"forward", "reduce", "backward", "special_rows"},
		"gated":       {"gate"},
		"channel":     {"of", "channel_param", "derivative_weight"},
	}
	kinds = []string{"elementwise", "rows", "gated", "channel"}
)

// shapedFields lists every kind-specific field, for the entry's mapping.
func shapedFields() []string {
	var out []string
	for _, k := range kinds {
		for _, f := range kindOnly[k] {
			if !slices.Contains(out, f) && !slices.Contains(activationFields, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// checkKindFields refuses fields that belong to another kind and asks for
// the kind's required ones.
func (l *loader) checkKindFields(n *yaml.Node, m map[string]field, a *Activation, what string) {
	for _, k := range kinds {
		if k == a.Kind {
			continue
		}
		for _, f := range kindOnly[k] {
			if slices.Contains(kindOnly[a.Kind], f) {
				continue
			}
			if fl, ok := m[f]; ok {
				l.errorf(fl.key, "%s: a %s entry has no %s (that belongs to kind %s)", what, a.Kind, f, k)
			}
		}
	}
	req := append([]string{"name", "go_name", "doc", "torch"}, kindRequired[a.Kind]...)
	l.required(n, m, what, req...)
}

// reductionItem is one reduction's mapping, read once.
type reductionItem struct {
	node *yaml.Node
	m    map[string]field
}

// reductionNames reads the reductions in m[key] and declares their names
// (and lo names) in scope, before any formula is read, so that lets may
// use them. It returns the items for reductions.
func (l *loader) reductionNames(m map[string]field, key string, seen map[string]int, scope map[string]bool) []reductionItem {
	f, ok := m[key]
	if !ok {
		return nil
	}
	items, _ := l.list(f)
	var out []reductionItem
	for _, rn := range items {
		rm, ok := l.mapping(rn, key, "name", "op", "of", "lo", "doc")
		if !ok {
			continue
		}
		for _, k := range []string{"name", "lo"} {
			if nf, ok := rm[k]; ok {
				if s, ok := l.str(nf); ok && l.checkLocalName(nf.val, s, "reduction", seen) {
					scope[s] = true
				}
			}
		}
		out = append(out, reductionItem{rn, rm})
	}
	return out
}

// reductions reads the reductions' ops and formulas. Each formula's scope
// is scope minus the reductions that come later in the list (a reduction
// uses the ones before it).
func (l *loader) reductions(items []reductionItem, key string, scope map[string]bool) []Reduction {
	var out []Reduction
	later := map[string]bool{}
	for _, it := range items {
		for _, k := range []string{"name", "lo"} {
			if nf, ok := it.m[k]; ok {
				later[nf.val.Value] = true
			}
		}
	}
	for _, it := range items {
		rm := it.m
		l.required(it.node, rm, key, "name", "op", "of")
		r := Reduction{Pos: l.pos(it.node)}
		if nf, ok := rm["name"]; ok {
			r.Name = nf.val.Value
		}
		if nf, ok := rm["lo"]; ok {
			r.Lo = nf.val.Value
		}
		if of, ok := rm["op"]; ok {
			if s, ok := l.str(of); ok {
				if s != "max" && s != "sum" {
					l.errorf(of.val, "op %q: must be max or sum", s)
				}
				r.Op = s
			}
		}
		if r.Lo != "" && r.Op != "sum" {
			l.errorf(rm["lo"].key, "lo: only a sum has a low part")
		}
		sc := map[string]bool{}
		for k, v := range scope {
			if !later[k] {
				sc[k] = v
			}
		}
		if ff, ok := rm["of"]; ok {
			if fo := l.formula(ff, sc, false); fo != nil {
				r.Of = *fo
			}
		}
		delete(later, r.Name)
		delete(later, r.Lo)
		out = append(out, r)
	}
	return out
}

// rowsFields reads the rest of a rows entry: backward, output, special_rows.
func (l *loader) rowsFields(m map[string]field, a *Activation, fixed, bwdScope map[string]bool) {
	if f, ok := m["output"]; ok {
		if s, ok := l.str(f); ok {
			switch s {
			case "row":
				a.RowOutput = true
			case "element":
			default:
				l.errorf(f.val, "output %q: must be element (one value per element, the default) or row (one per row)", s)
			}
		}
	}
	if f, ok := m["backward"]; ok {
		a.Backward = l.formula(f, bwdScope, false)
	}
	if f, ok := m["special_rows"]; ok {
		items, _ := l.list(f)
		for _, sn := range items {
			sm, ok := l.mapping(sn, "special row", "x", "forward")
			if !ok {
				continue
			}
			l.required(sn, sm, "special row", "x", "forward")
			sr := SpecialRow{Pos: l.pos(sn)}
			for key, dst := range map[string]*[]Formula{"x": &sr.X, "forward": &sr.Forward} {
				ff, ok := sm[key]
				if !ok {
					continue
				}
				cells, _ := l.list(ff)
				for _, c := range cells {
					if fo := l.formula(field{ff.key, c}, fixed, false); fo != nil {
						*dst = append(*dst, *fo)
					}
				}
			}
			want := len(sr.X)
			if a.RowOutput {
				want = 1
			}
			if len(sr.X) == 0 {
				l.errorf(sn, "special row: x must list at least one value")
			} else if len(sr.Forward) != want {
				l.errorf(sn, "special row: forward has %d values, want %d (one per %s)", len(sr.Forward), want, map[bool]string{false: "element", true: "row"}[a.RowOutput])
			}
			a.SpecialRows = append(a.SpecialRows, sr)
		}
	}
}

// pendingRef is a gated or channel entry's reference to the elementwise
// entry it is built from, resolved once every entry is loaded.
type pendingRef struct {
	a     *Activation
	field field // gate: or of:
	param field // channel_param: (channel entries)
	deriv field // derivative_weight: (channel entries)
}

// composedFields records a gated or channel entry's reference.
func (l *loader) composedFields(m map[string]field, a *Activation) {
	switch a.Kind {
	case "gated":
		a.GateOn = "a"
		if f, ok := m["gate_on"]; ok {
			if s, ok := l.str(f); ok {
				if s != "a" && s != "b" {
					l.errorf(f.val, "gate_on %q: must be a (gate(a)*b, the default) or b (a*gate(b))", s)
				}
				a.GateOn = s
			}
		}
		if f, ok := m["gate"]; ok {
			l.pending = append(l.pending, pendingRef{a: a, field: f})
		}
	case "channel":
		if f, ok := m["of"]; ok {
			l.pending = append(l.pending, pendingRef{a: a, field: f, param: m["channel_param"], deriv: m["derivative_weight"]})
		}
	}
}

// resolveRefs binds gated and channel entries to the entries they name
// (which may come later in the file, or from an include).
func (l *loader) resolveRefs(names map[string]*Activation) {
	for _, p := range l.pending {
		name, ok := l.str(p.field)
		if !ok {
			continue
		}
		ref := names[name]
		switch {
		case ref == nil:
			l.errorf(p.field.val, "%s: no activation named %q", p.field.key.Value, name)
			continue
		case ref.Kind != "elementwise":
			l.errorf(p.field.val, "%s: %s is a %s entry; it must be elementwise", p.field.key.Value, name, ref.Kind)
			continue
		}
		if p.a.Kind == "gated" {
			if len(ref.Params) > 0 {
				l.errorf(p.field.val, "gate: %s has parameters (%v); a gate must have none", name, ref.ParamNames())
				continue
			}
			p.a.Gate = ref
			continue
		}
		p.a.Of = ref
		param, ok := l.str(p.param)
		if !ok {
			continue
		}
		if !slices.Contains(ref.ParamNames(), param) {
			l.errorf(p.param.val, "channel_param: %s has no parameter %q (parameters: %v)", name, param, ref.ParamNames())
			continue
		}
		p.a.ChannelParam = param
		// ∂f/∂param is over x and the referenced entry's names.
		scope := map[string]bool{"x": true}
		for _, prm := range ref.Params {
			scope[prm.Name] = true
		}
		for _, c := range ref.Constants {
			scope[c.Name] = true
		}
		for _, t := range ref.Thresholds {
			scope[t.Name] = true
		}
		saved := l.lets
		l.lets = &letTable{byName: map[string]*letDef{}}
		if p.deriv.key != nil {
			p.a.DerivativeWeight = l.formula(p.deriv, scope, false)
			if p.a.DerivativeWeight != nil {
				p.a.DerivativeWeight.Expanded = printExpr(p.a.DerivativeWeight.Expr)
			}
		}
		l.lets = saved
	}
}
