package kerneltest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
)

// Rows describes a row-wise entry (the softmax family) as the spec does.
type Rows struct {
	Name           string
	Consts         map[string]string
	Reduce         []Reduction
	Forward        string // over x and Reduce's names
	RowOutput      bool   // one output per row
	BackwardReduce []Reduction
	Backward       string // over y, dy (per row with RowOutput, and x) and BackwardReduce's names
	SpecialRows    []SpecialRow
}

// Reduction is one per-row max or sum.
type Reduction struct {
	Name, Op, Of, Lo string
}

// SpecialRow is a row of special values and its exact output.
type SpecialRow struct {
	X, Forward []string
}

// RowsMaxULP is the bar of the row-wise kernels' outputs (issue 4: 3 ULP up
// to 10^4 columns), in ULP of the larger of the exact value and the
// magnitude of the formula's terms (see magnitude): the same thing except
// where the formula subtracts nearly equal terms (dy - sum(dy*y) in a
// backward, m + log(s) near 0 in logsumexp), where no evaluation in the
// element type can promise ULPs of the cancelled result.
const RowsMaxULP = 3

// refPrec is the working precision of each reference value; sumPrec that
// of the row sums, which are exact: 1 + 1e-300 must not round to 1.
const (
	refPrec = 256
	sumPrec = 2400
)

// RowsKernels are a rows entry's public functions.
type RowsKernels[T float32 | float64] struct {
	Forward func(dst, x []T, cols int)
	// Backward is (dx, dy, y, cols) for element outputs; BackwardRow is
	// (dx, dy, x, y, cols) for row outputs.
	Backward    func(dx, dy, y []T, cols int)
	BackwardRow func(dx, dy, x, y []T, cols int)
}

// rowRef evaluates a rows entry exactly.
type rowRef struct {
	r            Rows
	of, bof      []*reference.Func
	fwd, bwd     *reference.Func
	fwdVars      []string
	bwdVars      []string
	magnitudeFwd *reference.Func
	magnitudeBwd *reference.Func
}

// compileRows compiles a rows entry's formulas, failing t (a test, a fuzz
// target or panicT) on an error.
func compileRows(t require.TestingT, r Rows) *rowRef {
	ref := &rowRef{r: r}
	vars := []string{"x"}
	for _, red := range r.Reduce {
		f, err := reference.CompileString(red.Of, vars, r.Consts)
		require.NoError(t, err, "%s: reduce %s", r.Name, red.Name)
		ref.of = append(ref.of, f)
		vars = append(vars, red.Name)
		if red.Lo != "" {
			vars = append(vars, red.Lo)
		}
	}
	if r.RowOutput {
		vars = vars[1:] // the row value is over the reductions only
	}
	ref.fwdVars = vars
	var err error
	ref.fwd, err = reference.CompileString(r.Forward, vars, r.Consts)
	require.NoError(t, err, "%s: forward", r.Name)
	magF, err := magnitude(r.Forward)
	require.NoError(t, err)
	ref.magnitudeFwd, err = reference.CompileString(magF, vars, r.Consts)
	require.NoError(t, err, "%s: magnitude of forward %s", r.Name, magF)

	bvars := []string{"y", "dy"}
	if r.RowOutput {
		bvars = []string{"x", "y", "dy"}
	}
	for _, red := range r.BackwardReduce {
		f, err := reference.CompileString(red.Of, bvars, r.Consts)
		require.NoError(t, err, "%s: backward_reduce %s", r.Name, red.Name)
		ref.bof = append(ref.bof, f)
		bvars = append(bvars, red.Name)
		if red.Lo != "" {
			bvars = append(bvars, red.Lo)
		}
	}
	ref.bwdVars = bvars
	ref.bwd, err = reference.CompileString(r.Backward, bvars, r.Consts)
	require.NoError(t, err, "%s: backward", r.Name)
	mag, err := magnitude(r.Backward)
	require.NoError(t, err)
	ref.magnitudeBwd, err = reference.CompileString(mag, bvars, r.Consts)
	require.NoError(t, err, "%s: magnitude of backward %s", r.Name, mag)
	return ref
}

// mustCompile compiles a reference formula or fails t.
func mustCompile(t require.TestingT, src string, vars []string, consts map[string]string) *reference.Func {
	f, err := reference.CompileString(src, vars, consts)
	require.NoError(t, err, src)
	return f
}

