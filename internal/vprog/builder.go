package vprog

import (
	"fmt"
	"math"
)

// Builder appends instructions to a Program, sharing identical instructions
// (common subexpressions) and checking operand kinds as it goes, so that a
// lowering mistake fails where it is made rather than in an emitter.
type Builder struct {
	p    *Program
	memo map[memoKey]Value
	// unrounded records the power-of-two scalings whose operand a
	// primitive rounded on purpose (expLdexpDD): a scaled product
	// (scale.go) scales the exact sum instead.
	unrounded map[Value]unroundedScaling
}

// unroundedScaling describes a value v = 2^k·fl(hi + lo), where fl rounds
// hi + lo on purpose to the grid of a subnormal result: exact is the mask
// of lanes where hi + lo is the value (elsewhere the primitive clamped its
// argument), and k the true exponent (the scaling itself may take a
// clamped one where the result is 0 either way).
type unroundedScaling struct {
	hi, lo, exact, k Value
}

// NewBuilder starts a program. Compute must be at least as wide as Mem.
func NewBuilder(name string, mem, compute Type, inputs int, params []string) *Builder {
	if compute.Bits() < mem.Bits() {
		panic(fmt.Sprintf("vprog: %s: compute type %s narrower than memory type %s", name, compute, mem))
	}
	return &Builder{
		p:         &Program{Name: name, Mem: mem, Compute: compute, Inputs: inputs, Params: params},
		memo:      map[memoKey]Value{},
		unrounded: map[Value]unroundedScaling{},
	}
}

// NoteUnrounded records that the power-of-two scaling v is 2^k·(hi + lo)
// with hi + lo rounded on purpose (to the grid of a subnormal result), so
// that a scaled product can scale hi + lo by 2^k where the mask exact is
// true (elsewhere, where the primitive clamped its argument, it uses 0).
func (b *Builder) NoteUnrounded(v, hi, lo, exact, k Value) {
	b.unrounded[v] = unroundedScaling{hi: hi, lo: lo, exact: exact, k: k}
}

// Uniform reports whether v is the same in every lane of a call: it depends
// on constants and parameters only, no input.
func (b *Builder) Uniform(v Value) bool {
	uniform := make([]bool, v+1)
	for i, in := range b.p.Instrs[:v+1] {
		uniform[i] = in.Op != OpInput
		for _, a := range in.Args[:in.Op.Arity()] {
			uniform[i] = uniform[i] && uniform[a]
		}
	}
	return uniform[v]
}

// Compute is the type lanes are computed in.
func (b *Builder) Compute() Type { return b.p.Compute }

// StopAt adds mask m to the program's Stops: its kernels store no element
// from the first one where m is true (Program.Stops).
func (b *Builder) StopAt(m Value) {
	b.mustMask(m)
	b.p.Stops = append(b.p.Stops, m)
}

// Finish ends the program with its result, which must be a float.
func (b *Builder) Finish(result Value) *Program {
	return b.FinishReduce(result, -1, NoReduce)
}

// FinishReduce ends a reduction program: result folds into the
// accumulator by r; resultErr (≥ 0 for a sum, or -1) is its exact rounding
// error. (With NoReduce and -1 it is Finish.) Selects the result never sees
// are dropped (dropUnseenSelects).
func (b *Builder) FinishReduce(result, resultErr Value, r Reducer) *Program {
	b.mustFloat(result)
	if resultErr >= 0 {
		b.mustFloat(resultErr)
	}
	p := b.p
	b.p = nil
	p.Result, p.ResultErr, p.Reduce = result, resultErr, r
	return p.dropUnseenSelects()
}

func (b *Builder) emit(op Op, imm float64, args ...Value) Value {
	if len(args) != op.Arity() {
		panic(fmt.Sprintf("vprog: %s: %s takes %d operands, got %d", b.p.Name, op, op.Arity(), len(args)))
	}
	in := Instr{Op: op, Imm: imm}
	copy(in.Args[:], args)
	key := memoKey{in.Op, in.Args, math.Float64bits(in.Imm)}
	if v, ok := b.memo[key]; ok {
		return v
	}
	if v, ok := b.fold(in); ok {
		return v
	}
	v := Value(len(b.p.Instrs))
	b.p.Instrs = append(b.p.Instrs, in)
	b.memo[key] = v
	return v
}

