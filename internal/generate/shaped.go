package generate

import (
	"fmt"
	"go/format"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/actkern/actkern/asm"
	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/vprog"
	"github.com/actkern/actkern/kerneltest"
)

// The kinds beyond elementwise. Each entry becomes a few vector programs
// (reductions and elementwise passes, every one compiled for every backend
// like an elementwise kernel) and a generated driver that walks the rows
// and calls them. Nothing here is written per activation.

// stage is one kernel of a shaped entry: its program and slice names.
type stage struct {
	p   *vprog.Program
	out string   // output slice ("" for a reduction)
	ins []string // input slices, program order
}

// shapedPlan is every kernel of a rows or gated entry, in emission order.
type shapedPlan struct {
	a                *spec.Activation
	fwdRed, bwdRed   []stage
	fwd, bwd, da, db *stage
	// Channel entries: fwd, bwd and dw take the weight as a parameter
	// (one call per run of inner elements); fwdVec and bwdVec take it as
	// an input (inner = 1: one call per row of channels).
	fwdVec, bwdVec, dw *stage
}

func (sp *shapedPlan) stages() []*stage {
	var out []*stage
	for i := range sp.fwdRed {
		out = append(out, &sp.fwdRed[i])
	}
	if sp.fwd != nil {
		out = append(out, sp.fwd)
	}
	for i := range sp.bwdRed {
		out = append(out, &sp.bwdRed[i])
	}
	for _, s := range []*stage{sp.bwd, sp.da, sp.db, sp.fwdVec, sp.bwdVec, sp.dw} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// scalarNames are the names a reduction list defines, in order, with
// each sum's lo name after it.
func scalarNames(rs []spec.Reduction) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
		if r.Lo != "" {
			out = append(out, r.Lo)
		}
	}
	return out
}

// lowerReductions lowers a list of reductions over the inputs ins, each
// seeing the scalars before it (before, then the earlier reductions and
// their lo parts), and returns their stages and every scalar name defined.
func lowerReductions(a *spec.Activation, prefix string, rs []spec.Reduction, ins, before []string, mem vprog.Type) ([]stage, []string, error) {
	done := append([]string(nil), before...)
	var stages []stage
	for _, r := range rs {
		p, err := vprog.LowerFormula(a, prefix+exportedName(r.Name), &r.Of,
			vprog.Names{Inputs: ins, Scalars: append([]string(nil), done...)}, mem, reducer(r.Op))
		if err != nil {
			return nil, nil, err
		}
		stages = append(stages, stage{p: p, ins: ins})
		done = append(done, scalarNames([]spec.Reduction{r})...)
	}
	return stages, done, nil
}

func reducer(op string) vprog.Reducer {
	if op == "max" {
		return vprog.ReduceMax
	}
	return vprog.ReduceSum
}

