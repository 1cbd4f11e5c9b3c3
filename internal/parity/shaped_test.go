// The row-wise (softmax family), per-channel (PReLU) and gated families
// compared with PyTorch.

package parity

import (
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/generated/f32"
	"github.com/actkern/actkern/generated/f64"
	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
)

// shapedBar is the bar of the shaped kernels against the exact value: a
// row reduction adds roundings an elementwise kernel does not have.
const shapedBar = 3

// condLimit is the condition number above which a backward value is
// measured and logged but not judged: where dy_i - sum(dy*y) cancels, the
// error of any summation in T is set by the data, not by the kernel.
const condLimit = 2

// rowsAPI is the softmax family of one element type.
type rowsAPI[T float32 | float64] struct {
	fwd    map[string]func(dst, x []T, cols int)
	bwd    map[string]func(dx, dy, y []T, cols int) // not logsumexp
	lseBwd func(dx, dy, x, y []T, cols int)
	prelu  func(dst, x, weight []T, inner int)
	preluB func(dx, dweight, dy, x, weight []T, inner int)
	gated  map[string]func(dst, x []T, cols int)
	gatedB map[string]func(dx, dy, x []T, cols int)
}

func shapedAPI[T float32 | float64]() rowsAPI[T] {
	var r rowsAPI[T]
	switch p := any(&r).(type) {
	case *rowsAPI[float32]:
		p.fwd = map[string]func(dst, x []float32, cols int){
			"softmax": f32.Softmax, "log_softmax": f32.LogSoftmax, "softmin": f32.Softmin, "logsumexp": f32.LogSumExp,
		}
		p.bwd = map[string]func(dx, dy, y []float32, cols int){
			"softmax": f32.SoftmaxBackward, "log_softmax": f32.LogSoftmaxBackward, "softmin": f32.SoftminBackward,
		}
		p.lseBwd = f32.LogSumExpBackward
		p.prelu, p.preluB = f32.PReLU, f32.PReLUBackward
		p.gated = map[string]func(dst, x []float32, cols int){
			"glu": f32.GLU, "swiglu": f32.SwiGLU, "geglu": f32.GeGLU, "geglu_tanh": f32.GeGLUTanh, "reglu": f32.ReGLU,
		}
		p.gatedB = map[string]func(dx, dy, x []float32, cols int){
			"glu": f32.GLUBackward, "swiglu": f32.SwiGLUBackward, "geglu": f32.GeGLUBackward,
			"geglu_tanh": f32.GeGLUTanhBackward, "reglu": f32.ReGLUBackward,
		}
	case *rowsAPI[float64]:
		p.fwd = map[string]func(dst, x []float64, cols int){
			"softmax": f64.Softmax, "log_softmax": f64.LogSoftmax, "softmin": f64.Softmin, "logsumexp": f64.LogSumExp,
		}
		p.bwd = map[string]func(dx, dy, y []float64, cols int){
			"softmax": f64.SoftmaxBackward, "log_softmax": f64.LogSoftmaxBackward, "softmin": f64.SoftminBackward,
		}
		p.lseBwd = f64.LogSumExpBackward
		p.prelu, p.preluB = f64.PReLU, f64.PReLUBackward
		p.gated = map[string]func(dst, x []float64, cols int){
			"glu": f64.GLU, "swiglu": f64.SwiGLU, "geglu": f64.GeGLU, "geglu_tanh": f64.GeGLUTanh, "reglu": f64.ReGLU,
		}
		p.gatedB = map[string]func(dx, dy, x []float64, cols int){
			"glu": f64.GLUBackward, "swiglu": f64.SwiGLUBackward, "geglu": f64.GeGLUBackward,
			"geglu_tanh": f64.GeGLUTanhBackward, "reglu": f64.ReGLUBackward,
		}
	}
	return r
}

