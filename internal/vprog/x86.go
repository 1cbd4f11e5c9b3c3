package vprog

import (
	"fmt"
	"math"
)

// ForX86 is p for the x86 assembly kernels: p itself, or a copy that costs
// fewer instructions there and computes the same bits wherever the input a
// of p's NaN rule (isnan(a) ? a : y, which every kernel program ends with)
// is a number. Where a is NaN the rule gives a whatever y is, so y may
// change there freely.
//
// First -|a| becomes one instruction (withNegAbs). For AVX-512, selects by
// a comparison of a with constants, and constants that a select picks
// where a is NaN, become fix-ups of a (withFixUps, VFIXUPIMM). Then the
// NaN rule goes if x86 arithmetic already keeps it: y gives a's NaN up to
// the quiet bit (nanpass.go). softshrink's x - min(max(x, -lambd), lambd)
// is x's NaN on x86, where the portable program cannot count on it; so is
// relu's fixup(x)·dy. A NaN rule that stays is a fix-up on AVX-512
// (withNaNRuleFixUp); on AVX2 it joins the select of a by a comparison
// that it wraps, if any (withNaNRuleInSelect). AVX-512 masks the VSCALEF
// of an LdexpFlush (withFlushMasks). Last, AVX-512 fuses a comparison into the
// conjunction that reads it (withMaskedCompares), and an operation into
// the select that keeps it or gives another value (withKeepIfs); AVX2 makes
// a select between a value and +0 an AND with the mask (withAndMasks).
func (p *Program) ForX86(avx512 bool) *Program {
	if p.Reduce != NoReduce {
		if avx512 {
			return p.withFlushMasks()
		}
		return p
	}
	p = p.withNegAbs().withLeavesLast()
	if !avx512 {
		return p.withoutNaNRule().withoutShadowedNaNRules().withSignSelects().withNaNRuleInSelect().withAndMasks()
	}
	return p.withFlushMasks().withFixUps().withoutNaNRule().withoutShadowedNaNRules().withNaNRuleFixUp().withMaskedCompares().withKeepIfs()
}

// withFlushMasks makes each LdexpFlush (whose 2^-1023 is +0) an
// LdexpNormal where its exponent is above -1023 and +0 elsewhere: AVX-512's
// VSCALEF gives a·2^-1023 there, where AVX2 and the pure-Go kernels, which
// build the power from its bits, get 0. withKeepIfs then makes the select
// a VSCALEF under a zeroing mask: a comparison more, where AVX2 has none.
func (p *Program) withFlushMasks() *Program {
	return p.rebuild(func(q *Program, _ int, in Instr, _ []Value) (Value, bool) {
		if in.Op != OpLdexp || in.Imm != LdexpFlush {
			return 0, false
		}
		in.Imm = LdexpNormal // in the lanes the select keeps
		scaled := q.add(in)
		above := q.add(Instr{Op: OpLT, Args: [4]Value{q.add(Instr{Op: OpConst, Imm: -1023}), in.Args[1]}})
		return q.add(Instr{Op: OpSelect, Args: [4]Value{above, scaled, q.add(Instr{Op: OpConst, Imm: 0})}}), true
	})
}

// withNaNRuleFixUp makes a NaN rule that is still there, isnan(a) ? a : y,
// one fix-up of a into y: VFIXUPIMM gives a where a is NaN and y
// elsewhere, one instruction and no opmask where a comparison and a blend
// take two and an opmask (selu, softplus, tanh, sin, sigmoid').
func (p *Program) withNaNRuleFixUp() *Program {
	a, ok := p.nanRuleInput()
	if !ok {
		return p
	}
	return p.rebuild(func(q *Program, i int, in Instr, remap []Value) (Value, bool) {
		if i != int(p.Result) {
			return 0, false
		}
		return q.fixUpInto(remap[a], 0x11, in.Args[2]), true // NaN classes: a itself; the rest: y
	})
}

