package kerneltest

import (
	"fmt"
	"github.com/actkern/actkern/internal/testutil"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"testing"
	"unsafe"
)

// Kernel is any kernel of a package adapted to one shape: dst, the input
// slices (x or y, then dy) and the parameters in declaration order. The
// generated tests wrap each kernel in one of these.
type Kernel[T float32 | float64] func(dst []T, in [][]T, params []T)

// SIMDImpl is one assembly implementation of a kernel.
type SIMDImpl[T float32 | float64] struct {
	ISA       string // "avx512", "avx2"
	Available bool   // the CPU runs it
	Run       Kernel[T]
}

// SIMDCase is what the generated SIMD tests know about one kernel.
type SIMDCase[T float32 | float64] struct {
	Name   string // kernel base name, e.g. "softplusBackward"
	Inputs int    // 1 or 2
	// MaxLen is 3×(elements per unrolled iteration)+1: the tests run every
	// length up to it, so every path (unrolled loop, one-vector loop,
	// masked tail) meets every remainder.
	MaxLen     int
	ParamSets  [][]T     // at least one; empty inner slices for parameterless kernels
	Thresholds []float64 // branch points whose float neighbours are tested
	Generic    Kernel[T]
	Impls      []SIMDImpl[T]
}

func bitsOf[T float32 | float64](v T) uint64 {
	if unsafe.Sizeof(v) == 4 {
		return uint64(math.Float32bits(float32(v)))
	}
	return math.Float64bits(float64(v))
}

func fromBits[T float32 | float64](b uint64) T {
	var z T
	if unsafe.Sizeof(z) == 4 {
		return T(math.Float32frombits(uint32(b)))
	}
	return T(math.Float64frombits(b))
}

func isNaN[T float32 | float64](v T) bool { return v != v }

func hexOf[T float32 | float64](v T) string {
	if unsafe.Sizeof(v) == 4 {
		return fmt.Sprintf("%g (%#08x)", v, bitsOf(v))
	}
	return fmt.Sprintf("%g (%#016x)", v, bitsOf(v))
}

// SpecialValues are the inputs every kernel is checked on: zeros, infinities,
// NaNs with several payloads, the format's extremes, subnormals, huge values
// that overflow naive range reductions, and ordinary ones.
func SpecialValues[T float32 | float64]() []T {
	var z T
	f32 := unsafe.Sizeof(z) == 4
	var vs []T
	add := func(b ...uint64) {
		for _, x := range b {
			vs = append(vs, fromBits[T](x))
		}
	}
	if f32 {
		add(0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc12345, 0xffd54321,
			0x7f800001, 0xff8abcde, 0x7f7fffff, 0xff7fffff, 0x00800000, 0x80800000, 0x007fffff, 0x807fffff,
			0x00000001, 0x80000001, 0x00400000, 0x3f800000, 0xbf800000, 0x7effffff)
	} else {
		add(0, 1<<63, 0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, 0xfff8000000000000,
			0x7ff8000012345678, 0xfffc0000abcdef01, 0x7ff0000000000001, 0xfff0000fedcba987,
			0x7fefffffffffffff, 0xffefffffffffffff, 0x0010000000000000, 0x8010000000000000,
			0x000fffffffffffff, 0x800fffffffffffff, 1, 1<<63|1, 0x0008000000000000, 0x3ff0000000000000, 0xbff0000000000000)
	}
	for _, x := range []float64{5e29, 1e30, 1e38, 3e38, 1e300, 1e20, 1e10, 1e5, 709.78, 710, 88.72, 89, 104, 200, 1000,
		50, 20, 10, 6, 5, 3, 2, 1.5, 0.5, 0.25, 1e-3, 1e-7, 1e-20, 1e-30, 1e-38, 1e-300, 1e-310} {
		if f32 && math.Abs(x) > math.MaxFloat32 {
			continue
		}
		vs = append(vs, T(x), -T(x))
	}
	return vs
}

// neighbours returns t in T and its float neighbours up to k steps either side.
func neighbours[T float32 | float64](t float64, k int) []T {
	c := T(t)
	var vs []T
	up, down := c, c
	vs = append(vs, c)
	for i := 0; i < k; i++ {
		up, down = nextUp(up), nextDown(down)
		vs = append(vs, up, down)
	}
	return vs
}

func nextUp[T float32 | float64](v T) T {
	if unsafe.Sizeof(v) == 4 {
		return T(math.Nextafter32(float32(v), float32(math.Inf(1))))
	}
	return T(math.Nextafter(float64(v), math.Inf(1)))
}

func nextDown[T float32 | float64](v T) T {
	if unsafe.Sizeof(v) == 4 {
		return T(math.Nextafter32(float32(v), float32(math.Inf(-1))))
	}
	return T(math.Nextafter(float64(v), math.Inf(-1)))
}

