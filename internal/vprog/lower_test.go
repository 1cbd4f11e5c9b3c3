package vprog

import (
	"go/parser"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/testutil"
)

func formula(t *testing.T, src string) spec.Formula {
	t.Helper()
	e, err := parser.ParseExpr(src)
	require.NoError(t, err)
	return spec.Formula{Src: src, Expr: e, Pos: spec.Pos{File: "test.yaml", Line: 1, Col: 1}}
}

func activation(t *testing.T, name, fwd, der string, params ...spec.Param) *spec.Activation {
	return &spec.Activation{Name: name, Params: params, Forward: formula(t, fwd), Derivative: formula(t, der)}
}

func TestKernelName(t *testing.T) {
	assert.Equal(t, "leakyReluBackward", KernelName("leaky_relu", Backward))
	assert.Equal(t, "sigmoid", KernelName("sigmoid", Forward))
	assert.Equal(t, "geluTanhBackwardFromOutput", KernelName("gelu_tanh", BackwardFromOutput))
}

func TestLowerChoosesComputeType(t *testing.T) {
	slope := spec.Param{Name: "negative_slope", Default: 0.01}
	cases := []struct {
		a    *spec.Activation
		d    Direction
		want Type
	}{
		{activation(t, "relu", "max(x, 0)", "where(x > 0, 1, 0)"), Forward, F32},
		{activation(t, "relu", "max(x, 0)", "where(x > 0, 1, 0)"), Backward, F32},
		{activation(t, "leaky_relu", "where(x > 0, x, x*negative_slope)", "where(x > 0, 1, negative_slope)", slope), Forward, F32},
		// x+3 is rounded and then multiplied: float32 lanes would round twice.
		{activation(t, "hardswish", "x*min(max(x+3, 0), 6)/6", "1"), Forward, F64},
		// 0.1 is not a float32: the constant itself is a rounding.
		{activation(t, "scale", "x*0.1", "0.1"), Forward, F64},
	}
	for _, c := range cases {
		p, err := Lower(c.a, c.d, F32)
		require.NoError(t, err)
		assert.Equal(t, c.want, p.Compute, "%s %s", c.a.Name, c.d)
		p64, err := Lower(c.a, c.d, F64)
		require.NoError(t, err)
		assert.Equal(t, F64, p64.Compute)
	}
}

// TestLowerFloat32Lanes checks the spec's float32_lanes: the float32
// kernels of a listed float32 formula compute in float32 lanes although they
// round more than once, the others keep the usual choice, and a primitive in
// such a formula is refused at its position.
func TestLowerFloat32Lanes(t *testing.T) {
	a := activation(t, "hardsigmoid", "min(max((x + 3)/6, 0), 1)", "where(x > -3 && x < 3, 1.0/6, 0)")
	f32 := formula(t, "min(max((x + 3)*(1.0/6), 0), 1)")
	f32.Float32Lanes = true
	a.Float32.Forward = &f32
	p, err := Lower(a, Forward, F32)
	require.NoError(t, err)
	assert.Equal(t, F32, p.Compute, "a float32_lanes formula computes in float32 lanes")
	for _, x := range []float32{-3, -2.9999998, 0.1, 2.9999998} {
		want := min(max((x+3)*float32(1.0/6), 0), 1)
		assert.Equal(t, float64(want), p.Eval([]float64{float64(x)}, nil), "x=%v: float32 arithmetic", x)
	}
	p, err = Lower(a, Forward, F64)
	require.NoError(t, err)
	assert.Equal(t, F64, p.Compute, "float64 kernels keep the entry's formula")

	e := formula(t, "x*exp(x)")
	e.Float32Lanes = true
	a.Float32.Forward = &e
	_, err = Lower(a, Forward, F32)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "test.yaml:1:3: exp runs in float64 lanes only")
	assert.Contains(t, err.Error(), "where and expm1", "the message names the primitives float32 lanes have")

	// expm1 runs in float32 lanes, on an argument known to be ≤ 0 only.
	for src, want := range map[string]string{
		"x*expm1(x)":         "test.yaml:1:3: expm1 in float32 lanes: the argument must be known to be ≤ 0",
		"x*expm1(min(x, 0))": "",
	} {
		e := formula(t, src)
		e.Float32Lanes = true
		a.Float32.Forward = &e
		p, err := Lower(a, Forward, F32)
		if want != "" {
			require.Error(t, err, src)
			assert.Contains(t, err.Error(), want, src)
			continue
		}
		require.NoError(t, err, src)
		assert.Equal(t, F32, p.Compute, src)
	}
}

