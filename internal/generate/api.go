package generate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/vprog"
)

// kernels holds the programs of one activation at one precision, indexed by
// direction; BackwardFromOutput is nil when the spec gives no output form.
type kernels [3]*vprog.Program

var directions = []vprog.Direction{vprog.Forward, vprog.Backward, vprog.BackwardFromOutput}

// apiName is the exported function of direction d: "Softplus", "SoftplusBackward".
func apiName(a *spec.Activation, d vprog.Direction) string { return a.GoName + d.Suffix() }

// apiSlices are the public function's slice arguments in signature order
// (the output first), and for each kernel argument its index in that list.
func apiSlices(d vprog.Direction) (names []string, kernelOrder []int) {
	switch d {
	case vprog.Backward:
		return []string{"dx", "dy", "x"}, []int{0, 2, 1}
	case vprog.BackwardFromOutput:
		return []string{"dx", "dy", "y"}, []int{0, 2, 1}
	}
	return []string{"dst", "x"}, []int{0, 1}
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func checkName(a *spec.Activation) string    { return lowerCamel(a.Name) + "Check" }
func outputOKName(a *spec.Activation) string { return lowerCamel(a.Name) + "OutputFormOK" }

func hasRules(a *spec.Activation) bool {
	for _, p := range a.Params {
		if p.Require != nil {
			return true
		}
	}
	return false
}

// paramSig is "beta, threshold float32", or nothing without parameters.
func paramSig(a *spec.Activation, t string) []jen.Code {
	if len(a.Params) == 0 {
		return nil
	}
	ids := make([]jen.Code, len(a.Params))
	for i, p := range a.Params {
		ids[i] = jen.Id(goParam(p.Name))
	}
	return []jen.Code{jen.List(ids...).Id(t)}
}

func paramArgs(a *spec.Activation) []jen.Code {
	out := make([]jen.Code, len(a.Params))
	for i, p := range a.Params {
		out[i] = jen.Id(goParam(p.Name))
	}
	return out
}

// ruleEnv binds the parameters, converted to float64, for translating rules.
func ruleEnv(a *spec.Activation, prec string) (*formulaEnv, error) {
	vars := map[string]jen.Code{}
	for _, p := range a.Params {
		vars[p.Name] = jen.Float64().Call(jen.Id(goParam(p.Name)))
	}
	return newFormulaEnv(a, prec, vars)
}

// paramDocLines describes the parameters for godoc.
func paramDocLines(a *spec.Activation) []string {
	if len(a.Params) == 0 {
		return nil
	}
	lines := []string{"", "Parameters:", ""}
	for _, p := range a.Params {
		l := fmt.Sprintf("  - %s: default %s", goParam(p.Name), fmtFloat(p.Default))
		if p.Require != nil {
			l += fmt.Sprintf(", must satisfy %s", oneLine(p.Require.Src))
		}
		if p.Doc != "" {
			l += ". " + sentence(p.Doc)
		} else {
			l += "."
		}
		lines = append(lines, l)
	}
	return lines
}

// commonDocLines are the closing paragraphs every API function of a shares.
func commonDocLines(a *spec.Activation) []string {
	var lines []string
	if a.Torch != "" {
		lines = append(lines, "", fmt.Sprintf("PyTorch equivalent: %s.", a.Torch))
	}
	if len(a.Deviations) > 0 {
		lines = append(lines, "", "Deviations from PyTorch:", "")
		for _, d := range a.Deviations {
			lines = append(lines, "  - "+sentence(d))
		}
	}
	return lines
}

// emitAPIFile renders <name>.go: the exported functions of activation a.
// atDefaults are the kernels specialized for the defaults
// (spec.Activation.SpecializeDefaults), nil where there are none.
func emitAPIFile(f *jen.File, a *spec.Activation, ks, atDefaults kernels, prec string, t string) error {
	env, err := ruleEnv(a, prec)
	if err != nil {
		return err
	}
	if hasRules(a) {
		var body []jen.Code
		for _, p := range a.Params {
			if p.Require == nil {
				continue
			}
			cond, err := env.translate(p.Require)
			if err != nil {
				return fmt.Errorf("rule of %s: %v", p.Name, err)
			}
			msg := fmt.Sprintf("%s = %%v breaks the rule %s", p.Name, oneLine(p.Require.Src))
			body = append(body, jen.If(jen.Op("!").Parens(cond)).Block(
				jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(msg), jen.Id(goParam(p.Name)))),
			))
		}
		body = append(body, jen.Return(jen.Nil()))
		f.Add(docComment(fmt.Sprintf("%s reports the first parameter rule of %s that the arguments break, "+
			"or nil. The rules are checked in float64 on the values the kernels will use; "+
			"NaN breaks every rule.", checkName(a), a.GoName)))
		f.Func().Id(checkName(a)).Params(paramSig(a, t)...).Error().Block(body...)
		f.Line()
	}
	if a.DerivativeOutput != nil && a.OutputRequires != nil {
		cond, err := env.translate(a.OutputRequires)
		if err != nil {
			return fmt.Errorf("output_requires: %v", err)
		}
		f.Add(docComment(fmt.Sprintf("%s reports whether the derivative in terms of the output is valid "+
			"for these parameters: %s.", outputOKName(a), oneLine(a.OutputRequires.Src))))
		f.Func().Id(outputOKName(a)).Params(paramSig(a, t)...).Bool().Block(jen.Return(cond))
		f.Line()
	}

	for _, d := range directions {
		p := ks[d]
		if p == nil {
			continue
		}
		emitAPIFunc(f, a, d, p, atDefaults[d], t)
	}
	return nil
}

