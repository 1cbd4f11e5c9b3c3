package asm

import (
	"slices"

	"github.com/actkern/actkern/internal/vprog"
)

// x86 encodes a fused multiply-add in three forms. Each overwrites its first
// operand (the destination, "dst"), reads its second from a register
// ("reg") and may read its third from memory ("mem"):
//
//	213: dst = reg*dst + mem
//	132: dst = dst*mem + reg
//	231: dst = reg*mem + dst
//
// Each computes a*b + c with one rounding whichever slot each operand takes
// (a*b is exact, so the factors may trade places too). What differs is the
// cost: an operand that must be in a register and is not takes a load, and
// a destination whose value is still needed afterwards takes a copy.
// fmaLayout tries the six placements and keeps the cheapest, so that a
// constant factor is read from memory instead of being loaded first (132),
// and a dying addend is accumulated into in place (231).
//
// The placements are not equal where operands are NaN: x86 returns the NaN
// of the first factor as the form writes it (reg in 213 and 231, dst in
// 132), else of the second, else the addend's (measured on this project's
// machines; the SDM leaves it to a table). Go's math.FMA(a, b, c), which the
// generic kernels call, keeps a's, else b's, else c's. A single NaN input
// can reach an FMA as two different NaNs (x and -x, x and |x|), and must come
// out as generic gives it, so a placement is allowed only when it keeps that
// order among the operands computed from the inputs. Constants and
// parameters may take any place: a constant is never NaN, and a NaN
// parameter meeting a NaN input is two NaNs, whose winner the tests leave
// open (vprog's x86 NaN analysis does not count on it either).
type fmaForm int

const (
	fma213 fmaForm = iota
	fma132
	fma231
)

// fmaPlacement is a form and the operand in each of its slots, in the
// order dst, reg, mem.
type fmaPlacement struct {
	form  fmaForm
	slots [3]vprog.Value
}

// nanOrder is the order in which the placement's instruction looks for a
// NaN among its operands: first factor, second factor, addend.
func (p fmaPlacement) nanOrder() []vprog.Value {
	s := p.slots
	switch p.form {
	case fma213:
		return []vprog.Value{s[1], s[0], s[2]}
	case fma132:
		return []vprog.Value{s[0], s[2], s[1]}
	}
	return []vprog.Value{s[1], s[2], s[0]}
}

// fmaPlacements lists every placement of the program's fma(a, b, c). The
// first, generic's order in the 213 form, wins ties.
func fmaPlacements(a, b, c vprog.Value) []fmaPlacement {
	return []fmaPlacement{
		{fma213, [3]vprog.Value{b, a, c}}, {fma213, [3]vprog.Value{a, b, c}},
		{fma132, [3]vprog.Value{a, c, b}}, {fma132, [3]vprog.Value{b, c, a}},
		{fma231, [3]vprog.Value{c, a, b}}, {fma231, [3]vprog.Value{c, b, a}},
	}
}

// fmaLayout chooses the placement of fma(args[0], args[1], args[2]) of
// vector u that keeps generic's NaN (see fmaForm) with the fewest extra
// instructions, and returns the operands in slot order with the form.
func (a *allocator) fmaLayout(args []vprog.Value, u int) ([]vprog.Value, fmaForm) {
	mayBeNaN := func(vs []vprog.Value) []vprog.Value {
		return slices.DeleteFunc(vs, func(v vprog.Value) bool { _, leaf := a.leaf[v]; return leaf })
	}
	want := mayBeNaN(slices.Clone(args))
	var best fmaPlacement
	bestCost := -1
	for _, p := range fmaPlacements(args[0], args[1], args[2]) {
		if !slices.Equal(mayBeNaN(p.nanOrder()), want) {
			continue
		}
		s := p.slots
		cost := 0
		// The destination is free only when it takes over the register of
		// a value that dies here and fills no other slot.
		if !a.dyingReg(s[0], u) || s[0] == s[1] || s[0] == s[2] {
			cost++
		}
		if !a.inReg(s[1], u) {
			cost++
		}
		if bestCost < 0 || cost < bestCost {
			best, bestCost = p, cost
		}
	}
	return best.slots[:], best.form
}

// fmaShape is the allocator's view of the slots: dst is tied, mem may be
// memory.
var fmaShape = shape{memArg: 2, tie: 0}