func TestRows(t *testing.T) {
	t.Run("f32", func(t *testing.T) { rowsTest[float32](t) })
	t.Run("f64", func(t *testing.T) { rowsTest[float64](t) })
}

func TestPReLU(t *testing.T) {
	t.Run("f32", func(t *testing.T) { preluTest[float32](t) })
	t.Run("f64", func(t *testing.T) { preluTest[float64](t) })
}

func TestGated(t *testing.T) {
	t.Run("f32", func(t *testing.T) { gatedTest[float32](t) })
	t.Run("f64", func(t *testing.T) { gatedTest[float64](t) })
}

func dec[T float32 | float64](t *testing.T, s string) []T {
	t.Helper()
	v, err := Decode[T](s)
	require.NoError(t, err)
	return v
}

// ---------------------------------------------------------------- exact arithmetic

// wide is the precision of exact sums and products: a sum of float64
// products spans at most ~2200 bits, so nothing rounds.
const wide = 4400

func bf(v float64) *big.Float { return new(big.Float).SetPrec(wide).SetFloat64(v) }

var (
	expRef = reference.MustCompile("exp(d)", []string{"d"}, nil)
	logRef = reference.MustCompile("log(s)", []string{"s"}, nil)
)

// expBig is exp(d) for a finite d to 256 bits; below -1e5 it is taken as 0
// (it underflows every format, and it is added to sums of at least 1).
func expBig(d *big.Float) *big.Float {
	if d.Cmp(big.NewFloat(-1e5)) < 0 {
		return new(big.Float).SetPrec(wide)
	}
	return expRef.Big(256, d).F
}

func logBig(s *big.Float) *big.Float { return logRef.Big(256, s).F }

// round rounds an exact value once to T.
func round[T float32 | float64](v *big.Float) T {
	if testutil.Is32[T]() {
		f, _ := v.Float32()
		return T(f)
	}
	f, _ := v.Float64()
	return T(f)
}

// judge reports an error above the bar (ULPs against the exact value).
func judge[T float32 | float64](t *testing.T, what string, i int, got, want T) float64 {
	t.Helper()
	u := testutil.ULP(got, want)
	if u > shapedBar {
		t.Errorf("%s[%d]: got %v, exact %v (%v ULP, bar %d)", what, i, got, want, u, shapedBar)
	}
	return u
}

// gatedSpecial judges a gated result at a special input (a or b NaN, zero
// or huge). The same bits as PyTorch pass; so do the spec's recorded
// deviations: a zero gradient keeps dy's sign (dy·0), NaN in gives NaN out
// where PyTorch's masks compute a number, and a limit where PyTorch
// computes Inf·0 = NaN. A finite nonzero exact value is judged in ULP.
func gatedSpecial[T float32 | float64](t *testing.T, what string, i int, got, torch, a, b, exact T) {
	t.Helper()
	inf := func(v T) bool { return math.IsInf(float64(v), 0) }
	switch {
	case testutil.SameBits(got, torch):
	case got == 0 && torch == 0: // the sign of a zero gradient
	case got != got && (a != a || b != b): // NaN in, NaN out
	case torch != torch && got == got && (inf(a) || inf(b) || math.Abs(float64(a)) >= 1e30): // the limit
	case exact == exact && exact != 0 && !inf(exact):
		judge(t, what, i, got, exact)
	default:
		t.Errorf("%s[%d]: got %v, PyTorch %v, exact %v: no deviation explains it", what, i, got, torch, exact)
	}
}

// sameAsTorch requires the bits of PyTorch's result (any NaN matching any NaN).
func sameAsTorch[T float32 | float64](t *testing.T, what string, i int, got, torch T) {
	t.Helper()
	if !testutil.SameBits(got, torch) {
		t.Errorf("%s[%d]: got %v, PyTorch %v (must match bit for bit)", what, i, got, torch)
	}
}

// ---------------------------------------------------------------- softmax family

