package generate

import (
	"fmt"
	"github.com/actkern/actkern/kerneltest"
	"sort"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/vprog"
)

const kerneltestPath = "github.com/actkern/actkern/kerneltest"

// emitTestFile renders <name>_test.go: the activation described for
// kerneltest, its test and fuzz target, the plain-Go baselines and the
// benchmarks.
func emitTestFile(f *jen.File, a *spec.Activation, k kernels, prec, t string) error {
	lc := lowerCamel(a.Name)
	kt := func(name string) *jen.Statement { return jen.Qual(kerneltestPath, name) }

	// The description kerneltest checks the kernels against: kerneltest's
	// own reading of the spec entry, printed as a literal.
	d := kerneltest.FromSpec(a)
	var params []jen.Code
	for _, p := range d.Params {
		params = append(params, jen.Line().Values(jen.Id("Name").Op(":").Lit(p.Name), jen.Id("Default").Op(":").Add(floatCode(p.Default))))
	}
	ckeys := make([]string, 0, len(d.Consts))
	for c := range d.Consts {
		ckeys = append(ckeys, c)
	}
	sort.Strings(ckeys)
	cdict := jen.Dict{}
	for _, c := range ckeys {
		cdict[jen.Lit(c)] = jen.Lit(d.Consts[c])
	}
	var thr []jen.Code
	for _, th := range d.Thresholds {
		thr = append(thr, jen.Line().Values(jen.Id("Name").Op(":").Lit(th.Name), jen.Id("F32").Op(":").Add(floatCode(th.F32)), jen.Id("F64").Op(":").Add(floatCode(th.F64))))
	}
	var kinks []jen.Code
	for _, kk := range d.Kinks {
		kinks = append(kinks, jen.Line().Values(jen.Id("At").Op(":").Lit(kk.At), jen.Id("Gradient").Op(":").Lit(kk.Gradient)))
	}
	var special []jen.Code
	for _, s := range d.Special {
		special = append(special, jen.Line().Values(jen.Id("X").Op(":").Lit(s.X), jen.Id("Forward").Op(":").Lit(s.Forward), jen.Id("Backward").Op(":").Lit(s.Backward)))
	}
	var tps []jen.Code
	for _, tp := range d.TestParams {
		keys := make([]string, 0, len(tp))
		for k := range tp {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dict := jen.Dict{}
		for _, k := range keys {
			dict[jen.Lit(k)] = floatCode(tp[k])
		}
		tps = append(tps, jen.Values(dict))
	}
	// Fields in the struct's order (jen.Dict would sort them).
	var fields []jen.Code
	field := func(name string, v jen.Code) { fields = append(fields, jen.Line().Id(name).Op(":").Add(v)) }
	field("Name", jen.Lit(d.Name))
	field("GoName", jen.Lit(d.GoName))
	if len(params) > 0 {
		field("Params", jen.Index().Add(kt("Param")).Values(append(params, jen.Line())...))
	}
	if len(ckeys) > 0 {
		field("Consts", jen.Map(jen.String()).String().Values(cdict))
	}
	if len(thr) > 0 {
		field("Thresholds", jen.Index().Add(kt("Threshold")).Values(append(thr, jen.Line())...))
	}
	field("Forward", jen.Lit(d.Forward))
	field("Derivative", jen.Lit(d.Derivative))
	if d.DerivativeOutput != "" {
		field("DerivativeOutput", jen.Lit(d.DerivativeOutput))
	}
	if d.OutputRequires != "" {
		field("OutputRequires", jen.Lit(d.OutputRequires))
	}
	if len(kinks) > 0 {
		field("Kinks", jen.Index().Add(kt("Kink")).Values(append(kinks, jen.Line())...))
	}
	if len(special) > 0 {
		field("Special", jen.Index().Add(kt("Special")).Values(append(special, jen.Line())...))
	}
	if len(tps) > 0 {
		field("TestParams", jen.Index().Map(jen.String()).Float64().Values(tps...))
	}
	if len(d.Gaps) > 0 {
		var gaps []jen.Code
		for _, g := range d.Gaps {
			gaps = append(gaps, jen.Line().Values(jen.Id("Type").Op(":").Lit(g.Type), jen.Id("Direction").Op(":").Lit(g.Direction),
				jen.Id("MaxULP").Op(":").Add(floatCode(g.MaxULP)), jen.Id("Why").Op(":").Lit(g.Why)))
		}
		field("Gaps", jen.Index().Add(kt("Gap")).Values(append(gaps, jen.Line())...))
	}
	fields = append(fields, jen.Line())
	f.Comment(fmt.Sprintf("%sActivation is the spec entry of %s, as kerneltest reads it.", lc, a.GoName))
	f.Var().Id(lc + "Activation").Op("=").Add(kt("Activation")).Values(fields...)
	f.Line()

	// The kernels, with parameters passed as a slice in spec order.
	pargs := func() []jen.Code {
		out := make([]jen.Code, len(a.Params))
		for i := range a.Params {
			out[i] = jen.Id("p").Index(jen.Lit(i))
		}
		return out
	}
	pn := "p"
	if len(a.Params) == 0 {
		pn = "_"
	}
	kfields := jen.Dict{}
	for _, d := range directions {
		if k[d] == nil {
			continue
		}
		slices, _ := apiSlices(d)
		ids := make([]jen.Code, len(slices))
		for i, s := range slices {
			ids[i] = jen.Id(s)
		}
		field := []string{"Forward", "Backward", "BackwardFromOutput"}[d]
		kfields[jen.Id(field)] = jen.Func().Params(jen.List(append(ids, jen.Id(pn))...).Index().Id(t)).Block(
			jen.Id(apiName(a, d)).Call(append(append([]jen.Code{}, ids...), pargs()...)...))
	}
	f.Var().Id(lc + "Kernels").Op("=").Add(kt("Kernels")).Types(jen.Id(t)).Values(kfields)
	f.Line()
	f.Func().Id("Test" + a.GoName).Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.Qual(kerneltestPath, "Run").Call(jen.Id("t"), jen.Id(lc+"Activation"), jen.Id(lc+"Kernels")))
	f.Line()
	f.Func().Id("Fuzz" + a.GoName).Params(jen.Id("f").Op("*").Qual("testing", "F")).Block(
		jen.Qual(kerneltestPath, "Fuzz").Call(jen.Id("f"), jen.Id(lc+"Activation"), jen.Id(lc+"Kernels")))
	f.Line()

	// Plain-Go baselines: what a Go programmer would write with package math.
	vars := map[string]jen.Code{"x": jen.Id("x")}
	psig := []jen.Code{jen.Id("x")}
	for _, p := range a.Params {
		vars[p.Name] = jen.Id(goParam(p.Name))
		psig = append(psig, jen.Id(goParam(p.Name)))
	}
	env, err := newFormulaEnv(a, prec, vars)
	if err != nil {
		return err
	}
	// A float32 package's baseline computes what its kernels compute: the
	// float32 formulas where the spec has them, without the corrections a
	// float64 result needs (and a Go programmer would not write); the
	// spec's baseline formulas where it has them instead.
	kf := a.PlainFormulas(t == "float32")
	fwd, err := env.translate(kf.Forward)
	if err != nil {
		return fmt.Errorf("forward: %v", err)
	}
	der, err := env.translate(kf.Derivative)
	if err != nil {
		return fmt.Errorf("derivative: %v", err)
	}
	plain := "plain" + a.GoName
	f.Comment(fmt.Sprintf("%s is f(x) written directly over package math: the benchmarks' baseline.", plain))
	f.Func().Id(plain).Params(jen.List(psig...).Float64()).Float64().Block(jen.Return(fwd))
	f.Line()
	f.Comment(fmt.Sprintf("%sDerivative is f'(x) written directly over package math.", plain))
	f.Func().Id(plain + "Derivative").Params(jen.List(psig...).Float64()).Float64().Block(jen.Return(der))
	f.Line()

	// Benchmarks, forward and backward: every ISA level beside the
	// plain-Go loop, through kerneltest.Bench.
	var pdefs, pids, pwide []jen.Code
	for _, p := range a.Params {
		pdefs = append(pdefs, jen.Id(t).Call(floatCode(p.Default)))
		pids = append(pids, jen.Id(goParam(p.Name)))
		pwide = append(pwide, jen.Float64().Call(jen.Id(goParam(p.Name))))
	}
	for _, d := range []vprog.Direction{vprog.Forward, vprog.Backward} {
		if k[d] == nil {
			continue
		}
		// The closures take dst and the API's inputs as in[0], in[1].
		slices, _ := apiSlices(d)
		sig := jen.Func().Params(jen.Id(slices[0]).Index().Id(t), jen.Id("in").Index().Index().Id(t))
		ids := []jen.Code{jen.Id(slices[0])}
		var bind []jen.Code
		for i, s := range slices[1:] {
			ids = append(ids, jen.Id("in").Index(jen.Lit(i)))
			bind = append(bind, jen.Id(s))
		}
		ours := sig.Clone().Block(jen.Id(apiName(a, d)).Call(append(ids, pids...)...))
		var loop jen.Code
		if d == vprog.Forward {
			loop = jen.For(jen.List(jen.Id("i"), jen.Id("v")).Op(":=").Range().Id("x")).Block(
				jen.Id("dst").Index(jen.Id("i")).Op("=").Id(t).Call(jen.Id(plain).Call(append([]jen.Code{jen.Float64().Call(jen.Id("v"))}, pwide...)...)))
		} else {
			loop = jen.For(jen.List(jen.Id("i"), jen.Id("v")).Op(":=").Range().Id("x")).Block(
				jen.Id("dx").Index(jen.Id("i")).Op("=").Id(t).Call(jen.Float64().Call(jen.Id("dy").Index(jen.Id("i"))).Op("*").
					Id(plain + "Derivative").Call(append([]jen.Code{jen.Float64().Call(jen.Id("v"))}, pwide...)...)))
		}
		var unpack []jen.Code
		for i := range bind {
			unpack = append(unpack, jen.Id("in").Index(jen.Lit(i)))
		}
		baseline := sig.Clone().Block(jen.List(bind...).Op(":=").List(unpack...), loop)
		var body []jen.Code
		if len(pids) > 0 {
			body = append(body, jen.List(pids...).Op(":=").List(pdefs...))
		}
		body = append(body, jen.Qual(kerneltestPath, "Bench").Call(jen.Id("b"), jen.Id("benchLevels"), jen.Lit(len(slices)-1),
			jen.Line().Add(ours), jen.Line().Add(baseline), jen.Line()))
		name := apiName(a, d)
		f.Comment(fmt.Sprintf("Benchmark%s times %s at every ISA level this build runs, beside the plain-Go loop over package math.", name, name))
		f.Func().Id("Benchmark" + name).Params(jen.Id("b").Op("*").Qual("testing", "B")).Block(body...)
		f.Line()
	}
	emitRarePathTest(f, a, k, t)
	return nil
}