// withLeavesLast puts a constant or parameter first operand of an addition
// or product second. x86 arithmetic returns its first NaN operand, so a
// NaN of an input then wins over a NaN parameter, and elu's alpha·expm1(x)
// is x's NaN where x is: its NaN rule goes (withoutNaNRule). The assembly
// keeps the order (asm/alloc.go moves only a leaf first operand).
func (p *Program) withLeavesLast() *Program {
	leaf := func(q *Program, v Value) bool { op := q.Instrs[v].Op; return op == OpConst || op == OpParam }
	return p.rebuild(func(q *Program, _ int, in Instr, _ []Value) (Value, bool) {
		if (in.Op != OpAdd && in.Op != OpMul) || !leaf(q, in.Args[0]) || leaf(q, in.Args[1]) {
			return 0, false
		}
		in.Args[0], in.Args[1] = in.Args[1], in.Args[0]
		return q.add(in), true
	})
}

// withNegAbs makes each neg(abs(a)) one OpNegAbs.
func (p *Program) withNegAbs() *Program {
	return p.rebuild(func(q *Program, _ int, in Instr, _ []Value) (Value, bool) {
		if in.Op != OpNeg || q.Instrs[in.Args[0]].Op != OpAbs {
			return 0, false
		}
		return q.add(Instr{Op: OpNegAbs, Args: [4]Value{q.Instrs[in.Args[0]].Args[0]}}), true
	})
}

// withKeepIfs makes each select m ? v : w whose v is an addition,
// subtraction, product, quotient or Ldexp with no other use one masked
// operation: an OpKeepIf where w is +0 (an exp's flush to 0 below its
// range), an OpMergeIf otherwise (hardswish's x >= 3 ? x : p/6). So too
// m ? w : v where m is a comparison with no other use, under the negated
// comparison (CmpNegated).
func (p *Program) withKeepIfs() *Program {
	p = p.compact() // so that Uses counts the live uses only
	uses := p.Uses()
	return p.rebuild(func(q *Program, i int, in Instr, _ []Value) (Value, bool) {
		if in.Op != OpSelect || in.Imm != 0 {
			return 0, false
		}
		orig := p.Instrs[i].Args
		// masked reports whether a write mask can compute side k.
		masked := func(k int) bool {
			switch q.Instrs[in.Args[k]].Op {
			case OpAdd, OpSub, OpMul, OpDiv, OpLdexp:
				return uses[orig[k]] == 1
			}
			return false
		}
		m, c := in.Args[0], q.Instrs[in.Args[0]]
		side := 1 // the side that is v
		switch {
		case masked(1):
		case masked(2) && (c.Op == OpLT || c.Op == OpLE || c.Op == OpEQ) && c.Imm == 0 && uses[orig[0]] == 1:
			side = 2
		default:
			return 0, false
		}
		v, w := q.Instrs[in.Args[side]], in.Args[3-side]
		zeroing := isPosZero(q.Instrs[w])
		if !zeroing && i == int(p.Result) {
			// Measured: merged into the value the kernel stores, the
			// masked operation took more time than the operation and a
			// blend (leaky_relu +14%, float64 logsigmoid +1%), where
			// merged inside a program it took less (hardswish -17%,
			// silu' -8%, mish' and gelu_tanh -6%).
			return 0, false
		}
		if side == 2 {
			m = q.add(Instr{Op: c.Op, Imm: CmpNegated, Args: c.Args})
		}
		leaf := func(k int) bool { op := q.Instrs[v.Args[k]].Op; return op == OpConst || op == OpParam }
		if (v.Op == OpAdd || v.Op == OpMul) && leaf(0) && !leaf(1) {
			// A constant or parameter last, where the encoding takes a
			// memory operand. Neither is a NaN of an input, so the NaN
			// that comes out of two NaN operands does not change.
			v.Args[0], v.Args[1] = v.Args[1], v.Args[0]
		}
		if zeroing {
			return q.add(Instr{Op: OpKeepIf, Imm: float64(v.Op), Args: [4]Value{m, v.Args[0], v.Args[1]}}), true
		}
		return q.add(Instr{Op: OpMergeIf, Imm: float64(v.Op), Args: [4]Value{m, v.Args[0], v.Args[1], w}}), true
	})
}

