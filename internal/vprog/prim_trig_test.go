package vprog

import (
	"math"
	"testing"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
	"github.com/stretchr/testify/require"
)

// trigBoundF64 is the largest |x| for which trigReduce64 is exact (see
// prim_trig.go): 2^44·π/2.
const trigBoundF64 = 0x1p44 * math.Pi / 2

// trigInputs is the sweep of sin or cos for one target: log-uniform
// magnitudes over the whole accurate range, uniform in [-10, 10], and the
// neighbourhoods of multiples of π/2 at every scale (the inputs closest to
// a zero of sin or cos, where the reduction's absolute error becomes the
// result's relative error).
func trigInputs(seed uint64, target Type, n int) []float64 {
	hi := trigBoundF64
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
	// Target F64 is accurate within the bound only (TestSinCosBeyondBound
	// covers the rest); ±Inf and NaN stay.
	kept := xs[:0]
	for _, x := range xs {
		if !(math.Abs(x) > hi) || math.IsInf(x, 0) {
			kept = append(kept, x)
		}
	}
	return kept
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

// TestSinCosBeyondBound documents what target F64 gives past the exact
// reduction bound: a finite value in [-1, 1], never NaN, and logs how far
// from the truth it is.
func TestSinCosBeyondBound(t *testing.T) {
	for _, name := range []string{"sin", "cos"} {
		f, err := reference.CompileString(name+"(x)", []string{"x"}, nil)
		require.NoError(t, err)
		p := expProgram(t, name, F64, F64)
		r := testutil.NewRand(61)
		worst := map[int]float64{} // by decade of |x|
		for i := range expNum(4000) {
			x := testutil.LogUniform[float64](r, trigBoundF64, math.MaxFloat64)
			if math.IsInf(x, 0) {
				continue // the sampler may round up to +Inf
			}
			if i%2 == 1 {
				x = -x
			}
			got := expRun(p, x)
			require.False(t, math.IsNaN(got), "%s(%v) = NaN", name, x)
			require.LessOrEqual(t, math.Abs(got), 1.0, "%s(%v)", name, x)
			want := f.Float64(x)
			d := int(math.Log10(math.Abs(x)))
			worst[d] = max(worst[d], math.Abs(got-want))
		}
		for _, d := range []int{13, 14, 15, 16, 17, 20, 30, 100, 300} {
			if w, ok := worst[d]; ok {
				t.Logf("%s/f64 beyond the bound, |x| ~ 1e%d: max absolute error %.3g", name, d, w)
			}
		}
	}
}

func TestTrigOpCount(t *testing.T) {
	for _, name := range []string{"sin", "cos"} {
		for _, target := range []Type{F64, F32} {
			n := erfcLowerOps(t, name, target)
			t.Logf("%s/%s: %d lane operations (constants not counted)", name, target, n)
			require.Less(t, n, 140, "%s/%s", name, target)
		}
	}
}
