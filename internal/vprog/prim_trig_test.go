package vprog

import (
	"math"
	"math/big"
	"testing"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
	"github.com/stretchr/testify/require"
)

// trigInputs is the sweep of sin or cos for one target: log-uniform
// magnitudes over the whole finite range, uniform in [-10, 10], and the
// neighbourhoods of multiples of π/2 at every scale (the inputs closest to
// a zero of sin or cos, where the reduction's absolute error becomes the
// result's relative error).
func trigInputs(seed uint64, target Type, n int) []float64 {
	hi := math.MaxFloat64
	if target == F32 {
		hi = math.MaxFloat32
	}
	extra := []float64{math.Pi / 4, -math.Pi / 4, 0x1p-26, 0x1p-27, 1e-8}
	r := testutil.NewRand(seed)
	for range n / 40 {
		// k·π/2 for k of every size the range allows.
		k := math.Round(testutil.LogUniform[float64](r, 1, hi/2))
		extra = append(extra, k*math.Pi/2, -k*math.Pi/2)
	}
	for k := 1.0; k < 64; k++ {
		extra = append(extra, k*math.Pi/2)
	}
	if target == F64 {
		extra = append(extra, trigHard...)
	}
	xs := expInputs(seed, target, n, 1e-30, hi, -10, 10, extra...)
	xs = append(xs, expInputs(seed+1, target, n/8, 1e-320, 1e-30, -1, 1)...)
	xs = append(xs, expRandBits(testutil.NewRand(seed+2), target, n/8)...)
	if target == F32 {
		return xs
	}
	// Both sides of the switch to the full-range reduction, the largest
	// doubles.
	return append(xs, trigBoundCW, math.Nextafter(trigBoundCW, math.Inf(1)), -trigBoundCW,
		math.MaxFloat64, -math.MaxFloat64, 0x1p44, 0x1p45, 0x1.fffffffffffffp43)
}

// trigHard are, for binades 2^0 … 2^44, the doubles closest to a multiple
// of π/2 that a continued-fraction search of 2^(e-52)·2/π finds (mpmath;
// semiconvergents and multiples of convergents with denominators in
// [2^52, 2^53); the best candidates, not a proof of minimality). The
// closest, 0x1.065c829d6873p+39 … p+44, is 2^-55.9 … 2^-50.9 from k·π/2:
// its result's leading bits come from the third part of π/2.
var trigHard = []float64{
	0x1.921fb54442d18p+0, 0x1.921fb54442d18p+1, 0x1.2d97c7f3321d2p+2,
	0x1.2d97c7f3321d2p+3, 0x1.dd85a7410f58dp+4, 0x1.6c6cbc45dc8dep+5,
	0x1.6c6cbc45dc8dep+13, 0x1.635e3d74befcap+14, 0x1.67e57cdd4dc54p+15,
	0x1.65a1dd290660fp+16, 0x1.bf9b3c6059d24p+17, 0x1.39c6fd67805a7p+18,
	0x1.39c6fd67805a7p+19, 0x1.9eb7148f354d6p+20, 0x1.9eb7148f354d6p+22,
	0x1.b951f1572eba5p+23, 0x1.b951f1572eba5p+31, 0x1.5c9508c58aafap+32,
	0x1.5c9508c58aafap+33, 0x1.de5e5054e921bp+34, 0x1.46546a5bd73ccp+35,
	0x1.46546a5bd73ccp+37, 0x1.bb23eaa3db16dp+38, 0x1.065c829d6873p+39,
	0x1.065c829d6873p+44,
}

func TestPrimSinAccuracy(t *testing.T) {
	expTargets(t, func(t *testing.T, target Type) {
		st := primSweep(t, "sin", "sin(x)", target, trigInputs(31, target, expNum(28000)))
		expReport(t, "sin", target, st, 1)
	})
}

func TestPrimCosAccuracy(t *testing.T) {
	expTargets(t, func(t *testing.T, target Type) {
		st := primSweep(t, "cos", "cos(x)", target, trigInputs(41, target, expNum(28000)))
		expReport(t, "cos", target, st, 1)
	})
}

