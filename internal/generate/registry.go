package generate

import (
	"github.com/dave/jennifer/jen"

	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/vprog"
)

// emitActivationFile renders activation.go: selection of an activation by
// name at run time (New, Names), for model loaders and command-line tools.
// acts is sorted by name.
func emitActivationFile(f *jen.File, acts []*spec.Activation, ks map[string]kernels, t string) {
	sl := func(names ...string) jen.Code {
		ids := make([]jen.Code, len(names))
		for i, n := range names {
			ids[i] = jen.Id(n)
		}
		return jen.List(ids...).Index().Id(t)
	}

	f.Add(docComment("Params are parameter values by name, for New. A parameter left out takes its default."))
	f.Type().Id("Params").Map(jen.String()).Float64()
	f.Line()

	f.Add(docComment(
		"Activation is an activation function chosen by name, with its parameters "+
			"bound. Its methods call the package's functions, so they check shapes and "+
			"use the same kernels.",
		"",
		"An Activation is immutable and safe for concurrent use.",
	))
	f.Type().Id("Activation").Struct(
		jen.Id("name").String(),
		jen.Id("params").Id("Params"),
		jen.Id("forward").Func().Params(sl("dst", "x")),
		jen.Id("backward").Func().Params(sl("dx", "dy", "x")),
		jen.Id("backwardFromOutput").Func().Params(sl("dx", "dy", "y")).Comment("nil when unavailable"),
	)
	f.Line()

	f.Add(docComment(`Name is the activation's spec name, e.g. "softplus".`))
	f.Func().Params(jen.Id("a").Op("*").Id("Activation")).Id("Name").Params().String().Block(jen.Return(jen.Id("a").Dot("name")))
	f.Line()
	f.Add(docComment("Params returns the parameter values in use, defaults included, as converted to the element type."))
	f.Func().Params(jen.Id("a").Op("*").Id("Activation")).Id("Params").Params().Id("Params").Block(
		jen.Id("p").Op(":=").Make(jen.Id("Params"), jen.Len(jen.Id("a").Dot("params"))),
		jen.For(jen.List(jen.Id("k"), jen.Id("v")).Op(":=").Range().Id("a").Dot("params")).Block(
			jen.Id("p").Index(jen.Id("k")).Op("=").Id("v")),
		jen.Return(jen.Id("p")),
	)
	f.Line()
	f.Add(docComment("Forward sets dst[i] = f(x[i]); dst may be x."))
	f.Func().Params(jen.Id("a").Op("*").Id("Activation")).Id("Forward").Params(sl("dst", "x")).Block(
		jen.Id("a").Dot("forward").Call(jen.Id("dst"), jen.Id("x")))
	f.Line()
	f.Add(docComment("Backward sets dx[i] = dy[i] * f'(x[i]); dx may be dy or x."))
	f.Func().Params(jen.Id("a").Op("*").Id("Activation")).Id("Backward").Params(sl("dx", "dy", "x")).Block(
		jen.Id("a").Dot("backward").Call(jen.Id("dx"), jen.Id("dy"), jen.Id("x")))
	f.Line()
	f.Add(docComment("HasBackwardFromOutput reports whether BackwardFromOutput is available: the spec gives " +
		"the derivative in terms of the output and the parameters allow it."))
	f.Func().Params(jen.Id("a").Op("*").Id("Activation")).Id("HasBackwardFromOutput").Params().Bool().Block(
		jen.Return(jen.Id("a").Dot("backwardFromOutput").Op("!=").Nil()))
	f.Line()
	f.Add(docComment("BackwardFromOutput sets dx[i] = dy[i] * f'(x[i]) from the output y[i] = f(x[i]) " +
		"of the forward pass. It panics unless HasBackwardFromOutput."))
	f.Func().Params(jen.Id("a").Op("*").Id("Activation")).Id("BackwardFromOutput").Params(sl("dx", "dy", "y")).Block(
		jen.If(jen.Id("a").Dot("backwardFromOutput").Op("==").Nil()).Block(
			jen.Panic(jen.Lit("actkern: ").Op("+").Id("a").Dot("name").Op("+").Lit(": no BackwardFromOutput for these parameters (see HasBackwardFromOutput)"))),
		jen.Id("a").Dot("backwardFromOutput").Call(jen.Id("dx"), jen.Id("dy"), jen.Id("y")))
	f.Line()

	// The registry, sorted by name.
	f.Comment("registryEntry describes one activation for New.")
	f.Type().Id("registryEntry").Struct(
		jen.Id("name").String(),
		jen.Id("params").Index().String().Comment("spec order"),
		jen.Id("defaults").Index().Float64(),
		jen.Id("bind").Func().Params(jen.Id("a").Op("*").Id("Activation"), jen.Id("p").Index().Id(t)).Error(),
	)
	f.Line()
	var entries []jen.Code
	for _, a := range acts {
		names := make([]jen.Code, len(a.Params))
		defs := make([]jen.Code, len(a.Params))
		for i, p := range a.Params {
			names[i] = jen.Lit(p.Name)
			defs[i] = floatCode(p.Default)
		}
		entries = append(entries, jen.Values(jen.Dict{
			jen.Id("name"):     jen.Lit(a.Name),
			jen.Id("params"):   jen.Index().String().Values(names...),
			jen.Id("defaults"): jen.Index().Float64().Values(defs...),
			jen.Id("bind"):     jen.Id("bind" + a.GoName),
		}))
	}
	f.Comment("registry lists every activation, sorted by name.")
	f.Var().Id("registry").Op("=").Index().Id("registryEntry").Values(append(entries, jen.Line())...)
	f.Line()

	f.Add(docComment("Names lists the activations New knows, sorted."))
	f.Func().Id("Names").Params().Index().String().Block(
		jen.Id("out").Op(":=").Make(jen.Index().String(), jen.Len(jen.Id("registry"))),
		jen.For(jen.List(jen.Id("i"), jen.Id("e")).Op(":=").Range().Id("registry")).Block(
			jen.Id("out").Index(jen.Id("i")).Op("=").Id("e").Dot("name")),
		jen.Return(jen.Id("out")),
	)
	f.Line()

	f.Add(docComment(
		`New returns the activation called name (its spec name, e.g. "softplus") with ` +
			"parameters p; parameters p leaves out take their defaults. It fails, naming " +
			"the valid choices, on an unknown name or parameter, and quotes the rule a " +
			"parameter value breaks.",
	))
	f.Func().Id("New").Params(jen.Id("name").String(), jen.Id("p").Id("Params")).Params(jen.Op("*").Id("Activation"), jen.Error()).Block(
		jen.Id("i").Op(":=").Qual("sort", "Search").Call(jen.Len(jen.Id("registry")), jen.Func().Params(jen.Id("i").Int()).Bool().Block(
			jen.Return(jen.Id("registry").Index(jen.Id("i")).Dot("name").Op(">=").Id("name")))),
		jen.If(jen.Id("i").Op("==").Len(jen.Id("registry")).Op("||").Id("registry").Index(jen.Id("i")).Dot("name").Op("!=").Id("name")).Block(
			jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit("actkern: unknown activation %q (valid: %s)"), jen.Id("name"),
				jen.Qual("strings", "Join").Call(jen.Id("Names").Call(), jen.Lit(", "))))),
		jen.Id("e").Op(":=").Op("&").Id("registry").Index(jen.Id("i")),
		jen.Comment("Sorted, so that the error names the same parameter every run."),
		jen.Id("keys").Op(":=").Make(jen.Index().String(), jen.Lit(0), jen.Len(jen.Id("p"))),
		jen.For(jen.Id("k").Op(":=").Range().Id("p")).Block(jen.Id("keys").Op("=").Append(jen.Id("keys"), jen.Id("k"))),
		jen.Qual("sort", "Strings").Call(jen.Id("keys")),
		jen.For(jen.List(jen.Id("_"), jen.Id("k")).Op(":=").Range().Id("keys")).Block(
			jen.If(jen.Op("!").Qual("slices", "Contains").Call(jen.Id("e").Dot("params"), jen.Id("k"))).Block(
				jen.Id("has").Op(":=").Lit("it has none"),
				jen.If(jen.Len(jen.Id("e").Dot("params")).Op(">").Lit(0)).Block(
					jen.Id("has").Op("=").Lit("parameters: ").Op("+").Qual("strings", "Join").Call(jen.Id("e").Dot("params"), jen.Lit(", "))),
				jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit("actkern: %s has no parameter %q (%s)"), jen.Id("name"), jen.Id("k"), jen.Id("has"))),
			),
		),
		jen.Id("vals").Op(":=").Make(jen.Index().Id(t), jen.Len(jen.Id("e").Dot("params"))),
		jen.Id("a").Op(":=").Op("&").Id("Activation").Values(jen.Dict{
			jen.Id("name"):   jen.Id("name"),
			jen.Id("params"): jen.Make(jen.Id("Params"), jen.Len(jen.Id("e").Dot("params"))),
		}),
		jen.For(jen.List(jen.Id("j"), jen.Id("pn")).Op(":=").Range().Id("e").Dot("params")).Block(
			jen.Id("v").Op(",").Id("ok").Op(":=").Id("p").Index(jen.Id("pn")),
			jen.If(jen.Op("!").Id("ok")).Block(jen.Id("v").Op("=").Id("e").Dot("defaults").Index(jen.Id("j"))),
			jen.Id("vals").Index(jen.Id("j")).Op("=").Id(t).Call(jen.Id("v")),
			jen.Id("a").Dot("params").Index(jen.Id("pn")).Op("=").Float64().Call(jen.Id("vals").Index(jen.Id("j"))),
		),
		jen.If(jen.Err().Op(":=").Id("e").Dot("bind").Call(jen.Id("a"), jen.Id("vals")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit("actkern: %s: %w"), jen.Id("name"), jen.Err()))),
		jen.Return(jen.Id("a"), jen.Nil()),
	)
	f.Line()

	for _, a := range acts {
		emitBind(f, a, ks[a.Name], t)
	}
}

