package vprog

import (
	"math"
	"testing"

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
// with the sweep of the exp tests (expSweepPrim). erfc(x > 30) < 2^-1300 is
// +0 in both formats and given directly: asked for it, the reference
// computes e^{-x²} in full, which takes minutes at x ≳ 10^4.
func primSweep(t *testing.T, name, formula string, target Type, xs []float64) expStats {
	t.Helper()
	var known func(float64) (float64, bool)
	if name == "erfc" {
		known = func(x float64) (float64, bool) { return 0, x > 30 }
	}
	return expSweepPrim(t, name, formula, target, xs, known)
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
