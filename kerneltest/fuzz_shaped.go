package kerneltest

import (
	"math"
	"testing"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/testutil"
)

// FuzzRows checks a rows entry's forward on fuzzer-chosen rows: four
// values a, b, c, d make a row of cols elements (1 to 19, so that SIMD
// bodies and tails both run) cycling through them, compared with the exact
// reference (≤ RowsMaxULP); a NaN anywhere makes its row NaN.
func FuzzRows[T float32 | float64](f *testing.F, r Rows, k RowsKernels[T]) {
	ref := compileRows(f, r)
	for _, s := range [][4]float64{{0, 0, 0, 0}, {1, 2, 3, 4}, {1e30, -1e30, 0, 5}, {math.Inf(-1), 0, 1, 2}, {-700, 0, 700, -1},
		{math.NaN(), 1, 2, 3}, {math.Inf(1), 0, 0, 0}, {1e-40, -1e-40, 88, 89}} {
		f.Add(s[0], s[1], s[2], s[3], uint8(7))
	}
	f.Fuzz(func(t *testing.T, a, b, c, d float64, n uint8) {
		cols := 1 + int(n)%19
		vals := []T{T(a), T(b), T(c), T(d)}
		x := make([]T, cols)
		for i := range x {
			x[i] = vals[i%4]
		}
		out := cols
		if r.RowOutput {
			out = 1
		}
		got := make([]T, out)
		k.Forward(got, x, cols)
		want, scale := forwardExact(ref, x)
		hasNaN := false
		for _, v := range x {
			hasNaN = hasNaN || v != v
		}
		for i := range got {
			if hasNaN {
				if got[i] == got[i] {
					t.Fatalf("%s(%v)[%d] = %v: a row holding NaN must give NaN", r.Name, x, i, got[i])
				}
				continue
			}
			if u := rowError(got[i], want[i], scale[i]); u > RowsMaxULP {
				t.Fatalf("%s(%v)[%d] = %v, want %v (%v ULP)", r.Name, x, i, got[i], want[i], u)
			}
		}
	})
}

// FuzzGated checks a gated entry on fuzzer-chosen (a, b, dy): the row form
// over 19 copies (body and tail), forward and backward, against the exact
// reference with RunGated's bars.
func FuzzGated[T float32 | float64](f *testing.F, g Gated, k GatedKernels[T]) {
	fwd := mustCompile(f, g.Forward, []string{"a", "b"}, g.Consts)
	da := mustCompile(f, g.DA, []string{"a", "b", "dy"}, g.Consts)
	db := mustCompile(f, g.DB, []string{"a", "b", "dy"}, g.Consts)
	gate := mustCompile(f, g.Gate, []string{"x"}, g.Consts)
	for _, s := range [][3]float64{{1, 2, 1}, {-3, 0.5, -0.75}, {math.Inf(1), 2, 1}, {-40, 1e30, 1}, {0, math.NaN(), 1}, {-745, 3, 1}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, dy float64) {
		const cols = 19
		x := make([]T, 2*cols)
		for i := range cols {
			x[i], x[cols+i] = T(a), T(b)
		}
		y := make([]T, cols)
		k.Forward(y, x, cols)
		want := roundTo[T](fwd.BigNum(refPrec, nums(T(a), T(b))...))
		u, v := T(a), T(b)
		if g.GateOn == "b" {
			u, v = v, u
		}
		for i := range y {
			if y[i] != y[0] && !(y[i] != y[i] && y[0] != y[0]) {
				t.Fatalf("%s: element %d = %v differs from element 0 = %v (body and tail disagree)", g.Name, i, y[i], y[0])
			}
		}
		gu := gate.Float64(float64(u))
		infGate := math.IsInf(float64(v), 0)
		if infGate && gu == 0 {
			// The gate is 0 in float64 (the lanes of both precisions),
			// underflowed if not exactly: ±Inf·0 is NaN, as in PyTorch,
			// where the mathematical limit may be ±Inf.
			want = T(math.NaN())
		}
		// A float32 kernel's exp and erfc are 0 where they are below
		// about 2^-1014 and 2^-980 (vprog's exp32MinArg, erfc32MaxArg),
		// so a gate under 2^-970 may be 0 there: NaN is right too.
		flushed := infGate && testutil.Is32[T]() && math.Abs(gu) < 0x1p-970 && y[0] != y[0]
		if _, ok := within(y[0], want, MaxULP); !ok && !(y[0] != y[0] && want != want) && !flushed {
			t.Fatalf("%s(a=%v, b=%v) = %v, want %v", g.Name, T(a), T(b), y[0], want)
		}
		dx := make([]T, 2*cols)
		dys := make([]T, cols)
		for i := range dys {
			dys[i] = T(dy)
		}
		k.Backward(dx, dys, x, cols)
		for h, ref := range []*reference.Func{da, db} {
			got := dx[h*cols]
			for i := range cols {
				if !testutil.SameBits(dx[h*cols+i], got) {
					t.Fatalf("%s backward d%c: element %d = %v differs from element 0 = %v (body and tail disagree)", g.Name, "ab"[h], i, dx[h*cols+i], got)
				}
			}
			// NaN and ±Inf inputs are RunGated's business (which
			// derivative reads which half; ±Inf·0).
			if !finite(T(a), T(b), T(dy)) {
				continue
			}
			want := roundTo[T](ref.BigNum(refPrec, nums(T(a), T(b), T(dy))...))
			if u, ok := within(got, want, GatedBackwardMaxULP); !ok {
				t.Fatalf("%s backward d%c at a=%v b=%v dy=%v: got %v, want %v (%v ULP)", g.Name, "ab"[h], T(a), T(b), T(dy), got, want, u)
			}
		}
	})
}