// TestPrimSinF32Binades walks every float32 binade (2^-149 … 2^127) with
// inputs spread over the binade and next to the multiples of π/2 in it,
// so that each of the eight chunks of 2/π is the one straddling the
// binary point for some inputs.
func TestPrimSinF32Binades(t *testing.T) {
	var xs []float64
	r := testutil.NewRand(51)
	for e := -149; e <= 127; e++ {
		for range 60 {
			m := 1 + r.Float64()
			xs = append(xs, float64(float32(math.Ldexp(m, e))), -float64(float32(math.Ldexp(m, e))))
		}
		// Nearest float32 values to k·π/2 in this binade.
		if e >= 1 {
			for range 20 {
				k := math.Round(math.Ldexp(1+r.Float64(), e) / (math.Pi / 2))
				v := float32(k * math.Pi / 2)
				for _, u := range append(testutil.Neighbours(v, 2), v) {
					xs = append(xs, float64(u))
				}
			}
		}
	}
	for _, name := range []string{"sin", "cos"} {
		st := primSweep(t, name, name+"(x)", F32, xs)
		expReport(t, name+" (binades)", F32, st, 1)
	}
}

func TestPrimSinCosSpecial(t *testing.T) {
	inf, nan, nz := math.Inf(1), math.NaN(), math.Copysign(0, -1)
	expTargets(t, func(t *testing.T, target Type) {
		expSpecial(t, "sin", target, [][2]float64{
			{0, 0}, {nz, nz}, {inf, nan}, {-inf, nan}, {nan, nan},
		})
		expSpecial(t, "cos", target, [][2]float64{
			{0, 1}, {nz, 1}, {inf, nan}, {-inf, nan}, {nan, nan}, {1e-30, 1}, {-1e-30, 1},
		})
	})
	expSpecial(t, "sin", F64, [][2]float64{
		{5e-324, 5e-324}, {-5e-324, -5e-324}, {1e-300, 1e-300}, {0x1p-1022, 0x1p-1022},
		{1e-30, 1e-30},
	})
	expSpecial(t, "sin", F32, [][2]float64{
		{float64(math.Float32frombits(1)), float64(math.Float32frombits(1))},
		{1e-30, float64(float32(1e-30))}, {-1e-30, -float64(float32(1e-30))},
	})
}

func TestTrigOpCount(t *testing.T) {
	for _, name := range []string{"sin", "cos"} {
		for _, target := range []Type{F64, F32} {
			n := erfcLowerOps(t, name, target)
			t.Logf("%s/%s: %d lane operations (constants not counted)", name, target, n)
			// A budget, so that an accidental blow-up is noticed; both targets
			// pay for the full-range reduction on every lane.
			require.Less(t, n, 220, "%s/%s", name, target)
		}
	}
	// The two F64 reductions on their own (to r = rh + rl and n).
	for _, red := range []struct {
		name string
		fn   func(b *Builder, x Value) (n, rh, rl Value)
	}{{"Cody–Waite", trigReduce64}, {"Payne–Hanek", trigReduceHuge64}} {
		b := NewBuilder(red.name, F64, F64, 1, nil)
		n, rh, rl := red.fn(b, b.Input(0))
		p := b.Finish(b.Add(n, b.Add(rh, rl)))
		ops := 0
		for _, in := range p.Instrs {
			if in.Op != OpInput && in.Op != OpConst {
				ops++
			}
		}
		t.Logf("f64 %s reduction: %d lane operations (+1 joining the outputs)", red.name, ops-2)
	}
}

