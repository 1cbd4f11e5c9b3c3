package vprog

// What a value is known to be in the lanes where one given value, a, is
// NaN. Builder.Select uses it to drop a NaN rule (isnan(a) ? a : y) that y
// already satisfies: threshold's where(x <= threshold, value, x) gives x
// itself wherever x is NaN, since an ordered comparison with NaN is false,
// so the select the lowering appends would only cost a comparison and a
// blend per vector.
//
// Only moves count as passing a on: a select or x86 min/max that yields
// a's lanes unchanged. Arithmetic on a NaN gives a NaN too, but its payload
// is the platform's choice (RISC-V gives the canonical NaN, and float32
// lanes quiet a signaling one), so the rule stays wherever the result is
// computed from a. Such a NaN still decides comparisons: hardshrink's
// abs(x) <= lambd is false where x is NaN, and its select gives x.
type atNaN uint8

const (
	atNaNUnknown atNaN = iota
	atNaNIsA           // a itself, bit for bit
	atNaNNaN           // a NaN, of any sign and payload
	atNaNTrue          // a mask known true
	atNaNFalse         // a mask known false
)

// passesNaN reports whether v is a, bit for bit, in every lane where a is NaN.
func (b *Builder) passesNaN(v, a Value) bool {
	memo := map[Value]atNaN{}
	var at func(v Value) atNaN
	at = func(v Value) atNaN {
		if v == a {
			return atNaNIsA
		}
		if k, ok := memo[v]; ok {
			return k
		}
		in := b.p.Instrs[v]
		arg := func(i int) atNaN { return at(in.Args[i]) }
		k := atNaNUnknown
		isNaN := func(i int) bool { s := arg(i); return s == atNaNIsA || s == atNaNNaN }
		switch in.Op {
		case OpAdd, OpSub, OpMul, OpDiv, OpFMA, OpNeg, OpAbs, OpSqrt:
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
		case OpAndNot:
			k = andAtNaN(arg(0), notAtNaN(arg(1)))
		case OpOr:
			k = notAtNaN(andAtNaN(notAtNaN(arg(0)), notAtNaN(arg(1))))
		case OpSelect:
			switch m, x, y := arg(0), arg(1), arg(2); {
			case m == atNaNTrue:
				k = x
			case m == atNaNFalse:
				k = y
			case x == y && (x == atNaNIsA || x == atNaNNaN):
				k = x
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
	return at(v) == atNaNIsA
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