// memoKey identifies an instruction by the bits of its Imm, so that the
// constants -0.0 and +0.0 stay two.
type memoKey struct {
	op   Op
	args [4]Value
	imm  uint64
}

// fold evaluates an arithmetic instruction whose operands are all
// constants, as Eval would (in the compute type), and gives the constant:
// the kernels then load it instead of computing it on every element
// (-3 in a formula is Neg(3); 2^-640 a product of constants). A NaN result
// is left to the instruction, whose sign and payload Const would not keep.
func (b *Builder) fold(in Instr) (Value, bool) {
	switch in.Op {
	case OpInput, OpParam, OpConst, OpSelect:
		return 0, false
	}
	if in.Op.GivesMask() {
		return 0, false
	}
	mini := &Program{Name: b.p.Name, Mem: b.p.Mem, Compute: b.p.Compute}
	for k := range in.Op.Arity() {
		c := b.p.Instrs[in.Args[k]]
		if c.Op != OpConst {
			return 0, false
		}
		in.Args[k] = Value(len(mini.Instrs))
		mini.Instrs = append(mini.Instrs, c)
	}
	mini.Instrs = append(mini.Instrs, in)
	vals, _ := mini.run(nil, nil)
	v := vals[len(mini.Instrs)-1]
	if v != v {
		return 0, false
	}
	return b.Const(v), true
}

func (b *Builder) isMask(v Value) bool { return b.p.Instrs[v].Op.GivesMask() }

func (b *Builder) mustFloat(vs ...Value) {
	for _, v := range vs {
		if b.isMask(v) {
			panic(fmt.Sprintf("vprog: %s: v%d is a mask where a float is needed", b.p.Name, v))
		}
	}
}

func (b *Builder) mustMask(vs ...Value) {
	for _, v := range vs {
		if !b.isMask(v) {
			panic(fmt.Sprintf("vprog: %s: v%d is a float where a mask is needed", b.p.Name, v))
		}
	}
}

func (b *Builder) float(op Op, args ...Value) Value {
	b.mustFloat(args...)
	return b.emit(op, 0, args...)
}

// Input is element i of input slice i.
func (b *Builder) Input(i int) Value {
	if i < 0 || i >= b.p.Inputs {
		panic(fmt.Sprintf("vprog: %s: input %d of %d", b.p.Name, i, b.p.Inputs))
	}
	return b.emit(OpInput, float64(i))
}

// Param is scalar parameter i, broadcast.
func (b *Builder) Param(i int) Value {
	if i < 0 || i >= len(b.p.Params) {
		panic(fmt.Sprintf("vprog: %s: parameter %d of %d", b.p.Name, i, len(b.p.Params)))
	}
	return b.emit(OpParam, float64(i))
}

// Const is v rounded to the compute type. The sign of zero is kept.
func (b *Builder) Const(v float64) Value {
	if b.p.Compute == F32 {
		v = float64(float32(v))
	}
	if v != v {
		v = math.NaN() // one NaN pattern, so that memoisation works
	}
	return b.emit(OpConst, v)
}

func (b *Builder) Add(x, y Value) Value { return b.float(OpAdd, x, y) }
func (b *Builder) Sub(x, y Value) Value { return b.float(OpSub, x, y) }

// Mul is x*y, rounded once (see withoutNegation).
func (b *Builder) Mul(x, y Value) Value {
	x, y = b.withoutNegation(x, y)
	return b.float(OpMul, x, y)
}

func (b *Builder) Div(x, y Value) Value      { return b.float(OpDiv, x, y) }
func (b *Builder) Neg(x Value) Value         { return b.float(OpNeg, x) }
func (b *Builder) Abs(x Value) Value         { return b.float(OpAbs, x) }
func (b *Builder) CopySign(x, s Value) Value { return b.float(OpCopySign, x, s) }
func (b *Builder) Sqrt(x Value) Value        { return b.float(OpSqrt, x) }