// trigTwoOverPiBig is 2/π to prec bits, from Machin's formula in fixed
// point (independent of the constants in prim_trig.go and of the reference).
func trigTwoOverPiBig(prec uint) *big.Float {
	bits := prec + 64
	atanInv := func(n int64) *big.Int {
		one := new(big.Int).Lsh(big.NewInt(1), bits)
		power := new(big.Int).Quo(one, big.NewInt(n))
		sum, t := new(big.Int), new(big.Int)
		for k := int64(0); power.Sign() != 0; k++ {
			t.Quo(power, big.NewInt(2*k+1))
			if k%2 == 1 {
				sum.Sub(sum, t)
			} else {
				sum.Add(sum, t)
			}
			power.Quo(power, big.NewInt(n*n))
		}
		return sum
	}
	pi := new(big.Int).Mul(atanInv(5), big.NewInt(16))
	pi.Sub(pi, new(big.Int).Mul(atanInv(239), big.NewInt(4)))
	pf := new(big.Float).SetPrec(bits).SetInt(pi)
	pf.SetMantExp(pf, -int(bits))
	two := new(big.Float).SetPrec(prec).SetInt64(2)
	return two.Quo(two, pf)
}

// TestTrigTwoOverPiChunks recomputes the 53-bit chunks of 2/π.
func TestTrigTwoOverPiChunks(t *testing.T) {
	top := trigTwoOverPiBig(1400)
	mod := new(big.Int).Lsh(big.NewInt(1), 53)
	for j, c := range trigTwoOverPi53 {
		v := new(big.Float).SetMantExp(top, 43+53*j)
		i, _ := v.Int(nil) // floor: v > 0
		i.Mod(i, mod)
		want := math.Ldexp(float64(i.Uint64()), -51) // < 2^53: exact
		require.Equal(t, want, c, "chunk %d", j)
	}
}

// trigHugeHard returns, for every binade 2^e of the full-range reduction
// (e = 44 … 1023), the double x = M·2^(e-52) closest to a multiple of π/2
// that a continued-fraction search finds (multiples of the convergents
// and semiconvergents q of M ↦ M·2^(e-52)·2/π mod 1 that fall in
// [2^52, 2^53); the best candidates, not a proof of minimality), and
// log2 of its distance to the nearest k·π/2.
func trigHugeHard() (xs []float64, logDist []float64) {
	twoOverPi := trigTwoOverPiBig(1400)
	const prec = 400
	lo, hi := uint64(1)<<52, uint64(1)<<53
	frac := func(v *big.Float) *big.Float {
		i, _ := v.Int(nil)
		return new(big.Float).SetPrec(prec).Sub(v, new(big.Float).SetInt(i))
	}
	for e := 44; e <= 1023; e++ {
		// α = 2^(e-52)·2/π mod 1, to 400 bits.
		a := new(big.Float).SetPrec(1400).SetMantExp(twoOverPi, e-52)
		alpha := frac(a)
		// dist(M) = ‖M·α‖, the distance of M·α to the nearest integer.
		dist := func(m uint64) float64 {
			p := new(big.Float).SetPrec(prec).SetUint64(m)
			p.Mul(p, alpha)
			f := frac(p)
			if f.Cmp(big.NewFloat(0.5)) > 0 {
				f.Sub(big.NewFloat(1), f)
			}
			d, _ := f.Float64()
			return d
		}
		bestM, best := uint64(0), math.Inf(1)
		try := func(q uint64) {
			if q == 0 || q >= hi {
				return
			}
			for t := (lo + q - 1) / q; t <= (lo+q-1)/q+2 && t*q < hi; t++ {
				if d := dist(t * q); d < best {
					bestM, best = t*q, d
				}
			}
		}
		// Continued fraction of α: q_{k+1} = a_{k+1}·q_k + q_{k-1}.
		qPrev, q := uint64(0), uint64(1)
		rest := new(big.Float).SetPrec(prec).Set(alpha)
		for q < hi {
			if rest.Sign() == 0 {
				break
			}
			inv := new(big.Float).SetPrec(prec).Quo(new(big.Float).SetInt64(1), rest)
			ai, _ := inv.Int(nil)
			rest = frac(inv)
			if !ai.IsUint64() || ai.Uint64() > hi {
				break
			}
			ak := ai.Uint64()
			// Semiconvergents qPrev + j·q, j = 1 … a_k (the last is q_{k+1}):
			// the first few, the last few and those reaching [2^52, 2^53).
			for j := uint64(1); j <= ak; j++ {
				s := qPrev + j*q
				if s >= hi {
					break
				}
				if j <= 3 || j+3 >= ak || s >= lo {
					try(s)
				}
				if j == 3 && ak > 6 && q > 0 {
					// Skip to the semiconvergents just below 2^52.
					if jj := (lo - min(lo, qPrev)) / q; jj > j+1 && jj < ak-3 {
						j = jj - 1
					}
				}
			}
			qPrev, q = q, qPrev+ak*q
		}
		x := math.Ldexp(float64(bestM), e-52)
		xs = append(xs, x)
		// ‖M·α‖·(π/2) is the distance to k·π/2.
		logDist = append(logDist, math.Log2(best*math.Pi/2))
	}
	return xs, logDist
}

