package vprog

import (
	"fmt"
	"math"
)

// A primitive lowers one function of the formula language (exp, log1p,
// erf, …) into lane operations. target is the precision the kernel's result
// is stored in: it sets how accurate the primitive must be, so float32
// kernels get shorter polynomials than float64 ones. Primitives always run in
// F64 compute (b.Compute() == F64); a float32_lanes formula may call only
// the ones registered with registerLanes32 as well.
//
// Accuracy contract (measured by each primitive's tests against
// internal/reference): target F64, at most 1 ULP over every finite input;
// target F32, relative error below 2^-33: the stored float32 then rounds
// within 1 ULP with room for a formula to amplify the error 2^8-fold (and
// about one float32 result in 500 is not correctly rounded). Special values
// follow the mathematical limits (exp(-Inf) = 0, log(0) = -Inf, log(-1) =
// NaN, …) and NaN in gives NaN out.
type primitive func(b *Builder, args []Value, target Type) Value

// primitives is filled by the prim_*.go files, one function each.
var primitives = map[string]primitive{}

func register(name string, p primitive) {
	if _, dup := primitives[name]; dup {
		panic(fmt.Sprintf("vprog: primitive %s registered twice", name))
	}
	primitives[name] = p
}

// A lanes32Primitive lowers one function in float32 lanes (b.Compute() ==
// F32, a float32_lanes formula), where every operation rounds to float32:
// twice the lanes per vector, for a float32 kernel only. It returns
// scale·f(args): the lowering passes the other factor of a product with the
// call (alpha*expm1(x)), or the constant 1, so that the product rounds once
// with the function instead of once more after it. Its accuracy contract
// is the float32 result's, at most 1 ULP, over the arguments it accepts; it
// refuses (with an error naming what it needs) an argument the interval
// analysis cannot place in its domain.
type lanes32Primitive func(b *Builder, scale factor, args []Value) (Value, error)

// A factor is one side of a product in float32 lanes. A constant that
// float32 does not represent is kept as hi + lo (hasLo): hi is its float32
// value truncated toward zero and lo the rest, rounded, so that lo has hi's
// sign and a zero product keeps its sign when the two terms are summed.
// (Rounded to float32 alone, SELU's scale is off by 0.56·2^-24 relative,
// which one more rounding takes past 1 ULP.)
type factor struct {
	hi, lo Value
	hasLo  bool
}

// constFactor is the factor of the constant c in b's float32 lanes.
func constFactor(b *Builder, c float64) factor {
	hi := float32(c)
	if math.Abs(float64(hi)) > math.Abs(c) {
		hi = math.Nextafter32(hi, 0)
	}
	if float64(hi) == c || math.IsInf(c, 0) || c != c {
		return factor{hi: b.Const(c)}
	}
	return factor{hi: b.Const(float64(hi)), lo: b.Const(c - float64(hi)), hasLo: true}
}

// times is f·v rounded once, fma(hi, v, lo·v), to first order: lo·v
// rounds, 2^-24 of a term 2^-24 of the product. (Where lo·v is subnormal,
// |v| below about 2^-100, it loses bits, and the product is within 1 ULP.)
func (f factor) times(b *Builder, v Value) Value {
	if !f.hasLo {
		return b.Mul(f.hi, v)
	}
	return b.FMA(f.hi, v, b.Mul(f.lo, v))
}

// lanes32Primitives is filled by the prim_*.go files.
var lanes32Primitives = map[string]lanes32Primitive{}

func registerLanes32(name string, p lanes32Primitive) {
	if _, dup := lanes32Primitives[name]; dup {
		panic(fmt.Sprintf("vprog: float32-lanes primitive %s registered twice", name))
	}
	lanes32Primitives[name] = p
}