// AgreementInputs returns n values of input slice k (k > 0: dy) for the
// agreement test: the special values and the thresholds' neighbours (both
// signs) first, then a mix of uniformly random bit patterns (every
// exponent, NaNs, subnormals) and ordinary values within ±64.
func AgreementInputs[T float32 | float64](n, k int, thresholds []float64, seed uint64) []T {
	r := rand.New(rand.NewPCG(seed, uint64(k)+0x9e3779b97f4a7c15))
	var vs []T
	if k == 0 {
		vs = append(vs, SpecialValues[T]()...)
		for _, t := range thresholds {
			vs = append(vs, neighbours[T](t, 8)...)
			vs = append(vs, neighbours[T](-t, 8)...)
		}
	}
	var z T
	for len(vs) < n {
		switch r.IntN(4) {
		case 0, 1:
			if unsafe.Sizeof(z) == 4 {
				vs = append(vs, fromBits[T](uint64(r.Uint32())))
			} else {
				vs = append(vs, fromBits[T](r.Uint64()))
			}
		case 2:
			vs = append(vs, T(r.Float64()*128-64))
		default:
			vs = append(vs, T(r.NormFloat64()*4))
		}
	}
	return vs[:n]
}

// quietBit is the bit that tells a quiet NaN from a signalling one.
func quietBit[T float32 | float64]() uint64 {
	var z T
	if unsafe.Sizeof(z) == 4 {
		return 1 << 22
	}
	return 1 << 51
}

// sameNaNOrBits is bit equality, except that two NaNs that differ only in
// the quiet bit are the same: IEEE 754 lets any operation, a conversion
// included, quiet a signalling NaN, and whether a given path converts
// (float32 → float64 → float32) is the compiler's business. The payload and
// the sign must match.
func sameNaNOrBits[T float32 | float64](got, want T) bool {
	if bitsOf(got) == bitsOf(want) {
		return true
	}
	q := quietBit[T]()
	return isNaN(got) && isNaN(want) && bitsOf(got)|q == bitsOf(want)|q
}

// sameResult is sameNaNOrBits, except that any NaN result is accepted when
// the element's inputs hold no NaN or more than one: a NaN created by an
// invalid operation (sin(Inf), Inf·0) carries no payload, and its sign is
// not the same on every path (x86 makes the default NaN with the sign bit
// set; Go's compiler may rewrite a subtraction of a negation and flip it);
// and which of two NaN payloads an operation keeps is operand-order
// dependent in every compiler. A single NaN input must come out with its
// payload.
func sameResult[T float32 | float64](got, want T, in [][]T, i int) bool {
	if sameNaNOrBits(got, want) {
		return true
	}
	if !isNaN(got) || !isNaN(want) {
		return false
	}
	nans := 0
	for _, s := range in {
		if isNaN(s[i]) {
			nans++
		}
	}
	return nans != 1
}

func (c SIMDCase[T]) paramSets() [][]T {
	if len(c.ParamSets) == 0 {
		return [][]T{nil}
	}
	return c.ParamSets
}

func describe[T float32 | float64](in [][]T, i int) string {
	var parts []string
	for k, s := range in {
		parts = append(parts, fmt.Sprintf("in%d=%s", k, hexOf(s[i])))
	}
	return strings.Join(parts, " ")
}

// Agreement runs every available SIMD implementation and the generic kernel
// on n inputs per parameter set and requires the same bits everywhere: once
// over the whole slice (the unrolled body) and once in chunks of every
// length up to MaxLen (the one-vector loop and every masked tail).
func Agreement[T float32 | float64](t *testing.T, c SIMDCase[T], n int) {
	t.Helper()
	in := make([][]T, c.Inputs)
	for k := range in {
		in[k] = AgreementInputs[T](n, k, c.Thresholds, 1)
	}
	want := make([]T, n)
	got := make([]T, n)
	for _, ps := range c.paramSets() {
		c.Generic(want, in, ps)
		for _, im := range c.Impls {
			if !im.Available {
				t.Logf("%s/%s: CPU lacks it, not run", c.Name, im.ISA)
				continue
			}
			for _, chunked := range []bool{false, true} {
				clear(got)
				if chunked {
					for lo, step := 0, 0; lo < n; step++ {
						hi := min(n, lo+step%(c.MaxLen+1))
						sub := make([][]T, len(in))
						for k := range in {
							sub[k] = in[k][lo:hi]
						}
						im.Run(got[lo:hi], sub, ps)
						lo = hi
					}
				} else {
					im.Run(got, in, ps)
				}
				bad := 0
				for i := range got {
					if !sameResult(got[i], want[i], in, i) {
						if bad < 10 {
							t.Errorf("%s/%s params %v chunked=%v: element %d: %s: got %s, generic %s",
								c.Name, im.ISA, ps, chunked, i, describe(in, i), hexOf(got[i]), hexOf(want[i]))
						}
						bad++
					}
				}
				if bad > 0 {
					t.Errorf("%s/%s params %v chunked=%v: %d of %d elements differ from the generic kernel", c.Name, im.ISA, ps, chunked, bad, n)
				}
			}
		}
	}
}