// TestPrimSinCosHuge checks target F64 on the hardest arguments of the
// full-range reduction: the doubles closest to multiples of π/2 in every
// binade from 2^44 to 2^1023 (and their neighbours, both signs), the
// classic worst case for double, and ±MaxFloat64.
func TestPrimSinCosHuge(t *testing.T) {
	hard, logDist := trigHugeHard()
	worst, at := 0.0, 0.0
	for i, d := range logDist {
		if d < worst {
			worst, at = d, hard[i]
		}
	}
	t.Logf("%d hard cases; closest to k·π/2: x=%v, 2^%.2f away", len(hard), at, worst)
	// The search must rediscover the known worst case (Muller,
	// "Elementary Functions", ch. 11): 6381956970095103·2^797, whose
	// distance to k·π/2 is 2^-60.89.
	const classic = 0x1.6ac5b262ca1ffp+849
	require.Equal(t, classic, at)
	var xs []float64
	for _, x := range append(hard, math.MaxFloat64, math.Nextafter(math.MaxFloat64, 0)) {
		for _, u := range append(testutil.Neighbours(x, 1), x) {
			xs = append(xs, u, -u)
		}
	}
	for _, name := range []string{"sin", "cos"} {
		st := primSweep(t, name, name+"(x)", F64, xs)
		expReport(t, name+" (huge, hard)", F64, st, 1)
	}
	// The classic case against mpmath (2000 bits), independently of the
	// reference: cos there is -0x1.14ae72e6ba22fp-61, sin rounds to 1.
	expSpecial(t, "cos", F64, [][2]float64{{classic, -0x1.14ae72e6ba22fp-61}, {-classic, -0x1.14ae72e6ba22fp-61}})
	expSpecial(t, "sin", F64, [][2]float64{{classic, 1}, {-classic, -1}})
}

// TestPrimSinCosRandomBits sweeps target F64 over random bit patterns:
// every exponent, so nine in ten inputs take the full-range reduction.
func TestPrimSinCosRandomBits(t *testing.T) {
	for i, name := range []string{"sin", "cos"} {
		xs := expRandBits(testutil.NewRand(uint64(71+i)), F64, expNum(100000)**expSweep)
		st := primSweep(t, name, name+"(x)", F64, xs)
		expReport(t, name+" (random bits)", F64, st, 1)
	}
}

// TestPrimSinCosBounded checks that the float64 results never pass ±1,
// which trigFinish relies on instead of a clamp: over the accuracy sweep's
// inputs, random bit patterns, and the neighbourhoods of the multiples of
// π/2 and of 0, where one of sin and cos is within rounding of ±1. The
// ULP sweeps cannot see it: 1 + 2^-52 is 1 ULP from 1.
func TestPrimSinCosBounded(t *testing.T) {
	xs := trigInputs(97, F64, expNum(28000))
	xs = append(xs, expRandBits(testutil.NewRand(98), F64, expNum(100000))...)
	xs = append(xs, expInputs(99, F64, expNum(20000), 1e-300, 1e-3, -1e-3, 1e-3)...)
	for k := 1.0; k < 1e6; k = math.Ceil(k * 1.01) {
		xs = append(xs, testutil.Neighbours(k*math.Pi/2, 8)...)
	}
	for _, name := range []string{"sin", "cos"} {
		p := expProgram(t, name, F64, F64)
		dd := trigDDProgram(name, F64)
		for _, x := range xs {
			for _, got := range []float64{expRun(p, x), dd.Eval([]float64{x, 0}, nil)} {
				require.False(t, math.Abs(got) > 1, "%s(%v) = %v", name, x, got)
			}
		}
	}
}