// float32DocLines shows, in the float32 package, the formula the kernel of
// direction d evaluates when the spec gives float32 kernels one of their
// own (spec.Activation.Float32).
func float32DocLines(a *spec.Activation, d vprog.Direction, t string) []string {
	if t != "float32" {
		return nil
	}
	kf := a.Kernels(true)
	var line string
	switch {
	case d == vprog.Forward && kf.Forward != &a.Forward:
		line = "\tf(x) = " + oneLine(kf.Forward.Src)
	case d == vprog.Backward && kf.Derivative != &a.Derivative:
		line = "\tf'(x) = " + oneLine(kf.Derivative.Src)
	case d == vprog.BackwardFromOutput && kf.DerivativeOutput != a.DerivativeOutput:
		line = "\tg(y) = " + oneLine(kf.DerivativeOutput.Src)
	default:
		return nil
	}
	return []string{"", "The float32 kernels compute the same function from a formula without " +
		"the corrections only a float64 result needs:", "", line}
}

// emitAPIFunc renders the exported function of direction d, which runs
// p's kernels, or pd's (nil: none) when the call passes the defaults.
func emitAPIFunc(f *jen.File, a *spec.Activation, d vprog.Direction, p, pd *vprog.Program, t string) {
	fn := apiName(a, d)
	slices, order := apiSlices(d)
	var lines []string
	switch d {
	case vprog.Forward:
		lines = []string{
			fmt.Sprintf("%s sets dst[i] = f(x[i]) for every i: %s", fn, sentence(a.Doc)),
			"",
			"\tf(x) = " + oneLine(a.Forward.Src),
		}
		lines = append(lines, letLines(a.Lets)...)
	case vprog.Backward:
		lines = []string{
			fmt.Sprintf("%s is the gradient of %s: it sets dx[i] = dy[i] * f'(x[i]) for every i, where", fn, a.GoName),
			"",
			"\tf(x)  = " + oneLine(a.Forward.Src),
			"\tf'(x) = " + oneLine(a.Derivative.Src),
		}
		lines = append(lines, letLines(a.Lets)...)
		for _, k := range a.Kinks {
			l := fmt.Sprintf("At x = %s, where f' jumps, the gradient is %s", oneLine(k.At.Src), oneLine(k.Gradient.Src))
			if k.Why != "" {
				l += ": " + sentence(k.Why)
			} else {
				l += "."
			}
			lines = append(lines, "", l)
		}
	case vprog.BackwardFromOutput:
		lines = []string{
			fmt.Sprintf("%s is the gradient of %s computed from its output y = f(x) "+
				"(saved in the forward pass) instead of x: it sets dx[i] = dy[i] * g(y[i]), where", fn, a.GoName),
			"",
			"\tg(y) = " + oneLine(a.DerivativeOutput.Src),
		}
		lines = append(lines, letLines(a.LetsOutput)...)
		if a.OutputRequires != nil {
			lines = append(lines, "", fmt.Sprintf("This form is valid only when %s; "+
				"%s panics otherwise (use %sBackward).", oneLine(a.OutputRequires.Src), fn, a.GoName))
		}
	}
	lines = append(lines, float32DocLines(a, d, t)...)
	lines = append(lines, paramDocLines(a)...)
	if pd != nil {
		var at []string
		for _, p := range a.Params {
			at = append(at, goParam(p.Name)+" = "+fmtFloat(p.Default))
		}
		lines = append(lines, "", fmt.Sprintf("At the defaults (%s) the call runs kernels specialized for them, "+
			"with each parameter a constant, which costs less: they meet the same accuracy bar, "+
			"but their last bit may differ from the general kernels'.", strings.Join(at, ", ")))
	}
	lines = append(lines, commonDocLines(a)...)
	out := slices[0]
	lines = append(lines, "", fmt.Sprintf("All slices must have the same length. %s may be the same slice as "+
		"an input (in place); any other overlap between %s and an input panics.", out, out))
	f.Add(docComment(lines...))

	var body []jen.Code
	// Length check naming every slice.
	var cond *jen.Statement
	for _, s := range slices[1:] {
		c := jen.Len(jen.Id(s)).Op("!=").Len(jen.Id(out))
		if cond == nil {
			cond = c
		} else {
			cond = cond.Op("||").Add(c)
		}
	}
	var fmtParts []string
	lens := []jen.Code{}
	for _, s := range slices {
		fmtParts = append(fmtParts, fmt.Sprintf("len(%s) = %%d", s))
		lens = append(lens, jen.Len(jen.Id(s)))
	}
	body = append(body, jen.If(cond).Block(jen.Panic(jen.Qual("fmt", "Sprintf").Call(
		append([]jen.Code{jen.Lit(fmt.Sprintf("actkern: %s: %s", fn, strings.Join(fmtParts, ", ")))}, lens...)...))))
	for _, s := range slices[1:] {
		body = append(body, jen.If(jen.Id("partialOverlap").Call(jen.Id(out), jen.Id(s))).Block(
			jen.Panic(jen.Lit(fmt.Sprintf("actkern: %s: %s and %s overlap partially (only %s == %s, in place, is allowed)", fn, out, s, out, s)))))
	}
	if hasRules(a) {
		body = append(body, jen.If(jen.Err().Op(":=").Id(checkName(a)).Call(paramArgs(a)...), jen.Err().Op("!=").Nil()).Block(
			jen.Panic(jen.Lit(fmt.Sprintf("actkern: %s: ", fn)).Op("+").Err().Dot("Error").Call())))
	}
	if d == vprog.BackwardFromOutput && a.OutputRequires != nil {
		var parts []string
		var vals []jen.Code
		for _, p := range a.Params {
			parts = append(parts, p.Name+" = %v")
			vals = append(vals, jen.Id(goParam(p.Name)))
		}
		msg := fmt.Sprintf("actkern: %s: the output form needs %s (got %s)", fn, oneLine(a.OutputRequires.Src), strings.Join(parts, ", "))
		body = append(body, jen.If(jen.Op("!").Id(outputOKName(a)).Call(paramArgs(a)...)).Block(
			jen.Panic(jen.Qual("fmt", "Sprintf").Call(append([]jen.Code{jen.Lit(msg)}, vals...)...))))
	}
	var call []string
	for _, k := range order {
		call = append(call, slices[k])
	}
	if pd != nil {
		atDefaults := append(streamCall(pd, call, paramArgs(a)), jen.Return())
		body = append(body, jen.If(defaultsCond(a, t)).Block(atDefaults...))
	}
	body = append(body, rareCall(p, call, paramArgs(a))...)
	body = append(body, streamCall(p, call, paramArgs(a))...)

	sl := make([]jen.Code, len(slices))
	for i, s := range slices {
		sl[i] = jen.Id(s)
	}
	params := append([]jen.Code{jen.List(sl...).Index().Id(t)}, paramSig(a, t)...)
	f.Func().Id(fn).Params(params...).Block(body...)
	f.Line()
}

