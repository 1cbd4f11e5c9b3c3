package vprog

import (
	"math"
	"testing"

	"github.com/actkern/actkern/internal/testutil"
)

func TestPrimLogAccuracy(t *testing.T) {
	expTargets(t, func(t *testing.T, target Type) {
		// Negative inputs are in the log-uniform set too (they must give NaN).
		xs := expInputs(5, target, expNum(60000), 1e-320, math.MaxFloat64, 0.25, 4,
			1, math.Sqrt2, math.Sqrt2/2, 2, 0.5, math.E, 0x1p-1022, 0x1p-1074, 0x1p-1030, math.MaxFloat64,
			0x1p-126, 0x1p-149, 0x1.fffffep127, 1+0x1p-52, 1-0x1p-53, 1+0x1p-23, 1-0x1p-24)
		// Positive inputs near 1, where log is smallest relative to its argument.
		r := testutil.NewRand(6)
		for range expNum(20000) {
			v := 1 + testutil.LogUniform[float64](r, 1e-17, 0.3)
			if target == F32 {
				v = float64(float32(v))
			}
			xs = append(xs, v)
		}
		xs = append(xs, expRandBits(testutil.NewRand(7), target, expNum(20000))...)
		st := expSweepPrim(t, "log", "log(x)", target, xs, nil)
		expReport(t, "log", target, st, 1)
	})
}

func TestPrimLogSpecial(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	expTargets(t, func(t *testing.T, target Type) {
		expSpecial(t, "log", target, [][2]float64{
			{1, 0}, {0, -inf}, {math.Copysign(0, -1), -inf}, {inf, inf}, {-inf, nan}, {nan, nan},
			{-1, nan}, {-0x1p-149, nan}, {-math.MaxFloat64, nan},
		})
	})
	expSpecial(t, "log", F64, [][2]float64{
		{5e-324, -744.4400719213812}, {0x1p-1022, -708.3964185322641}, {math.MaxFloat64, 709.782712893384},
		{math.E, 1}, {0x1p-1073, -743.7469247408213}, {2, math.Ln2},
	})
	expSpecial(t, "log", F32, [][2]float64{
		{2, float64(float32(math.Ln2))}, {0x1p-149, float64(float32(-103.27892990343184))},
	})
}

func TestPrimLog1pAccuracy(t *testing.T) {
	expTargets(t, func(t *testing.T, target Type) {
		xs := expInputs(8, target, expNum(60000), 1e-320, math.MaxFloat64, -0.9, 3,
			-1, -1+0x1p-53, -1+0x1p-24, -0.5, math.Sqrt2-1, math.Sqrt2/2-1, 1, 0x1p52, 0x1p53, 0x1p54, 0x1p-53, -0x1p-54,
			0x1p-1022, math.MaxFloat64, 0x1p24, 0x1p25, 0x1.fffffep127)
		// Inputs near −1, where the result goes to −Inf.
		r := testutil.NewRand(9)
		for range expNum(20000) {
			v := -1 + testutil.LogUniform[float64](r, 1e-16, 0.5)*math.Copysign(1, 1)
			if v < -1 {
				v = -2 - v
			}
			if target == F32 {
				v = float64(float32(v))
			}
			xs = append(xs, v)
		}
		xs = append(xs, expRandBits(testutil.NewRand(10), target, expNum(20000))...)
		st := expSweepPrim(t, "log1p", "log1p(x)", target, xs, nil)
		expReport(t, "log1p", target, st, 1)
	})
}

func TestPrimLog1pSpecial(t *testing.T) {
	inf, nan, nz := math.Inf(1), math.NaN(), math.Copysign(0, -1)
	expTargets(t, func(t *testing.T, target Type) {
		expSpecial(t, "log1p", target, [][2]float64{
			{0, 0}, {nz, nz}, {-1, -inf}, {inf, inf}, {-inf, nan}, {nan, nan},
			{-1.5, nan}, {-math.MaxFloat64, nan}, {math.E - 1, float64(float32(1))},
		})
	})
	expSpecial(t, "log1p", F64, [][2]float64{
		{5e-324, 5e-324}, {-5e-324, -5e-324}, {1e-300, 1e-300}, {-0x1p-1022, -0x1p-1022}, {0x1p-60, 0x1p-60},
		{math.MaxFloat64, 709.782712893384}, {-1 + 0x1p-53, -36.7368005696771},
	})
	expSpecial(t, "log1p", F32, [][2]float64{
		{1e-30, float64(float32(1e-30))}, {-1e-30, float64(float32(-1e-30))}, {0x1p-149, 0x1p-149},
	})
}
