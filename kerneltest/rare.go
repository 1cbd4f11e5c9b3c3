package kerneltest

import (
	"math/rand/v2"
	"testing"

	"github.com/actkern/actkern/internal/testutil"
)

// RarePath checks a function whose kernels have a rare path
// (vprog.SplitRare): through the API, which runs the usual kernel until
// the first element that needs the rare branch and the full kernel from
// there, the results must be the full generic kernel's bits, both on
// inputs of moderate size (where the usual kernels run, for sin) and on
// the same inputs with huge elements in the middle and at the end, where
// the full kernels take over. With streamLen > 0 (the API's streamMinLen)
// and without -short, one call is long enough for the API to stream, with
// dst off a 64-byte boundary, so that the usual kernel, its streaming twin
// and the full kernels' split all run. api and full take the inputs in the
// same order (the caller adapts the API's).
func RarePath[T float32 | float64](t *testing.T, inputs, streamLen int, api, full func(dst []T, in [][]T)) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	sizes := []int{1, 7, 100, 4097}
	if streamLen > 0 && !testing.Short() {
		sizes = append(sizes, streamLen+37)
	}
	for _, n := range sizes {
		in := make([][]T, inputs)
		for k := range in {
			in[k] = make([]T, n)
			for i := range in[k] {
				in[k][i] = T(r.Float64()*20 - 10)
			}
		}
		// got starts 3 elements into its allocation: off a 64-byte
		// boundary, so that a streaming call has a head.
		got, want := make([]T, n+3)[3:], make([]T, n)
		for _, huge := range []bool{false, true} {
			if huge {
				in[0][n/2], in[0][n-1] = 1e30, 1e30
			}
			clear(got) // an element the API skips stays 0
			api(got, in)
			full(want, in)
			for i := range want {
				if testutil.Bits(got[i]) != testutil.Bits(want[i]) {
					t.Fatalf("n = %d, huge element %v: element %d (x = %v): got %v, the full generic kernel gives %v",
						n, huge, i, in[0][i], got[i], want[i])
				}
			}
		}
	}
}
