package vprog

// dropSelects returns a copy of p in which each select that side picks a
// side for is replaced by that side: side gets the select's index in p,
// the select with its arguments already renumbered for the copy (its Imm
// tells a plain select from a rare one), and the copy so far, and returns
// 1 (the true side), 2 (the false side) or 0 (keep the select). It returns
// p itself if no select goes.
func (p *Program) dropSelects(side func(i int, in Instr, q *Program) int) *Program {
	return p.rebuild(func(q *Program, i int, in Instr, _ []Value) (Value, bool) {
		if in.Op == OpSelect {
			if s := side(i, in, q); s != 0 {
				return in.Args[s], true
			}
		}
		return 0, false
	})
}

// rebuild copies p, letting replace substitute instructions: it gets the
// copy so far, the instruction's index in p, the instruction with its
// arguments renumbered for the copy, and the renumbering so far, and
// returns the value of the copy that stands for the instruction and true,
// or false to keep it. replace may add instructions to the copy. rebuild
// returns p itself, or without the instructions no longer needed, a copy.
func (p *Program) rebuild(replace func(q *Program, i int, in Instr, remap []Value) (Value, bool)) *Program {
	remap := make([]Value, len(p.Instrs))
	changed := false
	q := p.derive(p.Name)
	q.Instrs = nil
	for i, in := range p.Instrs {
		for k := range in.Op.Arity() {
			in.Args[k] = remap[in.Args[k]]
		}
		if v, ok := replace(q, i, in, remap); ok {
			remap[i], changed = v, true
			continue
		}
		remap[i] = q.add(in)
	}
	if !changed {
		return p
	}
	q.remapRoots(p, remap)
	return q.compact()
}