// ParityNeg is -x where the lowest bit of k's encoding is set, else x
// (OpParityNeg).
func (b *Builder) ParityNeg(x, k Value) Value { return b.float(OpParityNeg, x, k) }

// Min is x86 MINPD: x < y ? x : y, so y passes through when either is NaN.
// Put the operand whose NaN must survive second.
func (b *Builder) Min(x, y Value) Value { return b.float(OpMin, x, y) }

// Max is x86 MAXPD: x > y ? x : y, so y passes through when either is NaN.
func (b *Builder) Max(x, y Value) Value { return b.float(OpMax, x, y) }

// FMA is x*y + z with one rounding, in either compute type (F32: see
// FMA32, which the Go kernels mirror without rounding twice), and see
// withoutNegation.
func (b *Builder) FMA(x, y, z Value) Value {
	x, y = b.withoutNegation(x, y)
	return b.float(OpFMA, x, y, z)
}

// withoutNegation gives the factors of a product with a negated factor
// and a constant one, (-a)·c, as a·(-c): the same value, since negation
// is exact and rounding symmetric, without the negation's instruction
// (Cody–Waite's x - k·ln2 is fma(-k, ln2, x) as written). Each factor
// keeps its place: an FMA's first NaN operand is the one x86 returns.
func (b *Builder) withoutNegation(x, y Value) (Value, Value) {
	negated := func(neg, c Value) bool {
		n, k := b.p.Instrs[neg], b.p.Instrs[c]
		return n.Op == OpNeg && k.Op == OpConst && k.Imm == k.Imm
	}
	switch {
	case negated(x, y):
		return b.p.Instrs[x].Args[0], b.Const(-b.p.Instrs[y].Imm)
	case negated(y, x):
		return b.Const(-b.p.Instrs[x].Imm), b.p.Instrs[y].Args[0]
	}
	return x, y
}

// Round rounds to an integer-valued float.
func (b *Builder) Round(x Value, mode RoundMode) Value {
	b.mustFloat(x)
	return b.emit(OpRound, float64(mode), x)
}

// Ldexp is x * 2^n for integer-valued n, |n| ≤ 2200, correctly rounded.
func (b *Builder) Ldexp(x, n Value) Value { return b.float(OpLdexp, x, n) }

// LdexpMidRange is Ldexp for x that the caller guarantees to be of
// moderate magnitude, |x| in [2^-60, 2^60] (or zero, infinite or NaN), and
// n in [-1982, 1983] ([-186, 187] in float32 lanes): the same result,
// cheaper on AVX2 (see OpLdexp). The float32-target primitives scale such
// values (a polynomial near 1 by 2^k); the generated agreement tests,
// whose generic kernels evaluate math.Ldexp, would catch a use outside the
// range.
func (b *Builder) LdexpMidRange(x, n Value) Value {
	b.mustFloat(x, n)
	return b.emit(OpLdexp, LdexpMidRange, x, n)
}

// LdexpNormal is Ldexp for n that the caller guarantees to lie in
// [-1022, 1023] ([-126, 127] in float32 lanes): then x·2^n is one product
// by a normal power of two, which rounds once as Ldexp does, and AVX2
// needs 3 instructions for it (see OpLdexp).
func (b *Builder) LdexpNormal(x, n Value) Value {
	b.mustFloat(x, n)
	return b.emit(OpLdexp, LdexpNormal, x, n)
}

// LdexpFlush is LdexpNormal for positive finite x and n that the caller
// guarantees to lie in [-1023, 1023], where n = -1023 gives +0 (see
// OpLdexp): a float64 lanes operation only, whose power of two is built
// from its bits.
func (b *Builder) LdexpFlush(x, n Value) Value {
	b.mustFloat(x, n)
	if b.p.Compute != F64 {
		panic("vprog: LdexpFlush is for float64 lanes")
	}
	return b.emit(OpLdexp, LdexpFlush, x, n)
}

