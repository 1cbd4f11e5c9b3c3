package vprog

import (
	"fmt"
	"math"
)

// NoLow stands for a low part that is exactly 0 (no instruction): the sl
// of a scale that is one value, and the l of an exact pair.
const NoLow Value = -1

// scaleDepth is how many levels of additions, products, quotients and
// power-of-two scalings a scaled product looks through below the result.
// The derivatives' and gates' last roundings are in the top two: with 2
// every float64 backward kernel is within 1 ULP on actkern check's samples,
// as with 3, in fewer instructions (each level costs a TwoSum or a
// TwoProd); with 1, tanh' is 3 ULP off.
const scaleDepth = 2

// ScaledProduct is s·v for a float64 kernel that multiplies a computed
// value by an input (dy·f'(x), b·gate(a)), with s = sh + sl exactly (sl may
// be NoLow). Rounding v first and then the product would give two roundings
// of the result's size: 2 ULP where each is within 1. Instead the
// multiplication is carried into v's last operations as a double-float
// (h, l): through selects, negations, sums, products and fmas by TwoProd and
// TwoSum, through a quotient by its exact remainder, and before a final
// power-of-two scaling, so that a result that rounds into the subnormal
// range rounds once, after the product, rather than having v's absolute
// error of up to 2^-1075 multiplied by |s|. What remains is v's operands'
// own errors and one rounding.
func (b *Builder) ScaledProduct(sh, sl, v Value) Value {
	if b.p.Compute != F64 {
		panic("vprog: " + b.p.Name + ": ScaledProduct needs F64 compute")
	}
	sc := &scaler{b: b, uses: b.p.Uses()}
	h, l := sc.pair(v, scaleDepth, sh, sl)
	if sc.captured <= 1 && sl == NoLow {
		// One rounding in all on every path (v's own, or the product's
		// with v exact): the plain product rounds once too.
		if isOne(b, sh) {
			return v
		}
		return b.Mul(v, sh) // v first, as in lowerer.scaled
	}
	// Below 2^-1022 a low part is not exact (it rounds to the subnormal
	// grid, by at most half a unit there); h and l are then both multiples
	// of 2^-1074 and add exactly: the result is within 1 ULP.
	res := h
	if l != NoLow {
		res = b.Add(h, l)
	}
	// The pair's intermediates are scaled by s: one may underflow or
	// overflow where s·v does not (s = 0.004 times a gate of 1e-306). So
	// the result must agree with the plain product to 2^-51 relative (the
	// pair is within 1 ULP and, v being within 2 as every spec formula is,
	// the plain product within 3), or to what v's own subnormal rounding
	// allows: 2^-1075 times |s|, times 8 for a constant factor inside v
	// (alpha·exp(x)), plus 4 units of 2^-1075 for the two products'
	// roundings; where a leaf factor was carried into the scale (x in
	// x·sigmoid(x)), |s| is the largest such scale, since the plain
	// product multiplies v's subnormal rounding by it too. Where it
	// does not (NaN and Inf included), or the pair gives zero, the plain
	// product is the result: it keeps the sign of a zero and the IEEE rules
	// for Inf and NaN. The comparisons are scaled so that no operand is
	// subnormal for ordinary data: subnormal operands cost x86 a microcode
	// assist each.
	plain := b.Mul(v, sh)
	diff := b.Abs(b.Sub(res, plain))
	relative := b.LE(diff, b.Mul(b.Abs(plain), b.Const(0x1p-51)))
	bound := b.Abs(sh)
	for _, f := range sc.folded {
		bound = b.Max(b.Abs(f), bound)
	}
	absolute := b.LE(b.Mul(diff, b.Const(0x1p600)), b.FMA(bound, b.Const(0x1p-472), b.Const(0x1p-473)))
	agrees := b.AndNot(b.Or(relative, absolute), b.EQ(res, b.Const(0)))
	return b.Select(agrees, res, plain)
}

type scaler struct {
	b *Builder
	// captured counts the roundings whose errors the pair keeps, on the
	// path with the most.
	captured int
	// uses counts each value's uses. Only a value used once is looked
	// into (but see shared): one used elsewhere too may have its rounding
	// error computed there (x2 + fma(x, x, -x2)), and the scaled sum must
	// then see the rounded value, not the exact one, or it would count the
	// error twice.
	uses []int
	// folded holds the scales that leaf factors were multiplied into.
	folded []Value
}

