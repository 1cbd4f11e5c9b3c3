package vprog

import (
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
	"github.com/stretchr/testify/require"
)

// The helpers in this file (prefixed exp*) are shared by the tests of the
// exp, expm1, log, log1p, sigmoid and tanh lowerings.

// expSweep multiplies the number of random inputs of the accuracy sweeps
// (go test -run Prim -args -prim.sweep=20 for a long search).
var expSweep = flag.Int("prim.sweep", 1, "multiplier for the random inputs of the primitive accuracy sweeps")

// expProgram builds a program that applies primitive name to input 0,
// lowered for target and stored as mem.
func expProgram(t testing.TB, name string, target, mem Type) *Program {
	t.Helper()
	prim, ok := primitives[name]
	require.True(t, ok, "primitive %s is not registered", name)
	b := NewBuilder(name, mem, F64, 1, nil)
	return b.Finish(prim(b, []Value{b.Input(0)}, target))
}

// expRun evaluates p on x.
func expRun(p *Program, x float64) float64 { return p.Eval([]float64{x}, nil) }

// expFracULP is |got − exact| in units of the last place of the format
// (mant bits, smallest ulp 2^minUlp) at exact, as a real number, so that
// a correctly rounded result scores ≤ 0.5. Infinite and zero references
// are handled by the caller.
func expFracULP(got float64, exact *big.Float, mant, minUlp int) float64 {
	d := new(big.Float).SetPrec(exact.Prec() + 64).SetFloat64(got)
	d.Sub(d, exact)
	e := exact.MantExp(nil) // exact in [2^(e-1), 2^e)
	ulp := max(e-mant, minUlp)
	d.SetMantExp(d, -ulp)
	v, _ := d.Float64()
	return math.Abs(v)
}

// expStats is the outcome of one accuracy sweep.
type expStats struct {
	n       int
	maxULP  float64 // fractional ULP against the exact value
	argMax  float64
	maxRel  float64 // relative error against the exact value (F32 target, F64 memory)
	argRel  float64
	intULP  float64 // integer ULP against the correctly rounded value
	failure string  // first special-value mismatch, if any
}

func (s *expStats) merge(o expStats) {
	s.n += o.n
	if o.maxULP > s.maxULP {
		s.maxULP, s.argMax = o.maxULP, o.argMax
	}
	if o.maxRel > s.maxRel {
		s.maxRel, s.argRel = o.maxRel, o.argRel
	}
	s.intULP = max(s.intULP, o.intULP)
	if s.failure == "" {
		s.failure = o.failure
	}
}

// expSweepPrim measures primitive name with target over xs against the
// exact formula: fractional and integer ULP of the stored result, and, for
// an F32 target, also the relative error of the unrounded F64 result. NaN,
// infinite and zero results must match the correctly rounded value
// exactly (sign of zero included).
//
// known, if not nil, gives the correctly rounded result directly for inputs
// where it is trivially determined (expm1(x ≪ 0) = −1, sigmoid(x ≫ 0) = 1):
// the reference evaluates −1 + e^x at a precision that grows with |x|,
// which is slow and memory-hungry for the huge inputs of a bit-pattern sweep.
func expSweepPrim(t *testing.T, name, formula string, target Type, xs []float64, known func(float64) (float64, bool)) expStats {
	t.Helper()
	f, err := reference.CompileString(formula, []string{"x"}, nil)
	require.NoError(t, err)
	stored := expProgram(t, name, target, target)
	var wide *Program
	if target == F32 {
		wide = expProgram(t, name, F32, F64)
	}
	workers := runtime.GOMAXPROCS(0)
	parts := make([]expStats, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &parts[w]
			for i := w; i < len(xs); i += workers {
				if known != nil {
					if want, ok := known(xs[i]); ok {
						st.n++
						got := expRun(stored, xs[i])
						if !testutil.SameBits(got, want) && st.failure == "" {
							st.failure = fmt.Sprintf("%s(%v) = %v, want %v", stored.Name, xs[i], got, want)
						}
						continue
					}
				}
				expCheckOne(f, stored, wide, target, xs[i], st)
			}
		}()
	}
	wg.Wait()
	var all expStats
	for _, p := range parts {
		all.merge(p)
	}
	return all
}