// withAndMasks makes each select by a mask between a value and +0 one
// OpAndMask: AVX2's masks are all-ones lanes, so m ? v : +0 is m AND v
// (and m ? +0 : v is v AND NOT m), one micro-op where VBLENDVPD takes
// three on Intel cores. A select by a sign (SelectSign) reads one bit
// only and stays.
func (p *Program) withAndMasks() *Program {
	return p.rebuild(func(q *Program, _ int, in Instr, _ []Value) (Value, bool) {
		if in.Op != OpSelect || in.Imm == SelectSign {
			return 0, false
		}
		switch {
		case isPosZero(q.Instrs[in.Args[2]]):
			return q.add(Instr{Op: OpAndMask, Args: [4]Value{in.Args[0], in.Args[1]}}), true
		case isPosZero(q.Instrs[in.Args[1]]):
			return q.add(Instr{Op: OpAndMask, Imm: CmpNegated, Args: [4]Value{in.Args[0], in.Args[2]}}), true
		}
		return 0, false
	})
}

// isPosZero reports whether in is the constant +0.
func isPosZero(in Instr) bool { return in.Op == OpConst && math.Float64bits(in.Imm) == 0 }

// withMaskedCompares fuses each a && (b CMP c) whose comparison has no
// other use into one OpAndCmp.
func (p *Program) withMaskedCompares() *Program {
	uses := p.Uses()
	return p.rebuild(func(q *Program, i int, in Instr, _ []Value) (Value, bool) {
		if in.Op != OpAnd {
			return 0, false
		}
		orig := p.Instrs[i]
		for k := 1; k >= 0; k-- {
			c := q.Instrs[in.Args[k]]
			if (c.Op == OpLT || c.Op == OpLE || c.Op == OpEQ) && uses[orig.Args[k]] == 1 {
				return q.add(Instr{Op: OpAndCmp, Imm: float64(c.Op), Args: [4]Value{in.Args[1-k], c.Args[0], c.Args[1]}}), true
			}
		}
		return 0, false
	})
}

// withoutNaNRule drops the NaN rule where the rest of p passes a's NaN on
// as x86 arithmetic does.
func (p *Program) withoutNaNRule() *Program {
	return p.dropSelects(func(_ int, in Instr, q *Program) int {
		m, a, y := q.Instrs[in.Args[0]], in.Args[1], in.Args[2]
		if in.Imm == 0 && m.Op == OpIsNaN && m.Args[0] == a && passesNaN(q, y, a, true) {
			return 2
		}
		return 0
	})
}

// withNaNRuleInSelect folds a NaN rule that stays, isnan(a) ? a : (c ? a :
// v), with c an ordered comparison of a with a constant, into the select
// it wraps: c || isnan(a) is one negated comparison, unordered (a < k or
// NaN is !(k <= a)). One comparison and one blend fewer per vector on
// AVX2 (elu's and celu's where(x > 0, x, v)); AVX-512 makes such a
// pair one fix-up instead (withFixUps).
func (p *Program) withNaNRuleInSelect() *Program {
	a, ok := p.nanRuleInput()
	if !ok {
		return p
	}
	rule := p.Instrs[p.Result]
	sel := p.Instrs[rule.Args[2]]
	if sel.Op != OpSelect || sel.Imm != 0 || sel.Args[1] != a {
		return p
	}
	c := p.Instrs[sel.Args[0]]
	if c.Op != OpLT && c.Op != OpLE || c.Imm != 0 {
		return p
	}
	u, w := c.Args[0], c.Args[1]
	k := u
	if u == a {
		k = w
	} else if w != a {
		return p
	}
	if kin := p.Instrs[k]; kin.Op != OpConst || kin.Imm != kin.Imm {
		return p
	}
	// u < w or unordered is !(w <= u); u <= w or unordered is !(w < u).
	negated := OpLE
	if c.Op == OpLE {
		negated = OpLT
	}
	return p.rebuild(func(q *Program, i int, _ Instr, remap []Value) (Value, bool) {
		if Value(i) != p.Result {
			return 0, false
		}
		m := q.add(Instr{Op: negated, Imm: CmpNegated, Args: [4]Value{remap[w], remap[u]}})
		return q.add(Instr{Op: OpSelect, Args: [4]Value{m, remap[a], remap[sel.Args[2]]}}), true
	})
}