// specialRow is a row PyTorch's answer defines rather than the mathematics:
// a NaN, a +Inf, or nothing but -Inf.
func specialRow[T float32 | float64](row []T) bool {
	allNegInf := true
	for _, v := range row {
		if v != v || math.IsInf(float64(v), 1) {
			return true
		}
		if !math.IsInf(float64(v), -1) {
			allNegInf = false
		}
	}
	return allNegInf
}

// softmaxExact returns exact softmax (or, with log, log_softmax) of a row
// and log(sum exp(x - max)) plus the max, i.e. logsumexp, rounded to T.
func softmaxExact[T float32 | float64](row []T) (sm, lsm []T, lse T) {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	ds := make([]*big.Float, len(row))
	es := make([]*big.Float, len(row))
	sum := new(big.Float).SetPrec(wide)
	for i, v := range row {
		if math.IsInf(float64(v), -1) {
			es[i] = new(big.Float).SetPrec(wide)
			continue
		}
		ds[i] = new(big.Float).SetPrec(wide).Sub(bf(float64(v)), bf(m))
		es[i] = expBig(ds[i])
		sum.Add(sum, es[i])
	}
	ls := logBig(sum)
	sm, lsm = make([]T, len(row)), make([]T, len(row))
	for i := range row {
		sm[i] = round[T](new(big.Float).SetPrec(wide).Quo(es[i], sum))
		if ds[i] == nil {
			lsm[i] = T(math.Inf(-1))
		} else {
			lsm[i] = round[T](new(big.Float).SetPrec(wide).Sub(ds[i], ls))
		}
	}
	return sm, lsm, round[T](new(big.Float).SetPrec(wide).Add(bf(m), ls))
}

func negate[T float32 | float64](v []T) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = -x
	}
	return out
}

func rowsTest[T float32 | float64](t *testing.T) {
	var g Rows
	require.NoError(t, Load[T](dataDir, "rows", &g))
	api := shapedAPI[T]()
	for _, sh := range g.Shapes {
		x, dy, dyRow := dec[T](t, sh.X), dec[T](t, sh.DY), dec[T](t, sh.DYRow)
		cols := sh.Cols
		rows := len(x) / cols
		for _, name := range []string{"softmax", "log_softmax", "softmin", "logsumexp"} {
			tf := sh.Funcs[name]
			ty, tdx := dec[T](t, tf.Y), dec[T](t, tf.DX)
			what := fmt.Sprintf("%s %s cols=%d", TypeName[T](), name, cols)
			t.Run(fmt.Sprintf("%s/cols=%d", name, cols), func(t *testing.T) {
				outLen := len(x)
				if name == "logsumexp" {
					outLen = rows
				}
				y := make([]T, outLen)
				api.fwd[name](y, x, cols)
				dx := make([]T, len(x))
				// Backward from PyTorch's own y, so that both backward
				// results answer the same question.
				if name == "logsumexp" {
					api.lseBwd(dx, dyRow, x, ty, cols)
				} else {
					api.bwd[name](dx, dy, ty, cols)
				}
				var worstF, worstB, torchF, torchB float64
				for r := 0; r < rows; r++ {
					row := x[r*cols : (r+1)*cols]
					lo, hi := r*cols, (r+1)*cols
					in := row
					if name == "softmin" {
						in = negate(row) // softmin(x) = softmax(-x)
					}
					if specialRow(in) {
						if name == "logsumexp" {
							sameAsTorch(t, what+" y", r, y[r], ty[r])
						} else {
							for i := lo; i < hi; i++ {
								sameAsTorch(t, what+" y", i, y[i], ty[i])
							}
						}
						for i := lo; i < hi; i++ {
							sameAsTorch(t, what+" dx", i, dx[i], tdx[i])
						}
						continue
					}
					sm, lsm, lse := softmaxExact(in)
					if name == "logsumexp" {
						worstF = math.Max(worstF, judge(t, what+" y", r, y[r], lse))
						torchF = math.Max(torchF, testutil.ULP(ty[r], lse))
					} else {
						want := sm
						if name == "log_softmax" {
							want = lsm
						}
						for i := lo; i < hi; i++ {
							worstF = math.Max(worstF, judge(t, what+" y", i, y[i], want[i-lo]))
							torchF = math.Max(torchF, testutil.ULP(ty[i], want[i-lo]))
						}
					}
					wantDX, cond := rowsBackwardExact(name, row, dy[lo:hi], dyRow[r], ty, r, cols)
					for i := lo; i < hi; i++ {
						torchB = math.Max(torchB, testutil.ULP(tdx[i], wantDX[i-lo]))
						if cond[i-lo] <= condLimit {
							worstB = math.Max(worstB, judge(t, what+" dx", i, dx[i], wantDX[i-lo]))
						}
					}
				}
				t.Logf("%s: max ULP forward %v (PyTorch %v), backward %v (PyTorch %v, well-conditioned points judged)", what, worstF, torchF, worstB, torchB)
			})
		}
	}
}

