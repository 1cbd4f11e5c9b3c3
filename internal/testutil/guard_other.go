//go:build !unix

package testutil

import (
	"bytes"
	"sync"
	"unsafe"
)

// GuardPagesWork reports whether NewGuarded really puts an inaccessible page
// next to its slices on this platform: not here, where only the fill
// pattern around the slice (Intact) catches stray writes.
const GuardPagesWork = false

// Guarded is a slice inside a larger buffer whose other bytes hold a fill
// pattern, so that Intact finds stray writes. Out-of-bounds reads go
// unnoticed on this platform.
type Guarded[T float32 | float64] struct {
	S     []T
	mem   []byte
	start int
	end   int
	size  int
}

const (
	guardFill = 0xA5
	guardPad  = 4096
)

// NewGuarded returns n zero elements, align elements into the buffer when
// atEnd is false, with padding on both sides.
func NewGuarded[T float32 | float64](n, align int, atEnd bool) *Guarded[T] {
	g := NewArena[T](n + align)
	g.Place(n, align, atEnd)
	return g
}

// NewArena makes room for slices of up to capacity elements, alignment
// included, with padding on both sides.
func NewArena[T float32 | float64](capacity int) *Guarded[T] {
	var z T
	size := int(unsafe.Sizeof(z))
	return &Guarded[T]{mem: make([]byte, 2*guardPad+(capacity+1)*size), size: size}
}

// Place positions S (n zero elements) in the arena, fills the rest with the
// pattern Intact checks, and returns S.
func (g *Guarded[T]) Place(n, align int, atEnd bool) []T {
	if atEnd {
		g.end = len(g.mem) - guardPad
		g.start = g.end - n*g.size
	} else {
		g.start = guardPad + align*g.size
		g.end = g.start + n*g.size
	}
	if g.start < guardPad || g.end > len(g.mem)-guardPad {
		panic("kerneltest: slice does not fit the arena")
	}
	copy(g.mem, fillPattern(len(g.mem)))
	g.S = unsafe.Slice((*T)(unsafe.Pointer(&g.mem[g.start])), n)
	clear(g.S)
	return g.S
}

// Intact reports whether every byte outside the slice still holds the fill pattern.
func (g *Guarded[T]) Intact() bool {
	return bytes.Equal(g.mem[:g.start], fillPattern(g.start)) &&
		bytes.Equal(g.mem[g.end:], fillPattern(len(g.mem)-g.end))
}

// Free releases the buffer; the slice must not be used afterwards.
func (g *Guarded[T]) Free() { g.mem, g.S = nil, nil }

var (
	fillMu  sync.Mutex
	fillBuf []byte
)

// fillPattern returns n bytes of the fill pattern (shared, read-only).
func fillPattern(n int) []byte {
	fillMu.Lock()
	defer fillMu.Unlock()
	if len(fillBuf) < n {
		fillBuf = bytes.Repeat([]byte{guardFill}, max(n, 1<<16))
	}
	return fillBuf[:n]
}
