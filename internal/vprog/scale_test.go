package vprog_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/testutil"
	"github.com/actkern/actkern/internal/vprog"
)

// scaledToy is dy·(x*x + x/3): two roundings in v, one more in the plain
// product. With scaled, the product is ScaledProduct's.
func scaledToy(scaled bool) *vprog.Program {
	b := vprog.NewBuilder("toy", vprog.F64, vprog.F64, 2, nil)
	x, dy := b.Input(0), b.Input(1)
	v := b.Add(b.Mul(x, x), b.Div(x, b.Const(3)))
	if scaled {
		return b.Finish(b.ScaledProduct(dy, vprog.NoLow, v))
	}
	return b.Finish(b.Mul(dy, v))
}

// exactToy is dy·(x² + x/3) rounded once.
func exactToy(x, dy float64) float64 {
	const prec = 300
	bx := new(big.Float).SetPrec(prec).SetFloat64(x)
	v := new(big.Float).SetPrec(prec).Mul(bx, bx)
	third := new(big.Float).SetPrec(prec).Quo(bx, new(big.Float).SetPrec(prec).SetInt64(3))
	v.Add(v, third)
	v.Mul(v, new(big.Float).SetPrec(prec).SetFloat64(dy))
	r, _ := v.Float64()
	return r
}

func TestScaledProductRoundsOnce(t *testing.T) {
	scaled, plain := scaledToy(true), scaledToy(false)
	rng := rand.New(rand.NewPCG(5, 6))
	worstScaled, worstPlain := 0.0, 0.0
	for range 200000 {
		// x > 0: v does not cancel, so v is within 1 ULP, as the spec's
		// formulas are (ScaledProduct checks its result against the
		// plain product on that assumption).
		x := math.Ldexp(rng.Float64()+0.5, rng.IntN(40)-20)
		dy := (rng.Float64() - 0.5) * 8
		want := exactToy(x, dy)
		worstScaled = max(worstScaled, testutil.ULP(scaled.Eval([]float64{x, dy}, nil), want))
		worstPlain = max(worstPlain, testutil.ULP(plain.Eval([]float64{x, dy}, nil), want))
	}
	assert.LessOrEqual(t, worstScaled, 1.0, "the scaled product rounds once")
	assert.Greater(t, worstPlain, 1.0, "the plain product rounds three times: the inputs reach that")
}

func TestScaledProductSpecialValues(t *testing.T) {
	p := scaledToy(true)
	eval := func(x, dy float64) float64 { return p.Eval([]float64{x, dy}, nil) }
	// Zeros keep the plain product's sign: dy·(+0) with dy < 0 is -0.
	assert.True(t, math.Signbit(eval(0, -2)), "dy < 0 times +0")
	assert.False(t, math.Signbit(eval(0, 2)))
	// Overflow is Inf, as the plain product's; NaN stays NaN.
	assert.True(t, math.IsInf(eval(1e200, 1e200), 1))
	assert.True(t, math.IsNaN(eval(1, math.NaN())))
	assert.True(t, math.IsNaN(eval(math.Inf(1), 0)), "Inf times 0")
	// A tiny scale must not push the pair's intermediates into the
	// subnormal range unchecked: 1e-300·(x² + x/3) at x = 1e-9 is about
	// 3.3e-310, where the plain product is within its own bound.
	x, dy := 1e-9, 1e-300
	assert.LessOrEqual(t, testutil.ULP(eval(x, dy), exactToy(x, dy)), 1.0)
}

// TestScaledProductTrueExponent runs ELU's float64 backward kernel,
// dy·exp(x) for x ≤ 0, at x in [-1455, -700] with dy up to 2^1020, so
// that dy·e^x is a normal or subnormal number although e^x alone is
// subnormal or 0 and the exp's own final scaling clamps its exponent at
// -1100 (expLdexpDD): the scaled product must scale by the true 2^k and
// round once. (Above about 2^1023.5 the scaled product's dy·2^-k·e^x
// overflows, and the plain product, 0, is taken.)
func TestScaledProductTrueExponent(t *testing.T) {
	s, err := spec.Load(specFile)
	require.NoError(t, err)
	a := s.Lookup("elu")
	require.NotNil(t, a)
	p := lower(t, a, vprog.Backward, vprog.F64)
	f, err := reference.CompileString("dy*exp(x)", []string{"x", "dy"}, nil)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(11, 12))
	worst, clamped := 0.0, 0
	for range 20000 {
		x := -700 - 755*rng.Float64()
		// dy·e^x near 2^e, e from -1080 (below the least subnormal) up.
		e := rng.IntN(2081) - 1080
		dy := math.Ldexp(1+rng.Float64(), min(1019, e-int(math.Floor(x*math.Log2E))))
		if rng.IntN(2) == 0 {
			dy = -dy
		}
		if x*math.Log2E < -1100 {
			clamped++
		}
		got := p.Eval([]float64{x, dy}, []float64{1})
		want := f.BigNum(reference.DefaultPrec, reference.NumFloat64(x), reference.NumFloat64(dy)).Float64()
		if u := testutil.ULP(got, want); u > worst {
			worst = u
			t.Logf("x=%v dy=%v: got %v, want %v (%v ULP)", x, dy, got, want, u)
		}
	}
	require.Greater(t, clamped, 10000, "most inputs have k below -1100")
	assert.LessOrEqual(t, worst, 1.0)
}