// rowsBackwardExact is the exact gradient of one row given PyTorch's y
// (the input of the backward functions), with each element's condition
// number (sum of the magnitudes of the terms over the magnitude of the result).
func rowsBackwardExact[T float32 | float64](name string, x, dy []T, dyRow T, ty []T, r, cols int) ([]T, []float64) {
	n := len(x)
	out := make([]T, n)
	cond := make([]float64, n)
	switch name {
	case "logsumexp":
		// dx_i = dy * exp(x_i - y).
		yv := bf(float64(ty[r]))
		for i := range x {
			if math.IsInf(float64(x[i]), -1) {
				out[i] = 0 * dyRow
				continue
			}
			d := new(big.Float).SetPrec(wide).Sub(bf(float64(x[i])), yv)
			out[i] = round[T](new(big.Float).SetPrec(wide).Mul(bf(float64(dyRow)), expBig(d)))
			cond[i] = 1
		}
		return out, cond
	case "log_softmax":
		// dx_i = dy_i - exp(y_i) * sum(dy).
		y := ty[r*cols : (r+1)*cols]
		s, sa := new(big.Float).SetPrec(wide), 0.0
		for _, v := range dy {
			s.Add(s, bf(float64(v)))
			sa += math.Abs(float64(v))
		}
		for i := range x {
			e := expBig(bf(float64(y[i])))
			term := new(big.Float).SetPrec(wide).Mul(e, s)
			v := new(big.Float).SetPrec(wide).Sub(bf(float64(dy[i])), term)
			out[i] = round[T](v)
			ef, _ := e.Float64()
			cond[i] = condOf(v, math.Abs(float64(dy[i]))+ef*sa)
		}
		return out, cond
	}
	// softmax: dx_i = y_i*(dy_i - sum(dy*y)); softmin: its negative.
	y := ty[r*cols : (r+1)*cols]
	s, sa := new(big.Float).SetPrec(wide), 0.0
	for i := range y {
		s.Add(s, new(big.Float).SetPrec(wide).Mul(bf(float64(dy[i])), bf(float64(y[i]))))
		sa += math.Abs(float64(dy[i]) * float64(y[i]))
	}
	for i := range y {
		v := new(big.Float).SetPrec(wide).Sub(bf(float64(dy[i])), s)
		v.Mul(v, bf(float64(y[i])))
		if name == "softmin" {
			v.Neg(v)
		}
		out[i] = round[T](v)
		cond[i] = condOf(v, math.Abs(float64(y[i]))*(math.Abs(float64(dy[i]))+sa))
	}
	return out, cond
}

// condOf is mag/|v|, +Inf for v = 0 with mag > 0.
func condOf(v *big.Float, mag float64) float64 {
	f, _ := v.Float64()
	if f == 0 {
		if mag == 0 {
			return 1
		}
		return math.Inf(1)
	}
	return mag / math.Abs(f)
}

