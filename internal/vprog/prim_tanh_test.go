package vprog

import (
	"math"
	"testing"

	"github.com/actkern/actkern/internal/testutil"
)

func TestPrimTanhAccuracy(t *testing.T) {
	expTargets(t, func(t *testing.T, target Type) {
		xs := expInputs(14, target, expNum(80000), 1e-320, 1e4, -3, 3,
			19.061547465398498, 19.06154746539849, 20, 9.010913347279288, 9.704060527839234, 0.5493061443340549,
			math.Ln2/4, math.Ln2/2, math.Ln2, 0x1p-26, 0x1p-27, 0x1p-12, 0x1p-13, 0x1p-1022, 5e-324)
		xs = append(xs, expRandBits(testutil.NewRand(15), target, expNum(20000))...)
		st := expSweepPrim(t, "tanh", "tanh(x)", target, xs, nil)
		expReport(t, "tanh", target, st, 1)
	})
}

func TestPrimTanhSpecial(t *testing.T) {
	inf, nan, nz := math.Inf(1), math.NaN(), math.Copysign(0, -1)
	expTargets(t, func(t *testing.T, target Type) {
		expSpecial(t, "tanh", target, [][2]float64{
			{0, 0}, {nz, nz}, {inf, 1}, {-inf, -1}, {nan, nan},
			{math.MaxFloat64, 1}, {-math.MaxFloat64, -1}, {5e29, 1}, {-5e29, -1}, {25, 1}, {-25, -1},
		})
	})
	expSpecial(t, "tanh", F32, [][2]float64{
		{1e-30, float64(float32(1e-30))}, {-1e-30, float64(float32(-1e-30))}, {0x1p-149, 0x1p-149}, {9.1, 1}, {-9.1, -1},
	})
	expSpecial(t, "tanh", F64, [][2]float64{
		{5e-324, 5e-324}, {-5e-324, -5e-324}, {1e-300, 1e-300}, {-0x1p-1022, -0x1p-1022}, {1e-30, 1e-30},
		{19.061547465398498, 1}, {-19.061547465398498, -1},
	})
}