// pair gives h + l = s·v, with the rounding errors of v's operations down
// to depth levels removed.
func (sc *scaler) pair(v Value, depth int, sh, sl Value) (h, l Value) {
	b := sc.b
	in := b.p.Instrs[v]
	a := in.Args
	if isOne(b, sh) && sl == NoLow && in.Op != OpSelect && in.Op != OpMul {
		// A forward kernel's result, scaled by 1: only a leading factor
		// (x, a parameter or a constant times a computed value) is
		// carried in; the rest is v's own evaluation.
		return v, NoLow
	}
	if depth > 0 && sc.uses[v] > 1 {
		return sc.shared(v, sh, sl)
	}
	if depth > 0 {
		switch in.Op {
		case OpSelect: // no rounding: both branches at the same depth
			return sc.selectPair(a[0], in.Imm,
				func() (Value, Value) { return sc.pair(a[1], depth, sh, sl) },
				func() (Value, Value) { return sc.pair(a[2], depth, sh, sl) })
		case OpNeg:
			h1, l1 := sc.pair(a[0], depth, sh, sl)
			return b.Neg(h1), sc.neg(l1)
		case OpAdd, OpSub:
			h1, l1 := sc.pair(a[0], depth-1, sh, sl)
			h2, l2 := sc.pair(a[1], depth-1, sh, sl)
			if in.Op == OpSub {
				h2, l2 = b.Neg(h2), sc.neg(l2)
			}
			return sc.twoSum(h1, h2, l1, l2)
		case OpMul:
			x, y := a[0], a[1]
			if isLeaf(b.p.Instrs[x].Op) {
				x, y = y, x
			}
			if isLeaf(b.p.Instrs[y].Op) {
				// Multiply the scale by the leaf first and carry it into
				// the computed operand: a final power-of-two scaling
				// there then stays the last rounding.
				sh1, sl1 := sc.times(sh, sl, y)
				sc.folded = append(sc.folded, sh1)
				return sc.pair(x, depth-1, sh1, sl1)
			}
			h1, l1 := sc.pair(x, depth-1, sh, sl)
			return sc.times(h1, l1, y)
		case OpFMA:
			x, y := a[0], a[1]
			if isLeaf(b.p.Instrs[x].Op) {
				x, y = y, x
			}
			var p, pl Value
			if isLeaf(b.p.Instrs[y].Op) {
				sh1, sl1 := sc.times(sh, sl, y)
				sc.folded = append(sc.folded, sh1)
				p, pl = sc.pair(x, depth-1, sh1, sl1)
			} else {
				h1, l1 := sc.pair(x, depth-1, sh, sl)
				p, pl = sc.times(h1, l1, y)
			}
			h2, l2 := sc.pair(a[2], depth-1, sh, sl)
			return sc.twoSum(p, h2, pl, l2)
		case OpDiv:
			h1, l1 := sc.pair(a[0], depth-1, sh, sl)
			q := b.Div(h1, a[1])
			r := sc.add(b.FMA(b.Neg(q), a[1], h1), l1) // h1 - q·a1 is exact
			sc.captured++
			if c := b.p.Instrs[a[1]]; c.Op == OpConst {
				// The correction needs few bits: no second division.
				return q, b.Mul(r, b.Const(1/c.Imm))
			}
			return q, b.Div(r, a[1])
		case OpLdexp:
			if u, ok := b.unrounded[v]; ok {
				return sc.unroundedTimes(u, sh, sl), NoLow
			}
			if in.Imm != 0 {
				break // its operand's or exponent's range is promised, a scaled one's is not
			}
			h1, l1 := sc.pair(a[0], depth-1, sh, sl)
			sc.captured++
			return b.Ldexp(sc.add(h1, l1), a[1]), NoLow
		}
	}
	return sc.times(sh, sl, v)
}