// ---------------------------------------------------------------- PReLU

func preluTest[T float32 | float64](t *testing.T) {
	var g PReLU
	require.NoError(t, Load[T](dataDir, "prelu", &g))
	api := shapedAPI[T]()
	for _, c := range g.Cases {
		w, x, dy := dec[T](t, c.Weight), dec[T](t, c.X), dec[T](t, c.DY)
		ty, tdx, tdw := dec[T](t, c.Y), dec[T](t, c.DX), dec[T](t, c.DWeight)
		what := fmt.Sprintf("%s prelu %s weights=%d inner=%d", TypeName[T](), c.Layout, len(w), c.Inner)
		t.Run(fmt.Sprintf("%s/weights=%d", c.Layout, len(w)), func(t *testing.T) {
			y := make([]T, len(x))
			api.prelu(y, x, w, c.Inner)
			dx, dw := make([]T, len(x)), make([]T, len(w))
			api.preluB(dx, dw, dy, x, w, c.Inner)
			// y and dx are one product each (or a copy): correctly rounded
			// in both implementations, so the bits must agree, specials
			// included. A NaN x is NaN in, NaN out for us; PyTorch's
			// backward mask (x > 0 false) gives w*dy there.
			for i := range x {
				sameAsTorch(t, what+" y", i, y[i], ty[i])
				if x[i] != x[i] {
					if dx[i] == dx[i] {
						t.Errorf("%s dx[%d]: x is NaN, dx = %v", what, i, dx[i])
					}
					continue
				}
				sameAsTorch(t, what+" dx", i, dx[i], tdx[i])
			}
			// dweight[c] = sum over the channel's x <= 0 of x*dy, exactly.
			sums := make([]*big.Float, len(w))
			mags := make([]float64, len(w))
			nan := make([]bool, len(w))
			for k := range sums {
				sums[k] = new(big.Float).SetPrec(wide)
			}
			for i := range x {
				k := (i / c.Inner) % len(w)
				switch {
				case x[i] != x[i]:
					nan[k] = true
				case x[i] <= 0:
					p := new(big.Float).SetPrec(wide).Mul(bf(float64(x[i])), bf(float64(dy[i])))
					if p.IsInf() {
						nan[k] = true // an infinite term: PyTorch's sum is Inf or NaN, checked below
					} else {
						sums[k].Add(sums[k], p)
						mags[k] += math.Abs(float64(x[i]) * float64(dy[i]))
					}
				}
			}
			for k := range w {
				if nan[k] {
					sameAsTorch(t, what+" dweight", k, dw[k], tdw[k])
					continue
				}
				want := round[T](sums[k])
				if condOf(sums[k], mags[k]) <= condLimit {
					judge(t, what+" dweight", k, dw[k], want)
				}
				t.Logf("%s dweight[%d]: %v ULP (PyTorch %v ULP)", what, k, testutil.ULP(dw[k], want), testutil.ULP(tdw[k], want))
			}
		})
	}
}

// ---------------------------------------------------------------- gated

