package vprog

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/testutil"
)

func TestPrimSigmoidAccuracy(t *testing.T) {
	expTargets(t, func(t *testing.T, target Type) {
		xs := expInputs(11, target, expNum(60000), 1e-300, 1e4, -40, 40,
			-745.1332191019411, -745.1332191019412, -744.4400719213812, -708.3964185322641, -708.4, -746,
			36.7368005696771, 36.04365338911715, 37.42994775023705, -103.97208, -103.27893, -87.33654, 16.635532, 17.32868,
			math.Ln2/2, -math.Ln2/2, 1, -1)
		// The near-boundary band of x → −∞, where results are subnormal.
		r := testutil.NewRand(12)
		for range expNum(20000) {
			v := -700 - 50*r.Float64()
			if target == F32 {
				v = -80 - 30*r.Float64()
			}
			xs = append(xs, v)
		}
		if target == F32 {
			for i := range xs[len(xs)-expNum(20000):] {
				xs[len(xs)-expNum(20000)+i] = float64(float32(xs[len(xs)-expNum(20000)+i]))
			}
		}
		xs = append(xs, expRandBits(testutil.NewRand(13), target, expNum(20000))...)
		st := expSweepPrim(t, "sigmoid", "sigmoid(x)", target, xs, func(x float64) (float64, bool) {
			// e^-x < 2^-86: 1/(1 + e^-x) rounds to 1 in both formats; below
			// −746 the result is under half the smallest subnormal.
			if x < -746 {
				return 0, true
			}
			return 1, x > 60
		})
		expReport(t, "sigmoid", target, st, 1)
	})
}

func TestPrimSigmoidSpecial(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	expTargets(t, func(t *testing.T, target Type) {
		expSpecial(t, "sigmoid", target, [][2]float64{
			{0, 0.5}, {math.Copysign(0, -1), 0.5}, {inf, 1}, {-inf, 0}, {nan, nan},
			{math.MaxFloat64, 1}, {-math.MaxFloat64, 0}, {5e29, 1}, {-5e29, 0}, {1e-30, 0.5}, {-1e-30, 0.5},
			{800, 1}, {-800, 0},
		})
	})
	expSpecial(t, "sigmoid", F64, [][2]float64{
		{-745.1332191019411, 0x1p-1074}, {-745.1332191019412, 0}, {37.42994775023705, 1},
	})
	expSpecial(t, "sigmoid", F32, [][2]float64{
		{-103.97208, float64(math.Float32frombits(1))}, {-104, 0}, {17.32868, 1},
	})
}

// TestSigmoidOfNonPositive: sigmoid(-|x|) drops the sign test (its
// numerator is always e) and gives the bits of the general lowering, which
// -|x| + 0 hides the sign from, for every target, ±0, ±Inf and NaN
// included.
func TestSigmoidOfNonPositive(t *testing.T) {
	for _, mem := range []Type{F32, F64} {
		known, err := Lower(activation(t, "s", "sigmoid(-abs(x))", "1"), Forward, mem)
		require.NoError(t, err)
		general, err := Lower(activation(t, "s", "sigmoid(-abs(x) + 0)", "1"), Forward, mem)
		require.NoError(t, err)
		assert.Less(t, liveOps(known, OpLT), liveOps(general, OpLT), "%s: the sign test stays", mem)
		xs := []float64{0, math.Copysign(0, -1), 1e-300, 0x1p-149, 1, 36.7, 103.9, 745.2, 1e300, math.Inf(1), math.Inf(-1), math.NaN()}
		r := testutil.NewRand(14)
		for range 20000 {
			xs = append(xs, testutil.LogUniform[float64](r, 1e-30, 2000))
		}
		for _, x := range xs {
			if mem == F32 {
				x = float64(float32(x))
			}
			for _, v := range []float64{x, -x} {
				got, want := known.Eval([]float64{v}, nil), general.Eval([]float64{v}, nil)
				require.True(t, testutil.SameBits(got, want) || math.IsNaN(got) && math.IsNaN(want), "%s: sigmoid(-|%v|) = %v, want %v", mem, v, got, want)
			}
		}
	}
}