func finite[T float32 | float64](vs ...T) bool {
	for _, v := range vs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// FuzzChannel checks a channel entry on fuzzer-chosen (x, weight, dy):
// 19 copies in one channel run (body and tail) and the NHWC path, forward
// against the exact reference and the weight gradient against the exact
// sum of its 19 equal terms.
func FuzzChannel[T float32 | float64](f *testing.F, c Channel, k ChannelKernels[T]) {
	vars := []string{"x"}
	for _, p := range c.Params {
		vars = append(vars, p.Name)
	}
	fwd := mustCompile(f, c.Forward, vars, c.Consts)
	for _, s := range [][3]float64{{-2, 0.25, 1}, {3, 0.25, -1}, {math.Inf(-1), 0, 1}, {0, math.NaN(), 1}, {-1e30, 1e10, 1}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, xf, wf, dyf float64) {
		const n = 19
		x, w := T(xf), T(wf)
		args := nums(x)
		for _, p := range c.Params {
			v := T(p.Default)
			if p.Name == c.ChannelParam {
				v = w
			}
			args = append(args, nums(v)...)
		}
		want := roundTo[T](fwd.BigNum(refPrec, args...))
		xs := make([]T, 2*n)
		for i := range xs {
			xs[i] = x
		}
		for _, layout := range []struct {
			weight []T
			inner  int
		}{{[]T{w, w}, n}, {[]T{w, w}, 1}} {
			y := make([]T, len(xs))
			k.Forward(y, xs, layout.weight, layout.inner)
			for i, v := range y {
				if u := testutil.ULP(v, want); u > MaxULP {
					t.Fatalf("%s(x=%v, weight=%v) inner=%d [%d] = %v, want %v (%v ULP)", c.Name, x, w, layout.inner, i, v, want, u)
				}
			}
			dx, dw := make([]T, len(xs)), make([]T, 2)
			dys := make([]T, len(xs))
			for i := range dys {
				dys[i] = T(dyf)
			}
			k.Backward(dx, dw, dys, xs, layout.weight, layout.inner)
			if dw[0] != dw[1] && !(dw[0] != dw[0] && dw[1] != dw[1]) {
				t.Fatalf("%s: the two channels' equal weight gradients differ: %v, %v", c.Name, dw[0], dw[1])
			}
		}
	})
}