// gatedFormulas are the exact forward and the two halves of the gradient,
// over a, b and dy, in the reference's language.
var gatedFormulas = map[string][3]string{
	"glu":    {"a*sigmoid(b)", "dy*sigmoid(b)", "dy*a*sigmoid(b)*sigmoid(-b)"},
	"swiglu": {"a*sigmoid(a)*b", "dy*b*(sigmoid(a) + a*sigmoid(a)*sigmoid(-a))", "dy*a*sigmoid(a)"},
	"geglu": {"0.5*a*erfc(-a*sqrt1_2)*b",
		"dy*b*(0.5*erfc(-a*sqrt1_2) + a*inv_sqrtpi*sqrt1_2*exp(-0.5*a*a))",
		"dy*0.5*a*erfc(-a*sqrt1_2)"},
	// 0.5*(1 + tanh(u)) = sigmoid(2u) and 1 - tanh(u)^2 = 4*sigmoid(2u)*sigmoid(-2u).
	"geglu_tanh": {"a*sigmoid(2*sqrt2_pi*(a + 0.044715*a*a*a))*b",
		"dy*b*(sigmoid(2*sqrt2_pi*(a + 0.044715*a*a*a)) + 2*a*sigmoid(2*sqrt2_pi*(a + 0.044715*a*a*a))*sigmoid(-2*sqrt2_pi*(a + 0.044715*a*a*a))*sqrt2_pi*(1 + 0.134145*a*a))",
		"dy*a*sigmoid(2*sqrt2_pi*(a + 0.044715*a*a*a))"},
	"reglu": {"where(a > 0, a, 0)*b", "dy*b*where(a > 0, 1, 0)", "dy*where(a > 0, a, 0)"},
}

func gatedTest[T float32 | float64](t *testing.T) {
	var g Gated
	require.NoError(t, Load[T](dataDir, "gated", &g))
	api := shapedAPI[T]()
	for _, sh := range g.Shapes {
		x, dy := dec[T](t, sh.X), dec[T](t, sh.DY)
		cols := sh.Cols
		rows := len(x) / (2 * cols)
		for name, fs := range gatedFormulas {
			tf := sh.Funcs[name]
			ty, tdx := dec[T](t, tf.Y), dec[T](t, tf.DX)
			what := fmt.Sprintf("%s %s cols=%d", TypeName[T](), name, cols)
			t.Run(fmt.Sprintf("%s/cols=%d", name, cols), func(t *testing.T) {
				var refs [3]*reference.Func
				for i, f := range fs {
					refs[i] = reference.MustCompile(f, []string{"a", "b", "dy"}, nil)
				}
				y := make([]T, len(x)/2)
				api.gated[name](y, x, cols)
				dx := make([]T, len(x))
				api.gatedB[name](dx, dy, x, cols)
				var worst [3]float64
				var torchW [3]float64
				for r := 0; r < rows; r++ {
					for j := 0; j < cols; j++ {
						ia, ib, io := r*2*cols+j, r*2*cols+cols+j, r*cols+j
						a, b, d := x[ia], x[ib], dy[io]
						got := [3]T{y[io], dx[ia], dx[ib]}
						torch := [3]T{ty[io], tdx[ia], tdx[ib]}
						idx := [3]int{io, ia, ib}
						// Zeros, NaN and the far tails (|a| >= 1e30): where
						// the answer is a zero, a NaN or an infinity it
						// must be PyTorch's, up to the spec's deviations;
						// a finite answer is judged against the exact one.
						if a != a || b != b || a == 0 || b == 0 || math.Abs(float64(a)) >= 1e30 {
							for k := range got {
								gatedSpecial(t, what+[3]string{" y", " da", " db"}[k], idx[k], got[k], torch[k], a, b, exactGated[T](refs[k], a, b, d))
							}
							continue
						}
						for k := range got {
							want := exactGated[T](refs[k], a, b, d)
							worst[k] = math.Max(worst[k], judge(t, what+[3]string{" y", " da", " db"}[k], idx[k], got[k], want))
							torchW[k] = math.Max(torchW[k], testutil.ULP(torch[k], want))
						}
					}
				}
				t.Logf("%s: max ULP y %v (PyTorch %v), da %v (PyTorch %v), db %v (PyTorch %v)", what, worst[0], torchW[0], worst[1], torchW[1], worst[2], torchW[2])
			})
		}
	}
}

func exactGated[T float32 | float64](f *reference.Func, a, b, dy T) T {
	if testutil.Is32[T]() {
		return T(f.Float32(float64(a), float64(b), float64(dy)))
	}
	return T(f.Float64(float64(a), float64(b), float64(dy)))
}
