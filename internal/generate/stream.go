package generate

import (
	"fmt"
	"go/format"

	"github.com/dave/jennifer/jen"

	"github.com/actkern/actkern/internal/vprog"
)

// Streaming: an elementwise function whose output is larger than the
// last-level cache writes it with non-temporal stores (the assembly
// emitter's <Name><Level>Stream kernels). An ordinary store first reads the
// destination line into the cache and later writes it back; a streaming
// store skips the read, and leaves the caches to the data that will be used
// again. The API splits dst at its first 64-byte boundary, because those
// stores need aligned addresses: the ordinary kernel takes the few elements
// before it, the streaming kernel the rest (its tail is an ordinary masked
// store). Both run the same vector program, so the bits do not depend on
// the split.

// streamMinBytes is the output size from which streaming is used: the
// size of the last-level cache of the development machine (AMD EPYC, 32 MiB
// L3). Measured there with float32 AVX-512 kernels (ns per element,
// ordinary stores → streaming): relu 0.52 → 0.27 at 8M elements and 0.31 →
// 0.14 at 4M; sigmoid, bound by its arithmetic, 0.85 → 0.90 at 4M and even
// at 16M. Below the cache's size the output of one call is still cached when
// the next call (or the next layer) reads it, which benchmarks that repeat
// one call do not show, so the threshold stays at the cache's size rather
// than where relu alone starts to win.
const streamMinBytes = 32 << 20

// streamImplName is the variable the dispatch sets to the streaming kernel
// (nil where there is none: generic, purego, other architectures).
func streamImplName(p *vprog.Program) string { return p.Name + "StreamImpl" }

// streamVar declares p's streaming-kernel variable, nil until the dispatch
// sets it.
func streamVar(p *vprog.Program, d vprog.Direction) jen.Code {
	out, ins := sliceNames(d)
	t := goType(p.Mem)
	var slices []jen.Code
	for _, s := range append([]string{out}, ins...) {
		slices = append(slices, jen.Id(s))
	}
	sig := []jen.Code{jen.List(slices...).Index().Id(t)}
	if ps := goParams(p.Params); len(ps) > 0 {
		var ids []jen.Code
		for _, s := range ps {
			ids = append(ids, jen.Id(s))
		}
		sig = append(sig, jen.List(ids...).Id(t))
	}
	if len(p.Stops) > 0 {
		return jen.Id(streamImplName(p)).Func().Params(sig...).Int()
	}
	return jen.Id(streamImplName(p)).Func().Params(sig...)
}

// streamCall is the API's call of kernel p on slices (output first, then
// the kernel's inputs) with params: through the streaming kernel when the
// output is large and not also an input, else through the ordinary one.
func streamCall(p *vprog.Program, slices []string, params []jen.Code) []jen.Code {
	var all, head, rest []jen.Code
	for _, s := range slices {
		all = append(all, jen.Id(s))
		head = append(head, jen.Id(s).Index(jen.Empty(), jen.Id("h")))
		rest = append(rest, jen.Id(s).Index(jen.Id("h"), jen.Empty()))
	}
	head = append(head, params...)
	rest = append(rest, params...)
	return []jen.Code{
		jen.If(jen.Id(streamImplName(p)).Op("!=").Nil().Op("&&").Id("streams").Call(all...)).Block(
			jen.Id("h").Op(":=").Id("streamHead").Call(jen.Id(slices[0])),
			jen.Id(implName(p)).Call(head...),
			jen.Id(streamImplName(p)).Call(rest...),
			jen.Return(),
		),
		jen.Id(implName(p)).Call(append(all, params...)...),
	}
}

// streamFile is stream.go of a package of element type t: the threshold
// and the split the API's streamCall uses.
func streamFile(pkg, t string) ([]byte, error) {
	src := fmt.Sprintf(`// %[1]s

package %[2]s

import "unsafe"

// streamMinLen is the output length from which the elementwise functions
// write with non-temporal stores, where the CPU has them: %[3]d MiB of
// output, about the last-level cache of the machine it was measured on.
const streamMinLen = %[4]d / int(unsafe.Sizeof(%[5]s(0)))

// streams reports whether a call writing dst from ins should stream: dst
// is large, and no input is dst itself (in place, the lines were just read
// into the cache, and an ordinary store is cheaper).
func streams(dst []%[5]s, ins ...[]%[5]s) bool {
	if len(dst) < streamMinLen {
		return false
	}
	for _, in := range ins {
		if unsafe.SliceData(in) == unsafe.SliceData(dst) {
			return false
		}
	}
	return true
}

// streamHead is how many elements of dst precede its first 64-byte
// boundary: the streaming kernels' non-temporal stores need aligned
// addresses, so the ordinary kernel writes these first.
func streamHead(dst []%[5]s) int {
	mis := uintptr(unsafe.Pointer(unsafe.SliceData(dst))) %% 64
	return min(int((64-mis)%%64/unsafe.Sizeof(dst[0])), len(dst))
}
`, header, pkg, streamMinBytes>>20, streamMinBytes, t)
	out, err := format.Source([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("%s/stream.go: %w\n%s", pkg, err, src)
	}
	return out, nil
}

// streamTestFile is stream_test.go: the split helpers, and one call through
// the API large enough to stream, of activation goName (a function without
// parameters) whose generic forward kernel is generic.
func streamTestFile(pkg, t, goName, generic string) ([]byte, error) {
	src := fmt.Sprintf(`// %[1]s

package %[2]s

import (
	"math"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestStreamHead: the streaming part of every split starts on a 64-byte
// boundary, after fewer than one line of elements.
func TestStreamHead(t *testing.T) {
	buf := make([]%[3]s, 64)
	for off := range 32 {
		for _, n := range []int{0, 1, 7, 31 - off} {
			d := buf[off : off+n]
			h := streamHead(d)
			require.LessOrEqual(t, h, len(d))
			require.Less(t, h*int(unsafe.Sizeof(d[0])), 64)
			if h < len(d) {
				require.Zero(t, uintptr(unsafe.Pointer(&d[h]))%%64, "offset %%d, length %%d", off, n)
			}
		}
	}
}

// TestStreamingCall: a call whose output is large enough streams, except
// in place, and gives the bits of the generic kernel; dst starts off a
// 64-byte boundary so that the split has a head.
func TestStreamingCall(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates two slices of streamMinLen elements")
	}
	n := streamMinLen + 37
	x := make([]%[3]s, n+3)
	for i := range x {
		x[i] = %[3]s(i%%4001)/200 - 10
	}
	require.False(t, streams(x[:streamMinLen-1], make([]%[3]s, streamMinLen-1)))
	require.False(t, streams(x, x), "in place")
	dst := make([]%[3]s, n+3)
	require.True(t, streams(dst[3:], x[3:]))
	%[4]s(dst[3:], x[3:])
	want := make([]%[3]s, n)
	%[5]s(want, x[3:])
	for i := range want {
		if math.Float64bits(float64(dst[3+i])) != math.Float64bits(float64(want[i])) {
			t.Fatalf("%[4]s(x[%%d] = %%v) = %%v, generic kernel %%v", i, x[3+i], dst[3+i], want[i])
		}
	}
}
`, header, pkg, t, goName, generic)
	out, err := format.Source([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("%s/stream_test.go: %w\n%s", pkg, err, src)
	}
	return out, nil
}