// faultFree runs f with memory faults turned into an error.
func faultFree(f func()) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

// GuardPages runs every available SIMD implementation at every length
// 0…MaxLen, every start alignment 0…15 elements, against a guard page after
// the slices and before them, in place and not, and requires: no fault, no
// byte written outside dst, and the generic kernel's results.
func GuardPages[T float32 | float64](t *testing.T, c SIMDCase[T]) {
	t.Helper()
	if !testutil.GuardPagesWork {
		t.Log("no guard pages on this platform: only stray writes are checked")
	}
	ps := c.paramSets()[0]
	for _, im := range c.Impls {
		if !im.Available {
			continue
		}
		failures := 0
		// One arena per slice, reused for every placement.
		arenas := make([]*testutil.Guarded[T], c.Inputs+1)
		for k := range arenas {
			arenas[k] = testutil.NewArena[T](c.MaxLen + 16)
		}
		for n := 0; n <= c.MaxLen && failures < 5; n++ {
			src := make([][]T, c.Inputs)
			for k := range src {
				src[k] = AgreementInputs[T](n, k, nil, uint64(n))
			}
			want := make([]T, n)
			c.Generic(want, src, ps)
			for align := 0; align < 16 && failures < 5; align++ {
				for _, atEnd := range []bool{true, false} {
					if atEnd && align > 0 {
						continue // with atEnd the alignment follows from n
					}
					for _, inPlace := range []bool{false, true} {
						in := make([][]T, c.Inputs)
						for k := range in {
							in[k] = arenas[k].Place(n, (align+5*k)%16, atEnd)
							copy(in[k], src[k])
						}
						dst := in[0]
						if !inPlace {
							dst = arenas[c.Inputs].Place(n, (align+11)%16, atEnd)
						}
						err := faultFree(func() { im.Run(dst, in, ps) })
						where := fmt.Sprintf("%s/%s len %d align %d guard-after=%v in-place=%v", c.Name, im.ISA, n, align, atEnd, inPlace)
						if err != nil {
							t.Errorf("%s: fault: %v", where, err)
							failures++
							continue
						}
						for k, g := range arenas {
							if (k < c.Inputs || !inPlace) && !g.Intact() {
								t.Errorf("%s: wrote outside dst", where)
								failures++
								break
							}
						}
						for i := range dst {
							if !sameResult(dst[i], want[i], src, i) {
								t.Errorf("%s: element %d: got %s, generic %s", where, i, hexOf(dst[i]), hexOf(want[i]))
								failures++
								break
							}
						}
					}
				}
			}
		}
		for _, g := range arenas {
			g.Free()
		}
	}
}

// NaNPayloads puts NaNs with distinct payloads (quiet and signalling, both
// signs) into each input at every position of a MaxLen slice, so that every
// path (unrolled body, one-vector loop, tail) sees them, and requires the
// generic kernel's bits, payload included (up to the quiet bit, see
// sameResult). Whether NaN in gives NaN out is the activation tests' concern:
// this one compares implementations.
func NaNPayloads[T float32 | float64](t *testing.T, c SIMDCase[T]) {
	t.Helper()
	var z T
	nans := []uint64{0x7ff8000012345678, 0xfff4000000abcdef, 0x7ff0000000000001, 0xfff8000000000000}
	if unsafe.Sizeof(z) == 4 {
		nans = []uint64{0x7fc12345, 0xffa00abc, 0x7f800001, 0xffc00000}
	}
	n := c.MaxLen
	for _, ps := range c.paramSets() {
		for k := 0; k < c.Inputs; k++ {
			for _, nb := range nans {
				for pos := 0; pos < n; pos++ {
					in := make([][]T, c.Inputs)
					for j := range in {
						in[j] = ordinaryValues[T](n, uint64(pos*4+j))
					}
					in[k][pos] = fromBits[T](nb)
					want := make([]T, n)
					c.Generic(want, in, ps)
					for _, im := range c.Impls {
						if !im.Available {
							continue
						}
						got := make([]T, n)
						im.Run(got, in, ps)
						for i := range got {
							if !sameNaNOrBits(got[i], want[i]) {
								t.Fatalf("%s/%s params %v: NaN %#x in input %d at %d: element %d: got %s, generic %s",
									c.Name, im.ISA, ps, nb, k, pos, i, hexOf(got[i]), hexOf(want[i]))
							}
						}
					}
				}
			}
		}
	}
}

// ordinaryValues are n finite values within ±8: inputs that cannot make a
// NaN of their own.
func ordinaryValues[T float32 | float64](n int, seed uint64) []T {
	r := rand.New(rand.NewPCG(seed, 0x5851f42d4c957f2d))
	vs := make([]T, n)
	for i := range vs {
		vs[i] = T(r.Float64()*16 - 8)
	}
	return vs
}
