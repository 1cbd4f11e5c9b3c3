package vprog

// dropSelects returns a copy of p in which each select that side picks a
// side for is replaced by that side: side gets the select's index in p,
// the select with its arguments already renumbered for the copy (its Imm
// tells a plain select from a rare one), and the copy so far, and returns
// 1 (the true side), 2 (the false side) or 0 (keep the select). It returns
// p itself if no select goes.
func (p *Program) dropSelects(side func(i int, in Instr, q *Program) int) *Program {
	remap := make([]Value, len(p.Instrs))
	dropped := false
	q := p.derive(p.Name)
	q.Instrs = nil
	for i, in := range p.Instrs {
		for k := range in.Op.Arity() {
			in.Args[k] = remap[in.Args[k]]
		}
		if in.Op == OpSelect {
			if s := side(i, in, q); s != 0 {
				remap[i] = in.Args[s]
				dropped = true
				continue
			}
		}
		remap[i] = q.add(in)
	}
	if !dropped {
		return p
	}
	q.Result = remap[p.Result]
	if p.ResultErr >= 0 {
		q.ResultErr = remap[p.ResultErr]
	}
	return q.compact()
}