// emitRarePathTest writes Test<Name>RarePath for an activation whose
// kernels have a rare path (vprog.SplitRare): through the API, at every
// parameter set the spec tests, the full generic kernel's bits; at the
// defaults also for one call long enough to stream.
func emitRarePathTest(f *jen.File, a *spec.Activation, k kernels, t string) {
	sets := [][]float64{a.Defaults()}
	for _, set := range a.TestParams {
		sets = append(sets, a.ParamValues(set))
	}
	var runs []jen.Code
	for _, d := range directions {
		p := k[d]
		if p == nil {
			continue
		}
		if p.SplitRare() == nil {
			continue
		}
		if d == vprog.BackwardFromOutput && a.OutputRequires != nil {
			continue // the API refuses some parameter sets
		}
		_, order := apiSlices(d)
		for si, vals := range sets {
			var ps []jen.Code
			for _, v := range vals {
				ps = append(ps, jen.Id(t).Call(floatCode(v)))
			}
			// The API's slices in its order, from in[] in the kernel's.
			apiArgs := make([]jen.Code, len(order))
			apiArgs[0] = jen.Id("dst")
			kernelArgs := []jen.Code{jen.Id("dst")}
			for i := 1; i < len(order); i++ {
				apiArgs[order[i]] = jen.Id("in").Index(jen.Lit(i - 1))
				kernelArgs = append(kernelArgs, jen.Id("in").Index(jen.Lit(i-1)))
			}
			sig := jen.Func().Params(jen.Id("dst").Index().Id(t), jen.Id("in").Index().Index().Id(t))
			// One streaming-size call per direction: at the defaults.
			streamLen := jen.Lit(0)
			if si == 0 {
				streamLen = jen.Id("streamMinLen")
			}
			runs = append(runs, jen.Qual(kerneltestPath, "RarePath").Call(jen.Id("t"), jen.Lit(p.Inputs), streamLen,
				jen.Line().Add(sig.Clone().Block(jen.Id(apiName(a, d)).Call(append(apiArgs, ps...)...))),
				jen.Line().Add(sig.Clone().Block(jen.Id(kernelName(p)).Call(append(kernelArgs, ps...)...))),
				jen.Line()))
		}
	}
	if len(runs) == 0 {
		return
	}
	name := "Test" + a.GoName + "RarePath"
	f.Comment(fmt.Sprintf("%s: the kernels skip their rare branch where no input needs it; the results "+
		"are still the full generic kernels' bits.", name))
	f.Func().Id(name).Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(runs...)
	f.Line()
}