func expCheckOne(f *reference.Func, stored, wide *Program, target Type, x float64, st *expStats) {
	st.n++
	got := expRun(stored, x)
	// One exact evaluation (200 bits) serves every comparison; rounding it
	// once gives the correctly rounded value except within 2^-140 ULP of a
	// midpoint, which random inputs do not reach.
	exact := f.BigNum(reference.DefaultPrec, reference.NumFloat64(x))
	mant, minUlp := 53, -1074
	var want float64
	if target == F32 {
		mant, minUlp = 24, -149
		want = float64(exact.Float32())
		st.intULP = max(st.intULP, testutil.ULP(float32(got), float32(want)))
	} else {
		want = exact.Float64()
		st.intULP = max(st.intULP, testutil.ULP(got, want))
	}
	if math.IsNaN(want) || math.IsInf(want, 0) || want == 0 || math.IsNaN(got) || math.IsInf(got, 0) || got == 0 {
		if !testutil.SameBits(got, want) && st.failure == "" {
			st.failure = fmt.Sprintf("%s(%v) = %v, want %v", stored.Name, x, got, want)
		}
		return
	}
	if u := expFracULP(got, exact.F, mant, minUlp); u > st.maxULP {
		st.maxULP, st.argMax = u, x
	}
	if wide != nil {
		g := expRun(wide, x)
		// Relative error is meaningful where the exact value is a normal float64.
		if ax, _ := new(big.Float).Abs(exact.F).Float64(); ax >= 0x1p-1022 && !math.IsInf(g, 0) {
			d := new(big.Float).SetPrec(300).SetFloat64(g)
			d.Sub(d, exact.F).Quo(d, exact.F)
			rel, _ := d.Float64()
			if rel = math.Abs(rel); rel > st.maxRel {
				st.maxRel, st.argRel = rel, x
			}
		}
	}
}

// expReport checks a sweep against the accuracy contract of prims.go and
// logs the figures: F64 target, ≤ 1 ULP (bound64, fractional); F32 target,
// relative error of the unrounded result < 2^-33 and the stored float32
// within 1 ULP of the correctly rounded one.
func expReport(t *testing.T, name string, target Type, st expStats, bound64 float64) {
	t.Helper()
	require.Empty(t, st.failure)
	if target == F64 {
		t.Logf("%s/f64: %d inputs, max %.4f ULP at x=%v (integer ULP vs correctly rounded: %v)", name, st.n, st.maxULP, st.argMax, st.intULP)
		require.LessOrEqual(t, st.maxULP, bound64, "max ULP at x=%v", st.argMax)
		require.LessOrEqual(t, st.intULP, 1.0)
		return
	}
	t.Logf("%s/f32: %d inputs, max %.6f ULP (float32) at x=%v, integer ULP %v, max relative error 2^%.2f at x=%v",
		name, st.n, st.maxULP, st.argMax, st.intULP, math.Log2(st.maxRel), st.argRel)
	require.Less(t, st.maxRel, 0x1p-33, "relative error at x=%v", st.argRel)
	require.LessOrEqual(t, st.intULP, 1.0)
	require.Less(t, st.maxULP, 0.5+0x1p-9, "float32 ULP at x=%v", st.argMax)
}

// expInputs returns a deterministic input set for a sweep: n values with
// log-uniform magnitudes in [lo, hi] (both signs), n/2 uniform in
// [clo, chi], every value of extra with its 4 float neighbours on each side,
// and the special values. For target F32 every input is a float32 value.
func expInputs(seed uint64, target Type, n int, lo, hi, clo, chi float64, extra ...float64) []float64 {
	r := testutil.NewRand(seed)
	n *= *expSweep
	var xs []float64
	add := func(v float64) {
		if target == F32 {
			v = float64(float32(v))
		}
		xs = append(xs, v)
	}
	for range n {
		add(testutil.LogUniform[float64](r, lo, hi))
	}
	for range n / 2 {
		add(clo + (chi-clo)*r.Float64())
	}
	for _, v := range extra {
		add(v)
		if target == F32 {
			for _, u := range testutil.Neighbours(float32(v), 4) {
				add(float64(u))
			}
		} else {
			for _, u := range testutil.Neighbours(v, 4) {
				add(u)
			}
		}
	}
	if target == F32 {
		for _, v := range testutil.Special[float32]() {
			xs = append(xs, float64(v))
		}
	} else {
		xs = append(xs, testutil.Special[float64]()...)
	}
	return xs
}

