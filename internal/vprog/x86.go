package vprog

// ForX86 is p for the x86 assembly kernels: p itself, or a copy without the
// NaN rules (isnan(a) ? a : y) that x86 arithmetic already keeps, because
// y gives a's NaN there up to the quiet bit (nanpass.go). softshrink's
// x - min(max(x, -lambd), lambd) is x's NaN on x86, where the portable
// program cannot count on it. The copy computes the same bits as p
// wherever a is a number.
func (p *Program) ForX86() *Program {
	if p.Reduce != NoReduce {
		return p
	}
	remap := make([]Value, len(p.Instrs))
	dropped := false
	q := p.derive(p.Name)
	q.Instrs = nil
	for i, in := range p.Instrs {
		for k := range in.Op.Arity() {
			in.Args[k] = remap[in.Args[k]]
		}
		if in.Op == OpSelect && in.Imm == 0 {
			m, a, y := q.Instrs[in.Args[0]], in.Args[1], in.Args[2]
			if m.Op == OpIsNaN && m.Args[0] == a && passesNaN(q, y, a, true) {
				remap[i] = y
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
	return q.compact()
}
