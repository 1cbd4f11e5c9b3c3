package vprog

import (
	"fmt"
	"math"
)

// Eval runs the program on one element: inputs holds one value per input
// slice (already a float32 value when Mem is F32), params the scalar
// arguments. It returns the stored result converted to Mem, as float64.
// The pure-Go emitter produces code with exactly these semantics; this is
// the executable form of the contract in ir.go.
func (p *Program) Eval(inputs, params []float64) float64 {
	vals, _ := p.run(inputs, params)
	r := vals[p.Result]
	if p.Mem == F32 {
		r = float64(float32(r))
	}
	return r
}

// evalReduce runs a reduction program on one element: the value it folds
// into the accumulator, in the compute type (not rounded to Mem), and the
// value's exact rounding error (0 when the program has none).
func (p *Program) evalReduce(inputs, params []float64) (v, verr float64) {
	vals, _ := p.run(inputs, params)
	if p.ResultErr >= 0 {
		verr = vals[p.ResultErr]
	}
	return vals[p.Result], verr
}

// StopsAt reports whether a kernel of p stops at this element (one of
// p.Stops is true there): it stores neither it nor any later element.
func (p *Program) StopsAt(inputs, params []float64) bool {
	_, masks := p.run(inputs, params)
	for _, s := range p.Stops {
		if masks[s] {
			return true
		}
	}
	return false
}

// run evaluates every instruction: the float values (masks read as 0 there)
// and the masks.
func (p *Program) run(inputs, params []float64) ([]float64, []bool) {
	vals := make([]float64, len(p.Instrs))
	masks := make([]bool, len(p.Instrs))
	narrow := p.Compute == F32
	for i, in := range p.Instrs {
		a := func(k int) float64 { return vals[in.Args[k]] }
		m := func(k int) bool { return masks[in.Args[k]] }
		var r float64
		switch in.Op {
		case OpInput:
			r = inputs[int(in.Imm)]
		case OpParam:
			r = params[int(in.Imm)]
		case OpConst:
			r = in.Imm
		case OpAdd, OpSub, OpMul, OpDiv:
			r = arith(in.Op, a(0), a(1))
		case OpLdexp:
			r = arith(in.Op, a(0), a(1))
			if in.Imm == LdexpFlush && a(1) == -1023 {
				r = 0
			}
		case OpFMA:
			if narrow {
				r = float64(FMA32(float32(a(0)), float32(a(1)), float32(a(2))))
			} else {
				r = math.FMA(a(0), a(1), a(2))
			}
		case OpNeg:
			r = -a(0)
		case OpAbs:
			r = math.Abs(a(0))
		case OpNegAbs:
			r = -math.Abs(a(0))
		case OpCopySign:
			r = math.Copysign(a(0), a(1))
		case OpParityNeg:
			if narrow {
				r = float64(math.Float32frombits(math.Float32bits(float32(a(0))) ^ math.Float32bits(float32(a(1)))<<31))
			} else {
				r = math.Float64frombits(math.Float64bits(a(0)) ^ math.Float64bits(a(1))<<63)
			}
		case OpSqrt:
			r = math.Sqrt(a(0))
		case OpMin:
			if a(0) < a(1) {
				r = a(0)
			} else {
				r = a(1)
			}
		case OpMax:
			if a(0) > a(1) {
				r = a(0)
			} else {
				r = a(1)
			}
		case OpRound:
			r = RoundFloat(a(0), RoundMode(in.Imm))
		case OpGetExp:
			r = GetExp(a(0), p.Compute)
		case OpGetMant:
			r = GetMant(a(0), p.Compute)
		case OpFixUp:
			r = FixUp(a(0), fixUpTable(a(1), p.Compute), a(2))
		case OpLT, OpLE, OpEQ:
			masks[i] = compare(in.Op, a(0), a(1)) != (in.Imm == CmpNegated)
		case OpAndCmp:
			masks[i] = m(0) && compare(Op(in.Imm), a(1), a(2))
		case OpIsNaN:
			masks[i] = a(0) != a(0)
		case OpAnd:
			masks[i] = m(0) && m(1)
		case OpOr:
			masks[i] = m(0) || m(1)
		case OpAndNot:
			masks[i] = m(0) && !m(1)
		case OpNot:
			masks[i] = !m(0)
		case OpSelect:
			if in.Imm == SelectSign && math.Signbit(a(0)) || in.Imm != SelectSign && m(0) {
				r = a(1)
			} else {
				r = a(2)
			}
		case OpKeepIf:
			if m(0) {
				r = arith(Op(in.Imm), a(1), a(2))
			}
		case OpMergeIf:
			r = a(3)
			if m(0) {
				r = arith(Op(in.Imm), a(1), a(2))
			}
		case OpAndMask:
			if m(0) != (in.Imm == CmpNegated) {
				r = a(1)
			}
		default:
			panic(fmt.Sprintf("vprog: %s: cannot evaluate %s", p.Name, in.Op))
		}
		if narrow {
			r = float64(float32(r))
		}
		vals[i] = r
	}
	return vals, masks
}

// arith is the two-operand operation op (OpAdd, OpSub, OpMul, OpDiv or
// OpLdexp) of x and y, rounded once.
func arith(op Op, x, y float64) float64 {
	switch op {
	case OpAdd:
		return x + y
	case OpSub:
		return x - y
	case OpMul:
		return x * y
	case OpDiv:
		return x / y
	case OpLdexp:
		return math.Ldexp(x, int(y))
	}
	panic(fmt.Sprintf("vprog: %s is not a two-operand operation", op))
}

// RoundFloat rounds x to an integer-valued float in the given mode.
func RoundFloat(x float64, mode RoundMode) float64 {
	switch mode {
	case RoundNearestEven:
		return math.RoundToEven(x)
	case RoundFloor:
		return math.Floor(x)
	case RoundCeil:
		return math.Ceil(x)
	case RoundTrunc:
		return math.Trunc(x)
	}
	panic(fmt.Sprintf("vprog: bad round mode %d", mode))
}

// GetExp is OpGetExp read off the bits of x in format t (normal x only).
func GetExp(x float64, t Type) float64 {
	if t == F32 {
		return float64(int(math.Float32bits(float32(x))>>23&0xff) - 127)
	}
	return float64(int(math.Float64bits(x)>>52&0x7ff) - 1023)
}

// GetMant is OpGetMant read off the bits of x in format t (normal x only).
func GetMant(x float64, t Type) float64 {
	if t == F32 {
		return float64(math.Float32frombits(math.Float32bits(float32(x))&0x007fffff | 0x3f800000))
	}
	return math.Float64frombits(math.Float64bits(x)&0x000fffffffffffff | 0x3ff0000000000000)
}

// compare is the comparison op (OpLT, OpLE or OpEQ) of a and b.
func compare(op Op, a, b float64) bool {
	switch op {
	case OpLT:
		return a < b
	case OpLE:
		return a <= b
	case OpEQ:
		return a == b
	}
	panic(fmt.Sprintf("vprog: %s is not a comparison", op))
}
