package reference

import (
	"math/big"
	"sync"
)

// Mathematical constants and series coefficients, computed once per
// precision and cached: the evaluation of one formula at 10^5 points must
// not recompute π or 1/n! each time. Cached values are shared and must be
// treated as read-only.

// bucket rounds a precision up to a multiple of 64, so that nearby requests
// share one cache entry (a slightly more precise operand costs nothing).
func bucket(prec uint) uint { return (prec + 63) &^ 63 }

// fixedAtanInv returns atan(1/n) (or atanh(1/n) if hyperbolic) as a fixed
// point integer scaled by 2^bits, with error below a few units.
func fixedAtanInv(n int64, bits uint, hyperbolic bool) *big.Int {
	one := new(big.Int).Lsh(big.NewInt(1), bits)
	power := new(big.Int).Quo(one, big.NewInt(n)) // 1/n^(2k+1)
	n2 := big.NewInt(n * n)
	sum := new(big.Int)
	t := new(big.Int)
	for k := int64(0); power.Sign() != 0; k++ {
		t.Quo(power, big.NewInt(2*k+1))
		if k%2 == 1 && !hyperbolic {
			sum.Sub(sum, t)
		} else {
			sum.Add(sum, t)
		}
		power.Quo(power, n2)
	}
	return sum
}

// fixedToFloat converts v/2^bits to a float of precision prec.
func fixedToFloat(v *big.Int, bits, prec uint) *big.Float {
	f := newF(prec).SetInt(v)
	return f.SetMantExp(f, -int(bits))
}

type constCache struct {
	mu      sync.Mutex
	byPrec  map[uint]*big.Float
	compute func(prec uint) *big.Float
}

func (c *constCache) get(prec uint) *big.Float {
	p := bucket(prec)
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.byPrec[p]; ok {
		return v
	}
	if c.byPrec == nil {
		c.byPrec = map[uint]*big.Float{}
	}
	v := c.compute(p)
	c.byPrec[p] = v
	return v
}

var (
	// ln2 = 2 atanh(1/3).
	ln2Cache = constCache{compute: func(p uint) *big.Float {
		bits := p + 64
		v := fixedAtanInv(3, bits, true)
		return fixedToFloat(v.Lsh(v, 1), bits, p)
	}}
	// π = 16 atan(1/5) - 4 atan(1/239) (Machin).
	piCache = constCache{compute: func(p uint) *big.Float {
		bits := p + 64
		a := fixedAtanInv(5, bits, false)
		b := fixedAtanInv(239, bits, false)
		a.Lsh(a, 4)
		b.Lsh(b, 2)
		return fixedToFloat(a.Sub(a, b), bits, p)
	}}
	// 2/π, for the reduction of sin and cos.
	twoOverPiCache = constCache{compute: func(p uint) *big.Float {
		pi := piCache.get(p + 64)
		return newF(p).Quo(fromInt(2, p), pi)
	}}
	// 2/sqrt(π), the factor of erf.
	twoOverSqrtPiCache = constCache{compute: func(p uint) *big.Float {
		pi := piCache.get(p + 64)
		s := newF(p + 64).Sqrt(pi)
		return newF(p).Quo(fromInt(2, p), s)
	}}
	// 1/sqrt(π), the factor of erfc's continued fraction.
	invSqrtPiCache = constCache{compute: func(p uint) *big.Float {
		v := newF(p).Set(twoOverSqrtPiCache.get(p + 64))
		return v.SetMantExp(v, -1)
	}}
)

func ln2(prec uint) *big.Float           { return ln2Cache.get(prec) }
func invSqrtPi(prec uint) *big.Float     { return invSqrtPiCache.get(prec) }
func twoOverSqrtPi(prec uint) *big.Float { return twoOverSqrtPiCache.get(prec) }
func piConst(prec uint) *big.Float       { return piCache.get(prec) }
func twoOverPi(prec uint) *big.Float     { return twoOverPiCache.get(prec) }

// Series coefficients, each an exact rational rounded to the precision.
type coefKind int

const (
	coefInvFact coefKind = iota // 1/n!
	coefErfAlt                  // (-1)^n / (n! (2n+1)): erf's Taylor series in x²
	coefErfPos                  // 2^n / (2n+1)!!: erf(x) = 2x e^{-x²}/√π Σ c_n x^{2n}
	coefLog1p                   // (-1)^n / (n+1): log1p(t) = t Σ c_n t^n
	coefSin                     // (-1)^n / (2n+1)!: sin t = t Σ c_n t^{2n}
	coefCos                     // (-1)^n / (2n+2)!: cos t - 1 = -t² Σ c_n t^{2n}
)

// coefRational returns c_n of kind k as numerator/denominator.
func coefRational(k coefKind, n int) (num, den *big.Int) {
	num, den = big.NewInt(1), big.NewInt(1)
	switch k {
	case coefInvFact:
		den.MulRange(1, int64(n))
	case coefErfAlt:
		den.MulRange(1, int64(n))
		den.Mul(den, big.NewInt(int64(2*n+1)))
		if n%2 == 1 {
			num.Neg(num)
		}
	case coefErfPos:
		num.Lsh(num, uint(n))
		for j := int64(3); j <= int64(2*n+1); j += 2 {
			den.Mul(den, big.NewInt(j))
		}
	case coefSin, coefCos:
		top := int64(2*n + 1)
		if k == coefCos {
			top++
		}
		den.MulRange(1, top)
		if n%2 == 1 {
			num.Neg(num)
		}
	case coefLog1p:
		den.SetInt64(int64(n + 1))
		if n%2 == 1 {
			num.Neg(num)
		}
	}
	return num, den
}

type coefKey struct {
	kind coefKind
	prec uint
}

var coefCache = struct {
	mu sync.Mutex
	m  map[coefKey][]*big.Float
}{m: map[coefKey][]*big.Float{}}

// coefs returns c_0 … c_{n-1} of kind k rounded to (at least) prec bits.
func coefs(k coefKind, n int, prec uint) []*big.Float {
	key := coefKey{k, bucket(prec)}
	coefCache.mu.Lock()
	defer coefCache.mu.Unlock()
	cs := coefCache.m[key]
	for len(cs) < n {
		a, b := coefRational(k, len(cs))
		fa := new(big.Float).SetInt(a) // exact: precision taken from the integer
		fb := new(big.Float).SetInt(b)
		cs = append(cs, newF(key.prec).Quo(fa, fb))
	}
	coefCache.m[key] = cs
	return cs[:n]
}