// magnitude rewrites a formula into the sum of its terms' magnitudes:
// a ± b → |a| + |b|, a·b → |a|·|b|, a/b → |a|/|b|, f(u) → |f(u)|. An
// error of k ULP of that value is what a formula that subtracts nearly
// equal terms (dy - Σ dy·y) can promise; measuring it in ULP of the
// (possibly cancelled) result would measure the input, not the kernel.
func magnitude(src string) (string, error) {
	e, err := parser.ParseExpr(src)
	if err != nil {
		return "", err
	}
	var m func(e ast.Expr) string
	m = func(e ast.Expr) string {
		switch e := e.(type) {
		case *ast.ParenExpr:
			return m(e.X)
		case *ast.UnaryExpr:
			return m(e.X)
		case *ast.CallExpr:
			// where(c, a, b) is a or b: the magnitude of the one taken.
			if id, ok := e.Fun.(*ast.Ident); ok && id.Name == "where" && len(e.Args) == 3 {
				return "where(" + types.ExprString(e.Args[0]) + ", " + m(e.Args[1]) + ", " + m(e.Args[2]) + ")"
			}
		case *ast.BinaryExpr:
			switch e.Op {
			case token.ADD, token.SUB:
				return "(" + m(e.X) + " + " + m(e.Y) + ")"
			case token.MUL:
				return "(" + m(e.X) + " * " + m(e.Y) + ")"
			case token.QUO:
				return "(" + m(e.X) + " / " + m(e.Y) + ")"
			}
		}
		return "abs(" + types.ExprString(e) + ")"
	}
	return m(e), nil
}

// reduce computes a reduction exactly: max or sum over the row of of(x_i, vals...).
func reduceExact(f *reference.Func, op string, row [][]float64, vals []reference.Num) reference.Num {
	var acc reference.Num
	if op == "max" {
		acc = reference.NumFloat64(math.Inf(-1))
	} else {
		acc = reference.Num{F: new(big.Float).SetPrec(sumPrec)}
	}
	for i := range row[0] {
		args := make([]reference.Num, 0, len(row)+len(vals))
		for _, col := range row {
			args = append(args, reference.NumFloat64(col[i]))
		}
		args = append(args, vals...)
		v := f.BigNum(refPrec, args...)
		switch {
		case acc.NaN:
		case v.NaN:
			acc = v
		case op == "max":
			if v.F.Cmp(acc.F) > 0 {
				acc = v
			}
		default:
			if acc.F.IsInf() && v.F.IsInf() && acc.F.Sign() != v.F.Sign() {
				acc = reference.Num{NaN: true}
				continue
			}
			acc = reference.Num{F: new(big.Float).SetPrec(sumPrec).Add(acc.F, v.F)}
		}
	}
	return acc
}

// rowVals are a row's reductions exactly, each followed by 0 for its lo
// name (the exact sum has no low part).
func rowVals(fs []*reference.Func, reds []Reduction, row [][]float64) []reference.Num {
	var vals []reference.Num
	for i, red := range reds {
		vals = append(vals, reduceExact(fs[i], red.Op, row, vals))
		if red.Lo != "" {
			vals = append(vals, reference.NumFloat64(0))
		}
	}
	return vals
}

func roundTo[T float32 | float64](n reference.Num) T {
	if n.NaN {
		return T(math.NaN())
	}
	if testutil.Is32[T]() {
		v, _ := n.F.Float32()
		return T(v)
	}
	v, _ := n.F.Float64()
	return T(v)
}

func nums[T float32 | float64](vs ...T) []reference.Num {
	out := make([]reference.Num, len(vs))
	for i, v := range vs {
		out[i] = reference.NumFloat64(float64(v))
	}
	return out
}

func toF64[T float32 | float64](xs []T) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = float64(v)
	}
	return out
}

// forwardExact is the exact forward of one row, rounded to T, and for each
// output the scale its error is measured in: the larger of the value and
// the magnitude of the formula's terms (they differ only where the
// formula's own terms cancel, as m + log(s) near 0 in logsumexp).
func forwardExact[T float32 | float64](ref *rowRef, x []T) (want, scale []T) {
	vals := rowVals(ref.of, ref.r.Reduce, [][]float64{toF64(x)})
	if ref.r.RowOutput {
		w := roundTo[T](ref.fwd.BigNum(refPrec, vals...))
		mag := roundTo[T](ref.magnitudeFwd.BigNum(refPrec, vals...))
		return []T{w}, []T{max(T(math.Abs(float64(w))), mag)}
	}
	want, scale = make([]T, len(x)), make([]T, len(x))
	for i := range x {
		args := append(nums(x[i]), vals...)
		want[i] = roundTo[T](ref.fwd.BigNum(refPrec, args...))
		mag := roundTo[T](ref.magnitudeFwd.BigNum(refPrec, args...))
		scale[i] = max(T(math.Abs(float64(want[i]))), mag)
	}
	return want, scale
}

// rowError is got's error in ULP of scale (in ULP of want itself where
// either is infinite); NaN matches NaN.
func rowError[T float32 | float64](got, want, scale T) float64 {
	switch {
	case got != got || want != want:
		if got != got && want != want {
			return 0
		}
		return math.Inf(1)
	case got == want:
		return 0
	case math.IsInf(float64(got), 0) || math.IsInf(float64(want), 0) || scale != scale:
		return testutil.ULP(got, want)
	}
	return math.Abs(float64(got)-float64(want)) / ulpOf(scale)
}