// defaultsCond is the API's test that every parameter has its default, as
// the element type t holds it (the value the specialized kernels bind).
func defaultsCond(a *spec.Activation, t string) *jen.Statement {
	var cond *jen.Statement
	for _, p := range a.Params {
		v := p.Default
		if t == "float32" {
			v = float64(float32(v))
		}
		c := jen.Id(goParam(p.Name)).Op("==").Id(t).Call(floatCode(v))
		if cond == nil {
			cond = c
		} else {
			cond = cond.Op("&&").Add(c)
		}
	}
	return cond
}

// emitGenericFile renders <name>_generic.go: the Impl variables and the
// pure-Go kernels, the general ones (ks) and those specialized for the
// defaults (atDefaults, nil where there are none).
func emitGenericFile(f *jen.File, a *spec.Activation, ks, atDefaults kernels, helpers helperSet) error {
	// Every kernel of the file: per direction the general kernel, its
	// usual twin (a rare path's) and the one at the defaults.
	type kernel struct {
		d vprog.Direction
		p *vprog.Program
	}
	var all []kernel
	for _, d := range directions {
		if p := ks[d]; p != nil {
			all = append(all, kernel{d, p})
			if usual := p.SplitRare(); usual != nil {
				all = append(all, kernel{d, usual})
			}
			if pd := atDefaults[d]; pd != nil {
				all = append(all, kernel{d, pd})
			}
		}
	}
	var vars []jen.Code
	for _, k := range all {
		vars = append(vars, jen.Id(implName(k.p)).Op("=").Id(kernelName(k.p)))
	}
	f.Add(docComment(fmt.Sprintf("The kernels %s's functions call. They start as the pure-Go kernels; "+
		"on amd64 the dispatch replaces them at init with the widest assembly the CPU runs "+
		"(see ISA).", a.GoName)))
	f.Var().Defs(vars...)
	f.Line()
	var streamVars []jen.Code
	for _, k := range all {
		streamVars = append(streamVars, streamVar(k.p, k.d))
	}
	f.Add(docComment("Their streaming twins, for outputs too large for the caches (see streamMinLen); " +
		"nil unless the dispatch has assembly with non-temporal stores."))
	f.Var().Defs(streamVars...)
	f.Line()
	for _, k := range all {
		code, err := emitKernel(k.p, k.d, helpers)
		if err != nil {
			return err
		}
		for _, c := range code {
			f.Add(c)
		}
	}
	return nil
}

