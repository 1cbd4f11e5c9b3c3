package kerneltest

import (
	"fmt"
	"testing"
)

// BenchShape is one workload of a row-wise, gated or per-channel
// benchmark: its sub-benchmark name, the input slices' lengths, the
// output's, and the function's size argument (cols or inner).
type BenchShape struct {
	Name string
	In   []int
	Out  int
	Arg  int
}

// BenchShaped times kernel on each shape at every level of isas, then the
// plain-Go loop, as sub-benchmarks isa=<level>/<shape> and
// isa=plaingo/<shape>. b.SetBytes counts every input and the output once.
// The inputs are benchData's values in [-10, 10); a weight (an input no
// longer than the output's shape argument) sees the same values, which
// makes slopes of up to 10: only the speed matters here.
func BenchShaped[T float32 | float64](b *testing.B, isas BenchISAs, shapes []BenchShape, kernel, plain func(s BenchShape, dst []T, in [][]T)) {
	run := func(name string, level bool, f func(s BenchShape, dst []T, in [][]T)) {
		for _, s := range shapes {
			b.Run(fmt.Sprintf("isa=%s/%s", name, s.Name), func(b *testing.B) {
				in := make([][]T, len(s.In))
				bytes := s.Out
				for k, n := range s.In {
					_, data := benchData[T](n, k+1)
					in[k] = data[k]
					bytes += n
				}
				dst, _ := benchData[T](s.Out, 0)
				if level {
					prev := isas.Current()
					if !isas.Use(name) {
						b.Skipf("this CPU does not run %s", name)
					}
					defer isas.Use(prev)
				}
				b.SetBytes(int64(bytes * sizeOf[T]()))
				for b.Loop() {
					f(s, dst, in)
				}
			})
		}
	}
	for _, name := range isas.Names {
		run(name, true, kernel)
	}
	run(Plain, false, plain)
}
