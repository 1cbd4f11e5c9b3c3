package vprog

import (
	"fmt"
	"math"
	"math/big"
	"runtime"
	"sync"
	"testing"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
	"github.com/stretchr/testify/require"
)

// The sweeps reuse the generic exp* helpers of prim_exp_test.go (inputs,
// statistics, report against the contract) with their own evaluation loop,
// primSweep, which asks the reference for one big value per input (the
// correctly rounded value is rounded from it) and never for the exact value
// of a result that underflows to zero in both: the reference's erfc needs
// minutes for e^{-x²} at x ≳ 10^4. The reference evaluates erf and erfc at
// 30–200 µs, so the default counts keep each test near 5 s on two cores;
// go test -run 'PrimErf|PrimSin|PrimCos' ./internal/vprog/ -args -prim.sweep=10
// searches ten times as many inputs.

// primSweep measures primitive name with target over xs against formula
// (see expSweepPrim for the figures).
func primSweep(t *testing.T, name, formula string, target Type, xs []float64) expStats {
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
			for i := w; i < len(xs); i += workers {
				primCheckOne(f, stored, wide, target, xs[i], &parts[w])
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

func primCheckOne(f *reference.Func, stored, wide *Program, target Type, x float64, st *expStats) {
	st.n++
	got := expRun(stored, x)
	if stored.Name == "erfc" && x > 30 {
		// erfc(30) < 2^-1300: the correctly rounded value is +0 in both
		// formats. Asked for it, the reference computes e^{-x²} in full,
		// which takes minutes at x ≳ 10^4.
		if !testutil.SameBits(got, 0) && st.failure == "" {
			st.failure = fmt.Sprintf("erfc(%v) = %v, want 0", x, got)
		}
		return
	}
	exact := f.BigNum(reference.DefaultPrec, reference.NumFloat64(x))
	var want float64
	switch {
	case exact.NaN:
		want = math.NaN()
	case target == F32:
		w, _ := exact.F.Float32()
		want = float64(w)
	default:
		want, _ = exact.F.Float64()
	}
	if target == F32 {
		st.intULP = max(st.intULP, testutil.ULP(float32(got), float32(want)))
	} else {
		st.intULP = max(st.intULP, testutil.ULP(got, want))
	}
	if math.IsNaN(want) || math.IsInf(want, 0) || want == 0 || math.IsNaN(got) || math.IsInf(got, 0) || got == 0 {
		if !testutil.SameBits(got, want) && st.failure == "" {
			st.failure = fmt.Sprintf("%s(%v) = %v, want %v", stored.Name, x, got, want)
		}
		return
	}
	mant, minUlp := 53, -1074
	if target == F32 {
		mant, minUlp = 24, -149
	}
	if u := expFracULP(got, exact.F, mant, minUlp); u > st.maxULP {
		st.maxULP, st.argMax = u, x
	}
	if wide == nil {
		return
	}
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

// erfBreaks are the places where the lowering changes formula or where the
// result reaches a limit, each tested with its float neighbours.
var erfBreaks = []float64{
	0, 0.5, -0.5, 1, -1, 2, 4, -4, // split; q = 0 at a = 4
	5.921587195794507, 5.9215871957945075, 6, // erf rounds to 1 from here (f64)
	3.9193, 3.9194, // erf rounds to 1 (f32)
	26.5, 26.55, 27.2, 27.22, 27.3, 27.2984, 28, 28.0001, // erfc: subnormal, last nonzero, clamp
	10.0, 10.05, 10.06, 9.19, 9.2, // erfc: float32 subnormal range and underflow
	0.3466, 0.5887, 0.8325, 1.0197, // k changes: a² = (k ± 1/2)·ln2
}

func erfInputs(seed uint64, target Type, n int) []float64 {
	xs := expInputs(seed, target, n, 1e-30, 30, -6, 6, erfBreaks...)
	// Dense in the tail where erfc's relative accuracy is hardest.
	xs = append(xs, expInputs(seed+1, target, n/4, 4, 28, -28, -4)...)
	// Tiny and subnormal arguments, every exponent.
	xs = append(xs, expInputs(seed+2, target, n/8, 1e-320, 1e-30, -0.5, 0.5)...)
	return append(xs, expRandBits(testutil.NewRand(seed+3), target, n/8)...)
}

func TestPrimErfAccuracy(t *testing.T) {
	expTargets(t, func(t *testing.T, target Type) {
		st := primSweep(t, "erf", "erf(x)", target, erfInputs(11, target, expNum(24000)))
		expReport(t, "erf", target, st, 1)
	})
}

func TestPrimErfcAccuracy(t *testing.T) {
	expTargets(t, func(t *testing.T, target Type) {
		st := primSweep(t, "erfc", "erfc(x)", target, erfInputs(21, target, expNum(16000)))
		expReport(t, "erfc", target, st, 1)
	})
}

func TestPrimErfSpecial(t *testing.T) {
	inf, nan, nz := math.Inf(1), math.NaN(), math.Copysign(0, -1)
	expTargets(t, func(t *testing.T, target Type) {
		expSpecial(t, "erf", target, [][2]float64{
			{0, 0}, {nz, nz}, {inf, 1}, {-inf, -1}, {nan, -nan}, {nan, nan},
			{6, 1}, {-6, -1}, {30, 1}, {-30, -1}, {1e300, 1}, {-1e300, -1},
			{math.MaxFloat64, 1}, {-math.MaxFloat64, -1},
		})
		expSpecial(t, "erfc", target, [][2]float64{
			{0, 1}, {nz, 1}, {inf, 0}, {-inf, 2}, {nan, nan},
			{28, 0}, {30, 0}, {1e300, 0}, {math.MaxFloat64, 0},
			{-7, 2}, {-30, 2}, {-1e300, 2}, {-math.MaxFloat64, 2},
		})
	})
	// Tiny arguments: erf x = 2x/√π rounded once, no flush to zero.
	expSpecial(t, "erf", F64, [][2]float64{
		{5e-324, 5e-324}, {-5e-324, -5e-324}, {1e-310, 0x1.4c5898977c4p-1030},
		{0x1p-1022, 0x1.20dd750429b6dp-1022}, {1e-300, 0x1.82e6d98711d3ap-997},
	})
	// Near the underflow of erfc (values from internal/reference).
	expSpecial(t, "erfc", F64, [][2]float64{
		{26.5, 0x1.3df6725a60cf5p-1019}, // ≈ 2.2e-307, normal
		{27.2, 0x1p-1073},               // subnormal
		{27.25, 0}, {27.3, 0},
	})
}

// erfcLowerOps counts the lane operations of each lowering.
func erfcLowerOps(t *testing.T, name string, target Type) int {
	p := expProgram(t, name, target, target)
	n := 0
	for _, in := range p.Instrs {
		switch in.Op {
		case OpInput, OpConst:
		default:
			n++
		}
	}
	return n
}

func TestErfOpCount(t *testing.T) {
	for _, name := range []string{"erf", "erfc"} {
		for _, target := range []Type{F64, F32} {
			n := erfcLowerOps(t, name, target)
			t.Logf("%s/%s: %d lane operations (constants not counted)", name, target, n)
			// A budget, so that an accidental blow-up (lost sharing,
			// duplicated branch) is noticed.
			require.Less(t, n, 180, "%s/%s", name, target)
		}
	}
}
