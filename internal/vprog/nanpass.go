package vprog

// What a value is known to be in the lanes where one given value, a, is
// NaN. Builder.Select uses it to drop a NaN rule (isnan(a) ? a : y) that y
// already satisfies: threshold's where(x <= threshold, value, x) gives x
// itself wherever x is NaN, since an ordered comparison with NaN is false,
// so the select the lowering appends would only cost a comparison and a
// blend per vector.
//
// Only moves count as passing a on: a select, a fix-up or x86 min/max that
// yields a's lanes unchanged. Arithmetic on a NaN gives a NaN too, but its
// payload is the platform's choice (RISC-V gives the canonical NaN, and
// float32 lanes quiet a signaling one), so the rule stays wherever the
// result is computed from a. Such a NaN still decides comparisons:
// hardshrink's abs(x) <= lambd is false where x is NaN, and its select
// gives x.
//
// On x86 the platform's choice is known (Program.ForX86): an addition,
// subtraction, product, quotient, square root or FMA returns its first NaN
// operand (an FMA's first factor, second factor, then addend, the order the
// assembly keeps, asm/fma.go), quieted. There a is passed on up to the
// quiet bit, which the NaN rule allows (IEEE 754 lets any operation quiet a
// signaling NaN).
type atNaN uint8

const (
	atNaNUnknown atNaN = iota
	atNaNIsA           // a itself, bit for bit (on x86, up to the quiet bit)
	atNaNNaN           // a NaN, of any sign and payload
	atNaNTrue          // a mask known true
	atNaNFalse         // a mask known false
	atNaNNumber        // not NaN: a constant
)

// passesNaN reports whether v is a, bit for bit, in every lane where a is NaN.
func (b *Builder) passesNaN(v, a Value) bool { return passesNaN(b.p, v, a, false) }

// passesNaN reports whether v of p is a in every lane where a is NaN: bit
// for bit, or with onX86, as x86 arithmetic passes a NaN on.
func passesNaN(p *Program, v, a Value, onX86 bool) bool {
	return atNaNOf(p, a, onX86)(v) == atNaNIsA
}

// atNaNOf tells what each value of p is in the lanes where a is NaN.
func atNaNOf(p *Program, a Value, onX86 bool) func(Value) atNaN {
	memo := map[Value]atNaN{}
	var at func(v Value) atNaN
	at = func(v Value) atNaN {
		if v == a {
			return atNaNIsA
		}
		if k, ok := memo[v]; ok {
			return k
		}
		in := p.Instrs[v]
		arg := func(i int) atNaN { return at(in.Args[i]) }
		k := atNaNUnknown
		isNaN := func(i int) bool { s := arg(i); return s == atNaNIsA || s == atNaNNaN }
		switch in.Op {
		case OpConst:
			if in.Imm == in.Imm {
				k = atNaNNumber
			}
		case OpAdd, OpSub, OpMul, OpDiv, OpFMA, OpSqrt:
			if onX86 {
				k = firstNaN(in.Op == OpFMA, in.Op.Arity(), arg)
				break
			}
			fallthrough
		case OpNeg, OpAbs, OpNegAbs:
			for i := range in.Op.Arity() {
				if isNaN(i) {
					k = atNaNNaN
				}
			}
		case OpLT, OpLE, OpEQ:
			// Ordered: false when either operand is NaN.
			if isNaN(0) || isNaN(1) {
				k = atNaNFalse
			}
		case OpIsNaN:
			if isNaN(0) {
				k = atNaNTrue
			}
		case OpNot:
			k = notAtNaN(arg(0))
		case OpAnd:
			k = andAtNaN(arg(0), arg(1))
		case OpAndCmp:
			if isNaN(1) || isNaN(2) {
				k = atNaNFalse
			} else {
				k = andAtNaN(arg(0), atNaNUnknown)
			}
		case OpAndNot:
			k = andAtNaN(arg(0), notAtNaN(arg(1)))
		case OpOr:
			k = notAtNaN(andAtNaN(notAtNaN(arg(0)), notAtNaN(arg(1))))
		case OpSelect:
			// A SelectSign's first argument is a float: never a known
			// mask, so only equal sides decide.
			switch m, x, y := arg(0), arg(1), arg(2); {
			case m == atNaNTrue:
				k = x
			case m == atNaNFalse:
				k = y
			case x == y && (x == atNaNIsA || x == atNaNNaN):
				k = x
			}
		case OpFixUp:
			// A move where its operand is NaN, for the tables ForX86 makes.
			if isNaN(0) && fixUpKeepsNaN(fixUpTable(p.Instrs[in.Args[1]].Imm, p.Compute)) {
				k = arg(0)
			}
		case OpMin, OpMax:
			// x86 MINPD/MAXPD give the second operand when either is NaN.
			if isNaN(0) || isNaN(1) {
				k = arg(1)
			}
		}
		memo[v] = k
		return k
	}
	return at
}

// firstNaN is what an x86 arithmetic instruction gives from operands whose
// states arg gives, in priority order: the first operand that may be NaN
// decides, and one known to be a NaN comes out as it is. With no operand
// that may be NaN, the operation may still make one (Inf - Inf). The
// assembly may move a parameter to any place of an FMA (asm/fma.go), and a
// parameter may be NaN, so an FMA passes a on only when every operand is a
// or a constant.
func firstNaN(fma bool, n int, arg func(int) atNaN) atNaN {
	k := atNaNUnknown
	for i := range n {
		s := arg(i)
		switch {
		case s == atNaNNumber:
			continue
		case fma && s != atNaNIsA:
			return atNaNUnknown
		case k == atNaNUnknown && (s == atNaNIsA || s == atNaNNaN):
			k = s
			if !fma {
				return k
			}
		case k == atNaNUnknown:
			return atNaNUnknown
		}
	}
	return k
}

func notAtNaN(k atNaN) atNaN {
	switch k {
	case atNaNTrue:
		return atNaNFalse
	case atNaNFalse:
		return atNaNTrue
	}
	return atNaNUnknown
}

func andAtNaN(m, n atNaN) atNaN {
	switch {
	case m == atNaNFalse || n == atNaNFalse:
		return atNaNFalse
	case m == atNaNTrue && n == atNaNTrue:
		return atNaNTrue
	}
	return atNaNUnknown
}
