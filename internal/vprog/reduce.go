package vprog

import "math"

// Reducer says how a reduction program's per-element values combine into
// one value per call (a row's maximum, a row's sum, a channel's weight
// gradient). A reduction program is an ordinary Program whose Result is not
// stored but folded into an Acc; every backend folds element i of a call
// into lane i % AccLanes, in element order, so that the generic and the
// SIMD kernels give the same bits whatever their vector width.
type Reducer uint8

const (
	// NoReduce: an elementwise program (Result is stored).
	NoReduce Reducer = iota
	// ReduceSum is a compensated sum. Each lane keeps a pair (s, c): the
	// value v (and, for a product, its exact rounding error ResultErr)
	// goes in by TwoSum, s' = s + v and c' = c + (the rounding error of
	// s + v) + err. The sum of n terms is then about as accurate as a sum
	// in twice the precision: rows of 10^6 softmax terms and 10^6-element
	// weight gradients keep their last bits.
	ReduceSum
	// ReduceMax is the NaN-propagating maximum: the first NaN a lane sees
	// stays; otherwise the largest value.
	ReduceMax
)

// NeverNaN reports whether v is a number on every lane whatever the
// inputs: a constant that is not NaN, or a select between such values (a
// flag of 1 or 0). A maximum of such values needs no NaN test:
// the kernels fold it with a plain maximum, which gives the same lanes.
func (p *Program) NeverNaN(v Value) bool {
	in := p.Instrs[v]
	switch in.Op {
	case OpConst:
		return in.Imm == in.Imm
	case OpSelect:
		return p.NeverNaN(in.Args[1]) && p.NeverNaN(in.Args[2])
	}
	return false
}

func (r Reducer) String() string {
	return [...]string{"none", "sum", "max"}[r]
}

// AccLanes is the number of lanes an Acc holds: the float64 width of
// AVX-512 (AVX2 keeps two registers of four).
const AccLanes = 8

// Acc is the running state of a reduction: Acc[0:8] are the lanes' values
// (sums or maxima), Acc[8:16] the sums' compensations (unused for max).
type Acc [2 * AccLanes]float64

// Reset sets every lane to the reduction's identity: 0 for sum, -Inf for
// max.
func (a *Acc) Reset(r Reducer) {
	id := 0.0
	if r == ReduceMax {
		id = math.Inf(-1)
	}
	for k := range AccLanes {
		a[k], a[AccLanes+k] = id, 0
	}
}

// Add folds v (with rounding error verr, 0 when exact) into lane k. This is
// the scalar definition the generic kernels mirror and the assembly
// kernels compute lane-wise.
func (a *Acc) Add(r Reducer, k int, v, verr float64) {
	switch r {
	case ReduceSum:
		s := a[k]
		t := s + v
		bp := t - s
		e := (s - (t - bp)) + (v - bp)
		a[k] = t
		a[AccLanes+k] = a[AccLanes+k] + (e + verr)
	case ReduceMax:
		s := a[k]
		if s == s && (v > s || v != v) {
			a[k] = v
		}
	}
}

// Sum combines the lanes of a sum into a double-double hi + lo (lanes in
// order, by TwoSum). Where a lane overflowed or holds NaN the compensations
// are meaningless, so the result is then the plain sum of the lanes (±Inf
// or NaN) with lo = 0.
func (a *Acc) Sum() (hi, lo float64) {
	plain := 0.0
	for k := range AccLanes {
		plain += a[k]
	}
	if math.IsInf(plain, 0) || plain != plain {
		return plain, 0
	}
	for k := range AccLanes {
		hi, lo = TwoSum(hi, lo, a[k], a[AccLanes+k])
	}
	return hi, lo
}

// TwoSum adds the double-double y = yhi + ylo to x = xhi + xlo, keeping the
// result's rounding error in lo.
func TwoSum(xhi, xlo, yhi, ylo float64) (hi, lo float64) {
	t := xhi + yhi
	bp := t - xhi
	e := (xhi - (t - bp)) + (yhi - bp)
	e += xlo + ylo
	hi = t + e
	lo = e - (hi - t)
	return hi, lo
}

// Max combines the lanes of a max, NaN-propagating (the lowest lane's NaN).
func (a *Acc) Max() float64 {
	m := math.Inf(-1)
	for k := range AccLanes {
		v := a[k]
		if v != v {
			return v
		}
		if v > m {
			m = v
		}
	}
	return m
}

// Fold runs reduction program p over one call's inputs (each slice as long
// as the first), as the kernels do: element i into lane i % AccLanes.
func (p *Program) Fold(acc *Acc, inputs [][]float64, params []float64) {
	in := make([]float64, len(inputs))
	for i := range inputs[0] {
		for j := range inputs {
			in[j] = inputs[j][i]
		}
		v, verr := p.evalReduce(in, params)
		acc.Add(p.Reduce, i%AccLanes, v, verr)
	}
}
