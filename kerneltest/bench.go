package kerneltest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"unsafe"
)

// BenchSizes are the slice lengths every benchmark runs: one that lives in
// L1/L2 cache (compute-bound), one in the last-level cache of most machines,
// and one of 16M elements that streams from memory (bandwidth-bound).
var BenchSizes = []int{4096, 1 << 20, 1 << 24}

// BenchISAs is how a generated package lets its benchmarks run every level
// of kernels the CPU has. The generated per-platform files provide the
// values: on amd64 the levels the CPU runs and the dispatch's useISA, on
// every other build only "generic".
type BenchISAs struct {
	Names   []string          // levels to time, best first
	Use     func(string) bool // switches every kernel of the package; false if the CPU lacks the level
	Current func() string     // the level in use, restored after each sub-benchmark
}

// Plain is the benchmarks' baseline "isa": the loop a Go programmer would
// write over package math, y[i] = T(f(float64(x[i]))).
const Plain = "plaingo"

// Bench times one kernel at every level of isas and then the plain-Go loop,
// as sub-benchmarks isa=<level>/n=<len> and isa=plaingo/n=<len> of b, so that
// one run prints them side by side. kernel and plain take dst and the
// inputs (x, or dy then x) in the order of the package's API. b.SetBytes is
// the bytes read and written per call: (inputs+1)·n·sizeof(T).
func Bench[T float32 | float64](b *testing.B, isas BenchISAs, inputs int, kernel, plain func(dst []T, in [][]T)) {
	run := func(name string, level bool, f func(dst []T, in [][]T)) {
		for _, n := range BenchSizes {
			b.Run(fmt.Sprintf("isa=%s/n=%d", name, n), func(b *testing.B) {
				dst, in := benchData[T](n, inputs)
				if level {
					prev := isas.Current()
					if !isas.Use(name) {
						b.Skipf("this CPU does not run %s", name)
					}
					defer isas.Use(prev)
				}
				b.SetBytes(int64((inputs + 1) * n * sizeOf[T]()))
				for b.Loop() {
					f(dst, in)
				}
			})
		}
	}
	for _, name := range isas.Names {
		run(name, true, kernel)
	}
	run(Plain, false, plain)
}

// BenchCopy is the floor every kernel is measured against: Go's built-in
// copy() of a slice of the same length, as sub-benchmarks n=<len>, bytes
// counted as read plus written. A piecewise-linear kernel that streams at
// copy's speed is as fast as memory allows.
func BenchCopy[T float32 | float64](b *testing.B) {
	for _, n := range BenchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			dst, in := benchData[T](n, 1)
			b.SetBytes(int64(2 * n * sizeOf[T]()))
			for b.Loop() {
				copy(dst, in[0])
			}
		})
	}
}

func sizeOf[T float32 | float64]() int {
	var z T
	return int(unsafe.Sizeof(z))
}

// benchCache keeps the benchmark slices of each length, so that the 16M-element
// inputs are drawn once per test binary rather than once per sub-benchmark
// (which would cost more than the measurements at small -benchtime).
// Benchmarks run one at a time, so sharing dst between them is safe.
var benchCache = struct {
	sync.Mutex
	m map[[2]int]any // {n, slice index} → []T; index 0 is dst
}{m: map[[2]int]any{}}

// benchData returns dst and the inputs for length n: values spread over
// [-10, 10) in a fixed pseudo-random order, so that data-dependent branches
// of any implementation are not trivially predicted, and both signs and
// the saturated regions of most activations are exercised.
func benchData[T float32 | float64](n, inputs int) (dst []T, in [][]T) {
	benchCache.Lock()
	defer benchCache.Unlock()
	get := func(k int) []T {
		if s, ok := benchCache.m[[2]int{n, k}].([]T); ok {
			return s
		}
		s := make([]T, n)
		if k > 0 {
			r := rand.New(rand.NewPCG(uint64(n), uint64(k)))
			for i := range s {
				s[i] = T(r.Float64()*20 - 10)
			}
		}
		benchCache.m[[2]int{n, k}] = s
		return s
	}
	in = make([][]T, inputs)
	for k := range in {
		in[k] = get(k + 1)
	}
	return get(0), in
}