// rowInputs are deterministic rows: moderate values with a spread that
// keeps several elements significant, plus rows holding huge and tiny
// magnitudes.
func rowInputs[T float32 | float64](rng *rand.Rand, cols int, kind int) []T {
	x := make([]T, cols)
	for i := range x {
		switch kind {
		case 0:
			x[i] = T(rng.NormFloat64() * 3)
		case 1:
			x[i] = T(rng.NormFloat64() * 300)
		default:
			x[i] = T(math.Copysign(math.Pow(10, rng.Float64()*60-30), rng.Float64()-0.5))
		}
	}
	return x
}

// RunRows checks a rows entry's kernels: special rows bit for bit, random
// rows of many widths against the exact reference (forward ≤ RowsMaxULP,
// backward ≤ RowsMaxULP of its terms' magnitude), NaN confined to its row,
// in-place use and shape panics.
func RunRows[T float32 | float64](t *testing.T, r Rows, k RowsKernels[T]) {
	ref := compileRows(t, r)
	outLen := func(n, cols int) int {
		if r.RowOutput {
			return n / cols
		}
		return n
	}
	t.Run("special", func(t *testing.T) {
		for _, sr := range r.SpecialRows {
			x := make([]T, len(sr.X))
			for i, s := range sr.X {
				x[i] = T(reference.MustCompile(s, nil, r.Consts).Float64())
			}
			got := make([]T, outLen(len(x), len(x)))
			k.Forward(got, x, len(x))
			for i, s := range sr.Forward {
				want := T(reference.MustCompile(s, nil, r.Consts).Float64())
				assert.True(t, testutil.SameBits(got[i], want), "%s(%v)[%d] = %v, want %v", r.Name, x, i, got[i], want)
			}
		}
	})
	t.Run("random", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, uint64(len(r.Name))))
		widths := []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000}
		if !testing.Short() {
			widths = append(widths, 10000)
		}
		worstF, worstB := 0.0, 0.0
		for _, cols := range widths {
			for kind := range 3 {
				rows := 3
				if cols >= 1000 {
					rows = 1
				}
				x := make([]T, 0, rows*cols)
				for range rows {
					x = append(x, rowInputs[T](rng, cols, kind)...)
				}
				y := make([]T, outLen(len(x), cols))
				k.Forward(y, x, cols)
				yo := outLen(cols, cols)
				for row := range rows {
					want, scale := forwardExact(ref, x[row*cols:(row+1)*cols])
					for i, w := range want {
						got := y[row*yo+i]
						u := rowError(got, w, scale[i])
						worstF = max(worstF, u)
						if u > RowsMaxULP {
							t.Errorf("%s forward cols=%d row %d [%d]: got %v, want %v (%v ULP)", r.Name, cols, row, i, got, w, u)
							return
						}
					}
				}
				worstB = max(worstB, checkBackward(t, ref, k, x, y, cols, rng))
			}
		}
		t.Logf("%s: max error forward %.0f ULP, backward %.2f ULP of the terms' magnitude", r.Name, worstF, worstB)
	})
	t.Run("nan_stays_in_its_row", func(t *testing.T) {
		cols := 9
		rng := rand.New(rand.NewPCG(2, 3))
		x := rowInputs[T](rng, 3*cols, 0)
		clean := make([]T, outLen(len(x), cols))
		k.Forward(clean, x, cols)
		for pos := range cols {
			xn := append([]T(nil), x...)
			xn[cols+pos] = T(math.NaN())
			got := make([]T, len(clean))
			k.Forward(got, xn, cols)
			yo := outLen(cols, cols)
			for i := range got {
				inRow := i/yo == 1
				if inRow {
					assert.True(t, got[i] != got[i], "NaN at %d: output %d = %v, want NaN", pos, i, got[i])
				} else {
					assert.Equal(t, clean[i], got[i], "NaN at %d leaked to output %d", pos, i)
				}
			}
		}
	})
	t.Run("in_place", func(t *testing.T) {
		if r.RowOutput {
			t.Skip("one output per row: dst cannot be x")
		}
		cols := 17
		x := rowInputs[T](rand.New(rand.NewPCG(4, 5)), 2*cols, 0)
		want := make([]T, len(x))
		k.Forward(want, x, cols)
		k.Forward(x, x, cols)
		assert.Equal(t, want, x)
	})
	t.Run("shapes", func(t *testing.T) {
		k.Forward(nil, nil, 3) // no rows: nothing to do
		for _, c := range []struct{ n, dst, cols int }{{6, outLen(6, 4), 4}, {6, 6, 0}, {6, 6, -1}, {6, 5, 3}} {
			if r.RowOutput && c.dst == 6 {
				c.dst = 2
			}
			if c.cols > 0 && c.n%c.cols == 0 && c.dst == outLen(c.n, c.cols) {
				continue
			}
			msg, ok := panics(func() { k.Forward(make([]T, c.dst), make([]T, c.n), c.cols) })
			assert.True(t, ok, "len(x)=%d len(dst)=%d cols=%d: no panic", c.n, c.dst, c.cols)
			assert.Contains(t, msg, "cols")
		}
		// An output that shares memory with x without being x would read
		// values it has already overwritten.
		buf := make([]T, 9)
		out := buf[1:7]
		if r.RowOutput {
			out = buf[1:3]
		}
		msg, ok := panics(func() { k.Forward(out, buf[:6], 3) })
		assert.True(t, ok, "an output overlapping x: no panic")
		assert.Contains(t, msg, "overlaps")
	})
}

