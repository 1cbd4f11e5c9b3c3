package vprog

// Rare paths. A vector program computes every branch on every lane, so a
// branch that only a few inputs need (sin's Payne–Hanek reduction beyond
// |x| = 2.76e13) costs every element. A primitive, or the lowering of a
// where() the spec names in rare: (spec.Activation.IsRare), marks such a
// branch with SelectRare; SplitRare then gives the kernels two programs:
// the usual one, without the rare branches, and a guard that tells, for a
// whole call, whether any element needs them. Where the guard finds none,
// the usual program gives the very bits the full one would (each SelectRare
// would have chosen its usual value), so the choice never shows in the
// results.

// SelectRare is the Imm of an OpSelect whose condition is rarely true and
// whose "true" value is expensive (see Builder.SelectRare).
const SelectRare = 1

// SelectRare is Select(cond, rare, usual) with the promise that cond is
// rarely true and rare costly: SplitRare may drop rare's computation for
// calls where cond holds for no element.
func (b *Builder) SelectRare(cond, rare, usual Value) Value {
	b.mustMask(cond)
	b.mustFloat(rare, usual)
	return b.emit(OpSelect, SelectRare, cond, rare, usual)
}

// SplitRare returns, for an elementwise program with rare branches, the
// usual program (named p.Name+"Usual": each SelectRare replaced by its
// usual value) and the guard (p.Name+"Rare": a ReduceMax program over the
// same inputs and parameters whose value is 1 where any rare condition
// holds, else 0, so that a maximum of 0 or -Inf over a call means "none").
// Both are nil when p has no live rare branch.
func (p *Program) SplitRare() (usual, guard *Program) {
	if p.Reduce != NoReduce {
		return nil, nil
	}
	live := p.Live()
	var conds []Value // each rare condition once
	seen := map[Value]bool{}
	for i, in := range p.Instrs {
		if live[i] && in.Op == OpSelect && in.Imm == SelectRare && !seen[in.Args[0]] {
			seen[in.Args[0]] = true
			conds = append(conds, in.Args[0])
		}
	}
	if len(conds) == 0 {
		return nil, nil
	}

	// The usual program takes each rare select's usual value: it only runs
	// for calls where the guard found every condition false, so these are
	// the bits the full program gives, without the conditions' cost.
	usual = p.dropSelects(func(_ int, in Instr, _ *Program) int {
		if in.Imm == SelectRare {
			return 2
		}
		return 0
	})
	usual.Name = p.Name + "Usual"

	guard = p.derive(p.Name + "Rare")
	rare := conds[0]
	for _, c := range conds[1:] {
		rare = guard.add(Instr{Op: OpOr, Args: [4]Value{rare, c}})
	}
	one := guard.add(Instr{Op: OpConst, Imm: 1})
	none := guard.add(Instr{Op: OpConst, Imm: 0})
	guard.Result = guard.add(Instr{Op: OpSelect, Args: [4]Value{rare, one, none}})
	guard.Reduce, guard.ResultErr = ReduceMax, -1
	return usual, guard.compact()
}

// derive copies p under a new name.
func (p *Program) derive(name string) *Program {
	q := *p
	q.Name = name
	q.Instrs = append([]Instr(nil), p.Instrs...)
	return &q
}

func (p *Program) add(in Instr) Value {
	p.Instrs = append(p.Instrs, in)
	return Value(len(p.Instrs) - 1)
}

// compact is a copy of p without the instructions its result does not
// need.
func (p *Program) compact() *Program {
	live := p.Live()
	q := *p
	q.Instrs = nil
	remap := make([]Value, len(p.Instrs))
	for i, in := range p.Instrs {
		if !live[i] {
			continue
		}
		for k := range in.Op.Arity() {
			in.Args[k] = remap[in.Args[k]]
		}
		remap[i] = q.add(in)
	}
	q.Result = remap[p.Result]
	if p.ResultErr >= 0 {
		q.ResultErr = remap[p.ResultErr]
	}
	return &q
}