// GetExp is floor(log2|x|) for normal x.
func (b *Builder) GetExp(x Value) Value { return b.float(OpGetExp, x) }

// GetMant is |x| scaled into [1, 2) for normal x.
func (b *Builder) GetMant(x Value) Value { return b.float(OpGetMant, x) }

func (b *Builder) cmp(op Op, x, y Value) Value {
	b.mustFloat(x, y)
	return b.emit(op, 0, x, y)
}

func (b *Builder) LT(x, y Value) Value { return b.cmp(OpLT, x, y) }
func (b *Builder) LE(x, y Value) Value { return b.cmp(OpLE, x, y) }
func (b *Builder) EQ(x, y Value) Value { return b.cmp(OpEQ, x, y) }
func (b *Builder) GT(x, y Value) Value { return b.cmp(OpLT, y, x) }
func (b *Builder) GE(x, y Value) Value { return b.cmp(OpLE, y, x) }

func (b *Builder) IsNaN(x Value) Value {
	b.mustFloat(x)
	// Sign operations keep NaN-ness: isnan(-|a|) is isnan(a), one mask
	// that the kernel's NaN rule on a shares (so a primitive's own rule on
	// -|x| is a select the result never sees: unseen.go).
	for {
		switch b.p.Instrs[x].Op {
		case OpNeg, OpAbs, OpNegAbs:
			x = b.p.Instrs[x].Args[0]
			continue
		}
		return b.emit(OpIsNaN, 0, x)
	}
}

// AtMost reports whether x is known to be ≤ c or NaN in every lane, from
// interval evaluation of the program so far (nanonly.go), inputs and
// parameters anything: -|a| for c ≥ 0, the min of a constant ≤ c and
// anything (mish's exp(min(20, x))), -a² (gelu's exp(-0.5*a*a)).
func (b *Builder) AtMost(x Value, c float64) bool {
	return b.p.intervals(-1, anyValue)[x].hi <= c
}

func (b *Builder) And(m, n Value) Value {
	b.mustMask(m, n)
	return b.emit(OpAnd, 0, m, n)
}

func (b *Builder) Or(m, n Value) Value {
	b.mustMask(m, n)
	return b.emit(OpOr, 0, m, n)
}

func (b *Builder) AndNot(m, n Value) Value {
	b.mustMask(m, n)
	return b.emit(OpAndNot, 0, m, n)
}

func (b *Builder) Not(m Value) Value {
	b.mustMask(m)
	return b.emit(OpNot, 0, m)
}

// Select is m ? x : y.
func (b *Builder) Select(m, x, y Value) Value {
	b.mustMask(m)
	b.mustFloat(x, y)
	if x == y {
		return x
	}
	// m ? x : (m ? x : z) is m ? x : z: primitives and the lowering both
	// pass NaN through this way, and the second select would be dead work.
	if in := b.p.Instrs[y]; in.Op == OpSelect && in.Args[0] == m && in.Args[1] == x {
		return y
	}
	// isnan(a) ? a : y is y when y passes a's NaN lanes on unchanged
	// (nanpass.go): the formula's own selects already keep the NaN rule.
	if in := b.p.Instrs[m]; in.Op == OpIsNaN && in.Args[0] == x && b.passesNaN(y, x) {
		return y
	}
	return b.emit(OpSelect, 0, m, x, y)
}

// Horner evaluates c[0] + t*(c[1] + t*(c[2] + ...)) with FMAs (F64 compute).
// Each step is fma(t, acc, c): t first, so that the assembly can keep t,
// which every step reads, and accumulate in acc's register with the NaN
// order of generic's math.FMA (asm/fma.go).
func (b *Builder) Horner(t Value, c ...float64) Value {
	acc := b.Const(c[len(c)-1])
	for i := len(c) - 2; i >= 0; i-- {
		acc = b.FMA(t, acc, b.Const(c[i]))
	}
	return acc
}