// trigDDProgram is sin (offset 0) or cos (offset 1) of input 0 + input 1
// through trigLowerDD.
func trigDDProgram(name string, target Type) *Program {
	b := NewBuilder(name+"DD", target, F64, 2, nil)
	offset := 0.0
	if name == "cos" {
		offset = 1
	}
	return b.Finish(trigLowerDD(b, b.Input(0), b.Input(1), target, offset))
}

// TestPrimSinCosDD sweeps trigLowerDD over random double-doubles hi + lo:
// hi of every exponent (random bit patterns, finite), lo uniform in
// [-ulp(hi)/2, ulp(hi)/2] (and lo = 0, and lo = ±ulp(hi)/2), against the
// reference, which evaluates x + y exactly.
func TestPrimSinCosDD(t *testing.T) {
	r := testutil.NewRand(83)
	type pair struct{ hi, lo float64 }
	var ps []pair
	for len(ps) < expNum(30000)**expSweep {
		hi := testutil.RandomBits[float64](r)
		if math.IsNaN(hi) || math.IsInf(hi, 0) {
			continue
		}
		half := (math.Nextafter(math.Abs(hi), math.Inf(1)) - math.Abs(hi)) / 2
		if math.IsInf(half, 0) {
			half = 0x1p970 // ulp(MaxFloat64)/2
		}
		lo := (2*r.Float64() - 1) * half
		ps = append(ps, pair{hi, lo})
		switch r.IntN(8) {
		case 0:
			ps = append(ps, pair{hi, 0})
		case 1:
			ps = append(ps, pair{hi, half}, pair{hi, -half})
		}
	}
	// Small and moderate magnitudes, where the Cody–Waite path serves both
	// parts.
	for range len(ps) / 4 {
		hi := testutil.LogUniform[float64](r, 1e-10, 1e15)
		half := (math.Nextafter(math.Abs(hi), math.Inf(1)) - math.Abs(hi)) / 2
		ps = append(ps, pair{hi, (2*r.Float64() - 1) * half})
	}
	for _, name := range []string{"sin", "cos"} {
		ref, err := reference.CompileString(name+"(x + y)", []string{"x", "y"}, nil)
		require.NoError(t, err)
		p := trigDDProgram(name, F64)
		worst, at, frac, atFrac := 0.0, pair{}, 0.0, pair{}
		for _, c := range ps {
			got := p.Eval([]float64{c.hi, c.lo}, nil)
			exact := ref.BigNum(reference.DefaultPrec, reference.NumFloat64(c.hi), reference.NumFloat64(c.lo))
			want := exact.Float64()
			if u := testutil.ULP(got, want); u > worst {
				worst, at = u, c
			}
			if got != 0 && !math.IsNaN(got) && exact.F != nil && exact.F.Sign() != 0 {
				if u := expFracULP(got, exact.F, 53, -1074); u > frac {
					frac, atFrac = u, c
				}
			}
		}
		t.Logf("%s(hi + lo): %d pairs, max %v ULP against the correctly rounded value (hi=%v lo=%v), %.3f against the exact one (hi=%v lo=%v)",
			name, len(ps), worst, at.hi, at.lo, frac, atFrac.hi, atFrac.lo)
		require.LessOrEqual(t, worst, 1.0, "%s(%v + %v)", name, at.hi, at.lo)
	}
	// lo = 0 agrees with sin and cos of a single argument on the hard
	// cases of the reduction (to 1 ULP; not bit for bit: the extra
	// TwoSums may round differently).
	hard, _ := trigHugeHard()
	for _, name := range []string{"sin", "cos"} {
		ref, err := reference.CompileString(name+"(x)", []string{"x"}, nil)
		require.NoError(t, err)
		p := trigDDProgram(name, F64)
		for _, x := range append(hard, trigHard...) {
			want := ref.Float64(x)
			got := p.Eval([]float64{x, 0}, nil)
			require.LessOrEqual(t, testutil.ULP(got, want), 1.0, "%s(%v + 0) = %v, want %v", name, x, got, want)
		}
	}
	// Special values: the sign of zero, ±Inf and NaN in either part.
	inf, nan, nz := math.Inf(1), math.NaN(), math.Copysign(0, -1)
	p := trigDDProgram("sin", F64)
	require.True(t, testutil.SameBits(p.Eval([]float64{nz, nz}, nil), nz))
	require.True(t, testutil.SameBits(p.Eval([]float64{0, 0}, nil), 0))
	for _, c := range [][2]float64{{inf, nan}, {-inf, inf}, {nan, 0}, {1, nan}} {
		require.True(t, math.IsNaN(p.Eval(c[:], nil)), "sin(%v + %v)", c[0], c[1])
	}
}