// withoutShadowedNaNRules drops a NaN rule within the program, isnan(a) ?
// t : y, whose lanes where a is NaN the result does not see: x86
// arithmetic makes the result a's NaN wherever a is NaN, with the rule and
// with y in its place (nanpass.go). softplus's max(0, βx) + log1p(exp(−|βx|))
// is βx's NaN there whatever the exp gives. (βx may be NaN where x is not,
// at 0·Inf or for a NaN β, so dropUnseenSelects keeps the rule.)
func (p *Program) withoutShadowedNaNRules() *Program {
	for i := 0; i < len(p.Instrs); i++ {
		in := p.Instrs[i]
		if in.Op != OpSelect || in.Imm != 0 || Value(i) == p.Result || p.Instrs[in.Args[0]].Op != OpIsNaN {
			continue
		}
		a := p.Instrs[in.Args[0]].Args[0]
		if !passesNaN(p, p.Result, a, true) {
			continue
		}
		// The same program with y on both sides: y wherever a is NaN.
		q := *p
		q.Instrs = append([]Instr(nil), p.Instrs...)
		q.Instrs[i].Args[1] = in.Args[2]
		if !passesNaN(&q, q.Result, a, true) {
			continue
		}
		p = p.dropSelects(func(j int, _ Instr, _ *Program) int {
			if j == i {
				return 2
			}
			return 0
		})
		i = -1 // the values are renumbered: from the start again
	}
	return p
}

// withSignSelects makes a select on x < 0 (or 0 < x, its sides exchanged)
// for an input x a select on x's sign bit (SelectSign), which AVX2's
// VBLENDVPD reads directly: one comparison fewer per vector (sigmoid's
// pick of e or 1, silu's, selu's). The two differ only where x is -0 (+0)
// or NaN. So both sides must compute from x and constants alone, and the
// choice must not matter at that zero, which evaluating there settles:
// the kernel's result, where the program reads nothing but x, or else the
// two sides, bit for bit. And the result must not see the NaN lanes'
// choice: it is the kernel's NaN rule on x, or x86 arithmetic makes it
// x's NaN with the new select as well.
func (p *Program) withSignSelects() *Program {
	ruleInput, ruled := p.nanRuleInput()
	changed := false
	for i, in := range p.Instrs {
		if in.Op != OpSelect || in.Imm != 0 {
			continue
		}
		c := p.Instrs[in.Args[0]]
		if c.Op != OpLT || c.Imm != 0 {
			continue
		}
		x, zero, t, f := c.Args[0], c.Args[1], in.Args[1], in.Args[2]
		if isPosZero(p.Instrs[x]) {
			x, zero, t, f = c.Args[1], c.Args[0], f, t // 0 < x: x's sign picks the false side
		}
		if p.Instrs[x].Op != OpInput || !isPosZero(p.Instrs[zero]) || !p.dependsOnlyOn(x, t, f) {
			continue
		}
		inputs := make([]float64, p.Inputs)
		inputs[int(p.Instrs[x].Imm)] = math.Copysign(0, -1)
		if zero != c.Args[1] {
			inputs[int(p.Instrs[x].Imm)] = 0
		}
		params := make([]float64, len(p.Params))
		q := *p
		q.Instrs = append([]Instr(nil), p.Instrs...)
		q.Instrs[i] = Instr{Op: OpSelect, Imm: SelectSign, Args: [4]Value{x, t, f}}
		same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
		if p.Inputs == 1 && len(p.Params) == 0 {
			if !same(p.Eval(inputs, params), q.Eval(inputs, params)) {
				continue
			}
		} else if vals, _ := p.run(inputs, params); !same(vals[t], vals[f]) {
			continue
		}
		if ruled && ruleInput == x || passesNaN(&q, q.Result, x, true) {
			p, changed = &q, true
		}
	}
	if !changed {
		return p
	}
	return p.compact() // without the comparisons
}