// TestLowerFloat32LanesConstantProduct: in float32 lanes a product with a
// constant float32 does not represent (a named constant, a number) keeps
// the constant as hi + lo and rounds once, where the constant rounded to
// float32 puts some products past half an ULP (above 2^-100, where lo·x is
// normal); zeros keep the product's sign; a parameter's product stays one
// multiplication.
func TestLowerFloat32LanesConstantProduct(t *testing.T) {
	const scale = 1.0507009873554804934193349852946 // SELU's, 0.56·2^-24 off in float32
	for _, src := range []string{"scale*x", "x*scale", "x*1.0507009873554804934193349852946", "-scale*x"} {
		a := activation(t, "c", "x", "1", spec.Param{Name: "alpha", Default: 1})
		a.Constants = []spec.Constant{{Name: "scale", Value: "1.0507009873554804934193349852946"}}
		f := formula(t, src)
		f.Float32Lanes = true
		a.Float32.Forward = &f
		p, err := Lower(a, Forward, F32)
		require.NoError(t, err, src)
		c := scale
		if src[0] == '-' {
			c = -scale
		}
		worst, plainOver := 0.0, 0
		r := testutil.NewRand(21)
		for range 100000 {
			x := float64(math.Float32frombits(0x0d800000 + uint32(r.Int64N(0x71000000))))
			got := p.Eval([]float64{x}, nil)
			worst = max(worst, ulp32Dist(got, c*x))
			if ulp32Dist(float64(float32(c)*float32(x)), c*x) > 0.5+0x1p-20 {
				plainOver++
			}
		}
		assert.LessOrEqual(t, worst, 0.5+0x1p-20, "%s: rounded once", src)
		assert.Positive(t, plainOver, "%s: the float32 constant alone is past half an ULP somewhere", src)
		for _, z := range []float64{0, math.Copysign(0, -1)} {
			want := math.Copysign(0, z*c)
			assert.Equal(t, math.Float64bits(want), math.Float64bits(p.Eval([]float64{z}, nil)), "%s at %g", src, z)
		}
	}
	a := activation(t, "c", "x", "1", spec.Param{Name: "alpha", Default: 1})
	f := formula(t, "alpha*x")
	f.Float32Lanes = true
	a.Float32.Forward = &f
	p, err := Lower(a, Forward, F32)
	require.NoError(t, err)
	assert.Zero(t, liveOps(p, OpFMA), "a parameter's product is one multiplication")
}

// ulp32Dist is |got − want| in float32 ulps at want (normal want).
func ulp32Dist(got, want float64) float64 {
	_, e := math.Frexp(want) // |want| in [2^(e-1), 2^e)
	return math.Abs(got-want) / math.Ldexp(1, e-24)
}

