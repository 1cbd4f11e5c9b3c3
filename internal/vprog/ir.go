// Package vprog defines the vector program: a straight-line SSA list of lane
// operations that every backend (pure Go, AVX2, AVX-512) implements with
// exactly the semantics written here. A kernel applies one program to every
// element of its slices; the emitters only translate operations, they never
// decide anything about an activation.
//
// The semantics below are the contract that makes the backends agree bit for
// bit. Where x86 and Go differ (MINPD's NaN rule, rounding of scaled
// results), the operation is defined the x86 way and the Go emitter mirrors it.
// Six operations exist only in the programs ForX86 makes for the assembly
// (OpNegAbs, for AVX-512 OpFixUp, OpAndCmp, OpKeepIf and OpMergeIf, and
// for AVX2 OpAndMask),
// and so do negated comparisons (CmpNegated); the interpreter defines
// them, and the Go emitter never sees them.
package vprog

import "fmt"

// Type is a lane's floating-point format.
type Type uint8

const (
	F32 Type = iota + 1
	F64
)

func (t Type) String() string {
	switch t {
	case F32:
		return "f32"
	case F64:
		return "f64"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Bits is the width of the format in bits.
func (t Type) Bits() int {
	if t == F32 {
		return 32
	}
	return 64
}

// Op is a lane operation. Float operations take and give lanes of the
// program's compute type; comparisons give masks; Select takes a mask.
type Op uint8

const (
	OpInvalid Op = iota

	// Leaves.
	OpInput // Imm = input index; the element loaded from input slice Imm, converted to the compute type
	OpParam // Imm = parameter index; a scalar argument, converted to the compute type and broadcast
	OpConst // Imm = the value, already exactly representable in the compute type

	// Arithmetic, IEEE 754 with one rounding to nearest-even each. A NaN
	// operand gives its NaN, quieted. Where two operands are NaN, which
	// one's payload an operation keeps is left open: x86 keeps the first
	// source's, but Go's compiler may swap the operands of + and * (it
	// did when the pure-Go kernels began to interleave elements), so the
	// pure-Go kernels may keep either. No kernel's result shows it: the
	// lowering's NaN rule gives an input's NaN wherever an input is NaN.
	OpAdd // a + b
	OpSub // a - b
	OpMul // a * b
	OpDiv // a / b
	OpFMA // a*b + c with a single rounding (in F32 compute: FMA32)
	OpNeg // -a: flips the sign bit (also of NaN and zero)
	OpAbs // |a|: clears the sign bit
	// OpNegAbs is -|a|: sets the sign bit. Only ForX86 makes it, from
	// neg(abs(a)): one OR where those take an AND and an XOR.
	OpNegAbs
	// OpCopySign gives |a| with the sign bit of b.
	OpCopySign
	// OpParityNeg is a with its sign bit flipped where the lowest bit of
	// b's encoding is set: -a or a by the parity of an integer k that b
	// holds as k + c in a binade where the spacing is 1 (c = 1.5·2^52 for
	// float64), a sign (-1)^k in two bit operations (a shift and an XOR)
	// where a floor, two FMAs and a product take five.
	OpParityNeg
	OpSqrt // correctly rounded square root
	// OpMin is x86 MINPD: a < b ? a : b. If either is NaN, or both are zero, it gives b.
	OpMin
	// OpMax is x86 MAXPD: a > b ? a : b. If either is NaN, or both are zero, it gives b.
	OpMax
	// OpRound rounds to an integer-valued float; Imm is the RoundMode.
	OpRound
	// OpLdexp is a * 2^b, correctly rounded (one rounding, gradual underflow,
	// overflow to ±Inf), for finite a and integer-valued b with |b| ≤ 2200.
	// With Imm = LdexpMidRange the lowering promises |a| in [2^-60, 2^60]
	// (or a zero, infinite or NaN) and b in [-1982, 1983]: the result, the
	// same, is then a * 2^c * 2^(b-c) with c = b clamped to [-960, 960], two
	// multiplications by normal powers of two of which only the second can
	// round. AVX2 does that in 9 instructions instead of the 20 of the
	// general case. In float32 lanes the promise is b in [-186, 187] and c
	// is b clamped to [-60, 60]. With Imm = LdexpNormal the lowering
	// promises b in [-1022, 1023], so 2^b is a normal float: the result,
	// the same, is the single product a * 2^b (3 instructions on AVX2).
	// With Imm = LdexpFlush b may also be -1023, and there 2^b is read as
	// +0, the float whose exponent field is 0: the lowering promises a
	// positive finite a, so the result is +0. That is what the AVX2 and
	// pure-Go kernels get for free when they build 2^b from its bits (b +
	// 1023 in the exponent field), so an exp whose argument is clamped
	// where k = -1023 flushes to 0 with no comparison and no blend
	// (exp32); AVX-512's VSCALEF needs a write mask for it (ForX86).
	OpLdexp
	// OpGetExp is floor(log2|a|) as a float, defined for normal finite a ≠ 0
	// (the lowering guarantees it; other inputs give an unspecified value
	// that the lowering must select away).
	OpGetExp
	// OpGetMant is |a| * 2^-floor(log2|a|), in [1, 2), with the same domain as OpGetExp.
	OpGetMant
	// OpFixUp is AVX-512's VFIXUPIMM: a's class picks a 4-bit token from
	// the table b, a constant whose bits (the low 32 of a float64 lane) are
	// the table, and the token gives the result: c (the destination), a,
	// or a constant (FixUp, x86.go). The table is a constant rather than
	// an immediate so that a kernel holds it in a register as it does any
	// constant. Only ForX86 makes it, for AVX-512; the Go and AVX2 emitters
	// have no form for it.
	OpFixUp

	// Comparisons: ordered, so false when either operand is NaN; with Imm
	// CmpNegated (only ForX86 makes it) the negation, true when either is
	// NaN.
	OpLT // a < b
	OpLE // a <= b
	OpEQ // a == b
	// OpIsNaN is true where a is NaN.
	OpIsNaN

	// Mask logic.
	OpAnd    // a && b
	OpOr     // a || b
	OpAndNot // a && !b
	OpNot    // !a
	// OpAndCmp is a && (b CMP c), with Imm the comparison: OpLT, OpLE or
	// OpEQ. AVX-512 compares into an opmask under a write mask, one
	// instruction where a comparison and a KAND take two. Only ForX86
	// makes it, for AVX-512.
	OpAndCmp

	// OpSelect is mask ? a : b, lane by lane. Args: mask, a, b. With Imm
	// = SelectSign the first argument is a float value, not a mask: the
	// lanes where its sign bit is set take a (AVX2's VBLENDVPD reads only
	// that bit). Only ForX86 makes it, for AVX2.
	OpSelect
	// OpKeepIf is a ? (b OP c) : +0, with Imm the operation: OpAdd, OpSub,
	// OpMul, OpDiv or OpLdexp (an Ldexp of any Imm: AVX-512 has one
	// VSCALEF for all). AVX-512 computes the operation under a zeroing
	// write mask, one instruction where the operation and a blend take
	// two (an exp's flush to 0 below its range). Only ForX86 makes it,
	// for AVX-512.
	OpKeepIf
	// OpMergeIf is a ? (b OP c) : d, with Imm the operation as for
	// OpKeepIf. AVX-512 computes the operation under a merging write
	// mask into a register that holds d: one instruction where the
	// operation and a blend take two (hardswish's x >= 3 ? x : p/6).
	// Only ForX86 makes it, for AVX-512.
	OpMergeIf
	// OpAndMask is a ? b : +0, with Imm CmpNegated a ? +0 : b: AVX2's
	// VANDPD (VANDNPD) of the mask's all-ones lanes with b, one micro-op
	// where a blend takes three on Intel cores (relu', the exp's flush to
	// 0). b's bits pass unchanged, a NaN's payload too. Only ForX86 makes
	// it, for AVX2.
	OpAndMask

	opCount
)

// LdexpMidRange is the Imm of an OpLdexp whose operand is of moderate
// magnitude (see OpLdexp).
const LdexpMidRange = 1

// LdexpNormal is the Imm of an OpLdexp whose exponent is within the normal
// range (see OpLdexp).
const LdexpNormal = 2

// LdexpFlush is the Imm of an OpLdexp that is an LdexpNormal whose
// exponent may also be -1023, where the power of two is +0 (see OpLdexp).
const LdexpFlush = 3

// SelectSign is the Imm of an OpSelect on a value's sign bit (see OpSelect).
const SelectSign = 2

// CmpNegated is the Imm of a comparison that gives its negation (see
// OpLT).
const CmpNegated = 1

// RoundMode is the Imm of OpRound; the numbers are the x86 ROUND/RNDSCALE immediates.
type RoundMode int

const (
	RoundNearestEven RoundMode = 0
	RoundFloor       RoundMode = 1
	RoundCeil        RoundMode = 2
	RoundTrunc       RoundMode = 3
)

var opNames = [...]string{
	OpInvalid: "invalid", OpInput: "input", OpParam: "param", OpConst: "const",
	OpAdd: "add", OpSub: "sub", OpMul: "mul", OpDiv: "div", OpFMA: "fma", OpNeg: "neg",
	OpAbs: "abs", OpNegAbs: "negabs", OpCopySign: "copysign", OpParityNeg: "parityneg", OpSqrt: "sqrt", OpMin: "min", OpMax: "max",
	OpRound: "round", OpLdexp: "ldexp", OpGetExp: "getexp", OpGetMant: "getmant", OpFixUp: "fixup",
	OpLT: "lt", OpLE: "le", OpEQ: "eq", OpIsNaN: "isnan",
	OpAnd: "and", OpOr: "or", OpAndNot: "andnot", OpNot: "not", OpAndCmp: "andcmp", OpSelect: "select",
	OpKeepIf: "keepif", OpMergeIf: "mergeif", OpAndMask: "andmask",
}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Arity is the number of value operands the operation takes.
func (o Op) Arity() int {
	switch o {
	case OpInput, OpParam, OpConst:
		return 0
	case OpNeg, OpAbs, OpNegAbs, OpSqrt, OpRound, OpGetExp, OpGetMant, OpIsNaN, OpNot:
		return 1
	case OpFMA, OpSelect, OpAndCmp, OpFixUp, OpKeepIf:
		return 3
	case OpMergeIf:
		return 4
	}
	return 2
}

// GivesMask reports whether the operation's result is a mask rather than a float.
func (o Op) GivesMask() bool {
	switch o {
	case OpLT, OpLE, OpEQ, OpIsNaN, OpAnd, OpOr, OpAndNot, OpNot, OpAndCmp:
		return true
	}
	return false
}

// Value names the result of one instruction: its index in Program.Instrs.
type Value int32

// Instr is one SSA instruction.
type Instr struct {
	Op   Op
	Args [4]Value // the first Op.Arity() are used
	Imm  float64  // input index, parameter index, constant value or round mode
}

// Program is a kernel's body for one element.
type Program struct {
	Name    string // for diagnostics, e.g. "sigmoid/f32/forward"
	Mem     Type   // element type of the slices
	Compute Type   // type the lanes are computed in (F64 for F32 kernels with transcendental parts)
	Inputs  int    // number of input slices (x; or x, dy; or y, dy)
	Params  []string
	Instrs  []Instr
	Result  Value // the value stored to the output slice, converted to Mem
	// Reduce is NoReduce for a kernel that stores Result per element; for
	// a reduction kernel it is how Result folds into an Acc (reduce.go).
	Reduce Reducer
	// ResultErr, when ≥ 0 (sum reductions only), is the exact rounding
	// error of Result, folded in with it: a sum of products dy·g keeps each
	// product exact (TwoProd), which a weight gradient over 10^6 terms of
	// both signs needs.
	ResultErr Value
	// Stops (elementwise programs only) are masks at which the kernel
	// stops: it stores no element from the first one where any of them is
	// true, and returns how many it stored. A vector kernel may stop up to
	// an iteration earlier (it tests a whole iteration's vectors before
	// storing any of them), never later. A rare path's usual program stops
	// where an element needs the rare branch (rare.go); the caller goes on
	// from there with the full program.
	Stops []Value
}

// Live marks the instructions the kernel needs: those Result and Stops
// depend on, and for a sum that folds it, those of ResultErr. The emitters
// skip the rest.
func (p *Program) Live() []bool {
	live := make([]bool, len(p.Instrs))
	live[p.Result] = true
	if p.Reduce == ReduceSum && p.ResultErr >= 0 {
		live[p.ResultErr] = true
	}
	for _, s := range p.Stops {
		live[s] = true
	}
	for i := len(p.Instrs) - 1; i >= 0; i-- {
		if live[i] {
			for _, a := range p.Instrs[i].Args[:p.Instrs[i].Op.Arity()] {
				live[a] = true
			}
		}
	}
	return live
}

// Invariant marks the values that are the same for every element: the
// constants and parameters, and what is computed from them alone. A kernel
// computes these once per call, before its loop over the elements.
func (p *Program) Invariant() []bool {
	inv := make([]bool, len(p.Instrs))
	for i, in := range p.Instrs {
		inv[i] = in.Op != OpInput
		for _, a := range in.Args[:in.Op.Arity()] {
			inv[i] = inv[i] && inv[a]
		}
	}
	return inv
}

// Uses counts, for each value, how many instructions (and the result and
// stops) use it.
func (p *Program) Uses() []int {
	n := make([]int, len(p.Instrs))
	for _, in := range p.Instrs {
		for _, a := range in.Args[:in.Op.Arity()] {
			n[a]++
		}
	}
	n[p.Result]++
	if p.Reduce == ReduceSum && p.ResultErr >= 0 {
		n[p.ResultErr]++
	}
	for _, s := range p.Stops {
		n[s]++
	}
	return n
}

// String prints the program one instruction a line, for debugging and golden tests.
func (p *Program) String() string {
	s := fmt.Sprintf("program %s mem=%s compute=%s inputs=%d params=%v\n", p.Name, p.Mem, p.Compute, p.Inputs, p.Params)
	for i, in := range p.Instrs {
		s += fmt.Sprintf("  v%d = %s", i, in.Op)
		switch in.Op {
		case OpInput, OpParam, OpRound:
			s += fmt.Sprintf(" #%d", int(in.Imm))
		case OpConst:
			s += fmt.Sprintf(" %v", in.Imm)
		case OpLT, OpLE, OpEQ, OpAndMask:
			if in.Imm == CmpNegated {
				s += " negated"
			}
		case OpAndCmp, OpKeepIf, OpMergeIf:
			s += " " + Op(in.Imm).String()
		}
		for _, a := range in.Args[:in.Op.Arity()] {
			s += fmt.Sprintf(" v%d", a)
		}
		s += "\n"
	}
	if p.Reduce != NoReduce {
		s += fmt.Sprintf("  reduce %s", p.Reduce)
		if p.Reduce == ReduceSum && p.ResultErr >= 0 {
			s += fmt.Sprintf(" err v%d", p.ResultErr)
		}
		s += "\n"
	}
	for _, v := range p.Stops {
		s += fmt.Sprintf("  stop v%d\n", v)
	}
	return s + fmt.Sprintf("  result v%d\n", p.Result)
}