// dependsOnlyOn reports whether the values vs are computed from x and
// constants alone.
func (p *Program) dependsOnlyOn(x Value, vs ...Value) bool {
	seen := map[Value]bool{}
	var only func(v Value) bool
	only = func(v Value) bool {
		if v == x || seen[v] {
			return true
		}
		seen[v] = true
		in := p.Instrs[v]
		switch in.Op {
		case OpConst:
			return true
		case OpInput, OpParam:
			return false
		}
		for _, a := range in.Args[:in.Op.Arity()] {
			if !only(a) {
				return false
			}
		}
		return true
	}
	for _, v := range vs {
		if !only(v) {
			return false
		}
	}
	return true
}

// nanRuleInput is the input a of p's NaN rule isnan(a) ? a : y, if p ends
// with one.
func (p *Program) nanRuleInput() (Value, bool) {
	rule := p.Instrs[p.Result]
	if rule.Op != OpSelect || rule.Imm != 0 {
		return 0, false
	}
	m, a := p.Instrs[rule.Args[0]], rule.Args[1]
	return a, m.Op == OpIsNaN && m.Args[0] == a && p.Instrs[a].Op == OpInput
}

// withFixUps rewrites selects with VFIXUPIMM, where a is p's NaN rule
// input:
//
//   - select(m, t, f) with m a comparison of a with a constant, or a
//     conjunction of such, is one fix-up of a (or of a difference) when t
//     and f are constants, a, or one other value (signFixUp): relu's
//     derivative where(x > 0, 1, 0), elu's where(x > 0, x, v). A NaN a
//     gives a itself.
//   - in select(m, t, c) with m false where a is NaN, c becomes a fix-up of
//     a that gives c, and a itself where a is NaN (and so for t where m is
//     true there): threshold's where(x <= threshold, 0, 1). One
//     instruction more, kept only if it takes the NaN rule's two away.
//
// The constants must be ones a token gives (fixUpConsts).
func (p *Program) withFixUps() *Program {
	a, ok := p.nanRuleInput()
	if !ok {
		return p
	}
	signs := p.rebuild(func(q *Program, _ int, in Instr, remap []Value) (Value, bool) {
		if in.Op != OpSelect || in.Imm != 0 {
			return 0, false
		}
		return q.signFixUp(in.Args[0], in.Args[1], in.Args[2], remap[a])
	})
	a, _ = signs.nanRuleInput()
	at := atNaNOf(signs, a, true)
	keeps := signs.rebuild(func(q *Program, i int, in Instr, remap []Value) (Value, bool) {
		if in.Op != OpSelect || in.Imm != 0 || i == int(signs.Result) {
			return 0, false
		}
		side := 2 // the side the select takes where a is NaN
		switch at(signs.Instrs[i].Args[0]) {
		case atNaNTrue:
			side = 1
		case atNaNFalse:
		default:
			return 0, false
		}
		tok, ok := q.token(in.Args[side])
		if !ok {
			return 0, false
		}
		t := uint32(0x11) // the NaN classes: a itself
		for j := 2; j < 8; j++ {
			t |= tok << (4 * j)
		}
		in.Args[side] = q.fixUp(remap[a], t)
		return q.add(in), true
	})
	if keeps == signs {
		return signs
	}
	if dropped := keeps.withoutNaNRule(); dropped != keeps {
		return dropped // ForX86's own withoutNaNRule then finds no rule
	}
	return signs
}