// emitHelpersFile renders helpers.go: the overlap test and the bit helpers
// the kernels use.
func emitHelpersFile(f *jen.File, t string, helpers helperSet) {
	f.Add(docComment(
		"partialOverlap reports whether a and b share memory without being the " +
			"same slice. Exact aliasing (same start, same length) is how callers ask for " +
			"in-place operation and is allowed; any other shared element would let a " +
			"kernel read a value it has already overwritten.",
	))
	f.Func().Id("partialOverlap").Params(jen.List(jen.Id("a"), jen.Id("b")).Index().Id(t)).Bool().Block(
		jen.If(jen.Len(jen.Id("a")).Op("==").Lit(0).Op("||").Len(jen.Id("b")).Op("==").Lit(0)).Block(jen.Return(jen.False())),
		jen.Id("pa").Op(":=").Uintptr().Call(jen.Qual("unsafe", "Pointer").Call(jen.Qual("unsafe", "SliceData").Call(jen.Id("a")))),
		jen.Id("pb").Op(":=").Uintptr().Call(jen.Qual("unsafe", "Pointer").Call(jen.Qual("unsafe", "SliceData").Call(jen.Id("b")))),
		jen.If(jen.Id("pa").Op("==").Id("pb").Op("&&").Len(jen.Id("a")).Op("==").Len(jen.Id("b"))).Block(jen.Return(jen.False())),
		jen.Id("size").Op(":=").Qual("unsafe", "Sizeof").Call(jen.Id("a").Index(jen.Lit(0))),
		jen.Return(jen.Id("pa").Op("<").Id("pb").Op("+").Uintptr().Call(jen.Len(jen.Id("b"))).Op("*").Id("size").Op("&&").
			Id("pb").Op("<").Id("pa").Op("+").Uintptr().Call(jen.Len(jen.Id("a"))).Op("*").Id("size")),
	)
	f.Line()
	for _, c := range emitHelpers(helpers) {
		f.Add(c)
	}
}

// emitISAFile renders isa.go.
func emitISAFile(f *jen.File) {
	f.Add(docComment("isa names the kernels in use; the amd64 dispatch sets it at init."))
	f.Var().Id("isa").Op("=").Lit("generic")
	f.Line()
	f.Add(docComment(
		`ISA reports which kernels the package's functions run: "avx512", "avx2" or "generic" ` +
			"(pure Go). The choice is made once, at init, from the CPU's features; the environment " +
			`variable ACTKERN_ISA=generic|avx2|avx512 forces a lower level, and the purego build ` +
			"tag leaves only the generic kernels.",
	))
	f.Func().Id("ISA").Params().String().Block(jen.Return(jen.Id("isa")))
}

// letLines lists the named sub-expressions the formulas above use, so the
// doc comment defines every name it shows.
func letLines(lets []spec.Let) []string {
	if len(lets) == 0 {
		return nil
	}
	lines := []string{"", "with"}
	for _, l := range lets {
		lines = append(lines, fmt.Sprintf("\t%s = %s", l.Name, oneLine(l.Formula.Src)))
	}
	return lines
}