// checkBackward compares the backward kernel with the exact reference on
// one batch of rows and returns the largest error in ULP of the magnitude.
func checkBackward[T float32 | float64](t *testing.T, ref *rowRef, k RowsKernels[T], x, y []T, cols int, rng *rand.Rand) float64 {
	r := ref.r
	rows := len(x) / cols
	dyLen := len(y)
	dy := make([]T, dyLen)
	for i := range dy {
		dy[i] = T(rng.NormFloat64())
	}
	dx := make([]T, len(x))
	if r.RowOutput {
		k.BackwardRow(dx, dy, x, y, cols)
	} else {
		k.Backward(dx, dy, y, cols)
	}
	worst := 0.0
	for row := range rows {
		var cols3 [][]float64
		var scal []reference.Num
		lo, hi := row*cols, (row+1)*cols
		if r.RowOutput {
			cols3 = [][]float64{toF64(x[lo:hi])}
			scal = nums(y[row], dy[row])
		} else {
			cols3 = [][]float64{toF64(y[lo:hi]), toF64(dy[lo:hi])}
		}
		// The reductions see the per-element columns then the row scalars.
		var vals []reference.Num
		for i, red := range r.BackwardReduce {
			v := reduceExact(ref.bof[i], red.Op, cols3, append(append([]reference.Num(nil), scal...), vals...))
			vals = append(vals, v)
			if red.Lo != "" {
				vals = append(vals, reference.NumFloat64(0))
			}
		}
		for i := lo; i < hi; i++ {
			var args []reference.Num
			if r.RowOutput {
				args = append(nums(x[i]), scal...)
			} else {
				args = nums(y[i], dy[i])
			}
			args = append(args, vals...)
			want := roundTo[T](ref.bwd.BigNum(refPrec, args...))
			mag := roundTo[T](ref.magnitudeBwd.BigNum(refPrec, args...))
			got := dx[i]
			if want != want || got != got {
				if (want != want) != (got != got) {
					t.Errorf("%s backward cols=%d [%d]: got %v, want %v", r.Name, cols, i, got, want)
				}
				continue
			}
			scale := max(T(math.Abs(float64(want))), mag)
			u := math.Abs(float64(got)-float64(want)) / ulpOf(scale)
			worst = max(worst, u)
			if u > RowsMaxULP {
				t.Errorf("%s backward cols=%d [%d]: got %v, want %v (%.2f ULP of %v)", r.Name, cols, i, got, want, u, scale)
				return worst
			}
		}
	}
	return worst
}

// ulpOf is the spacing of T at v (v ≥ 0), at least the smallest subnormal.
func ulpOf[T float32 | float64](v T) float64 {
	if testutil.Is32[T]() {
		f := float32(v)
		return float64(math.Nextafter32(f, float32(math.Inf(1))) - f)
	}
	f := float64(v)
	return math.Nextafter(f, math.Inf(1)) - f
}

// MeasureRows is the largest forward error (in ULP, measured as RunRows
// does) of a rows entry over rows of cols columns, rows·cols ≥ n elements
// in all (at least one row), of moderate values (standard normal times 3).
// The exact reference sums every row in big.Float, so a row of 10^6
// columns takes seconds.
func MeasureRows[T float32 | float64](r Rows, forward func(dst, x []T, cols int), cols, n int, seed uint64) (worst float64, err error) {
	defer catch(&err)
	ref := compileRows(panicT{}, r)
	rng := rand.New(rand.NewPCG(seed, uint64(cols)))
	rows := max(1, n/cols)
	for range rows {
		x := rowInputs[T](rng, cols, 0)
		out := cols
		if r.RowOutput {
			out = 1
		}
		got := make([]T, out)
		forward(got, x, cols)
		want, scale := forwardExact(ref, x)
		for i := range got {
			worst = max(worst, rowError(got[i], want[i], scale[i]))
		}
	}
	return worst, nil
}