// signFixUp adds to p the fix-up that gives select(m, t, f), if m decides
// by the sign of one value d, and t and f are each a constant a token
// gives, or d itself, or one other value v (the fix-up's destination,
// token 0). m decides by d's sign where:
//
//   - m compares a with a finite constant c, and d = a - c (a itself for
//     c = 0). The rounded difference has the sign of the exact one, and it
//     is 0 only where a = c (gradual underflow): d > 0, d = 0 and d < 0
//     exactly where a > c, a = c and a < c, infinite a included.
//   - m is a conjunction of such comparisons, all strict or none. Each
//     reads d_i > 0 (or d_i >= 0) with d_i = a - c_i or c_i - a, and d is
//     their minimum: relu6's where(x > 0 && x < 6, 1, 0).
//
// Where a is NaN, every d_i is a's NaN on x86, and so is their minimum
// (MINPS gives its second operand), which the table passes on. A compare
// into an opmask costs AVX-512 more than an arithmetic instruction: on
// this project's machine relu6' with d took a third less time than with
// its two compares. elu's where(x > 0, x, alpha*expm1(x)) is one fix-up
// of x into alpha*expm1(x).
func (p *Program) signFixUp(m, t, f, a Value) (Value, bool) {
	finite := func(v Value) bool {
		c := p.Instrs[v]
		return c.Op == OpConst && !math.IsInf(c.Imm, 0) && c.Imm == c.Imm
	}
	var terms []Instr
	var walk func(v Value) bool
	walk = func(v Value) bool {
		in := p.Instrs[v]
		switch in.Op {
		case OpAnd:
			return walk(in.Args[0]) && walk(in.Args[1])
		case OpLT, OpLE, OpEQ:
			terms = append(terms, in)
			return in.Args[0] == a && finite(in.Args[1]) || finite(in.Args[0]) && in.Args[1] == a
		}
		return false
	}
	if !walk(m) {
		return 0, false
	}
	// The sides: a token, d itself (token 1, only a, where d is a), or
	// the destination dest (token 0).
	dAlone := len(terms) == 1 && p.Instrs[constOf(a, terms[0])].Imm == 0
	dest := Value(-1)
	side := func(v Value) (uint32, bool) {
		if tok, ok := p.token(v); ok {
			return tok, true
		}
		if v == a && dAlone {
			return 1, true
		}
		if dest >= 0 && dest != v {
			return 0, false
		}
		dest = v
		return 0, true
	}
	tt, ok1 := side(t)
	ft, ok2 := side(f)
	if !ok1 || !ok2 {
		return 0, false
	}
	// holds tells whether m holds where d is x.
	var holds func(x float64) bool
	var d Value
	if len(terms) == 1 {
		in, c := terms[0], constOf(a, terms[0])
		d = a
		if p.Instrs[c].Imm != 0 {
			d = p.minus(a, c)
		}
		holds = func(x float64) bool {
			if in.Args[0] == a {
				return compare(in.Op, x, 0)
			}
			return compare(in.Op, 0, x)
		}
	} else {
		for _, in := range terms {
			if in.Op == OpEQ || in.Op != terms[0].Op {
				return 0, false
			}
		}
		for i, in := range terms {
			// a > c reads a - c > 0, a < c reads c - a > 0.
			di := a
			if c := constOf(a, in); in.Args[0] == a {
				di = p.add(Instr{Op: OpSub, Args: [4]Value{c, a}})
			} else if p.Instrs[c].Imm != 0 {
				di = p.minus(a, c)
			}
			if i == 0 {
				d = di
			} else {
				d = p.add(Instr{Op: OpMin, Args: [4]Value{d, di}})
			}
		}
		strict := terms[0].Op == OpLT
		holds = func(x float64) bool { return x > 0 || !strict && x == 0 }
	}
	table := uint32(0x11)
	// A member of each class after the NaNs: zero, +1, -Inf, +Inf,
	// negative, positive.
	for j, x := range []float64{0, 1, math.Inf(-1), math.Inf(1), -2, 2} {
		tok := ft
		if holds(x) {
			tok = tt
		}
		table |= tok << (4 * (j + 2))
	}
	if dest < 0 {
		dest = d
	}
	return p.fixUpInto(d, table, dest), true
}