// emitBenchHelpersFile renders bench_helpers_test.go: the ISA levels the
// benchmarks run (benchISAs and benchUseISA come from a per-platform file)
// and BenchmarkCopy, the floor for kernels that only move data.
func emitBenchHelpersFile(f *jen.File, t string) {
	f.Comment("benchLevels are the ISA levels every benchmark times, restored to the init-time choice after each.")
	f.Var().Id("benchLevels").Op("=").Qual(kerneltestPath, "BenchISAs").Values(jen.Dict{
		jen.Id("Names"):   jen.Id("benchISAs").Call(),
		jen.Id("Use"):     jen.Id("benchUseISA"),
		jen.Id("Current"): jen.Id("ISA"),
	})
	f.Line()
	f.Comment("BenchmarkCopy times Go's built-in copy() of the benchmarks' slices: no kernel that reads x and writes dst can beat it.")
	f.Func().Id("BenchmarkCopy").Params(jen.Id("b").Op("*").Qual("testing", "B")).Block(
		jen.Qual(kerneltestPath, "BenchCopy").Index(jen.Id(t)).Call(jen.Id("b")))
}

// emitBenchGenericFile renders bench_generic_test.go: benchISAs and
// benchUseISA for builds without the amd64 assembly, where "generic" is the
// only level. With asm the file is for purego or !amd64 (the assembly's
// test file provides them on amd64); without it, for every build.
func emitBenchGenericFile(f *jen.File, asm bool) {
	if asm {
		f.HeaderComment("//go:build purego || !amd64")
	}
	f.Comment("benchISAs is the one level of this build: the generic kernels.")
	f.Func().Id("benchISAs").Params().Index().String().Block(jen.Return(jen.Index().String().Values(jen.Lit("generic"))))
	f.Line()
	f.Comment("benchUseISA accepts only \"generic\", the level already in use.")
	f.Func().Id("benchUseISA").Params(jen.Id("name").String()).Bool().Block(jen.Return(jen.Id("name").Op("==").Lit("generic")))
}

