package testutil

import "unsafe"

// extend re-slices s to m elements past its capacity, as a buggy kernel's
// pointer arithmetic would.
func extend[T Float](s []T, m int) []T {
	return unsafe.Slice(unsafe.SliceData(s), m)
}

// extendBack returns a slice starting k elements before s.
func extendBack[T Float](s []T, k int) []T {
	var z T
	p := unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), -k*int(unsafe.Sizeof(z)))
	return unsafe.Slice((*T)(p), k+len(s))
}
