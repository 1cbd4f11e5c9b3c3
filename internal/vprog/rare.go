package vprog

// Rare paths. A vector program computes every branch on every lane, so a
// branch that only a few inputs need (sin's Payne–Hanek reduction beyond
// |x| = 2.76e13) costs every element. A primitive, or the lowering of a
// where() the spec names in rare: (spec.Activation.IsRare), marks such a
// branch with SelectRare; SplitRare then gives the kernels a second
// program, the usual one, without the rare branches, which stops before
// the first element that needs one (Program.Stops). A call runs the usual
// kernel, and the full one only from where it stopped: the elements the
// usual kernel stored have the bits the full one gives (each SelectRare
// would have chosen its usual value), so the split never shows in the
// results. Testing the conditions costs a comparison per vector inside
// the usual kernel, where a separate pass over the inputs (a guard, as
// this was first done) cost a fifth of sin's time.

// SelectRare is the Imm of an OpSelect whose condition is rarely true and
// whose "true" value is expensive (see Builder.SelectRare).
const SelectRare = 1

// SelectRare is Select(cond, rare, usual) with the promise that cond is
// rarely true and rare costly: SplitRare may drop rare's computation for
// the elements where cond is false.
func (b *Builder) SelectRare(cond, rare, usual Value) Value {
	b.mustMask(cond)
	b.mustFloat(rare, usual)
	return b.emit(OpSelect, SelectRare, cond, rare, usual)
}

// SplitRare returns, for an elementwise program with rare branches, its
// usual program (named p.Name+"Usual"): each SelectRare replaced by its
// usual value, and the rare conditions its Stops. The usual kernel runs
// the call until the first element that needs a rare branch and returns
// how many elements it stored; the caller runs the full program on the
// rest. Each element's result depends on that element alone, and where
// its own rare conditions are false each SelectRare would have chosen its
// usual value, so the elements the usual kernel stores have the very bits
// the full one gives, and the split never shows in the results. It is nil
// when p has no live rare branch, or one whose condition is the same for
// every element (a parameter's), which no element-wise stop can serve.
func (p *Program) SplitRare() *Program {
	if p.Reduce != NoReduce {
		return nil
	}
	live, invariant := p.Live(), p.Invariant()
	var conds []Value // each rare condition once
	seen := map[Value]bool{}
	for i, in := range p.Instrs {
		if live[i] && in.Op == OpSelect && in.Imm == SelectRare && !seen[in.Args[0]] {
			if invariant[in.Args[0]] {
				return nil
			}
			seen[in.Args[0]] = true
			conds = append(conds, in.Args[0])
		}
	}
	if len(conds) == 0 {
		return nil
	}
	conds = p.withoutImplied(conds)
	stopping := p.derive(p.Name + "Usual")
	stopping.Stops = append(append([]Value(nil), p.Stops...), conds...)
	return stopping.dropSelects(func(_ int, in Instr, _ *Program) int {
		if in.Imm == SelectRare {
			return 2
		}
		return 0
	})
}

// withoutImplied drops from masks each one that implies another: a stop
// at x < -745 beside one at x < -708 (mish, silu) tests nothing more, and
// costs a comparison and a mask register per vector. It knows the
// comparisons of one value with two constants, a < c1 ⇒ a < c2 for c1 ≤
// c2 (and c1 < a ⇒ c2 < a for c1 ≥ c2; the same for ≤); between two
// masks that imply each other it keeps the first.
func (p *Program) withoutImplied(masks []Value) []Value {
	var kept []Value
	for i, m := range masks {
		implied := false
		for j, o := range masks {
			if i != j && p.implies(m, o) && !(j > i && p.implies(o, m)) {
				implied = true
				break
			}
		}
		if !implied {
			kept = append(kept, m)
		}
	}
	return kept
}

// implies reports whether mask m is false wherever mask o is: both the
// same comparison (LT or LE) of one value with a constant, on the same
// side, m's bound the tighter.
func (p *Program) implies(m, o Value) bool {
	a, b := p.Instrs[m], p.Instrs[o]
	if a.Op != b.Op || (a.Op != OpLT && a.Op != OpLE) || a.Imm != b.Imm {
		return false
	}
	konst := func(v Value) (float64, bool) {
		in := p.Instrs[v]
		return in.Imm, in.Op == OpConst && in.Imm == in.Imm
	}
	switch {
	case a.Args[0] == b.Args[0]: // v < c1, v < c2: c1 ≤ c2
		c1, ok1 := konst(a.Args[1])
		c2, ok2 := konst(b.Args[1])
		return ok1 && ok2 && c1 <= c2
	case a.Args[1] == b.Args[1]: // c1 < v, c2 < v: c1 ≥ c2
		c1, ok1 := konst(a.Args[0])
		c2, ok2 := konst(b.Args[0])
		return ok1 && ok2 && c1 >= c2
	}
	return false
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

// compact is a copy of p without the instructions its result and stops do
// not need.
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
	q.remapRoots(p, remap)
	return &q
}

// remapRoots sets q's result, rounding-error term and stops to p's,
// renumbered by remap.
func (q *Program) remapRoots(p *Program, remap []Value) {
	q.Result = remap[p.Result]
	if p.ResultErr >= 0 {
		q.ResultErr = remap[p.ResultErr]
	}
	q.Stops = nil
	for _, s := range p.Stops {
		q.Stops = append(q.Stops, remap[s])
	}
}
