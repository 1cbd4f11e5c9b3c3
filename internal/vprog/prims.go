package vprog

import "fmt"

// A primitive lowers one function of the formula language (exp, log1p,
// erf, …) into lane operations. target is the precision the kernel's result
// is stored in: it sets how accurate the primitive must be, so float32
// kernels get shorter polynomials than float64 ones. Primitives always run in
// F64 compute (b.Compute() == F64): a float32_lanes formula may not call one.
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
