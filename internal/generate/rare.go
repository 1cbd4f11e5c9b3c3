package generate

import (
	"fmt"
	"go/format"

	"github.com/dave/jennifer/jen"

	"github.com/actkern/actkern/internal/vprog"
)

// Rare paths (vprog.SplitRare): a kernel whose program has a branch that
// few inputs need (sin's Payne–Hanek reduction) also gets its usual
// program, without that branch, and a guard, a max-reduction that is 1
// where an element needs the branch. The API runs the guard over the
// inputs first and, where no element needs the branch, the usual kernels:
// the same bits, at a fraction of the cost.

// rareCall is the API's call of p when p has a rare path: the guard over
// the kernel's inputs (slices[1:]) and params, then the usual program's
// call where no element needs the rare branch. nil when p has none.
func rareCall(p *vprog.Program, slices []string, params []jen.Code) []jen.Code {
	usual, guard := p.SplitRare()
	if usual == nil {
		return nil
	}
	var inputs []jen.Code
	for _, s := range slices[1:] {
		inputs = append(inputs, jen.Id(s))
	}
	return skipRare(p, guard, append(inputs, params...), streamCall(usual, slices, params))
}

// skipRare is the guard-then-usual sequence every call of a program p with
// a rare path starts with: run guard over args (p's inputs and
// parameters), and where no element needs the rare branch, run callUsual
// (statements calling p's usual program) and return.
func skipRare(p, guard *vprog.Program, args, callUsual []jen.Code) []jen.Code {
	return []jen.Code{
		jen.Comment("Few inputs need " + p.Name + "'s rare branch: skip it where none does (same bits)."),
		jen.Id("acc").Op(":=").Id("rareAcc").Call(),
		jen.Id(implName(guard)).Call(append([]jen.Code{jen.Op("&").Id("acc")}, args...)...),
		jen.If(jen.Id("noneRare").Call(jen.Op("&").Id("acc"))).Block(append(callUsual, jen.Return())...),
	}
}

// rareFile is rare.go of a package: the guard's accumulator and its
// verdict.
func rareFile(pkg string) ([]byte, error) {
	src := fmt.Sprintf(`// %s

package %s

import "math"

// rareAcc is a fresh accumulator for a rare-path guard (a max-reduction
// kernel, see vprog.SplitRare).
func rareAcc() [16]float64 {
	var acc [16]float64
	for k := range 8 {
		acc[k] = math.Inf(-1)
	}
	return acc
}

// noneRare reports whether the guard found no element that needs the rare
// branch: every lane's maximum is 0, or -Inf where no element fell.
func noneRare(acc *[16]float64) bool {
	for _, v := range acc[:8] {
		if !(v <= 0) {
			return false
		}
	}
	return true
}
`, header, pkg)
	out, err := format.Source([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("%s/rare.go: %w\n%s", pkg, err, src)
	}
	return out, nil
}