// selectPair is the pair of a select (imm: its Imm, SelectRare or 0)
// whose branches' pairs first and second give: a lane takes one branch, so
// the roundings counted are those of the branch that has more. A rare
// select's pair is rare too, so that the scaled rare branch is skipped
// with it.
func (sc *scaler) selectPair(m Value, imm float64, first, second func() (Value, Value)) (Value, Value) {
	before := sc.captured
	h1, l1 := first()
	one := sc.captured - before
	sc.captured = before
	h2, l2 := second()
	sc.captured = max(sc.captured, before+one)
	return sc.sel(m, imm, h1, h2), sc.selectLow(m, imm, l1, l2)
}

func (sc *scaler) sel(m Value, imm float64, x, y Value) Value {
	if imm == SelectRare {
		return sc.b.SelectRare(m, x, y)
	}
	return sc.b.Select(m, x, y)
}

// unroundedTimes is s·2^k·(hi + lo) rounded once, for a power-of-two
// scaling whose operand a primitive rounded to a subnormal result's grid
// so that the scaling is exact (see NoteUnrounded): the exact sum is
// scaled instead. Where the primitive clamped its argument (exp(-1460)
// standing for exp(-2000)) the sum is not the value, and 0 is used.
func (sc *scaler) unroundedTimes(u unroundedScaling, sh, sl Value) Value {
	b := sc.b
	zero := b.Const(0)
	h, l := sc.times(sh, sl, b.Select(u.exact, u.hi, zero))
	l = sc.add(l, b.Mul(sh, b.Select(u.exact, u.lo, zero)))
	sc.captured++
	return b.Ldexp(sc.add(h, l), u.k)
}

// shared is the pair of s·v for a value v that is used elsewhere too (s in
// sigmoid's s - s·s). Its other uses see the rounded v, so the pair must
// too, or it would mix v's exact and rounded values and count the error
// twice: s·v is TwoProd'ed. Except below the normal range: there v's own
// rounding to the subnormal grid is a large relative error, which the
// product by s would magnify, and the other uses' share of the result,
// second order in v, is negligible; so where a power-of-two scaling with
// an unrounded operand (through selects) makes v subnormal, the exact
// operand is scaled instead (unroundedTimes).
func (sc *scaler) shared(v, sh, sl Value) (Value, Value) {
	b := sc.b
	if !sc.scalesUnrounded(v) {
		return sc.times(sh, sl, v)
	}
	in := b.p.Instrs[v]
	a := in.Args
	switch in.Op {
	case OpSelect:
		return sc.selectPair(a[0], in.Imm,
			func() (Value, Value) { return sc.shared(a[1], sh, sl) },
			func() (Value, Value) { return sc.shared(a[2], sh, sl) })
	case OpLdexp:
		u, ok := b.unrounded[v]
		if !ok {
			break
		}
		before := sc.captured
		tiny := sc.unroundedTimes(u, sh, sl)
		viaTiny := sc.captured
		sc.captured = before
		h, l := sc.times(sh, sl, v)
		sc.captured = max(sc.captured, viaTiny)
		// k < -1021 is where the primitive rounded to a grid coarser
		// than 53 bits (expLdexpDD).
		sub := b.LT(u.k, b.Const(-1021))
		return b.Select(sub, tiny, h), sc.selectLow(sub, 0, NoLow, l)
	}
	return sc.times(sh, sl, v)
}

// scalesUnrounded reports whether v is, through selects, a power-of-two
// scaling of an operand a primitive left unrounded.
func (sc *scaler) scalesUnrounded(v Value) bool {
	in := sc.b.p.Instrs[v]
	switch in.Op {
	case OpSelect:
		return sc.scalesUnrounded(in.Args[1]) || sc.scalesUnrounded(in.Args[2])
	case OpLdexp:
		_, ok := sc.b.unrounded[v]
		return ok
	}
	return false
}

// times is (h + l)·y as a pair: TwoProd of h·y plus l·y.
func (sc *scaler) times(h, l, y Value) (Value, Value) {
	b := sc.b
	if l == NoLow && isOne(b, h) {
		return y, NoLow
	}
	p := b.Mul(h, y)
	if c := b.p.Instrs[y]; c.Op == OpConst && l == NoLow && isPowerOfTwoOrZero(c.Imm) {
		return p, NoLow // exact
	}
	if c := b.p.Instrs[h]; c.Op == OpConst && l == NoLow && isPowerOfTwoOrZero(c.Imm) {
		return p, NoLow
	}
	sc.captured++
	e := b.FMA(h, y, b.Neg(p))
	if l != NoLow {
		e = b.FMA(l, y, e)
	}
	return p, e
}

