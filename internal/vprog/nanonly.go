package vprog

import "math"

// A primitive's own NaN rule, isnan(a) ? a : r, is unseen where its
// argument a is NaN only where the kernel's input x is: the kernel's rule
// gives x there (unseen.go). That holds for a = x, which dropUnseenSelects
// sees by the mask, and for many a computed from x, which it cannot see:
// gelu_tanh's x·(k + c·x²) is NaN only for NaN x, as 0·Inf cannot occur
// in it (x² is infinite only where x is). nanOnlyWith proves such facts by
// evaluating the program over intervals, once for each class of number x
// may be: a zero, a finite number of either sign, an infinity of either
// sign. Within one class the correlation that rules 0·Inf out is kept.

// interval is what the analysis knows of a value: a number in [lo, hi]
// (extended reals), or NaN where nan is true.
type interval struct {
	lo, hi float64
	nan    bool
}

var anyValue = interval{math.Inf(-1), math.Inf(1), true}

func (a interval) hasZero() bool { return a.lo <= 0 && 0 <= a.hi }
func (a interval) hasInf() bool  { return math.IsInf(a.lo, -1) || math.IsInf(a.hi, 1) }

// union is the interval of a value that is a or b.
func union(a, b interval) interval {
	return interval{min(a.lo, b.lo), max(a.hi, b.hi), a.nan || b.nan}
}

// widen moves the bounds one float outward: a bound computed in float64
// may have rounded inward (and a product or sum may overflow or underflow
// as the operation itself does).
func widen(lo, hi float64, nan bool) interval {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return anyValue
	}
	return interval{math.Nextafter(lo, math.Inf(-1)), math.Nextafter(hi, math.Inf(1)), nan}
}

// bounds is the interval spanning the candidate values.
func bounds(nan bool, vs ...float64) interval {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	return widen(lo, hi, nan)
}

// mulBound is x·y for bounds, with 0·Inf (which the NaN flag covers) as 0.
func mulBound(x, y float64) float64 {
	if x == 0 || y == 0 {
		return 0
	}
	return x * y
}

func addInterval(a, b interval) interval {
	nan := a.nan || b.nan || (a.hi == math.Inf(1) && b.lo == math.Inf(-1)) || (a.lo == math.Inf(-1) && b.hi == math.Inf(1))
	lo, hi := a.lo+b.lo, a.hi+b.hi
	if math.IsNaN(lo) {
		lo = math.Inf(-1)
	}
	if math.IsNaN(hi) {
		hi = math.Inf(1)
	}
	return widen(lo, hi, nan)
}

func negInterval(a interval) interval { return interval{-a.hi, -a.lo, a.nan} }

func mulInterval(a, b interval) interval {
	nan := a.nan || b.nan || (a.hasZero() && b.hasInf()) || (a.hasInf() && b.hasZero())
	return bounds(nan, mulBound(a.lo, b.lo), mulBound(a.lo, b.hi), mulBound(a.hi, b.lo), mulBound(a.hi, b.hi))
}

// squareInterval is a·a: NaN only where a is, as 0·Inf needs two values.
func squareInterval(a interval) interval {
	lo := 0.0
	if !a.hasZero() {
		lo = min(a.lo*a.lo, a.hi*a.hi)
	}
	return widen(lo, max(a.lo*a.lo, a.hi*a.hi), a.nan)
}

func divInterval(a, b interval) interval {
	nan := a.nan || b.nan || (a.hasZero() && b.hasZero()) || (a.hasInf() && b.hasInf())
	if b.hasZero() {
		return interval{math.Inf(-1), math.Inf(1), nan}
	}
	return bounds(nan, a.lo/b.lo, a.lo/b.hi, a.hi/b.lo, a.hi/b.hi)
}

func absInterval(a interval) interval {
	if a.hasZero() {
		return interval{0, max(-a.lo, a.hi), a.nan}
	}
	return interval{min(math.Abs(a.lo), math.Abs(a.hi)), max(math.Abs(a.lo), math.Abs(a.hi)), a.nan}
}

// nanOnlyWith reports, for each value of p, whether it can be NaN only
// where input k is NaN, for every value of the other inputs and the
// parameters (NaN included).
func (p *Program) nanOnlyWith(k int) []bool {
	// The numbers input k may be, class by class: the memory type's
	// finite magnitudes span [smallest subnormal, largest finite].
	tiny, huge := math.SmallestNonzeroFloat64, math.MaxFloat64
	if p.Mem == F32 {
		tiny, huge = math.SmallestNonzeroFloat32, math.MaxFloat32
	}
	inf := math.Inf(1)
	classes := []interval{{0, 0, false}, {tiny, huge, false}, {-huge, -tiny, false}, {inf, inf, false}, {-inf, -inf, false}}
	only := make([]bool, len(p.Instrs))
	for i := range only {
		only[i] = true
	}
	for _, x := range classes {
		for i, v := range p.intervals(k, x) {
			only[i] = only[i] && !v.nan
		}
	}
	return only
}

// intervals evaluates p over intervals with input k in x. Masks get no
// interval; an operation the analysis does not model may be anything.
func (p *Program) intervals(k int, x interval) []interval {
	iv := make([]interval, len(p.Instrs))
	for i, in := range p.Instrs {
		a := func(j int) interval { return iv[in.Args[j]] }
		var r interval
		switch in.Op {
		case OpInput:
			r = anyValue
			if int(in.Imm) == k {
				r = x
			}
		case OpConst:
			r = interval{in.Imm, in.Imm, math.IsNaN(in.Imm)}
		case OpAdd:
			r = addInterval(a(0), a(1))
		case OpSub:
			r = addInterval(a(0), negInterval(a(1)))
		case OpMul:
			if in.Args[0] == in.Args[1] {
				r = squareInterval(a(0))
			} else {
				r = mulInterval(a(0), a(1))
			}
		case OpFMA:
			r = addInterval(mulInterval(a(0), a(1)), a(2))
		case OpDiv:
			r = divInterval(a(0), a(1))
		case OpNeg:
			r = negInterval(a(0))
		case OpAbs:
			r = absInterval(a(0))
		case OpNegAbs:
			r = negInterval(absInterval(a(0)))
		case OpMin, OpMax:
			// x86: a < b ? a : b (a > b for max); b where either is NaN.
			if in.Op == OpMin {
				r = interval{min(a(0).lo, a(1).lo), min(a(0).hi, a(1).hi), a(1).nan}
			} else {
				r = interval{max(a(0).lo, a(1).lo), max(a(0).hi, a(1).hi), a(1).nan}
			}
			if a(0).nan {
				r = union(r, a(1))
			}
		case OpRound:
			r = interval{math.Floor(a(0).lo), math.Ceil(a(0).hi), a(0).nan}
		case OpSelect:
			r = union(a(1), a(2))
		default:
			r = anyValue
		}
		if p.Compute == F32 {
			r = narrowed(r)
		}
		iv[i] = r
	}
	return iv
}

// narrowed is a with its bounds moved outward to float32 values: in
// float32 lanes every operation rounds to float32, and overflows and
// underflows there. Rounding is monotonic, so a bound float32 holds stays
// (min(x, 0) is at most 0, not at most the least subnormal).
func narrowed(a interval) interval {
	lo, hi := float32(a.lo), float32(a.hi)
	if float64(lo) > a.lo {
		lo = math.Nextafter32(lo, float32(math.Inf(-1)))
	}
	if float64(hi) < a.hi {
		hi = math.Nextafter32(hi, float32(math.Inf(1)))
	}
	return interval{float64(lo), float64(hi), a.nan}
}