func TestTrigDDOpCount(t *testing.T) {
	for _, name := range []string{"sin", "cos"} {
		for _, target := range []Type{F64, F32} {
			ops := 0
			for _, in := range trigDDProgram(name, target).Instrs {
				if in.Op != OpInput && in.Op != OpConst {
					ops++
				}
			}
			t.Logf("%s(hi + lo)/%s: %d lane operations (constants not counted)", name, target, ops)
			// Two full-range reductions to three doubles each (about 230
			// operations apiece: both paths run on every lane) and the join.
			require.Less(t, ops, 500, "%s/%s", name, target)
		}
	}
}

// TestTrigReduce32 checks the F32 target's three-FMA Cody–Waite by
// multiples of π (trigHalfTurn32) where it is hardest: sin and cos of
// doubles, not float32 values (the argument of sin(w0*x) is a float64
// product of two float32 values), next to multiples of π/2. The inputs are the hard doubles of
// every binade up to the bound (trigHard), the products of float32 pairs
// nearest to k·π/2 and random doubles up to the bound; each result must be
// within the F32 target's 2^-40 relative error of the exact value.
func TestTrigReduce32(t *testing.T) {
	r := testutil.NewRand(97)
	xs := append([]float64(nil), trigHard...)
	for range expNum(20000) {
		// a·b near k·π/2 with a, b float32: b is k·π/2/a rounded to
		// float32, and its neighbours.
		k := math.Round(testutil.LogUniform[float64](r, 1, 0x1p40))
		a := float32(testutil.LogUniform[float64](r, 0.01, 1e4))
		b := float32(k * math.Pi / 2 / float64(a))
		for _, v := range append(testutil.Neighbours(b, 1), b) {
			xs = append(xs, float64(a)*float64(v))
		}
		xs = append(xs, testutil.LogUniform[float64](r, 1e-10, trigBoundCW))
	}
	xs = append(xs, trigBoundCW, -trigBoundCW)
	for _, name := range []string{"sin", "cos"} {
		ref, err := reference.CompileString(name+"(x)", []string{"x"}, nil)
		require.NoError(t, err)
		b := NewBuilder(name+"32", F64, F64, 1, nil)
		offset := 0.0
		if name == "cos" {
			offset = 1
		}
		p := b.Finish(trigLower(b, b.Input(0), F32, offset))
		worst, at := 0.0, 0.0
		for _, x := range xs {
			got := p.Eval([]float64{x}, nil)
			exact := ref.BigNum(reference.DefaultPrec, reference.NumFloat64(x)).F
			diff := new(big.Float).Sub(new(big.Float).SetFloat64(got), exact)
			rel, _ := new(big.Float).Quo(diff.Abs(diff), new(big.Float).Abs(exact)).Float64()
			if rel > worst {
				worst, at = rel, x
			}
		}
		t.Logf("%s, F32 target: %d doubles, max relative error 2^%.2f at x=%v", name, len(xs), math.Log2(worst), at)
		require.Less(t, worst, 0x1p-40, "%s(%v)", name, at)
	}
}
