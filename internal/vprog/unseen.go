package vprog

// A select whose choice the result never sees is dropped. Primitives end
// with their own NaN rule (isnan(a) ? a : r), and the program ends with
// the kernel's (isnan(x) ? x : f): where the primitive's argument is x,
// the inner select decides lanes the outer one overwrites, an instruction
// (two on AVX2) per vector for nothing; so it does where the argument is
// computed from x but NaN only where x is (nanonly.go). The same holds for
// any select on a mask an enclosing select has already decided.

// unseenWhen is a condition under which a value's lanes do not reach the
// result: where mask m is true (when true) or false (when false).
type unseenWhen struct {
	m    Value
	when bool
}

// dropUnseenSelects returns p without the plain selects (Imm 0) whose
// result no lane of the program's result sees where their own mask picks
// one side: such a select is replaced by its other side.
//
// Each value's unseen conditions are those common to all its uses: a use
// by an ordinary operation passes on that operation's conditions, a use
// as a select's side adds the select's mask (the true side is unseen where
// the mask is false, the other where it is true). Replacing a select by a
// side changes its value only in lanes its conditions cover, and each use
// of it has at least those conditions, so every change stays in unseen
// lanes all the way to the result, however many selects are replaced at
// once.
func (p *Program) dropUnseenSelects() *Program {
	n := len(p.Instrs)
	used := make([]bool, n)
	unseen := make([][]unseenWhen, n)
	used[p.Result] = true
	if p.Reduce == ReduceSum && p.ResultErr >= 0 {
		used[p.ResultErr] = true
	}
	for _, s := range p.Stops {
		used[s] = true
	}
	for i := n - 1; i >= 0; i-- {
		if !used[i] {
			continue
		}
		in := p.Instrs[i]
		for k, a := range in.Args[:in.Op.Arity()] {
			c := unseen[i]
			if in.Op == OpSelect && k > 0 {
				c = append(append([]unseenWhen(nil), c...), unseenWhen{in.Args[0], k == 2})
			}
			if !used[a] {
				used[a], unseen[a] = true, c
			} else {
				unseen[a] = commonConditions(unseen[a], c)
			}
		}
	}
	// A select no lane uses has no conditions, and stays (compact drops it).
	nanOnly := map[int][]bool{} // by input (nanOnlyWith), when needed
	return p.dropSelects(func(i int, in Instr, _ *Program) int {
		if in.Imm != 0 {
			return 0 // a rare select stays for SplitRare
		}
		if s := unseenSide(unseen[i], p.Instrs[i].Args[0]); s != 0 {
			return s
		}
		return p.unseenNaNSide(unseen[i], p.Instrs[i].Args[0], nanOnly)
	})
}

// unseenNaNSide is 2 (the false side) for a select on mask m = isnan(a)
// with a condition "unseen where input x is NaN", if a can be NaN only
// where x is (nanonly.go): its true side is then taken only in unseen
// lanes. It is 0 otherwise. cache holds nanOnlyWith's answers by input.
func (p *Program) unseenNaNSide(conds []unseenWhen, m Value, cache map[int][]bool) int {
	if p.Instrs[m].Op != OpIsNaN {
		return 0
	}
	a := p.Instrs[m].Args[0]
	for _, c := range conds {
		cm := p.Instrs[c.m]
		if !c.when || cm.Op != OpIsNaN || p.Instrs[cm.Args[0]].Op != OpInput {
			continue
		}
		k := int(p.Instrs[cm.Args[0]].Imm)
		if cache[k] == nil {
			cache[k] = p.nanOnlyWith(k)
		}
		if cache[k][a] {
			return 2
		}
	}
	return 0
}

// unseenSide is the side (1: true, 2: false) a select on mask m may be
// replaced by, given its unseen conditions, or 0.
func unseenSide(conds []unseenWhen, m Value) int {
	for _, c := range conds {
		if c.m == m {
			if c.when {
				return 2 // unseen where m is true: the false side will do
			}
			return 1
		}
	}
	return 0
}

// commonConditions is the conditions in both a and b.
func commonConditions(a, b []unseenWhen) []unseenWhen {
	var both []unseenWhen
	for _, c := range a {
		for _, d := range b {
			if c == d {
				both = append(both, c)
				break
			}
		}
	}
	return both
}