// formatSlice prints values as fmt.Println prints a []T.
func formatSlice(vs []float64, bits int) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.FormatFloat(v, 'g', -1, bits)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// emitExampleFile renders example_test.go (package <pkg>_test). The
// expected outputs come from the forward program's interpreter, so the
// examples also check that the kernels compute what the program says.
func emitExampleFile(f *jen.File, importPath string, acts []*spec.Activation, ks map[string]kernels, mem vprog.Type) error {
	t := goType(mem)
	bits := mem.Bits()
	if len(acts) == 0 {
		return nil
	}
	q := func(name string) *jen.Statement { return jen.Qual(importPath, name) }
	eval := func(a *spec.Activation, xs []float64, pv []float64) []float64 {
		p := ks[a.Name][vprog.Forward]
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = p.Eval([]float64{x}, pv)
		}
		return out
	}
	round := func(v float64) float64 {
		if mem == vprog.F32 {
			return float64(float32(v))
		}
		return v
	}
	defaults := func(a *spec.Activation) []float64 {
		pv := make([]float64, len(a.Params))
		for i, p := range a.Params {
			pv[i] = round(p.Default)
		}
		return pv
	}

	// In-place forward on a function without parameters: sigmoid if the
	// spec has it.
	var simple *spec.Activation
	for _, a := range acts {
		if len(a.Params) == 0 && (simple == nil || a.Name == "sigmoid") {
			simple = a
		}
	}
	if simple != nil {
		xs := []float64{-2, -1, 0, 1, 2}
		lits := make([]jen.Code, len(xs))
		for i, x := range xs {
			lits[i] = jen.Lit(int(x))
		}
		f.Func().Id("Example"+simple.GoName).Params().Block(
			jen.Id("x").Op(":=").Index().Id(t).Values(lits...),
			jen.Add(q(simple.GoName)).Call(jen.Id("x"), jen.Id("x")).Comment("in place: dst may be x"),
			jen.Qual("fmt", "Println").Call(jen.Id("x")),
			jen.Comment("Output:"),
			jen.Comment(formatSlice(eval(simple, xs, nil), bits)),
		)
		f.Line()
	}

	// Selection by name, with defaults, and the error for a bad parameter.
	a := acts[0]
	for _, c := range acts {
		if len(c.Params) > 0 {
			a = c
			break
		}
	}
	xs := []float64{-1, 0, 1}
	pd := jen.Dict{}
	if len(a.Params) > 0 {
		pd[jen.Lit(a.Params[0].Name)] = floatCode(a.Params[0].Default)
	}
	has := "it has none"
	if len(a.Params) > 0 {
		var names []string
		for _, p := range a.Params {
			names = append(names, p.Name)
		}
		has = "parameters: " + strings.Join(names, ", ")
	}
	f.Func().Id("ExampleNew").Params().Block(
		jen.List(jen.Id("a"), jen.Err()).Op(":=").Add(q("New")).Call(jen.Lit(a.Name), q("Params").Values(pd)),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Qual("fmt", "Println").Call(jen.Err()), jen.Return()),
		jen.Id("x").Op(":=").Index().Id(t).Values(jen.Lit(-1), jen.Lit(0), jen.Lit(1)),
		jen.Id("dst").Op(":=").Make(jen.Index().Id(t), jen.Len(jen.Id("x"))),
		jen.Id("a").Dot("Forward").Call(jen.Id("dst"), jen.Id("x")),
		jen.Qual("fmt", "Println").Call(jen.Id("a").Dot("Name").Call(), jen.Id("dst")),
		jen.List(jen.Id("_"), jen.Err()).Op("=").Add(q("New")).Call(jen.Lit(a.Name), q("Params").Values(jen.Dict{jen.Lit("no_such_param"): jen.Lit(1)})),
		jen.Qual("fmt", "Println").Call(jen.Err()),
		jen.Comment("Output:"),
		jen.Comment(a.Name+" "+formatSlice(eval(a, xs, defaults(a)), bits)),
		jen.Comment(fmt.Sprintf("actkern: %s has no parameter %q (%s)", a.Name, "no_such_param", has)),
	)
	return nil
}
