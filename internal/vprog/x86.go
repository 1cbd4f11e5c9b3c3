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
	return p.dropSelects(func(_ int, in Instr, q *Program) int {
		m, a, y := q.Instrs[in.Args[0]], in.Args[1], in.Args[2]
		if in.Imm == 0 && m.Op == OpIsNaN && m.Args[0] == a && passesNaN(q, y, a, true) {
			return 2
		}
		return 0
	})
}