// emitBind renders bind<GoName>, which checks the parameter rules and binds
// the parameters into the Activation's function values.
func emitBind(f *jen.File, a *spec.Activation, k kernels, t string) {
	var body []jen.Code
	if len(a.Params) > 0 {
		ids := make([]jen.Code, len(a.Params))
		vals := make([]jen.Code, len(a.Params))
		for i, p := range a.Params {
			ids[i] = jen.Id(goParam(p.Name))
			vals[i] = jen.Id("p").Index(jen.Lit(i))
		}
		body = append(body, jen.List(ids...).Op(":=").List(vals...))
	}
	if hasRules(a) {
		body = append(body, jen.If(jen.Err().Op(":=").Id(checkName(a)).Call(paramArgs(a)...), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())))
	}
	closure := func(field string, d vprog.Direction) jen.Code {
		slices, _ := apiSlices(d)
		ids := make([]jen.Code, len(slices))
		for i, s := range slices {
			ids[i] = jen.Id(s)
		}
		return jen.Id("a").Dot(field).Op("=").Func().Params(jen.List(ids...).Index().Id(t)).Block(
			jen.Id(apiName(a, d)).Call(append(append([]jen.Code{}, ids...), paramArgs(a)...)...))
	}
	body = append(body, closure("forward", vprog.Forward), closure("backward", vprog.Backward))
	if k[vprog.BackwardFromOutput] != nil {
		c := closure("backwardFromOutput", vprog.BackwardFromOutput)
		if a.OutputRequires != nil {
			body = append(body, jen.If(jen.Id(outputOKName(a)).Call(paramArgs(a)...)).Block(c))
		} else {
			body = append(body, c)
		}
	}
	body = append(body, jen.Return(jen.Nil()))
	pname := "p"
	if len(a.Params) == 0 {
		pname = "_"
	}
	f.Func().Id("bind"+a.GoName).Params(jen.Id("a").Op("*").Id("Activation"), jen.Id(pname).Index().Id(t)).Error().Block(body...)
	f.Line()
}
