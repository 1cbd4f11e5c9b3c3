package asm

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/actkern/actkern/internal/vprog"
)

// sumOfProducts is x times n constants, summed: n values live at once, more
// than the registers hold at any unroll, so every plan spills. Summed in a
// chain its dependency chain is n+1 operations long; summed as a balanced
// tree, about log2(n)+2.
func sumOfProducts(mem vprog.Type, n int, chain bool) *vprog.Program {
	b := vprog.NewBuilder(fmt.Sprintf("sum%d", n), mem, vprog.F64, 1, nil)
	x := b.Input(0)
	var terms []vprog.Value
	for i := range n {
		terms = append(terms, b.Mul(x, b.Const(1+float64(i)/64)))
	}
	if chain {
		s := terms[0]
		for _, t := range terms[1:] {
			s = b.Add(s, t)
		}
		return b.Finish(s)
	}
	for len(terms) > 1 {
		var next []vprog.Value
		for i := 0; i+1 < len(terms); i += 2 {
			next = append(next, b.Add(terms[i], terms[i+1]))
		}
		if len(terms)%2 == 1 {
			next = append(next, terms[len(terms)-1])
		}
		terms = next
	}
	return b.Finish(terms[0])
}

// TestUnrollFloor: a float32 kernel with a long dependency chain keeps
// minUnroll vectors per iteration (3 on AVX2, 4 on AVX-512) even though it
// must spill; a short chain, or a float64 kernel, keeps the two vectors it
// had before the floor.
func TestUnrollFloor(t *testing.T) {
	for _, lv := range levels {
		for _, c := range []struct {
			mem   vprog.Type
			chain bool
			want  int
		}{
			{vprog.F32, true, map[string]int{"AVX2": 3, "AVX512": 4}[lv.suffix]},
			{vprog.F32, false, 2},
			{vprog.F64, true, 2},
		} {
			p := sumOfProducts(c.mem, 40, c.chain)
			is := lv.make(p, newPool("t"))
			long := chainDepth(p, p.Live()) >= longChain
			assert.Equal(t, c.chain, long, "%s chain %v: depth %d", lv.suffix, c.chain, chainDepth(p, p.Live()))
			pl := choosePlan(is, p, p.Live())
			assert.Equal(t, c.want, pl.unroll, "%s %v chain %v", lv.suffix, c.mem, c.chain)
		}
	}
}