// planShaped lowers every kernel of a rows or gated entry.
func planShaped(a *spec.Activation, mem vprog.Type) (*shapedPlan, error) {
	sp := &shapedPlan{a: a}
	base := vprog.KernelName(a.Name, vprog.Forward)
	switch a.Kind {
	case "rows":
		var err error
		var done []string
		if sp.fwdRed, done, err = lowerReductions(a, base+"Reduce", a.Reduce, []string{"x"}, nil, mem); err != nil {
			return nil, err
		}
		names := vprog.Names{Inputs: []string{"x"}, Scalars: done}
		ins := []string{"x"}
		if a.RowOutput {
			// One value per row: the reductions, collected over the rows,
			// are the inputs of one elementwise pass.
			// A NaN in the row reaches the value through its maximum, whose
			// NaN is passed on (the NaN rule, from the maxima only: a NaN
			// sum beside an infinite maximum is PyTorch's ±inf, which the
			// formula decides).
			nanFrom := []string{}
			for _, r := range a.Reduce {
				if r.Op == "max" {
					nanFrom = append(nanFrom, r.Name)
				}
			}
			names, ins = vprog.Names{Inputs: done, NaNFrom: nanFrom}, done
		}
		p, err := vprog.LowerFormula(a, base, &a.Forward, names, mem, vprog.NoReduce)
		if err != nil {
			return nil, err
		}
		sp.fwd = &stage{p: p, out: "dst", ins: ins}

		ins = []string{"y", "dy"}
		var scal []string
		if a.RowOutput {
			ins, scal = []string{"x"}, []string{"y", "dy"}
		}
		if sp.bwdRed, done, err = lowerReductions(a, base+"BackwardReduce", a.BackwardReduce, ins, scal, mem); err != nil {
			return nil, err
		}
		p, err = vprog.LowerFormula(a, base+"Backward", a.Backward, vprog.Names{Inputs: ins, Scalars: done}, mem, vprog.NoReduce)
		if err != nil {
			return nil, err
		}
		sp.bwd = &stage{p: p, out: "dx", ins: ins}
	case "gated":
		for part, dst := range map[vprog.GatedPart]**stage{vprog.GatedForward: &sp.fwd, vprog.GatedDA: &sp.da, vprog.GatedDB: &sp.db} {
			p, err := vprog.LowerGated(a, part, mem)
			if err != nil {
				return nil, err
			}
			st := &stage{p: p, out: "dst", ins: []string{"a", "b"}}
			if part != vprog.GatedForward {
				st.out, st.ins = map[vprog.GatedPart]string{vprog.GatedDA: "da", vprog.GatedDB: "db"}[part], []string{"a", "b", "dy"}
			}
			*dst = st
		}
	case "channel":
		of, w := a.Of, a.ChannelParam
		lower := func(name string, f *spec.Formula, ins []string, r vprog.Reducer) (*stage, error) {
			n := vprog.Names{Inputs: ins, NaNFrom: []string{"x"}}
			out := "dst"
			if ins[len(ins)-1] == "dy" {
				n.ScaleBy, out = []string{"dy"}, "dx"
			}
			if r != vprog.NoReduce {
				out = ""
			}
			p, err := vprog.LowerFormula(of, base+name, f, n, mem, r)
			if err != nil {
				return nil, err
			}
			return &stage{p: p, out: out, ins: ins}, nil
		}
		var err error
		kf := of.Kernels(mem == vprog.F32)
		for _, st := range []struct {
			dst  **stage
			name string
			f    *spec.Formula
			ins  []string
			r    vprog.Reducer
		}{
			{&sp.fwd, "", kf.Forward, []string{"x"}, vprog.NoReduce},
			{&sp.fwdVec, "Vec", kf.Forward, []string{"x", w}, vprog.NoReduce},
			{&sp.bwd, "Backward", kf.Derivative, []string{"x", "dy"}, vprog.NoReduce},
			{&sp.bwdVec, "BackwardVec", kf.Derivative, []string{"x", w, "dy"}, vprog.NoReduce},
			{&sp.dw, "BackwardWeight", a.DerivativeWeight, []string{"x", "dy"}, vprog.ReduceSum},
		} {
			if *st.dst, err = lower(st.name, st.f, st.ins, st.r); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("%s: %s: kind %q is not supported by the generator yet", a.Pos, a.Name, a.Kind)
	}
	return sp, nil
}

// channelArgs are the parameter arguments of a channel entry's kernel:
// the weight (w) for the channel parameter, the defaults for the others.
func channelArgs(a *spec.Activation, p *vprog.Program, w string) string {
	var out []string
	for _, name := range p.Params {
		if name == a.ChannelParam {
			out = append(out, w)
			continue
		}
		for _, prm := range a.Of.Params {
			if prm.Name == name {
				out = append(out, fmtFloat(prm.Default))
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return ", " + strings.Join(out, ", ")
}

// channelAPI renders a channel entry's forward and backward functions.
func channelAPI(sp *shapedPlan, t string) string {
	a := sp.a
	fn := a.GoName
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("%s\n", docText(
		fmt.Sprintf("%s sets dst[i] = %s(x[i]) with %s = weight[c], c = (i/inner) %% len(weight): %s", fn, a.Of.Name, a.ChannelParam, sentence(a.Doc)),
		"",
		"\tf(x) = "+oneLine(a.Of.Forward.Src),
		"",
		"For an N×C×(spatial) tensor in NCHW order inner is the spatial size (H·W); in NHWC order it is 1. "+
			"A weight of length 1 is shared by every element. dst may be x. "+
			"It panics unless inner ≥ 1, len(weight) ≥ 1 and len(x) is a multiple of inner·len(weight).",
	))
	p("func %s(dst, x, weight []%s, inner int) {\n", fn, t)
	p("checkChannel(%q, len(dst), len(x), len(weight), inner)\n", fn)
	p("if partialOverlap(dst, x) { panic(%q) }\n", "actkern: "+fn+": dst partially overlaps x")
	p("C := len(weight)\n")
	p("switch {\ncase C == 1:\n%s(dst, x%s)\n", implName(sp.fwd.p), channelArgs(a, sp.fwd.p, "weight[0]"))
	p("case inner == 1:\nfor r := 0; r < len(x); r += C {\n%s(dst[r:r+C:r+C], x[r:r+C:r+C], weight%s)\n}\n", implName(sp.fwdVec.p), channelArgs(a, sp.fwdVec.p, ""))
	p("default:\nfor r := 0; r < len(x); r += inner {\n%s(dst[r:r+inner:r+inner], x[r:r+inner:r+inner]%s)\n}\n}\n}\n\n",
		implName(sp.fwd.p), channelArgs(a, sp.fwd.p, "weight[(r/inner)%C]"))

	p("%s\n", docText(
		fmt.Sprintf("%sBackward is the gradient of %s: dx[i] = dy[i]·f'(x[i]) with the element's weight, and", fn, fn),
		"",
		"\tdweight[c] = sum over the elements i of channel c of dy[i]·"+oneLine(a.DerivativeWeight.Src),
		"",
		"dweight is overwritten, not accumulated into (add it to a running gradient yourself). "+
			"Each product is kept exact and the sums are compensated, so dweight is accurate to a few ULP of the sum "+
			"however many elements a channel has and however they cancel. "+
			"len(dx), len(dy), len(x) must be equal and len(dweight) = len(weight); "+
			"dx may be dy or x (dweight is computed first). It panics as "+fn+" does.",
	))
	p("func %sBackward(dx, dweight, dy, x, weight []%s, inner int) {\n", fn, t)
	p("checkChannel(%q, len(dx), len(x), len(weight), inner)\n", fn+"Backward")
	p("if len(dy) != len(x) || len(dweight) != len(weight) { panic(fmt.Sprintf(\"actkern: %sBackward: len(dy) = %%d, len(x) = %%d, len(dweight) = %%d, len(weight) = %%d\", len(dy), len(x), len(dweight), len(weight))) }\n", fn)
	p("if partialOverlap(dx, dy) || partialOverlap(dx, x) || overlaps(dweight, dx) || overlaps(dweight, dy) || overlaps(dweight, x) { panic(%q) }\n", "actkern: "+fn+"Backward: overlapping arguments")
	p("C := len(weight)\n")
	p("accs := make([][16]float64, C)\n")
	p("for c := range accs { accReset(&accs[c], false) }\n")
	p("if inner == 1 && C > 1 {\n")
	p("// NHWC: gather each channel's elements, then one reduction per channel.\n")
	p("rows := len(x) / C\n")
	p("xs, ds := make([]%s, rows), make([]%s, rows)\n", t, t)
	p("for c := 0; c < C; c++ {\n")
	p("for r := 0; r < rows; r++ { xs[r], ds[r] = x[r*C+c], dy[r*C+c] }\n")
	p("%s(&accs[c], xs, ds%s)\n}\n", implName(sp.dw.p), channelArgs(a, sp.dw.p, "weight[c]"))
	p("} else {\n")
	p("for r := 0; r < len(x); r += inner {\nc := (r / inner) %% C\n")
	p("%s(&accs[c], x[r:r+inner:r+inner], dy[r:r+inner:r+inner]%s)\n}\n}\n", implName(sp.dw.p), channelArgs(a, sp.dw.p, "weight[c]"))
	p("for c := range accs { dweight[c], _ = accSum%s(&accs[c]) }\n", suffixOf(t))
	p("switch {\ncase C == 1:\n%s(dx, x, dy%s)\n", implName(sp.bwd.p), channelArgs(a, sp.bwd.p, "weight[0]"))
	p("case inner == 1:\nfor r := 0; r < len(x); r += C {\n%s(dx[r:r+C:r+C], x[r:r+C:r+C], weight, dy[r:r+C:r+C]%s)\n}\n", implName(sp.bwdVec.p), channelArgs(a, sp.bwdVec.p, ""))
	p("default:\nfor r := 0; r < len(x); r += inner {\n%s(dx[r:r+inner:r+inner], x[r:r+inner:r+inner], dy[r:r+inner:r+inner]%s)\n}\n}\n}\n",
		implName(sp.bwd.p), channelArgs(a, sp.bwd.p, "weight[(r/inner)%C]"))
	return b.String()
}

func exportedName(s string) string {
	c := lowerCamel(s)
	return strings.ToUpper(c[:1]) + c[1:]
}

// emitShapedGeneric renders the generic kernels and their dispatch variables.
func emitShapedGeneric(f *jen.File, sp *shapedPlan, helpers helperSet) error {
	var vars []jen.Code
	for _, s := range sp.stages() {
		vars = append(vars, jen.Id(implName(s.p)).Op("=").Id(kernelName(s.p)))
		if usual := stageRare(s); usual != nil {
			vars = append(vars, jen.Id(implName(usual)).Op("=").Id(kernelName(usual)))
		}
	}
	f.Add(docComment(fmt.Sprintf("The kernels %s's functions call, replaced at init by assembly where the CPU has it (see ISA).", sp.a.GoName)))
	f.Var().Defs(vars...)
	f.Line()
	for _, s := range sp.stages() {
		code, err := emitKernelNamed(s.p, s.out, s.ins, helpers)
		if err != nil {
			return err
		}
		if usual := stageRare(s); usual != nil {
			more, err := emitKernelNamed(usual, s.out, s.ins, helpers)
			if err != nil {
				return err
			}
			code = append(append(code, more...), stageRun(s))
		}
		for _, c := range code {
			f.Add(c)
		}
	}
	return nil
}

// stageRun is, for a stage with a rare path (vprog.SplitRare), the function
// the drivers call instead of its kernel: the usual kernel, which stops
// before the first element that needs the rare branch, then the full
// kernel on the rest. It takes the stage's slices only: stageRare splits
// no other stage.
func stageRun(s *stage) jen.Code {
	usual := stageRare(s)
	var params, args, rest []jen.Code
	for _, n := range append([]string{s.out}, s.ins...) {
		params = append(params, jen.Id(n))
		args = append(args, jen.Id(n))
		rest = append(rest, jen.Id(n).Index(jen.Id("done"), jen.Empty()))
	}
	return jen.Func().Id(stageCall(s)).Params(jen.List(params...).Index().Id(goType(s.p.Mem))).Block(
		jen.Comment("Few inputs need the rare branch: the full kernel only from the first that does (same bits)."),
		jen.If(
			jen.Id("done").Op(":=").Id(implName(usual)).Call(args...),
			jen.Id("done").Op("<").Len(jen.Id(s.out)),
		).Block(jen.Id(implName(s.p)).Call(rest...)),
	).Line()
}

// stageRare is the usual program of stage s's rare path
// (vprog.SplitRare), where its driver can take it: a stage whose kernel
// takes slices only, as the gated stages' do (stageRun passes nothing
// else). A stage with scalars (the rows and channel kinds') keeps its rare
// branch inline: the full program, the same bits.
func stageRare(s *stage) *vprog.Program {
	if len(s.p.Params) > 0 {
		return nil
	}
	return s.p.SplitRare()
}

// stageCall is the function a driver calls for stage s: its kernel, or its
// run function where it has a rare path.
func stageCall(s *stage) string {
	if stageRare(s) != nil {
		return s.p.Name + "Run"
	}
	return implName(s.p)
}

// reduceCall is the driver code of one reduction: reset, fold the row,
// read the value (and a sum's low part) into local variables.
func reduceCall(st stage, r spec.Reduction, args []string, t string) string {
	isMax := r.Op == "max"
	v := localName(r.Name)
	s := fmt.Sprintf("accReset(&acc, %v)\n%s(&acc, %s)\n", isMax, implName(st.p), strings.Join(args, ", "))
	if isMax {
		return s + fmt.Sprintf("%s := %s(accMax(&acc))\n", v, t)
	}
	lo := "_"
	if r.Lo != "" {
		lo = localName(r.Lo)
	}
	return s + fmt.Sprintf("%s, %s := accSum%s(&acc)\n", v, lo, suffixOf(t))
}

func localName(s string) string { return "row" + exportedName(s) }

func suffixOf(t string) string { return strings.TrimPrefix(t, "float") }

// emitRowsAPI renders a rows entry's Forward and Backward functions.
func rowsAPI(sp *shapedPlan, t string) string {
	a := sp.a
	fn := a.GoName
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	var red []string
	for _, r := range a.Reduce {
		red = append(red, fmt.Sprintf("%s = %s over the row of %s", r.Name, r.Op, oneLine(r.Of.Src)))
	}
	doc := []string{
		fmt.Sprintf("%s computes, for each row of cols contiguous elements of x, %s", fn, sentence(a.Doc)),
		"",
	}
	for _, r := range red {
		doc = append(doc, "\t"+r)
	}
	if a.RowOutput {
		doc = append(doc, "\tdst[row] = "+oneLine(a.Forward.Src), "",
			"len(dst) must be len(x)/cols.")
	} else {
		doc = append(doc, "\tdst[i] = "+oneLine(a.Forward.Src), "",
			"dst may be x (in place); len(dst) must equal len(x).")
	}
	doc = append(doc, letLines(a.Lets)...)
	doc = append(doc, "", "It panics if cols ≤ 0 or len(x) is not a multiple of cols. "+
		"Each row is independent: a NaN makes its own row NaN and no other. "+
		"The sums are compensated (double-double): rows of 10^6 elements lose no accuracy to their length.")
	p("%s\n", docText(doc...))

	p("func %s(dst, x []%s, cols int) {\n", fn, t)
	p("checkRows(%q, len(dst), len(x), cols, %v)\n", fn, a.RowOutput)
	if a.RowOutput {
		p("if overlaps(dst, x) { panic(%q) }\n", "actkern: "+fn+": dst overlaps x")
	} else {
		p("if partialOverlap(dst, x) { panic(%q) }\n", "actkern: "+fn+": dst partially overlaps x")
	}
	p("if len(x) == 0 { return }\n")
	p("rows := len(x) / cols\n")
	p("var acc [16]float64\n")
	if a.RowOutput {
		for _, n := range scalarNames(a.Reduce) {
			p("col%s := make([]%s, rows)\n", exportedName(n), t)
		}
	}
	p("for r := 0; r < rows; r++ {\n")
	p("xr := x[r*cols : (r+1)*cols : (r+1)*cols]\n")
	var done []string
	for i, r := range a.Reduce {
		args := append([]string{"xr"}, done...)
		p("%s", reduceCall(sp.fwdRed[i], r, args, t))
		done = append(done, localName(r.Name))
		if r.Lo != "" {
			done = append(done, localName(r.Lo))
		}
	}
	if a.RowOutput {
		for _, n := range scalarNames(a.Reduce) {
			p("col%s[r] = %s\n", exportedName(n), localName(n))
		}
		p("}\n")
		var cols []string
		for _, n := range scalarNames(a.Reduce) {
			cols = append(cols, "col"+exportedName(n))
		}
		p("%s(dst, %s)\n", implName(sp.fwd.p), strings.Join(cols, ", "))
	} else {
		p("%s(dst[r*cols:(r+1)*cols:(r+1)*cols], %s)\n", implName(sp.fwd.p), strings.Join(append([]string{"xr"}, done...), ", "))
		p("}\n")
	}
	p("}\n\n")

	// Backward.
	bfn := fn + "Backward"
	if a.RowOutput {
		p("%s\n", docText(
			fmt.Sprintf("%s is the gradient of %s: for each row, with y = %s(x) and dy the row's output gradient (one value per row each),", bfn, fn, fn),
			"",
			"\tdx[i] = "+oneLine(a.Backward.Src),
			"",
			"len(dx) must equal len(x); len(dy) and len(y) must be len(x)/cols. dx may be x.",
		))
		p("func %s(dx, dy, x, y []%s, cols int) {\n", bfn, t)
		p("checkRows(%q, len(dx), len(x), cols, false)\n", bfn)
		p("checkRows(%q, len(dy), len(x), cols, true)\n", bfn)
		p("checkRows(%q, len(y), len(x), cols, true)\n", bfn)
		p("if partialOverlap(dx, x) || overlaps(dx, dy) || overlaps(dx, y) { panic(%q) }\n", "actkern: "+bfn+": dx overlaps an input")
	} else {
		doc := []string{
			fmt.Sprintf("%s is the gradient of %s computed from its output y (saved in the forward pass): for each row,", bfn, fn),
			"",
		}
		for _, r := range a.BackwardReduce {
			doc = append(doc, fmt.Sprintf("\t%s = %s over the row of %s", r.Name, r.Op, oneLine(r.Of.Src)))
		}
		doc = append(doc, "\tdx[i] = "+oneLine(a.Backward.Src), "",
			"dx, dy and y have the same length, a multiple of cols; dx may be dy or y.")
		p("%s\n", docText(doc...))
		p("func %s(dx, dy, y []%s, cols int) {\n", bfn, t)
		p("checkRows(%q, len(dx), len(y), cols, false)\n", bfn)
		p("checkRows(%q, len(dy), len(y), cols, false)\n", bfn)
		p("if partialOverlap(dx, dy) || partialOverlap(dx, y) { panic(%q) }\n", "actkern: "+bfn+": dx partially overlaps dy or y")
	}
	p("if len(dx) == 0 { return }\n")
	p("rows := len(dx) / cols\n")
	if len(a.BackwardReduce) > 0 {
		p("var acc [16]float64\n")
	}
	p("for r := 0; r < rows; r++ {\n")
	p("lo, hi := r*cols, (r+1)*cols\n")
	var ins []string
	done = nil
	if a.RowOutput {
		ins = []string{"x[lo:hi:hi]"}
		done = []string{"y[r]", "dy[r]"}
	} else {
		ins = []string{"y[lo:hi:hi]", "dy[lo:hi:hi]"}
	}
	for i, r := range a.BackwardReduce {
		args := append(append([]string(nil), ins...), done...)
		p("%s", reduceCall(sp.bwdRed[i], r, args, t))
		done = append(done, localName(r.Name))
		if r.Lo != "" {
			done = append(done, localName(r.Lo))
		}
	}
	p("%s(dx[lo:hi:hi], %s)\n", implName(sp.bwd.p), strings.Join(append(ins, done...), ", "))
	p("}\n}\n")
	return b.String()
}

// emitGatedAPI renders a gated entry's row and pair functions.
func gatedAPI(sp *shapedPlan, t string) string {
	a := sp.a
	fn := a.GoName
	form := a.Gate.Name + "(a)*b"
	if a.GateOn == "b" {
		form = "a*" + a.Gate.Name + "(b)"
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("%s\n", docText(
		fmt.Sprintf("%s splits each row of 2·cols elements of x into halves a | b (the last dimension, as torch.nn.functional.glu) and sets the row of dst to %s: %s", fn, form, sentence(a.Doc)),
		"",
		fmt.Sprintf("len(dst) must be len(x)/2 and len(x) a multiple of 2·cols; dst must not overlap x. %s is %s's formula, kernels and accuracy.", a.Gate.Name, a.Gate.GoName),
	))
	p("func %s(dst, x []%s, cols int) {\n", fn, t)
	p("checkGated(%q, len(dst), len(x), cols)\n", fn)
	p("if partialOverlap(dst, x) || (len(dst) > 0 && &dst[0] == &x[0]) { panic(%q) }\n", "actkern: "+fn+": dst overlaps x")
	p("for r := 0; r < len(dst)/cols; r++ {\n")
	p("a, b := x[2*r*cols:(2*r+1)*cols:(2*r+1)*cols], x[(2*r+1)*cols:(2*r+2)*cols:(2*r+2)*cols]\n")
	p("%s(dst[r*cols:(r+1)*cols:(r+1)*cols], a, b)\n}\n}\n\n", stageCall(sp.fwd))

	p("%s\n", docText(
		fmt.Sprintf("%sBackward is the gradient of %s: with a | b the halves of each row of x and dy the output gradient, it writes dy·∂f/∂a and dy·∂f/∂b into the same halves of dx.", fn, fn),
		"",
		"len(dx) must equal len(x), len(dy) len(x)/2; dx must not overlap x or dy.",
	))
	p("func %sBackward(dx, dy, x []%s, cols int) {\n", fn, t)
	p("checkGated(%q, len(dy), len(x), cols)\n", fn+"Backward")
	p("if len(dx) != len(x) { panic(fmt.Sprintf(\"actkern: %sBackward: len(dx) = %%d, want len(x) = %%d\", len(dx), len(x))) }\n", fn)
	p("if overlaps(dx, x) || overlaps(dx, dy) { panic(%q) }\n", "actkern: "+fn+"Backward: dx overlaps x or dy")
	p("for r := 0; r < len(dy)/cols; r++ {\n")
	p("lo, mid, hi := 2*r*cols, (2*r+1)*cols, (2*r+2)*cols\n")
	p("a, b, g := x[lo:mid:mid], x[mid:hi:hi], dy[r*cols:(r+1)*cols:(r+1)*cols]\n")
	p("%s(dx[lo:mid:mid], a, b, g)\n", stageCall(sp.da))
	p("%s(dx[mid:hi:hi], a, b, g)\n}\n}\n\n", stageCall(sp.db))

	p("%s\n", docText(
		fmt.Sprintf("%sPair is %s for callers who keep the halves apart: dst[i] = %s with a[i], b[i]. dst may be a or b.", fn, fn, form),
	))
	p("func %sPair(dst, a, b []%s) {\n", fn, t)
	p("if len(a) != len(dst) || len(b) != len(dst) { panic(fmt.Sprintf(\"actkern: %sPair: len(dst) = %%d, len(a) = %%d, len(b) = %%d: must be equal\", len(dst), len(a), len(b))) }\n", fn)
	p("if partialOverlap(dst, a) || partialOverlap(dst, b) { panic(%q) }\n", "actkern: "+fn+"Pair: dst partially overlaps a or b")
	p("%s(dst, a, b)\n}\n\n", stageCall(sp.fwd))

	p("%s\n", docText(
		fmt.Sprintf("%sPairBackward is the gradient of %sPair: da[i] = dy[i]·∂f/∂a, db[i] = dy[i]·∂f/∂b. da and db must not overlap a or b (da is written before db is computed); they may be dy.", fn, fn),
	))
	p("func %sPairBackward(da, db, dy, a, b []%s) {\n", fn, t)
	p("n := len(dy)\n")
	p("if len(da) != n || len(db) != n || len(a) != n || len(b) != n { panic(fmt.Sprintf(\"actkern: %sPairBackward: len(da) = %%d, len(db) = %%d, len(dy) = %%d, len(a) = %%d, len(b) = %%d: must be equal\", len(da), len(db), n, len(a), len(b))) }\n", fn)
	p("if overlaps(da, a) || overlaps(da, b) || overlaps(db, a) || overlaps(db, b) || overlaps(da, db) { panic(%q) }\n", "actkern: "+fn+"PairBackward: da or db overlaps an input")
	p("%s(da, a, b, dy)\n", stageCall(sp.da))
	p("%s(db, a, b, dy)\n}\n", stageCall(sp.db))
	return b.String()
}

// shapedHelpers is the per-package Go the drivers share (text: it has no
// per-activation part). T is the element type.
func shapedHelpers(t string) string {
	return strings.NewReplacer("T", t, "SUF", suffixOf(t)).Replace(`
// checkRows panics unless x holds whole rows of cols elements and dst has
// one element per element of x (rowOut false) or one per row (rowOut true).
func checkRows(fn string, ndst, nx, cols int, rowOut bool) {
	if cols <= 0 {
		panic(fmt.Sprintf("actkern: %s: cols = %d, must be positive", fn, cols))
	}
	if nx%cols != 0 {
		panic(fmt.Sprintf("actkern: %s: len = %d is not a multiple of cols = %d", fn, nx, cols))
	}
	want := nx
	if rowOut {
		want = nx / cols
	}
	if ndst != want {
		panic(fmt.Sprintf("actkern: %s: length %d, want %d (len %d, cols %d)", fn, ndst, want, nx, cols))
	}
}

// checkGated panics unless x holds whole rows of 2·cols elements and dst
// one element per pair.
func checkGated(fn string, ndst, nx, cols int) {
	if cols <= 0 {
		panic(fmt.Sprintf("actkern: %s: cols = %d, must be positive", fn, cols))
	}
	if nx%(2*cols) != 0 || ndst != nx/2 {
		panic(fmt.Sprintf("actkern: %s: len(x) = %d must be a multiple of 2*cols = %d and the output's length %d its half", fn, nx, 2*cols, ndst))
	}
}

// checkChannel panics unless inner ≥ 1, there is a weight, x holds whole
// groups of inner·len(weight) elements and dst is as long as x.
func checkChannel(fn string, ndst, nx, nw, inner int) {
	if inner < 1 || nw < 1 {
		panic(fmt.Sprintf("actkern: %s: inner = %d, len(weight) = %d: both must be at least 1", fn, inner, nw))
	}
	if nx%(inner*nw) != 0 || ndst != nx {
		panic(fmt.Sprintf("actkern: %s: len(x) = %d must be a multiple of inner*len(weight) = %d, and the output's length %d equal to it", fn, nx, inner*nw, ndst))
	}
}

// overlaps reports whether a and b share any element (aliasing included).
func overlaps(a, b []T) bool {
	return len(a) > 0 && len(b) > 0 && (partialOverlap(a, b) || &a[0] == &b[0])
}

// accReset sets the accumulator's lanes to the reduction's identity (as
// vprog.Acc.Reset): -Inf for a max, 0 for a sum.
func accReset(acc *[16]float64, isMax bool) {
	id := 0.0
	if isMax {
		id = math.Inf(-1)
	}
	for k := 0; k < 8; k++ {
		acc[k], acc[8+k] = id, 0
	}
}

// accMax combines a max's lanes (as vprog.Acc.Max): the lowest lane's NaN,
// else the largest value.
func accMax(acc *[16]float64) float64 {
	m := math.Inf(-1)
	for k := 0; k < 8; k++ {
		v := acc[k]
		if v != v {
			return v
		}
		if v > m {
			m = v
		}
	}
	return m
}

// accSumSUF combines a sum's lanes into hi + lo (as vprog.Acc.Sum, then
// split into two Ts): hi is the sum rounded to T, lo the rest.
func accSumSUF(acc *[16]float64) (T, T) {
	plain := 0.0
	for k := 0; k < 8; k++ {
		plain += acc[k]
	}
	if math.IsInf(plain, 0) || plain != plain {
		return T(plain), 0
	}
	hi, lo := 0.0, 0.0
	for k := 0; k < 8; k++ {
		t := hi + acc[k]
		bp := t - hi
		e := (hi - (t - bp)) + (acc[k] - bp)
		e += lo + acc[8+k]
		hi = t + e
		lo = e - (hi - t)
	}
	h := T(hi)
	return h, T((hi - float64(h)) + lo)
}
`)
}

// emitShapedTest renders the test of a rows or gated entry: the entry as
// kerneltest reads it and its functions, for RunRows or RunGated.
func shapedTest(sp *shapedPlan, prec, t string) (string, error) {
	a := sp.a
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	// The description kerneltest checks the kernels against, printed as
	// a Go literal (as the elementwise tests print FromSpec's).
	lit := func(v any) string { return fmt.Sprintf("%#v", v) }
	lc := lowerCamel(a.Name)
	switch a.Kind {
	case "rows":
		p("var %sRows = %s\n\n", lc, lit(kerneltest.RowsFromSpec(a, prec)))
		kernels := fmt.Sprintf("kerneltest.RowsKernels[%s]{Forward: %s, Backward: %sBackward}", t, a.GoName, a.GoName)
		if a.RowOutput {
			kernels = fmt.Sprintf("kerneltest.RowsKernels[%s]{Forward: %s, BackwardRow: %sBackward}", t, a.GoName, a.GoName)
		}
		p("func Test%s(t *testing.T) {\nkerneltest.RunRows(t, %sRows, %s)\n}\n\n", a.GoName, lc, kernels)
		p("func Fuzz%s(f *testing.F) {\nkerneltest.FuzzRows(f, %sRows, %s)\n}\n", a.GoName, lc, kernels)
	case "gated":
		p("var %sGated = %s\n\n", lc, lit(kerneltest.GatedFromSpec(a, prec)))
		kernels := fmt.Sprintf("kerneltest.GatedKernels[%s]{Forward: %s, Backward: %sBackward, Pair: %sPair, PairBackward: %sPairBackward}", t, a.GoName, a.GoName, a.GoName, a.GoName)
		p("func Test%s(t *testing.T) {\nkerneltest.RunGated(t, %sGated, %s)\n}\n\n", a.GoName, lc, kernels)
		p("func Fuzz%s(f *testing.F) {\nkerneltest.FuzzGated(f, %sGated, %s)\n}\n", a.GoName, lc, kernels)
	case "channel":
		p("var %sChannel = %s\n\n", lc, lit(kerneltest.ChannelFromSpec(a, prec)))
		kernels := fmt.Sprintf("kerneltest.ChannelKernels[%s]{Forward: %s, Backward: %sBackward}", t, a.GoName, a.GoName)
		p("func Test%s(t *testing.T) {\nkerneltest.RunChannel(t, %sChannel, %s)\n}\n\n", a.GoName, lc, kernels)
		p("func Fuzz%s(f *testing.F) {\nkerneltest.FuzzChannel(f, %sChannel, %s)\n}\n", a.GoName, lc, kernels)
	}
	plain, err := plainCode(sp, prec, t)
	if err != nil {
		return "", err
	}
	p("\n%s\n%s", plain, benchCode(sp, t))
	return b.String(), nil
}

// benchCode renders a shaped entry's benchmarks, beside its plain-Go
// baseline: softmax-family rows of 128, 1024 and 32768 columns (2^20
// elements), a LLaMA-sized gated MLP (4096 rows of 11008 pairs), PReLU on
// 64 channels of 56×56 in NCHW and NHWC.
func benchCode(sp *shapedPlan, t string) string {
	a := sp.a
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	shapes := func(list []string) string { return "[]kerneltest.BenchShape{" + strings.Join(list, ", ") + "}" }
	bench := func(name, doc, shapeList, kernel, plain string) {
		p("// Benchmark%s times %s at every ISA level this build runs, beside the plain-Go loop over package math.\n", name, doc)
		p("func Benchmark%s(b *testing.B) {\nkerneltest.BenchShaped(b, benchLevels, %s,\nfunc(s kerneltest.BenchShape, dst []%s, in [][]%s) { %s },\nfunc(s kerneltest.BenchShape, dst []%s, in [][]%s) { %s })\n}\n\n",
			name, shapeList, t, t, kernel, t, t, plain)
	}
	switch a.Kind {
	case "rows":
		const n = 1 << 20
		var fwd, bwd []string
		for _, cols := range []int{128, 1024, 32768} {
			out, rows := n, n/cols
			if a.RowOutput {
				out = rows
				bwd = append(bwd, fmt.Sprintf("{Name: \"cols=%d\", In: []int{%d, %d, %d}, Out: %d, Arg: %d}", cols, rows, n, rows, n, cols))
			} else {
				bwd = append(bwd, fmt.Sprintf("{Name: \"cols=%d\", In: []int{%d, %d}, Out: %d, Arg: %d}", cols, n, n, n, cols))
			}
			fwd = append(fwd, fmt.Sprintf("{Name: \"cols=%d\", In: []int{%d}, Out: %d, Arg: %d}", cols, n, out, cols))
		}
		bench(a.GoName, a.GoName, shapes(fwd), a.GoName+"(dst, in[0], s.Arg)", "plain"+a.GoName+"(dst, in[0], s.Arg)")
		args := "dst, in[0], in[1], s.Arg"
		if a.RowOutput {
			args = "dst, in[0], in[1], in[2], s.Arg"
		}
		bench(a.GoName+"Backward", a.GoName+"Backward", shapes(bwd), a.GoName+"Backward("+args+")", "plain"+a.GoName+"Backward("+args+")")
	case "gated":
		list := shapes([]string{
			"{Name: \"rows=16/cols=4096\", In: []int{2 * 16 * 4096}, Out: 16 * 4096, Arg: 4096}",
			"{Name: \"rows=4096/cols=11008\", In: []int{2 * 4096 * 11008}, Out: 4096 * 11008, Arg: 11008}",
		})
		bench(a.GoName, a.GoName, list, a.GoName+"(dst, in[0], s.Arg)", "plain"+a.GoName+"(dst, in[0], s.Arg)")
	case "channel":
		const n = 64 * 56 * 56
		list := shapes([]string{
			fmt.Sprintf("{Name: \"nchw=64x56x56\", In: []int{%d, 64}, Out: %d, Arg: 56 * 56}", n, n),
			fmt.Sprintf("{Name: \"nhwc=56x56x64\", In: []int{%d, 64}, Out: %d, Arg: 1}", n, n),
		})
		bench(a.GoName, a.GoName, list, a.GoName+"(dst, in[0], in[1], s.Arg)", "plain"+a.GoName+"(dst, in[0], in[1], s.Arg)")
	}
	return b.String()
}

// emitShapedFiles writes, for each rows or gated entry, its API file, its
// generic kernels and its test, and the helpers they share.
func emitShapedFiles(pr precision, t string, shaped map[string]*shapedPlan, helpers helperSet,
	newFile func(string) *jen.File, render func(string, *jen.File) error, add func(string, []byte) error) error {
	if len(shaped) == 0 {
		return nil
	}
	names := make([]string, 0, len(shaped))
	for n := range shaped {
		names = append(names, n)
	}
	sort.Strings(names)
	text := func(name, imports, body string) error {
		src := "// " + header + "\n\npackage " + pr.pkg + "\n\n" + imports + "\n" + body
		out, err := format.Source([]byte(src))
		if err != nil {
			return fmt.Errorf("%s/%s: %w\n%s", pr.pkg, name, err, src)
		}
		return add(path.Join(pr.pkg, name), out)
	}
	if err := text("shaped_helpers.go", `import (
	"fmt"
	"math"
)
`, shapedHelpers(t)); err != nil {
		return err
	}
	if err := text("rowwise.go", `import (
	"fmt"
	"sort"
	"strings"
)
`, rowwiseRegistry(shaped, names, t)); err != nil {
		return err
	}
	for _, n := range names {
		sp := shaped[n]
		f := newFile(pr.pkg)
		if err := emitShapedGeneric(f, sp, helpers); err != nil {
			return fmt.Errorf("%s: %s: %w", sp.a.Pos, sp.a.Name, err)
		}
		if err := render(n+"_generic.go", f); err != nil {
			return err
		}
		var api, imports string
		switch sp.a.Kind {
		case "rows":
			api = rowsAPI(sp, t)
		case "gated":
			api, imports = gatedAPI(sp, t), `import "fmt"`
		case "channel":
			api, imports = channelAPI(sp, t), `import "fmt"`
		}
		if err := text(n+".go", imports, api); err != nil {
			return err
		}
		test, err := shapedTest(sp, pr.pkg, t)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", sp.a.Pos, sp.a.Name, err)
		}
		imports = `import (
	"testing"

	"github.com/actkern/actkern/kerneltest"
)
`
		if mathUse.MatchString(test) {
			imports = strings.Replace(imports, `"testing"`, "\"math\"\n\t\"testing\"", 1)
		}
		if err := text(n+"_test.go", imports, test); err != nil {
			return err
		}
	}
	return nil
}

// stageKernel describes a shaped entry's kernel for the assembly tests. Its
// parameters are row values (a maximum, a sum, its low part), so the
// agreement tests run it at two ordinary sets of them.
func stageKernel(p *vprog.Program) asm.Kernel {
	k := asm.Kernel{Program: p}
	if len(p.Params) > 0 {
		a, b := make([]float64, len(p.Params)), make([]float64, len(p.Params))
		for i := range p.Params {
			a[i], b[i] = 0.5, 1.25+float64(i)
		}
		k.ParamSets = [][]float64{a, b}
	}
	return k
}

// rowwiseRegistry renders rowwise.go: the row-wise and gated entries by
// name, for model loaders and the command line (channel entries take a
// weight and are not in it).
func rowwiseRegistry(shaped map[string]*shapedPlan, names []string, t string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`// Rowwise is a function over rows of cols contiguous elements, found by
// name with NewRowwise: the softmax family (kind rows) and the gated (GLU)
// family.
type Rowwise struct {
	name    string
	forward  func(dst, x []%s, cols int)
	backward func(dx, dy, x []%s, cols int)
	out      func(n, cols int) int
	gated    bool
}

// Name is the spec name.
func (r *Rowwise) Name() string { return r.name }

// Forward is the function itself (Softmax, GLU, ...): dst must have
// OutputLen(len(x), cols) elements.
func (r *Rowwise) Forward(dst, x []%s, cols int) { r.forward(dst, x, cols) }

// Backward sets dx to the gradient of Forward with respect to x, for dy
// the gradient of its output (OutputLen(len(x), cols) elements). Where the
// function's own Backward takes the output y (softmax), Backward computes
// y first: call that one directly if the forward pass kept y.
func (r *Rowwise) Backward(dx, dy, x []%s, cols int) { r.backward(dx, dy, x, cols) }

// OutputLen is the length of the output for n input elements in rows of
// cols: n (softmax), n/cols (logsumexp, one value per row) or n/2 (gated:
// each row of 2*cols gives cols).
func (r *Rowwise) OutputLen(n, cols int) int { return r.out(n, cols) }

// RowLen is how many input elements one row takes: cols, or 2*cols for a
// gated function (the halves a | b). The input's length must be a multiple
// of it.
func (r *Rowwise) RowLen(cols int) int {
	if r.gated {
		return 2 * cols
	}
	return cols
}

var rowwise = map[string]*Rowwise{
`, t, t, t, t)
	for _, n := range names {
		a := shaped[n].a
		var out, bwd string
		switch {
		case a.Kind == "gated":
			out = "func(n, cols int) int { return n / 2 }"
			bwd = a.GoName + "Backward"
		case a.Kind == "rows" && a.RowOutput:
			out = "func(n, cols int) int { return n / cols }"
			bwd = fmt.Sprintf("func(dx, dy, x []%s, cols int) {\ny := make([]%s, len(dy))\n%s(y, x, cols)\n%sBackward(dx, dy, x, y, cols)\n}", t, t, a.GoName, a.GoName)
		case a.Kind == "rows":
			out = "func(n, cols int) int { return n }"
			bwd = fmt.Sprintf("func(dx, dy, x []%s, cols int) {\ny := make([]%s, len(x))\n%s(y, x, cols)\n%sBackward(dx, dy, y, cols)\n}", t, t, a.GoName, a.GoName)
		default:
			continue
		}
		p("%q: {name: %q, forward: %s, backward: %s, out: %s, gated: %v},\n", a.Name, a.Name, a.GoName, bwd, out, a.Kind == "gated")
	}
	p(`}

// RowwiseNames lists the names NewRowwise knows, sorted.
func RowwiseNames() []string {
	out := make([]string, 0, len(rowwise))
	for n := range rowwise {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NewRowwise returns the row-wise or gated function called name.
func NewRowwise(name string) (*Rowwise, error) {
	r, ok := rowwise[name]
	if !ok {
		return nil, fmt.Errorf("actkern: unknown row-wise activation %%q (known: %%s)", name, strings.Join(RowwiseNames(), ", "))
	}
	return r, nil
}
`)
	return b.String()
}

// plainCode is the benchmarks' baseline for a shaped entry: the same
// formulas written over package math in float64 (scalar functions, as
// the elementwise baselines), in plain loops (the row reductions as naive
// sums and maxima), as a Go programmer would.
func plainCode(sp *shapedPlan, prec, t string) (string, error) {
	a := sp.a
	var funcs []jen.Code // the scalar functions, rendered by jen
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	// scalar declares func name(vars...) float64 { return f } and returns
	// a call of it on args (Go expressions).
	scalar := func(owner *spec.Activation, name string, vars []string, f *spec.Formula) error {
		bound := map[string]jen.Code{}
		var params []jen.Code
		for _, v := range vars {
			bound[v] = jen.Id(goParam(v))
			params = append(params, jen.Id(goParam(v)))
		}
		env, err := newFormulaEnv(owner, prec, bound)
		if err != nil {
			return err
		}
		c, err := env.translate(f)
		if err != nil {
			return err
		}
		funcs = append(funcs, jen.Func().Id(name).Params(jen.List(params...).Float64()).Float64().Block(jen.Return(c)), jen.Line())
		return nil
	}
	call := func(name string, args []string) string { return name + "(" + strings.Join(args, ", ") + ")" }
	pn := "plain" + a.GoName
	// reductions emits the loops computing rs over the row lo:hi, each lo
	// part 0, the element's values being elem.
	reductions := func(rs []spec.Reduction, prefix string, elem []string, before []string) ([]string, error) {
		done := append([]string(nil), before...)
		for _, r := range rs {
			v := goParam(r.Name)
			fn := pn + prefix + exportedName(r.Name)
			vars := append(append([]string(nil), elemNames(elem)...), specNames(done)...)
			if err := scalar(a, fn, vars, &r.Of); err != nil {
				return nil, err
			}
			if r.Op == "max" {
				p("%s := math.Inf(-1)\n", v)
			} else {
				p("%s := 0.0\n", v)
			}
			p("for i := lo; i < hi; i++ {\nt := %s\n", call(fn, append(elemExprs(elem), goNames(done)...)))
			if r.Op == "max" {
				p("if t > %s || t != t { %s = t }\n}\n", v, v)
			} else {
				p("%s += t\n}\n", v)
			}
			done = append(done, r.Name)
			if r.Lo != "" {
				p("%s := 0.0 // a plain sum has no low part\n", goParam(r.Lo))
				done = append(done, r.Lo)
			}
		}
		return done, nil
	}
	switch a.Kind {
	case "rows":
		p("// %s is %s over package math in float64, in plain passes over each row.\n", pn, a.GoName)
		p("func %s(dst, x []%s, cols int) {\nfor row := 0; row < len(x)/cols; row++ {\nlo, hi := row*cols, (row+1)*cols\n", pn, t)
		done, err := reductions(a.Reduce, "Reduce", []string{"x=x[i]"}, nil)
		if err != nil {
			return "", err
		}
		if a.RowOutput {
			if err := scalar(a, pn+"Row", specNames(done), &a.Forward); err != nil {
				return "", err
			}
			p("dst[row] = %s(%s)\n}\n}\n\n", t, call(pn+"Row", goNames(done)))
		} else {
			if err := scalar(a, pn+"Elem", append([]string{"x"}, specNames(done)...), &a.Forward); err != nil {
				return "", err
			}
			p("for i := lo; i < hi; i++ {\ndst[i] = %s(%s)\n}\n}\n}\n\n", t, call(pn+"Elem", append([]string{"float64(x[i])"}, goNames(done)...)))
		}
		elem := []string{"y=yIn[i]", "dy=dyIn[i]"}
		var before []string
		p("// %sBackward is %sBackward over package math in float64.\n", pn, a.GoName)
		if a.RowOutput {
			elem, before = []string{"x=x[i]"}, []string{"y", "dy"}
			p("func %sBackward(dx, dyRow, x, yRow []%s, cols int) {\nfor row := 0; row < len(x)/cols; row++ {\nlo, hi := row*cols, (row+1)*cols\n%s, %s := float64(yRow[row]), float64(dyRow[row])\n", pn, t, goParam("y"), goParam("dy"))
		} else {
			p("func %sBackward(dx, dyIn, yIn []%s, cols int) {\nfor row := 0; row < len(yIn)/cols; row++ {\nlo, hi := row*cols, (row+1)*cols\n", pn, t)
		}
		done, err = reductions(a.BackwardReduce, "BackwardReduce", elem, before)
		if err != nil {
			return "", err
		}
		if err := scalar(a, pn+"BackwardElem", append(elemNames(elem), specNames(done)...), a.Backward); err != nil {
			return "", err
		}
		p("for i := lo; i < hi; i++ {\ndx[i] = %s(%s)\n}\n}\n}\n", t, call(pn+"BackwardElem", append(elemExprs(elem), goNames(done)...)))
	case "gated":
		if err := scalar(a.Gate, pn+"Gate", []string{"x"}, a.Gate.PlainFormulas(false).Forward); err != nil {
			return "", err
		}
		u, v := "a", "b"
		if a.GateOn == "b" {
			u, v = "b", "a"
		}
		p("// %s is %s over package math in float64.\n", pn, a.GoName)
		p("func %s(dst, in []%s, cols int) {\nfor r := 0; r < len(dst)/cols; r++ {\nfor j := 0; j < cols; j++ {\n", pn, t)
		p("a, b := float64(in[2*r*cols+j]), float64(in[(2*r+1)*cols+j])\ndst[r*cols+j] = %s(%sGate(%s) * %s)\n}\n}\n}\n", t, pn, u, v)
	case "channel":
		of := a.Of
		names := []string{"x"}
		var args []string
		args = append(args, "float64(v)")
		for _, prm := range of.Params {
			names = append(names, prm.Name)
			if prm.Name == a.ChannelParam {
				args = append(args, "float64(weight[(i/inner)%len(weight)])")
			} else {
				args = append(args, fmtFloat(prm.Default))
			}
		}
		if err := scalar(of, pn+"Elem", names, of.PlainFormulas(false).Forward); err != nil {
			return "", err
		}
		p("// %s is %s over package math in float64.\n", pn, a.GoName)
		p("func %s(dst, in, weight []%s, inner int) {\nfor i, v := range in {\ndst[i] = %s(%s)\n}\n}\n", pn, t, t, call(pn+"Elem", args))
	}
	// The scalar functions, through jen (it knows the translated code's
	// imports); the file's header is dropped, the caller's file has it.
	f := jen.NewFile("plain")
	for _, c := range funcs {
		f.Add(c)
	}
	var out strings.Builder
	if err := f.Render(&out); err != nil {
		return "", err
	}
	body := out.String()
	if i := strings.Index(body, "\nfunc "); i >= 0 {
		body = body[i+1:]
	}
	return b.String() + "\n" + body, nil
}

// mathUse finds a use of package math in generated code (not the words
// "package math" in a comment).
var mathUse = regexp.MustCompile(`\bmath\.[A-Z]`)

// elemNames and elemExprs split "name=expr" element bindings; specNames is
// names as they are (the formulas' names), goNames their Go identifiers.
func elemNames(elem []string) []string {
	var out []string
	for _, e := range elem {
		out = append(out, strings.SplitN(e, "=", 2)[0])
	}
	return out
}

func elemExprs(elem []string) []string {
	var out []string
	for _, e := range elem {
		out = append(out, "float64("+strings.SplitN(e, "=", 2)[1]+")")
	}
	return out
}

func specNames(names []string) []string { return names }

func goNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = goParam(n)
	}
	return out
}

// emitShapedExamples adds to the example file one runnable example per
// shaped kind the spec has (softmax, swiglu and prelu where present),
// with the expected output computed exactly by kerneltest and printed to
// 4 decimals.
func emitShapedExamples(f *jen.File, importPath string, others []*spec.Activation, prec, t string) error {
	pick := func(kind, prefer string) *spec.Activation {
		var got *spec.Activation
		for _, a := range others {
			if a.Kind == kind && (got == nil || a.Name == prefer) {
				got = a
			}
		}
		return got
	}
	lits := func(vs []float64) []jen.Code {
		out := make([]jen.Code, len(vs))
		for i, v := range vs {
			out[i] = floatCode(v)
		}
		return out
	}
	show := func(vs []float64) string {
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = fmt.Sprintf("%.4f", v)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	q := func(name string) *jen.Statement { return jen.Qual(importPath, name) }
	printf := jen.Qual("fmt", "Printf").Call(jen.Lit("%.4f\n"), jen.Id("y"))
	if a := pick("rows", "softmax"); a != nil {
		x := []float64{1, 2, 3, 0, 0, 0}
		want, err := kerneltest.ExactRows(kerneltest.RowsFromSpec(a, prec), x, 3)
		if err != nil {
			return fmt.Errorf("example of %s: %w", a.Name, err)
		}
		n := len(x)
		if a.RowOutput {
			n = 2
		}
		f.Comment(fmt.Sprintf("Two rows of three columns; %s works on each row.", a.GoName))
		f.Func().Id("Example"+a.GoName).Params().Block(
			jen.Id("x").Op(":=").Index().Id(t).Values(lits(x)...),
			jen.Id("y").Op(":=").Make(jen.Index().Id(t), jen.Lit(n)),
			jen.Add(q(a.GoName)).Call(jen.Id("y"), jen.Id("x"), jen.Lit(3)),
			printf.Clone(),
			jen.Comment("Output:"),
			jen.Comment(show(want)),
		)
		f.Line()
	}
	if a := pick("gated", "swiglu"); a != nil {
		x := []float64{1, -1, 2, 3} // one row: a = [1, -1], b = [2, 3]
		want, err := kerneltest.ExactGated(kerneltest.GatedFromSpec(a, prec), x, 2)
		if err != nil {
			return fmt.Errorf("example of %s: %w", a.Name, err)
		}
		f.Comment(fmt.Sprintf("One row of 2·2 elements: the halves a = [1, -1] and b = [2, 3]; %sPair takes them apart.", a.GoName))
		f.Func().Id("Example"+a.GoName).Params().Block(
			jen.Id("x").Op(":=").Index().Id(t).Values(lits(x)...),
			jen.Id("y").Op(":=").Make(jen.Index().Id(t), jen.Lit(2)),
			jen.Add(q(a.GoName)).Call(jen.Id("y"), jen.Id("x"), jen.Lit(2)),
			printf.Clone(),
			jen.Comment("Output:"),
			jen.Comment(show(want)),
		)
		f.Line()
	}
	if a := pick("channel", "prelu"); a != nil {
		x, w := []float64{-1, 2, -3, 4}, []float64{0.25, 0.5}
		want, err := kerneltest.ExactChannel(kerneltest.ChannelFromSpec(a, prec), x, w, 2)
		if err != nil {
			return fmt.Errorf("example of %s: %w", a.Name, err)
		}
		f.Comment("NCHW with N = 1, two channels of 2 elements (inner = H·W = 2): one weight per channel.")
		f.Func().Id("Example"+a.GoName).Params().Block(
			jen.Id("x").Op(":=").Index().Id(t).Values(lits(x)...),
			jen.Id("weight").Op(":=").Index().Id(t).Values(lits(w)...),
			jen.Id("y").Op(":=").Make(jen.Index().Id(t), jen.Lit(len(x))),
			jen.Add(q(a.GoName)).Call(jen.Id("y"), jen.Id("x"), jen.Id("weight"), jen.Lit(2)),
			printf.Clone(),
			jen.Comment("Output:"),
			jen.Comment(show(want)),
		)
		f.Line()
	}
	return nil
}