// expRandBits adds n random bit patterns (every float, any exponent).
func expRandBits(r *rand.Rand, target Type, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		if target == F32 {
			out[i] = float64(testutil.RandomBits[float32](r))
		} else {
			out[i] = testutil.RandomBits[float64](r)
		}
	}
	return out
}

// expSpecial checks exact results (bit for bit, NaN any payload).
func expSpecial(t *testing.T, name string, target Type, cases [][2]float64) {
	t.Helper()
	p := expProgram(t, name, target, target)
	for _, c := range cases {
		x := c[0]
		if target == F32 {
			x = float64(float32(x))
		}
		got := expRun(p, x)
		require.True(t, testutil.SameBits(got, c[1]), "%s/%s(%v) = %v (%#x), want %v", name, target, x, got, math.Float64bits(got), c[1])
	}
}

// expTargets runs fn for both targets as subtests.
func expTargets(t *testing.T, fn func(t *testing.T, target Type)) {
	for _, target := range []Type{F64, F32} {
		t.Run(target.String(), func(t *testing.T) { fn(t, target) })
	}
}

func expNum(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

func TestPrimExpAccuracy(t *testing.T) {
	expTargets(t, func(t *testing.T, target Type) {
		xs := expInputs(1, target, expNum(60000), 1e-20, 746, -5, 5,
			709.782712893384, 709.78, -708.3964185322641, -745.1332191019411, -745.1332191019412, -744.44007192138122,
			88.72283, 88.72284, -87.33654, -103.97208, -103.27893, -104, 1, -1, 0.5, math.Ln2/2, -math.Ln2/2)
		// The gradual-underflow band, where the result is subnormal.
		r := testutil.NewRand(16)
		for range expNum(20000) {
			if target == F32 {
				xs = append(xs, float64(float32(-87.34-16.64*r.Float64())))
			} else {
				xs = append(xs, -708.4-36.74*r.Float64())
			}
		}
		xs = append(xs, expRandBits(testutil.NewRand(2), target, expNum(20000))...)
		st := expSweepPrim(t, "exp", "exp(x)", target, xs, nil)
		expReport(t, "exp", target, st, 1)
	})
}

func TestPrimExpSpecial(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	expTargets(t, func(t *testing.T, target Type) {
		expSpecial(t, "exp", target, [][2]float64{
			{0, 1}, {math.Copysign(0, -1), 1}, {inf, inf}, {-inf, 0}, {nan, nan},
			{math.MaxFloat64, inf}, {-math.MaxFloat64, 0}, {1e300, inf}, {-1e300, 0},
			{5e-324, 1}, {-5e-324, 1}, {1e-20, 1},
		})
	})
	// Boundaries in float64: the largest finite result and the smallest subnormal.
	expSpecial(t, "exp", F64, [][2]float64{
		{709.782712893384, 0x1.fffffffffff2ap+1023},
		{709.7827128933841, inf},
		{-745.1332191019411, 0x1p-1074},
		{-745.1332191019412, 0},
		{-744.4400719213812, 0x1p-1074},
	})
	expSpecial(t, "exp", F32, [][2]float64{
		{88.72283, 0x1.ffff08p+127},
		{88.72284, inf},
		{-103.97208, float64(math.Float32frombits(1))},
		{-104, 0},
	})
}

func TestPrimExpm1Accuracy(t *testing.T) {
	expTargets(t, func(t *testing.T, target Type) {
		xs := expInputs(3, target, expNum(60000), 1e-300, 746, -2, 2,
			709.782712893384, 709.0895657128241, -37.42994775023705, -36.7368005696771, -40, 1e-8, -1e-8, math.Ln2/2, -math.Ln2/2, 0.5*math.Ln2*3,
			88.72283, -17.32868, -16.635532)
		xs = append(xs, expRandBits(testutil.NewRand(4), target, expNum(20000))...)
		st := expSweepPrim(t, "expm1", "expm1(x)", target, xs, func(x float64) (float64, bool) {
			// e^x < 2^-86: −1 + e^x rounds to −1 in both formats; past 710 it overflows.
			if x > 710 {
				return math.Inf(1), true
			}
			return -1, x < -60
		})
		expReport(t, "expm1", target, st, 1)
	})
}

func TestPrimExpm1Special(t *testing.T) {
	inf, nan, nz := math.Inf(1), math.NaN(), math.Copysign(0, -1)
	expTargets(t, func(t *testing.T, target Type) {
		expSpecial(t, "expm1", target, [][2]float64{
			{0, 0}, {nz, nz}, {inf, inf}, {-inf, -1}, {nan, nan},
			{math.MaxFloat64, inf}, {-math.MaxFloat64, -1}, {-1e300, -1}, {-50, -1},
		})
	})
	expSpecial(t, "expm1", F64, [][2]float64{
		{5e-324, 5e-324}, {-5e-324, -5e-324}, {1e-300, 1e-300}, {-0x1p-1022, -0x1p-1022},
		{1e-30, 1e-30}, {-1e-30, -1e-30},
		{709.782712893384, 0x1.fffffffffff2ap+1023},
		{709.7827128933841, inf},
	})
}

// exp_err is the low part of a double-float exp: fl(exp(x)) + exp_err(x)
// must be exp(x) to far better than a float64 ulp wherever exp(x) is
// normal (2^-57 relative, 16 times below the ulp; expCore's double-float
// is good to about 2^-58) down to x = -670, below which the low part
// itself leaves the normal range; 0 below 2^-1021 (x < -707.7) and where
// exp overflows; NaN for NaN. A float32 target gives 0.
func TestPrimExpErr(t *testing.T) {
	exp, expErr := expProgram(t, "exp", F64, F64), expProgram(t, "exp_err", F64, F64)
	f, err := reference.CompileString("exp(x)", []string{"x"}, nil)
	require.NoError(t, err)
	r := testutil.NewRand(21)
	xs := []float64{0, 1, -1, 0.5, math.Ln2, 700, -670, 709}
	for range expNum(50000) {
		xs = append(xs, -670+1379*r.Float64(), testutil.LogUniform[float64](r, 1e-20, 1))
	}
	worst := 0.0
	for _, x := range xs {
		hi, lo := expRun(exp, x), expRun(expErr, x)
		exact := f.BigNum(reference.DefaultPrec, reference.NumFloat64(x)).F
		sum := new(big.Float).SetPrec(200).SetFloat64(hi)
		sum.Add(sum, new(big.Float).SetFloat64(lo))
		d := new(big.Float).SetPrec(200).Sub(sum, exact)
		d.Quo(d, exact)
		rel, _ := d.Float64()
		worst = max(worst, math.Abs(rel))
		require.LessOrEqual(t, math.Abs(rel), 0x1p-57, "exp(%v): %v + %v is %g off, relative", x, hi, lo, rel)
	}
	t.Logf("fl(exp) + exp_err within 2^%.1f of exp, relative, on %d inputs", math.Log2(worst), len(xs))
	for _, x := range []float64{-708.39, -745, -1000, math.Inf(-1), 710, math.Inf(1)} {
		require.Zero(t, expRun(expErr, x), "exp_err(%v)", x)
	}
	require.True(t, math.IsNaN(expRun(expErr, math.NaN())))
	require.Zero(t, expRun(expProgram(t, "exp_err", F32, F32), 1.5))
}

// TestExp32Ends: a float32 target's exp (exp32) is +0 exactly where its
// k = round(x·log2 e) is -1023, e^x from the next float64 up, and stays at
// e^exp32MaxArg (k = 1023) above it, finite in the float64 lanes and +Inf
// once rounded to float32.
func TestExp32Ends(t *testing.T) {
	k := func(x float64) float64 { return math.RoundToEven(x * expLog2e) }
	require.Equal(t, -1023.0, k(exp32MinArg))
	require.Equal(t, 1023.0, k(exp32MaxArg))
	p := expProgram(t, "exp", F32, F64) // the float64 lanes, not rounded to float32
	near := func(x float64) {
		t.Helper()
		got, want := expRun(p, x), math.Exp(x)
		require.InDelta(t, 1, got/want, 0x1p-30, "exp32(%v) = %v, want about %v", x, got, want)
	}
	// edge is the least float64 whose k is -1022.
	edge := -1022.5 * math.Ln2
	for k(edge) > -1023 {
		edge = math.Nextafter(edge, math.Inf(-1))
	}
	for k(edge) == -1023 {
		edge = math.Nextafter(edge, 0)
	}
	near(edge)
	for _, x := range []float64{math.Nextafter(edge, math.Inf(-1)), exp32MinArg, -710, -1e9, -math.MaxFloat64, math.Inf(-1)} {
		require.True(t, testutil.SameBits(0, expRun(p, x)), "exp32(%v) = %v, want +0", x, expRun(p, x))
	}
	near(exp32MaxArg)
	top := expRun(p, exp32MaxArg)
	require.Greater(t, top, 0x1p1023)
	for _, x := range []float64{math.Nextafter(exp32MaxArg, 710), 709.8, 1e9, math.MaxFloat64, math.Inf(1)} {
		require.Equal(t, top, expRun(p, x), "exp32(%v)", x)
	}
	require.True(t, math.IsInf(expRun(expProgram(t, "exp", F32, F32), 709.8), 1))
}

// expm1Lanes32Program is scale*expm1(min(x, 0)) in float32 lanes, the form
// a float32_lanes formula writes; scale 1 is the plain call. A constant
// scale is the formula's named constant (hi + lo, see factor); otherwise
// scale is a parameter's value, a float32.
func expm1Lanes32Program(t *testing.T, scale float64, constant bool) *Program {
	t.Helper()
	b := NewBuilder("expm1", F32, F32, 1, nil)
	f := factor{hi: b.Const(scale)}
	if constant {
		f = constFactor(b, scale)
	}
	v, err := lanes32Primitives["expm1"](b, f, []Value{b.Min(b.Const(0), b.Input(0))})
	require.NoError(t, err)
	return b.Finish(v)
}

// TestPrimExpm1Lanes32 checks scale·expm1 in float32 lanes against
// float64's expm1 times scale (within 2^-28 of a float32 ulp) on every
// 512th float32 from -0 down to -17.5, the range where the result is not
// -scale, and below: within the bounds a search over every float32 x ≤ 0
// found (0.881 ULP alone; 0.851 and 0.892 scaled by 0.7 and 1.67, 0.939 by
// SELU's scale*alpha as a constant), ±0 and NaN kept, -scale from -17.33
// on.
func TestPrimExpm1Lanes32(t *testing.T) {
	stride := uint32(512)
	if testing.Short() {
		stride = 8192
	}
	for _, tc := range []struct {
		scale    float64
		constant bool
		bound    float64
	}{{1, false, 0.881}, {0.7, false, 0.851}, {-1.6732632, false, 0.892}, {1.7580993408473768, true, 0.939}} {
		p := expm1Lanes32Program(t, tc.scale, tc.constant)
		sc := float64(float32(tc.scale))
		if tc.constant {
			sc = tc.scale
		}
		worst, at := 0.0, 0.0
		for bits := uint32(0x80000000); bits <= 0xc1900000; bits += stride {
			x := float64(math.Float32frombits(bits))
			got, want := expRun(p, x), sc*math.Expm1(x)
			_, e := math.Frexp(want) // |want| in [2^(e-1), 2^e)
			ulp := math.Ldexp(1, max(e-24, -149))
			if d := math.Abs(got-want) / ulp; d > worst {
				worst, at = d, x
			}
		}
		t.Logf("%g·expm1 in float32 lanes: max %.4f ULP at %g", sc, worst, at)
		require.LessOrEqual(t, worst, tc.bound, "scale %g, at x = %g", sc, at)
		tiny := float64(float32(-1e-30))
		for _, c := range [][2]float64{{0, 0}, {math.Copysign(0, -1), math.Copysign(0, -1)}, {math.Inf(-1), -1}, {-17.5, -1},
			{-1e30, -1}, {-17.3287, -1}, {tiny, tiny}, {-0x1p-149, -0x1p-149}, {1, 0}, {math.Inf(1), 0}} {
			got, want := expRun(p, c[0]), float64(float32(sc*c[1]))
			require.Equal(t, math.Float64bits(want), math.Float64bits(got), "%g·expm1(min(%g, 0)) = %g, want %g", sc, c[0], got, want)
		}
		payload := float64(math.Float32frombits(0x7fc01234))
		require.Equal(t, math.Float64bits(payload), math.Float64bits(expRun(p, payload)), "the NaN passes with its payload")
	}
}

// TestPrimExpm1Lanes32Domain: expm1 in float32 lanes refuses an argument
// not known to be ≤ 0, where it would be off by up to 1.6 ULP.
func TestPrimExpm1Lanes32Domain(t *testing.T) {
	b := NewBuilder("expm1", F32, F32, 1, nil)
	_, err := lanes32Primitives["expm1"](b, factor{hi: b.Const(1)}, []Value{b.Input(0)})
	require.ErrorContains(t, err, "must be known to be ≤ 0")
}