func TestLowerEvaluates(t *testing.T) {
	hs := activation(t, "hardswish", "x*min(max(x+3, 0), 6)/6", "where(x < -3, 0, where(x <= 3, (2*x+3)/6, 1))")
	fwd, err := Lower(hs, Forward, F64)
	require.NoError(t, err)
	bwd, err := Lower(hs, Backward, F64)
	require.NoError(t, err)
	for _, x := range []float64{-5, -3, -1, 0, 2, 3, 7} {
		want := x * math.Min(math.Max(x+3, 0), 6) / 6
		assert.Equal(t, want, fwd.Eval([]float64{x}, nil), "x=%v", x)
	}
	assert.Equal(t, 1.5*2, bwd.Eval([]float64{3, 2}, nil), "kink at 3 takes (2x+3)/6")
	assert.Equal(t, 0.0, bwd.Eval([]float64{-4, 2}, nil))

	// NaN in gives the same NaN out, forward and backward; NaN dy propagates.
	payload := math.Float64frombits(0x7ff8000000000abc)
	assert.Equal(t, math.Float64bits(payload), math.Float64bits(fwd.Eval([]float64{payload}, nil)))
	assert.True(t, math.IsNaN(bwd.Eval([]float64{payload, 1}, nil)))
	assert.True(t, math.IsNaN(bwd.Eval([]float64{-4, math.NaN()}, nil)))
}

func TestLowerMinMaxPropagateNaN(t *testing.T) {
	a := activation(t, "clip", "min(max(x, -1), x*x)", "1")
	p, err := Lower(a, Forward, F64)
	require.NoError(t, err)
	assert.True(t, math.IsNaN(p.Eval([]float64{math.NaN()}, nil)))
	assert.Equal(t, -1.0, p.Eval([]float64{-5}, nil))
	assert.Equal(t, 0.25, p.Eval([]float64{0.5}, nil))
}

func TestLowerReportsPosition(t *testing.T) {
	a := activation(t, "bad", "x + foo", "1")
	_, err := Lower(a, Forward, F64)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "test.yaml:1:5: unknown name foo")
}

// TestLowerTrigOfProduct checks that sin and cos of a product take the
// double-double path: for w0 = 30 and x from 1e129 to 1e306, |w0·x - fl(w0·x)|
// is large enough that sin(fl(w0·x)) is off by many ULP near the zeros
// (the test makes sure such inputs are in the set), while the lowering must
// stay within 1 ULP of the exact sin(w0·x). The classic hard case of the
// reduction (6381956970095103·2^797, 2^-60.9 from a multiple of π/2) goes
// through the same path with w0 = 1, where the low part is zero; with
// w0 = 30, 30·classic is 2^-56 from a multiple of π/2, reached only after
// the reductions of the two parts cancel each other down to it.
func TestLowerTrigOfProduct(t *testing.T) {
	w0 := spec.Param{Name: "w0", Default: 1}
	const classic = 0x1.6ac5b262ca1ffp+849
	r := testutil.NewRand(97)
	var xs []float64
	for e := 129; e <= 306; e++ {
		for range 12 {
			x := (1 + 9*r.Float64()) * math.Pow(10, float64(e))
			// Also the double nearest to a multiple of π/60 nearby, where
			// sin(30x) is small and the rounding of the product shows most.
			k := math.Round(x / (math.Pi / 60))
			xs = append(xs, x, -x, k*(math.Pi/60))
		}
	}
	// The doubles closest to multiples of π/2 in every binade from 2^44 on:
	// 30 times them is within 30 times that distance of a multiple of π/2,
	// and the two parts of the product cancel down to it in the reduction.
	hard, _ := trigHugeHard()
	xs = append(xs, hard...)
	xs = append(xs, classic, -classic, math.Nextafter(classic, 0))
	for _, name := range []string{"sin", "cos"} {
		// Parentheses around the product are allowed.
		a := activation(t, name, name+"((w0*x))", "1", w0)
		p, err := Lower(a, Forward, F64)
		require.NoError(t, err)
		ref, err := reference.CompileString(name+"(w0*x)", []string{"x", "w0"}, nil)
		require.NoError(t, err)
		for _, w := range []float64{30, 1} {
			worst, frac, naiveBad := 0.0, 0.0, 0
			for _, x := range xs {
				if math.IsInf(w*x, 0) {
					continue // NaN by definition, see TestLowerSinOverflowBoundary
				}
				exact := ref.BigNum(reference.DefaultPrec, reference.NumFloat64(x), reference.NumFloat64(w))
				want := exact.Float64()
				got := p.Eval([]float64{x}, []float64{w})
				u := testutil.ULP(got, want)
				worst = max(worst, u)
				if got != 0 && exact.F.Sign() != 0 {
					frac = max(frac, expFracULP(got, exact.F, 53, -1074))
				}
				require.LessOrEqual(t, u, 1.0, "%s(%v·%v) = %v, want %v", name, w, x, got, want)
				if testutil.ULP(ref.Float64(w*x, 1), want) > 1 {
					naiveBad++
				}
			}
			t.Logf("%s(w0·x), w0=%v: %d inputs, max %v ULP (%.3f against the exact value); %d of them >1 ULP off with the product rounded first",
				name, w, len(xs), worst, frac, naiveBad)
			if w == 30 {
				require.Positive(t, naiveBad, "the inputs must include cases the rounded product gets wrong")
			}
		}
	}
}

