package kerneltest

import (
	"math"
	"sync"
	"testing"

	"github.com/actkern/actkern/internal/testutil"
)

// Fuzz checks the kernels at the default parameters on fuzzer-chosen
// (x, dy) pairs: each direction's result must be within MaxULP of the
// reference, and NaN in must give NaN out. The seed corpus is the special
// values of T, the spec's special-value and kink abscissae and the
// thresholds, each with a few gradients. Each input is also run as a
// 19-element slice of copies, so the SIMD body is fuzzed as well as the
// scalar tail, and the two must agree bit for bit.
func Fuzz[T float32 | float64](f *testing.F, a Activation, k Kernels[T]) {
	f.Helper()
	s, err := newSetup[T](&a, nil)
	if err != nil {
		f.Fatal(err)
	}
	if k.Forward == nil {
		f.Fatalf("%s: Kernels.Forward is nil", a.Name)
	}
	seeds := testutil.Special[T]()
	for _, row := range s.special {
		seeds = append(seeds, row.x)
	}
	for _, kp := range s.kinks {
		seeds = append(seeds, kp.at)
		seeds = append(seeds, testutil.Neighbours(kp.at, 1)...)
	}
	for _, th := range a.Thresholds {
		v := T(th.F64)
		if testutil.Is32[T]() {
			v = T(float32(th.F32))
		}
		seeds = append(seeds, v, -v)
	}
	seeds = append(seeds, 0.5, -0.5, 3, -3, 1e-7, -1e-7, 40, -40)
	for _, x := range seeds {
		for _, dy := range []float64{1, -0.75} {
			f.Add(float64(x), dy)
		}
	}
	r, err := s.newRefs()
	if err != nil {
		f.Fatal(err)
	}
	// One compiled reference for the whole fuzz run; the mutex makes no
	// assumption about its thread safety (fuzz inputs run one at a time in
	// each worker process anyway).
	var mu sync.Mutex
	dirs := []string{Forward, Backward, BackwardFromOutput}
	f.Fuzz(func(t *testing.T, xf, dyf float64) {
		x, dy := T(xf), T(dyf)
		const n = 19
		for _, dir := range dirs {
			if !s.hasDir(k, dir) {
				continue
			}
			c := &checker[T]{s: s, k: k, dir: dir}
			gapBar, _ := Bar[T](a, dir)
			in := x
			if dir == BackwardFromOutput {
				y := []T{0}
				k.Forward(y, []T{x}, s.pT)
				in = y[0]
			}
			got := c.call1(in, dy)
			ins, dys, outs := make([]T, n), make([]T, n), make([]T, n)
			for i := range ins {
				ins[i], dys[i] = in, dy
			}
			c.callN(outs, dys, ins)
			for i, v := range outs {
				if !testutil.SameBits(v, got) {
					t.Fatalf("%s(%v, dy=%v): element %d of a %d-slice = %s, alone = %s", c.name(), in, dy, i, n, fmtBits(v), fmtBits(got))
				}
			}
			nanIn := in != in || (dir != Forward && dy != dy)
			if nanIn {
				if got == got {
					t.Fatalf("%s(%v, dy=%v) = %v, want NaN (NaN in, NaN out)", c.name(), in, dy, got)
				}
				continue
			}
			if dir != Forward && math.IsInf(float64(dy), 0) {
				continue // dy*f' is indeterminate wherever f' = 0
			}
			mu.Lock()
			want, err := s.want(r, dir, in, dy, got)
			mu.Unlock()
			if err != nil {
				t.Fatalf("%s(%v, dy=%v): %v", c.name(), in, dy, err)
			}
			if u := testutil.ULP(got, want); u > gapBar {
				t.Fatalf("%s(%s, dy=%v) = %s, want %s: %v ULP > %v", c.name(), fmtBits(in), dy, fmtBits(got), fmtBits(want), u, gapBar)
			}
			if ZeroSignDiffers(got, want) {
				t.Fatalf("%s(%s, dy=%v) = %s, want %s: a zero of the wrong sign", c.name(), fmtBits(in), dy, fmtBits(got), fmtBits(want))
			}
		}
	})
}
