//go:build unix

package testutil

import (
	"bytes"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// GuardPagesWork reports whether NewGuarded really puts an inaccessible page
// next to its slices on this platform.
const GuardPagesWork = true

// Guarded is a slice placed flush against an inaccessible (PROT_NONE) page
// inside a private mapping. Every other accessible byte of the mapping holds
// a fill pattern, so that Intact also finds stray writes that land on
// accessible memory.
type Guarded[T float32 | float64] struct {
	S     []T
	mem   []byte
	page  int
	start int // byte offset of S in mem
	end   int
}

const guardFill = 0xA5

// NewGuarded returns n elements between two PROT_NONE pages. With atEnd the
// last element ends exactly at the page after the slice, so any access past
// len faults; otherwise the slice starts align elements after the page
// before it (align chooses the start's alignment; with atEnd the alignment
// follows from n). The elements are zero. Free must be called when done.
func NewGuarded[T float32 | float64](n, align int, atEnd bool) *Guarded[T] {
	g := NewArena[T](n + align)
	g.Place(n, align, atEnd)
	return g
}

// NewArena maps room for slices of up to capacity elements (alignment
// included) between two PROT_NONE pages, for Place to position slices in
// without a system call per placement.
func NewArena[T float32 | float64](capacity int) *Guarded[T] {
	var z T
	size := int(unsafe.Sizeof(z))
	page := unix.Getpagesize()
	data := (capacity*size + page - 1) / page
	if data == 0 {
		data = 1
	}
	mem, err := unix.Mmap(-1, 0, (data+2)*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		panic(fmt.Sprintf("kerneltest: mmap of %d pages: %v", data+2, err))
	}
	for _, g := range [][]byte{mem[:page], mem[(data+1)*page:]} {
		if err := unix.Mprotect(g, unix.PROT_NONE); err != nil {
			panic(fmt.Sprintf("kerneltest: mprotect of a guard page: %v", err))
		}
	}
	return &Guarded[T]{mem: mem, page: page}
}

// Place positions S (n zero elements) in the arena as NewGuarded describes,
// fills the rest of the accessible memory with the pattern Intact checks,
// and returns S.
func (g *Guarded[T]) Place(n, align int, atEnd bool) []T {
	var z T
	size := int(unsafe.Sizeof(z))
	lo, hi := g.page, len(g.mem)-g.page
	if atEnd {
		g.end = hi
		g.start = g.end - n*size
	} else {
		g.start = lo + align*size
		g.end = g.start + n*size
	}
	if g.start < lo || g.end > hi {
		panic(fmt.Sprintf("kerneltest: %d elements at alignment %d do not fit the arena", n, align))
	}
	copy(g.mem[lo:hi], fillPattern(hi-lo))
	if n > 0 {
		g.S = unsafe.Slice((*T)(unsafe.Pointer(&g.mem[g.start])), n)
		clear(g.S)
	} else if atEnd {
		// A zero-length slice whose pointer sits at the guard page: a
		// kernel that reads anyway faults.
		g.S = unsafe.Slice((*T)(unsafe.Pointer(&g.mem[g.start-size])), 1)[1:]
	} else {
		g.S = unsafe.Slice((*T)(unsafe.Pointer(&g.mem[g.start])), 1)[:0]
	}
	return g.S
}

// Intact reports whether every accessible byte outside the slice still holds
// the fill pattern, that is, nothing wrote outside the slice.
func (g *Guarded[T]) Intact() bool {
	lo, hi := g.page, len(g.mem)-g.page
	return bytes.Equal(g.mem[lo:g.start], fillPattern(g.start-lo)) &&
		bytes.Equal(g.mem[g.end:hi], fillPattern(hi-g.end))
}

// Free unmaps the memory; the slice must not be used afterwards.
func (g *Guarded[T]) Free() {
	if err := unix.Munmap(g.mem); err != nil {
		panic(fmt.Sprintf("kerneltest: munmap: %v", err))
	}
	g.mem, g.S = nil, nil
}

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
