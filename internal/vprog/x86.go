package vprog

import "math"

// ForX86 is p for the x86 assembly kernels: p itself, or a copy that costs
// fewer instructions there and computes the same bits wherever the input a
// of p's NaN rule (isnan(a) ? a : y, which every kernel program ends with)
// is a number. Two rewrites:
//
//   - with fixup (AVX-512 has VFIXUPIMM), a select where(a > 0, 1, 0)
//     becomes step(a) (OpStep): one instruction for compare and blend, and
//     for the NaN rule too where the step's product with dy is the result.
//     The two differ only where a is NaN, and there the NaN rule gives a
//     whatever the rest of the program computed. relu's derivative is that
//     select. AVX2 would spend as many instructions on the step as on the
//     select and the rule, and two more constants.
//   - the NaN rule goes when x86 arithmetic already keeps it: y gives a's NaN
//     there up to the quiet bit (nanpass.go). softshrink's
//     x - min(max(x, -lambd), lambd) is x's NaN on x86, where the portable
//     program cannot count on it; so is relu's step(x)·dy.
func (p *Program) ForX86(fixup bool) *Program {
	if p.Reduce != NoReduce {
		return p
	}
	if fixup {
		p = p.withSteps()
	}
	return p.dropSelects(func(_ int, in Instr, q *Program) int {
		m, a, y := q.Instrs[in.Args[0]], in.Args[1], in.Args[2]
		if in.Imm == 0 && m.Op == OpIsNaN && m.Args[0] == a && passesNaN(q, y, a, true) {
			return 2
		}
		return 0
	})
}

// StepTable is VFIXUPIMM's table for OpStep: nibble j is the token for
// operands of class j. Classes: 0 quiet NaN, 1 signalling NaN, 2 zero,
// 3 +1, 4 -Inf, 5 +Inf, 6 negative, 7 positive. Tokens: 1 the operand
// itself, 8 +0, 0xA +1. The double-precision form reads the low 32 bits of
// each 64-bit lane.
const StepTable = 0xA8A8A811

// stepTableValue is StepTable as a constant of compute type t: the bits
// StepTable in a float32 lane, or in the low half of a float64 one.
func stepTableValue(t Type) float64 {
	if t == F32 {
		return float64(math.Float32frombits(StepTable))
	}
	return math.Float64frombits(StepTable)
}

// withSteps returns p with each where(a > 0, 1, 0) on the NaN rule's input
// a replaced by step(a), or p itself when there is none.
func (p *Program) withSteps() *Program {
	rule := p.Instrs[p.Result]
	if rule.Op != OpSelect || p.Instrs[rule.Args[0]].Op != OpIsNaN {
		return p
	}
	a := rule.Args[1]
	if p.Instrs[a].Op != OpInput || p.Instrs[rule.Args[0]].Args[0] != a {
		return p
	}
	isConst := func(v Value, bits uint64) bool {
		in := p.Instrs[v]
		return in.Op == OpConst && math.Float64bits(in.Imm) == bits
	}
	isStep := func(in Instr) bool {
		if in.Op != OpSelect || !isConst(in.Args[1], math.Float64bits(1)) || !isConst(in.Args[2], 0) {
			return false
		}
		m := p.Instrs[in.Args[0]] // a > 0 is built as 0 < a
		return m.Op == OpLT && isConst(m.Args[0], 0) && m.Args[1] == a
	}
	q := p.derive(p.Name)
	q.Instrs = nil
	remap := make([]Value, len(p.Instrs))
	table := Value(-1) // the table constant, added with the first step
	for i, in := range p.Instrs {
		if isStep(in) {
			if table < 0 {
				table = q.add(Instr{Op: OpConst, Imm: stepTableValue(p.Compute)})
			}
			remap[i] = q.add(Instr{Op: OpStep, Args: [3]Value{remap[a], table}})
			continue
		}
		for k := range in.Op.Arity() {
			in.Args[k] = remap[in.Args[k]]
		}
		remap[i] = q.add(in)
	}
	if table < 0 {
		return p
	}
	q.Result = remap[p.Result]
	if p.ResultErr >= 0 {
		q.ResultErr = remap[p.ResultErr]
	}
	return q.compact()
}