// TestLowerTrigScaledProduct checks the backward kernel of sin(w0·x),
// dy·w0·cos(w0·x), at both of actkern check's parameter sets: cos's last
// addition must reach the scaled product (trigFinish), or cos's rounding
// and the product's add up to 2 ULP, as the exhaustive sweep found at the
// two inputs listed first.
func TestLowerTrigScaledProduct(t *testing.T) {
	w0 := spec.Param{Name: "w0", Default: 1}
	a := activation(t, "sin", "sin(w0*x)", "w0*cos(w0*x)", w0)
	p, err := Lower(a, Backward, F64)
	require.NoError(t, err)
	ref, err := reference.CompileString("dy*(w0*cos(w0*x))", []string{"x", "dy", "w0"}, nil)
	require.NoError(t, err)
	cos := expProgram(t, "cos", F64, F64)
	type input struct{ x, dy, w float64 }
	ins := []input{{1.70717475447968e+97, 3.5, 1}, {5.350076569048982e+141, 1, 30}}
	r := testutil.NewRand(101)
	for range expNum(4000) {
		x := testutil.RandomBits[float64](r)
		if math.IsNaN(x) || math.IsInf(30*x, 0) {
			continue
		}
		for _, dy := range []float64{1, -1, 0.75, 3.5, 1e-3} {
			ins = append(ins, input{x, dy, 1}, input{x, dy, 30})
		}
	}
	twiceBad := 0
	for _, in := range ins {
		want := ref.Float64(in.x, in.dy, in.w)
		got := p.Eval([]float64{in.x, in.dy}, []float64{in.w})
		require.LessOrEqual(t, testutil.ULP(got, want), 1.0, "x=%v dy=%v w0=%v: got %v want %v", in.x, in.dy, in.w, got, want)
		if in.w == 1 && testutil.ULP(in.dy*expRun(cos, in.x), want) > 1 {
			twiceBad++
		}
	}
	t.Logf("%d inputs within 1 ULP; with cos rounded before the product, %d of the w0 = 1 ones are not", len(ins), twiceBad)
	require.Positive(t, twiceBad, "the inputs must include cases that rounding twice gets wrong")
}

