//go:build unix

package testutil

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// GuardsWork reports whether Guarded really surrounds its slices with
// inaccessible pages on this platform (true on unix).
const GuardsWork = true

// Guarded returns a slice of n elements placed between two inaccessible
// pages: flush against the page after it when atEnd is true (catches reads
// and writes past the end, the classic masked-tail bug) or flush against
// the page before it otherwise (catches accesses before the start). Any
// access outside the slice faults; run the code under
// debug.SetPanicOnFault(true) to turn the fault into a recoverable panic.
//
// free unmaps the memory; the slice must not be used afterwards.
func Guarded[T Float](n int, atEnd bool) (s []T, free func()) {
	var z T
	size := int(unsafe.Sizeof(z))
	page := unix.Getpagesize()
	dataPages := (n*size + page - 1) / page
	if dataPages == 0 {
		dataPages = 1
	}
	mem, err := unix.Mmap(-1, 0, (dataPages+2)*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		panic(fmt.Sprintf("testutil: mmap of %d pages: %v", dataPages+2, err))
	}
	for _, g := range [][]byte{mem[:page], mem[(dataPages+1)*page:]} {
		if err := unix.Mprotect(g, unix.PROT_NONE); err != nil {
			panic(fmt.Sprintf("testutil: mprotect guard page: %v", err))
		}
	}
	data := mem[page : (dataPages+1)*page]
	off := 0
	if atEnd {
		off = len(data) - n*size
	}
	all := unsafe.Slice((*T)(unsafe.Pointer(&data[0])), len(data)/size)
	s = all[off/size : off/size+n : off/size+n]
	return s, func() {
		if err := unix.Munmap(mem); err != nil {
			panic(fmt.Sprintf("testutil: munmap: %v", err))
		}
	}
}