// minus is a - c for a constant c: a value of p that already gives it, a
// - c or a + (-c) (the same bits: IEEE 754 defines a - c as a + (-c)), or
// else a new subtraction. hardswish's x <= -3 then reads the x + 3 its
// product computes.
func (p *Program) minus(a, c Value) Value {
	neg := -p.Instrs[c].Imm
	isConst := func(v Value, x float64) bool {
		in := p.Instrs[v]
		return in.Op == OpConst && math.Float64bits(in.Imm) == math.Float64bits(x)
	}
	for i, in := range p.Instrs {
		switch {
		case in.Op == OpSub && in.Args[0] == a && isConst(in.Args[1], -neg),
			in.Op == OpAdd && in.Args[0] == a && isConst(in.Args[1], neg),
			in.Op == OpAdd && in.Args[1] == a && isConst(in.Args[0], neg):
			return Value(i)
		}
	}
	return p.add(Instr{Op: OpSub, Args: [4]Value{a, c}})
}

// constOf is the operand of comparison in that is not a.
func constOf(a Value, in Instr) Value {
	if in.Args[0] == a {
		return in.Args[1]
	}
	return in.Args[0]
}

// fixUp adds fixup(a, table) to p, its table a new constant.
func (p *Program) fixUp(a Value, table uint32) Value { return p.fixUpInto(a, table, a) }

// fixUpInto adds fixup(a, table) to p with destination dest, what token 0
// gives.
func (p *Program) fixUpInto(a Value, table uint32, dest Value) Value {
	c := p.add(Instr{Op: OpConst, Imm: fixUpTableValue(table, p.Compute)})
	return p.add(Instr{Op: OpFixUp, Args: [4]Value{a, c, dest}})
}

// token is v's VFIXUPIMM token if v is a constant one of them gives.
func (p *Program) token(v Value) (uint32, bool) {
	in := p.Instrs[v]
	if in.Op != OpConst {
		return 0, false
	}
	for tok, c := range fixUpConsts {
		if math.Float64bits(c) == math.Float64bits(in.Imm) {
			return tok, true
		}
	}
	return 0, false
}

// fixUpConsts are VFIXUPIMM's tokens for constants that float32 and
// float64 lanes both hold exactly. (Token 1 is the operand itself; the
// others are the destination, NaNs, a signed infinity, and constants
// rounded to each precision.)
var fixUpConsts = map[uint32]float64{
	4: math.Inf(-1), 5: math.Inf(1), 7: math.Copysign(0, -1), 8: 0,
	9: -1, 10: 1, 11: 0.5,
}

// FixUp is VFIXUPIMM for the tables ForX86 makes: token 0 (the
// destination d), token 1 (a itself) and the constant tokens of
// fixUpConsts. Classes: 0 quiet NaN, 1 signalling
// NaN, 2 zero, 3 +1, 4 -Inf, 5 +Inf, 6 negative, 7 positive; subnormal
// operands are negative or positive (Go runs with MXCSR.DAZ clear). The
// tables give quiet and signalling NaNs the same token, so that float32
// lanes held in float64 (which quiets them) classify alike.
func FixUp(a float64, table uint32, d float64) float64 {
	j := 7
	switch {
	case a != a:
		j = 0
	case a == 0:
		j = 2
	case a == 1:
		j = 3
	case math.IsInf(a, -1):
		j = 4
	case math.IsInf(a, 1):
		j = 5
	case a < 0:
		j = 6
	}
	tok := table >> (4 * j) & 0xf
	switch tok {
	case 0:
		return d
	case 1:
		return a
	}
	c, ok := fixUpConsts[tok]
	if !ok {
		panic(fmt.Sprintf("vprog: fix-up token %d", tok))
	}
	return c
}

// fixUpKeepsNaN reports whether table gives a NaN operand itself.
func fixUpKeepsNaN(table uint32) bool { return table&0xff == 0x11 }

// fixUpTableValue is table as a constant of compute type t: its bits in a
// float32 lane, or in the low half of a float64 one.
func fixUpTableValue(table uint32, t Type) float64 {
	if t == F32 {
		return float64(math.Float32frombits(table))
	}
	return math.Float64frombits(uint64(table))
}

// fixUpTable is the table a constant of compute type t holds.
func fixUpTable(v float64, t Type) uint32 {
	if t == F32 {
		return math.Float32bits(float32(v))
	}
	return uint32(math.Float64bits(v))
}