// twoSum adds two pairs: the exact error of h1 + h2 joins the low parts.
func (sc *scaler) twoSum(h1, h2, l1, l2 Value) (Value, Value) {
	b := sc.b
	sc.captured++
	s := b.Add(h1, h2)
	bp := b.Sub(s, h1)
	e := b.Add(b.Sub(h1, b.Sub(s, bp)), b.Sub(h2, bp))
	return s, sc.add(sc.add(e, l1), l2)
}

func (sc *scaler) add(x, y Value) Value {
	switch {
	case x == NoLow:
		return y
	case y == NoLow:
		return x
	}
	return sc.b.Add(x, y)
}

func (sc *scaler) neg(x Value) Value {
	if x == NoLow {
		return NoLow
	}
	return sc.b.Neg(x)
}

func (sc *scaler) selectLow(m Value, imm float64, x, y Value) Value {
	if x == NoLow && y == NoLow {
		return NoLow
	}
	if x == NoLow {
		x = sc.b.Const(0)
	}
	if y == NoLow {
		y = sc.b.Const(0)
	}
	return sc.sel(m, imm, x, y)
}

func isOne(b *Builder, v Value) bool {
	in := b.p.Instrs[v]
	return in.Op == OpConst && in.Imm == 1
}

func isLeaf(op Op) bool { return op == OpInput || op == OpParam || op == OpConst }

func isPowerOfTwoOrZero(c float64) bool {
	if c == 0 {
		return true
	}
	m, _ := math.Frexp(c)
	return (m == 0.5 || m == -0.5) && !math.IsInf(c, 0)
}

// scaled multiplies v, a kernel's result, by the scale inputs. A float64
// kernel does it with one rounding (ScaledProduct). In a float32 kernel,
// computed in float64 lanes, the product's rounding is far below the
// float32 result's. Forward kernels are not scaled by 1 the same way: it
// made every float64 forward kernel 15-60% slower (hardswish 4x, by the
// quotient's second division) for three that miss 1 ULP.
func (l *lowerer) scaled(scale []Value, v Value) Value {
	b := l.b
	if l.mem != F64 || b.Compute() != F64 {
		// v first: x86 gives a product's first NaN operand, so where v
		// passes x's NaN on, the product does too and the NaN rule is free
		// (x86.go).
		for _, s := range scale {
			v = b.Mul(v, s)
		}
		return v
	}
	sh, sl := b.Const(1), NoLow
	switch len(scale) {
	case 0: // a forward kernel: only a leading factor is carried in
	case 1:
		sh = scale[0]
	case 2: // the product of the two, exactly: TwoProd
		sh = b.Mul(scale[0], scale[1])
		sl = b.FMA(scale[0], scale[1], b.Neg(sh))
		// Where that product overflows (a gated kernel's dy·b with b
		// near MaxFloat64) the result may still be a number (v is small):
		// there the scales multiply in one at a time, the larger first:
		// two roundings, and bits lost where that first product is below
		// the normal range (|v| < 2^-1534, since the larger scale then
		// exceeds 2^512). Where a scale is infinite the plain product
		// gives what IEEE says.
		res := b.ScaledProduct(sh, sl, v)
		first := b.LT(b.Abs(scale[1]), b.Abs(scale[0]))
		big, small := b.Select(first, scale[0], scale[1]), b.Select(first, scale[1], scale[0])
		alt := b.Mul(small, b.ScaledProduct(big, NoLow, v))
		inf := b.Const(math.Inf(1))
		overflow := b.AndNot(b.EQ(b.Abs(sh), inf), b.Or(b.EQ(b.Abs(scale[0]), inf), b.EQ(b.Abs(scale[1]), inf)))
		return b.Select(overflow, alt, res)
	default:
		panic(fmt.Sprintf("vprog: %s: %d scale inputs, at most 2", b.p.Name, len(scale)))
	}
	return b.ScaledProduct(sh, sl, v)
}
