package generate

import (
	"github.com/dave/jennifer/jen"

	"github.com/actkern/actkern/internal/vprog"
)

// Rare paths (vprog.SplitRare): a kernel whose program has a branch that
// few inputs need (sin's Payne–Hanek reduction) also gets its usual
// program, without that branch, which stops before the first element that
// needs it and returns how many elements it stored. The API runs the usual
// kernel, and the full one on the rest where it stopped: the same bits, at
// a fraction of the cost.

// rareCall is the API's call of p when p has a rare path: the usual
// kernel on slices (output first, then the kernel's inputs) and params,
// with the streaming twin for large outputs as streamCall does, then a
// return where it went to the end; otherwise the slices are cut to where
// it stopped, for the full kernel's call that follows. nil when p has
// none.
func rareCall(p *vprog.Program, slices []string, params []jen.Code) []jen.Code {
	usual := p.SplitRare()
	if usual == nil {
		return nil
	}
	call := func(impl string, from, to jen.Code) *jen.Statement {
		var args []jen.Code
		for _, s := range slices {
			args = append(args, jen.Id(s).Index(from, to))
		}
		return jen.Id(impl).Call(append(args, params...)...)
	}
	var all, cut, rest []jen.Code
	for _, s := range slices {
		all = append(all, jen.Id(s))
		cut = append(cut, jen.Id(s))
		rest = append(rest, jen.Id(s).Index(jen.Id("done"), jen.Empty()))
	}
	h := jen.Id("h")
	return []jen.Code{
		jen.Comment("Few inputs need " + p.Name + "'s rare branch: the usual kernel, without it, stops before the"),
		jen.Comment("first that does, and the full kernel takes the rest (same bits)."),
		jen.Var().Id("done").Int(),
		jen.If(jen.Id(streamImplName(usual)).Op("!=").Nil().Op("&&").Id("streams").Call(all...)).Block(
			h.Clone().Op(":=").Id("streamHead").Call(jen.Id(slices[0])),
			jen.Id("done").Op("=").Add(call(implName(usual), jen.Empty(), h.Clone())),
			jen.If(jen.Id("done").Op("==").Add(h.Clone())).Block(
				jen.Id("done").Op("+=").Add(call(streamImplName(usual), h.Clone(), jen.Empty())),
			),
		).Else().Block(
			jen.Id("done").Op("=").Id(implName(usual)).Call(append(all, params...)...),
		),
		jen.If(jen.Id("done").Op("==").Len(jen.Id(slices[0]))).Block(jen.Return()),
		jen.List(cut...).Op("=").List(rest...),
	}
}