// TestLowerSinOverflowBoundary checks the spec's definition of sin(w0*x)
// where w0*x overflows: NaN exactly where the float64 product rounds to
// ±Inf, i.e. from 2^1024 - 2^970 on, both in the kernel (rounded product
// halved, compared with 2^1023 - 2^969 rounded to 2^1023) and in the
// reference (exact product, exact boundary).
func TestLowerSinOverflowBoundary(t *testing.T) {
	const half = "89884656743115790396864485702651707539967066355018913468086889490222484146382375473324508988793603548165143208346443955473277773925970201315328744335752910340954451000354191838136927422908855765882237865135034927785683479811421457409930417468237646359537084222182755352171355779849754046521440088952087248896" // 2^1023 - 2^969, as in the spec
	fwd := "where(abs(w0*x)*0.5 >= half_ovf, nan, sin(w0*x))"
	a := activation(t, "sin", fwd, "1", spec.Param{Name: "w0", Default: 1})
	// The kernel's constant: the tie 2^1023 - 2^969 rounds to even, 2^1023,
	// which a finite fl(w0*x)*0.5 ≤ 2^1023 - 2^970 never reaches.
	hv, err := strconv.ParseFloat(half, 64)
	require.NoError(t, err)
	require.Equal(t, 0x1p1023, hv)
	a.Constants = []spec.Constant{{Name: "half_ovf", Value: half}}
	p, err := Lower(a, Forward, F64)
	require.NoError(t, err)
	ref, err := reference.CompileString(fwd, []string{"x", "w0"}, map[string]string{"half_ovf": half})
	require.NoError(t, err)
	cases := 0
	for _, w := range []float64{30, 3, 1.5, 0.75, -30, 1 + 0x1p-52} {
		// x around MaxFloat64/|w0|: products on both sides of the rounding
		// boundary (the product exactly on it is checked below).
		for _, c := range []float64{math.MaxFloat64 / math.Abs(w), math.Nextafter(math.MaxFloat64, 0) / math.Abs(w)} {
			for _, x := range append(testutil.Neighbours(c, 3), c) {
				if math.IsInf(x, 0) {
					continue
				}
				for _, s := range []float64{x, -x} {
					got := p.Eval([]float64{s}, []float64{w})
					want := ref.Float64(s, w)
					overflow := math.IsInf(w*s, 0)
					require.Equal(t, overflow, math.IsNaN(want), "reference at w0=%v x=%v", w, s)
					require.True(t, testutil.SameBits(got, want) || testutil.ULP(got, want) <= 1,
						"w0=%v x=%v: got %v want %v", w, s, got, want)
					cases++
				}
			}
		}
	}
	// A product exactly on the boundary: 2^54 - 1 = 3·6004799503160661, so
	// x = 6004799503160661·2^970 and w0 = 3 give exactly 2^1024 - 2^970,
	// which rounds (ties to even) to +Inf.
	x := math.Ldexp(6004799503160661, 970)
	require.True(t, math.IsInf(3*x, 1))
	require.True(t, math.IsNaN(ref.Float64(x, 3)))
	require.True(t, math.IsNaN(p.Eval([]float64{x}, []float64{3})))
	below := math.Nextafter(x, 0) // 3·below is 3·2^970 short: rounds to MaxFloat64
	require.False(t, math.IsInf(3*below, 0))
	require.False(t, math.IsNaN(ref.Float64(below, 3)))
	require.LessOrEqual(t, testutil.ULP(p.Eval([]float64{below}, []float64{3}), ref.Float64(below, 3)), 1.0)
	t.Logf("%d inputs around the overflow boundary", cases)
}

