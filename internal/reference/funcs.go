package reference

import "math/big"

// The functions of the formula language on Num, with IEEE special values
// taken as the mathematical limits. Each returns its value rounded to prec.

type unary func(x Num, prec uint) Num

// finite wraps f with the NaN rule and the values at -Inf and +Inf.
func finite(f func(*big.Float, uint) *big.Float, atNegInf, atPosInf func(prec uint) Num) unary {
	return func(x Num, prec uint) Num {
		if x.NaN {
			return nanNum
		}
		if x.F.IsInf() {
			if x.F.Signbit() {
				return atNegInf(prec)
			}
			return atPosInf(prec)
		}
		return num(f(x.F, prec))
	}
}

func constNum(v int64) func(uint) Num {
	return func(prec uint) Num { return num(fromInt(v, prec)) }
}

func nanOf(uint) Num { return nanNum }

func infOf(negative bool) func(uint) Num {
	return func(prec uint) Num { return num(inf(negative, prec)) }
}

func zeroOf(prec uint) Num { return num(signedZero(false, prec)) }

var unaries = map[string]unary{
	"exp": finite(expFinite, zeroOf, infOf(false)),
	// exp's rounding error: exactly 0 here (see expr.Functions).
	"exp_err": finite(func(_ *big.Float, prec uint) *big.Float { return new(big.Float).SetPrec(prec) }, zeroOf, zeroOf),
	"expm1":   finite(expm1Finite, constNum(-1), infOf(false)),
	"log": func(x Num, prec uint) Num {
		switch {
		case x.NaN, x.F.Sign() < 0: // log of a negative number (or -Inf)
			return nanNum
		case x.F.Sign() == 0: // ±0
			return num(inf(true, prec))
		case x.F.IsInf():
			return x
		}
		return num(logFinite(x.F, prec))
	},
	"log1p": func(x Num, prec uint) Num {
		if x.NaN {
			return nanNum
		}
		switch c := x.F.Cmp(big.NewFloat(-1)); {
		case c < 0:
			return nanNum
		case c == 0:
			return num(inf(true, prec))
		case x.F.IsInf():
			return x
		}
		return num(log1pFinite(x.F, prec))
	},
	"tanh":    finite(tanhFinite, constNum(-1), constNum(1)),
	"erf":     finite(erfFinite, constNum(-1), constNum(1)),
	"erfc":    finite(erfcFinite, constNum(2), zeroOf),
	"sigmoid": finite(sigmoidFinite, zeroOf, constNum(1)),
	"sin":     finite(func(x *big.Float, p uint) *big.Float { return sinCosFinite(x, p, false) }, nanOf, nanOf),
	"cos":     finite(func(x *big.Float, p uint) *big.Float { return sinCosFinite(x, p, true) }, nanOf, nanOf),
	"sqrt": func(x Num, prec uint) Num {
		switch {
		case x.NaN:
			return nanNum
		case x.F.Sign() == 0: // sqrt(±0) = ±0
			return x
		case x.F.Sign() < 0:
			return nanNum
		case x.F.IsInf():
			return x
		}
		return num(newF(prec).Sqrt(x.F))
	},
	"abs": func(x Num, prec uint) Num {
		if x.NaN {
			return nanNum
		}
		return num(newF(prec).Abs(x.F))
	},
}