// TestLowerLog1pOfExpNeg checks the rule for log1p(exp(-abs(a))) in
// float32 kernels: it is taken (no log reduction, whose GetExp the general
// log1p needs; float64 kernels keep the general one), and its unrounded
// result is within the float32 target's 2^-33 relative error over 5·10^4
// float32 inputs, with the stored result within 1 ULP everywhere.
func TestLowerLog1pOfExpNeg(t *testing.T) {
	ref, err := reference.CompileString("log1p(exp(-abs(x)))", []string{"x"}, nil)
	require.NoError(t, err)
	for _, src := range []string{"log1p(exp(-abs(x)))", "log1p((exp(-(abs(x)))))"} {
		p, err := Lower(activation(t, "softplus0", src, "1"), Forward, F32)
		require.NoError(t, err)
		assert.Zero(t, liveOps(p, OpGetExp), "%s: the float32 kernel takes the general log1p", src)
		p64, err := Lower(activation(t, "softplus0", src, "1"), Forward, F64)
		require.NoError(t, err)
		assert.Positive(t, liveOps(p64, OpGetExp), "%s: the float64 kernel must keep the general log1p", src)

		wide := *p // the same program, its result not rounded to float32
		wide.Mem = F64
		r := testutil.NewRand(11)
		xs := []float64{0, math.Copysign(0, -1), 0x1p-149, -0x1p-149, 1, -1, 103.9, -103.9, 104, 703, 704, 1e30, math.Inf(1), math.Inf(-1)}
		for range expNum(50000) {
			xs = append(xs, float64(float32(testutil.LogUniform[float64](r, 1e-30, 200)*float64(1-2*(r.IntN(2))))))
		}
		worst, at := 0.0, 0.0
		for _, x := range xs {
			in := []float64{x}
			want := ref.Float32(x)
			got := float32(p.Eval(in, nil))
			require.LessOrEqual(t, testutil.ULP(got, want), 1.0, "%s at x=%v: got %v, want %v", src, x, got, want)
			if math.Abs(x) <= 100 {
				exact := ref.Float64(x)
				if rel := math.Abs(wide.Eval(in, nil)-exact) / exact; rel > worst {
					worst, at = rel, x
				}
			}
		}
		t.Logf("%s: max relative error 2^%.2f at x=%v", src, math.Log2(worst), at)
		assert.Less(t, worst, 0x1p-33, "%s: relative error at x=%v", src, at)
		assert.True(t, math.IsNaN(p.Eval([]float64{math.NaN()}, nil)))
	}
}

// TestLowerAtDefaults: the program at the defaults reads no parameter,
// keeps them in its signature, is named for what it is, and computes the
// general program's function at the defaults; a parameter folded into a
// float32-lanes product (elu's alpha = 1) makes it shorter.
func TestLowerAtDefaults(t *testing.T) {
	a := activation(t, "elu", "where(x > 0, x, alpha*expm1(x))", "where(x > 0, 1, alpha*exp(x))",
		spec.Param{Name: "alpha", Default: 1})
	f32 := formula(t, "where(x > 0, x, alpha*expm1(min(x, 0)))")
	f32.Float32Lanes = true
	a.Float32.Forward = &f32
	for _, mem := range []Type{F32, F64} {
		for _, d := range []Direction{Forward, Backward} {
			p, err := Lower(a, d, mem)
			require.NoError(t, err)
			pd, err := LowerAtDefaults(a, d, mem)
			require.NoError(t, err)
			assert.Equal(t, KernelName("elu", d)+"Defaults", pd.Name)
			assert.Equal(t, p.Params, pd.Params, "the same signature")
			assert.Equal(t, p.Compute, pd.Compute)
			for _, in := range pd.Instrs {
				assert.NotEqual(t, OpParam, in.Op, "%s reads a parameter", pd.Name)
			}
			for _, x := range []float64{-30, -1, -1e-3, -1e-30, 0, 2, math.Inf(-1)} {
				ins := []float64{x}
				if d != Forward {
					ins = append(ins, 0.75)
				}
				want, got := p.Eval(ins, []float64{1}), pd.Eval(ins, []float64{1})
				// Within 1 ULP of each other: both are within the bar,
				// but the last bit may differ.
				if mem == F32 {
					assert.LessOrEqual(t, testutil.ULP(float32(got), float32(want)), 1.0, "%s at %v", pd.Name, x)
				} else {
					assert.LessOrEqual(t, testutil.ULP(got, want), 1.0, "%s at %v", pd.Name, x)
				}
			}
		}
	}
	p, err := Lower(a, Forward, F32)
	require.NoError(t, err)
	pd, err := LowerAtDefaults(a, Forward, F32)
	require.NoError(t, err)
	assert.Less(t, len(pd.compact().Instrs)+5, len(p.compact().Instrs), "alpha = 1 drops the hi + lo product")
}
