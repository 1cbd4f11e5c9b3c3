package generate

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/dave/jennifer/jen"

	"github.com/actkern/actkern/internal/vprog"
)

// goType is the Go name of a lane type.
func goType(t vprog.Type) string {
	if t == vprog.F32 {
		return "float32"
	}
	return "float64"
}

// sliceNames are the kernel's slice arguments for direction d: the output,
// then input 0 and input 1 in program order. The kernel signature is
// (out, in0, in1, params...), which for the backward kernels differs from
// the public API's (dx, dy, x).
func sliceNames(d vprog.Direction) (out string, ins []string) {
	switch d {
	case vprog.Backward:
		return "dx", []string{"x", "dy"}
	case vprog.BackwardFromOutput:
		return "dx", []string{"y", "dy"}
	}
	return "dst", []string{"x"}
}

// helperSet records which per-package helper functions the kernels use, so
// that exactly those are emitted (sorted, for deterministic output).
type helperSet map[string]bool

func (h helperSet) sorted() []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// kernelName is the generic kernel's identifier.
func kernelName(p *vprog.Program) string { return p.Name + "Generic" }

// implName is the variable the dispatch sets and the API calls.
func implName(p *vprog.Program) string { return p.Name + "Impl" }

// checkProgram rejects programs the emitter cannot mirror exactly, so that a
// lowering bug fails generation instead of producing a kernel that silently
// differs from Program.Eval.
func checkProgram(p *vprog.Program, wantIn, nparams int) error {
	if p.Inputs != wantIn {
		return fmt.Errorf("%s: %d inputs, want %d", p.Name, p.Inputs, wantIn)
	}
	if len(p.Params) != nparams {
		return fmt.Errorf("%s: %d parameters, want %d", p.Name, len(p.Params), nparams)
	}
	if p.Compute.Bits() < p.Mem.Bits() {
		return fmt.Errorf("%s: compute %s narrower than memory %s", p.Name, p.Compute, p.Mem)
	}
	if int(p.Result) < 0 || int(p.Result) >= len(p.Instrs) {
		return fmt.Errorf("%s: result v%d out of range", p.Name, p.Result)
	}
	if p.Instrs[p.Result].Op.GivesMask() {
		return fmt.Errorf("%s: result v%d is a mask", p.Name, p.Result)
	}
	for i, in := range p.Instrs {
		for _, a := range in.Args[:in.Op.Arity()] {
			if a < 0 || int(a) >= i {
				return fmt.Errorf("%s: v%d = %s uses v%d, not defined before it", p.Name, i, in.Op, a)
			}
		}
		switch in.Op {
		case vprog.OpInput:
			if k := int(in.Imm); float64(k) != in.Imm || k < 0 || k >= p.Inputs {
				return fmt.Errorf("%s: v%d: input %v", p.Name, i, in.Imm)
			}
		case vprog.OpParam:
			if k := int(in.Imm); float64(k) != in.Imm || k < 0 || k >= len(p.Params) {
				return fmt.Errorf("%s: v%d: parameter %v", p.Name, i, in.Imm)
			}
		case vprog.OpRound:
			if m := vprog.RoundMode(in.Imm); m < vprog.RoundNearestEven || m > vprog.RoundTrunc || float64(m) != in.Imm {
				return fmt.Errorf("%s: v%d: round mode %v", p.Name, i, in.Imm)
			}
		case vprog.OpInvalid:
			return fmt.Errorf("%s: v%d: invalid operation", p.Name, i)
		}
		if in.Op >= vprog.OpSelect+1 {
			return fmt.Errorf("%s: v%d: unknown operation %s", p.Name, i, in.Op)
		}
	}
	return nil
}

// emitKernel renders the generic kernel of p: a loop whose body is the
// program, one Go statement per live SSA value, with exactly the semantics
// of vprog.Program.Eval. Values that depend only on constants and
// parameters are computed once, before the loop.
func emitKernel(p *vprog.Program, d vprog.Direction, helpers helperSet) ([]jen.Code, error) {
	outName, inNames := sliceNames(d)
	return emitKernelNamed(p, outName, inNames, helpers)
}

// emitKernelNamed is emitKernel with the slices named: the output (unused
// by a reduction, whose first argument is its accumulator, acc) and the
// inputs in program order. A reduction folds each element's value into
// acc as vprog.Acc.Add does.
func emitKernelNamed(p *vprog.Program, outName string, inNames []string, helpers helperSet) ([]jen.Code, error) {
	params := goParams(p.Params)
	if err := checkProgram(p, len(inNames), len(params)); err != nil {
		return nil, err
	}
	reduce := p.Reduce != vprog.NoReduce
	lenOf := outName
	if reduce {
		lenOf = inNames[0]
	}

	live := p.Live()
	invariant := p.Invariant()
	uses := make([]int, len(p.Instrs)) // by live instructions
	for i, in := range p.Instrs {
		if live[i] {
			for _, a := range in.Args[:in.Op.Arity()] {
				uses[a]++
			}
		}
	}
	for _, v := range p.Stops {
		uses[v]++ // a stop reads its value after the instructions
	}

	// pre computes the invariant values once; body(ls) computes the others
	// for the elements of ls, one instruction for every element before the
	// next instruction.
	var pre []jen.Code
	for i, in := range p.Instrs {
		if live[i] && invariant[i] {
			stmts, err := emitInstr(p, i, in, uses, inNames, params, helpers, lane{index: jen.Id("i")})
			if err != nil {
				return nil, err
			}
			pre = append(pre, stmts...)
		}
	}
	body := func(ls []lane) ([]jen.Code, error) {
		var code []jen.Code
		for i, in := range p.Instrs {
			if !live[i] || invariant[i] {
				continue
			}
			for _, l := range ls {
				stmts, err := emitInstr(p, i, in, uses, inNames, params, helpers, l)
				if err != nil {
					return nil, err
				}
				code = append(code, stmts...)
			}
		}
		for _, l := range ls {
			if len(p.Stops) > 0 {
				// Stop before the first element a stop holds for (vprog.Program.Stops).
				var stop *jen.Statement
				for _, v := range p.Stops {
					if stop == nil {
						stop = jen.Id(l.name(v))
					} else {
						stop = stop.Op("||").Id(l.name(v))
					}
				}
				code = append(code, jen.If(stop).Block(jen.Return(jen.Id("i"))))
			}
			result := jen.Id(l.name(p.Result))
			switch {
			case reduce:
				code = append(code, foldCode(p)...)
			case p.Mem != p.Compute:
				code = append(code, jen.Id(outName).Index(l.index).Op("=").Id(goType(p.Mem)).Call(result))
			default:
				code = append(code, jen.Id(outName).Index(l.index).Op("=").Add(result))
			}
		}
		return code, nil
	}
	one, err := body([]lane{{index: jen.Id("i")}})
	if err != nil {
		return nil, err
	}
	var wide []jen.Code
	interleave := interleaved(p)
	if interleave > 1 {
		ls := make([]lane, interleave)
		for k := range ls {
			ls[k] = lane{suffix: "_" + strconv.Itoa(k), index: jen.Id("i").Op("+").Lit(k), invariant: invariant}
		}
		ls[0].index = jen.Id("i")
		if wide, err = body(ls); err != nil {
			return nil, err
		}
	}

	mt := goType(p.Mem)
	var sig []jen.Code
	if !reduce {
		sig = append(sig, jen.Id(outName))
	}
	for _, in := range inNames {
		sig = append(sig, jen.Id(in))
	}
	args := []jen.Code{jen.List(sig...).Index().Id(mt)}
	if reduce {
		args = append([]jen.Code{jen.Id("acc").Op("*").Index(jen.Lit(2 * vprog.AccLanes)).Float64()}, args...)
	}
	if len(params) > 0 {
		ps := make([]jen.Code, len(params))
		for i, q := range params {
			ps[i] = jen.Id(q)
		}
		args = append(args, jen.List(ps...).Id(mt))
	}

	var blk []jen.Code
	for _, in := range inNames {
		if in == lenOf {
			continue
		}
		// Bounds-check elimination: with every slice as long as the output,
		// the compiler proves each index in range.
		blk = append(blk, jen.Id(in).Op("=").Id(in).Index(jen.Empty(), jen.Len(jen.Id(lenOf))))
	}
	blk = append(blk, pre...)
	if wide == nil {
		blk = append(blk, jen.For(jen.Id("i").Op(":=").Range().Id(lenOf)).Block(one...))
	} else {
		n := interleave
		blk = append(blk,
			jen.Id("i").Op(":=").Lit(0),
			jen.For(jen.Op(";").Id("i").Op("<=").Len(jen.Id(lenOf)).Op("-").Lit(n).Op(";").Id("i").Op("+=").Lit(n)).Block(wide...),
			jen.For(jen.Op(";").Id("i").Op("<").Len(jen.Id(lenOf)).Op(";").Id("i").Op("++")).Block(one...))
	}
	var results []jen.Code
	if len(p.Stops) > 0 {
		blk = append(blk, jen.Return(jen.Len(jen.Id(outName))))
		results = []jen.Code{jen.Int()}
	}

	nlive := 0
	for _, l := range live {
		if l {
			nlive++
		}
	}
	doc := fmt.Sprintf("%s is the pure-Go kernel of %s (%s memory, %s compute, %d operations): "+
		"the scalar twin of the vector program the assembly kernels run, with exactly "+
		"the semantics of vprog.Program.Eval, so every backend gives the same bits. "+
		"The caller guarantees equal lengths; %s may be the same slice as an input.",
		kernelName(p), p.Name, p.Mem, p.Compute, nlive, outName)
	if len(p.Stops) > 0 {
		doc += " It stops before the first element that needs a rare branch (vprog.Program.Stops) " +
			"and returns how many elements it stored."
	}
	if reduce {
		doc = fmt.Sprintf("%s is the pure-Go kernel of %s (%s memory, %s compute, %d operations): "+
			"the scalar twin of the vector program the assembly kernels run. It folds each element's "+
			"value into acc by %s, element i into lane i %% %d, exactly as vprog.Acc.Add, so every "+
			"backend gives the same bits. The caller guarantees equal lengths.",
			kernelName(p), p.Name, p.Mem, p.Compute, nlive, p.Reduce, vprog.AccLanes)
	}
	return []jen.Code{
		docComment(doc),
		jen.Func().Id(kernelName(p)).Params(args...).Add(results...).Block(blk...),
		jen.Line(),
	}, nil
}

func val(v vprog.Value) string { return "v" + strconv.Itoa(int(v)) }

// A lane is one element of a loop iteration: the index expression of its
// slices' element and the suffix of the names of its per-element values
// (an invariant value, computed once before the loop, keeps its name).
type lane struct {
	suffix    string
	index     jen.Code
	invariant []bool // by value; nil for a lane without a suffix
}

func (l lane) name(v vprog.Value) string {
	if l.suffix == "" || l.invariant[v] {
		return val(v)
	}
	return val(v) + l.suffix
}

// interleaved is how many elements one iteration of a generic kernel's loop
// takes: four for a program in float32 lanes, whose float32 FMA in Go is a
// chain of a float64 product and sum and two conversions (about 16 cycles
// in the chain of a polynomial), so that four chains overlap. Measured
// (benchstat, 8 runs, n = 4096): SELU -38%, ELU -28%, ReLU -21%, hardswish
// -15%, the other piecewise-linear kernels 0 to -9%. Programs in float64
// lanes keep one: two per iteration gained on some (GELU-tanh, mish, CELU
// float32 kernels -17 to -37%), lost on others (SiLU +6%, float64
// hardswish +7%) and changed nothing on most float64 ones. Not for a
// reduction or a program with stops, which need the elements in order.
func interleaved(p *vprog.Program) int {
	if p.Compute != vprog.F32 || p.Reduce != vprog.NoReduce || len(p.Stops) > 0 {
		return 1
	}
	return 4
}

// emitInstr renders instruction i for the element of lane l; value a has
// uses[a] live uses.
// Every arithmetic result is wrapped in an explicit conversion to the
// compute type: the Go spec lets a compiler fuse x*y + z into an FMA
// (arm64, ppc64le, s390x do) unless the product is explicitly converted,
// and fusing would change the bits.
func emitInstr(p *vprog.Program, i int, in vprog.Instr, uses []int, inNames, params []string, helpers helperSet, l lane) ([]jen.Code, error) {
	ct := goType(p.Compute)
	f32 := p.Compute == vprog.F32
	name := l.name(vprog.Value(i))
	a := func(k int) *jen.Statement { return jen.Id(l.name(in.Args[k])) }
	def := func(e jen.Code) []jen.Code { return []jen.Code{jen.Id(name).Op(":=").Add(e)} }
	conv := func(e jen.Code) *jen.Statement { return jen.Id(ct).Call(e) }
	// via64 computes a float32-compute operation in float64 and rounds back,
	// exactly as Eval does for narrow compute.
	via64 := func(fn string, args ...jen.Code) []jen.Code {
		if !f32 {
			return def(jen.Qual("math", fn).Call(args...))
		}
		wide := make([]jen.Code, len(args))
		for k, x := range args {
			wide[k] = jen.Float64().Call(x)
		}
		return def(jen.Float32().Call(jen.Qual("math", fn).Call(wide...)))
	}
	binop := func(op string) []jen.Code { return def(conv(a(0).Op(op).Add(a(1)))) }
	// pick renders "name := b; if cond { name = a }", the branch form of a
	// select; the compiler turns it into a conditional move where it can.
	pick := func(cond jen.Code, yes, no jen.Code) []jen.Code {
		return []jen.Code{
			jen.Id(name).Op(":=").Add(no),
			jen.If(cond).Block(jen.Id(name).Op("=").Add(yes)),
		}
	}

	switch in.Op {
	case vprog.OpInput:
		e := jen.Id(inNames[int(in.Imm)]).Index(l.index)
		if p.Mem != p.Compute {
			return def(conv(e)), nil
		}
		return def(e), nil
	case vprog.OpParam:
		e := jen.Id(params[int(in.Imm)])
		if p.Mem != p.Compute {
			return def(conv(e)), nil
		}
		return def(e), nil
	case vprog.OpConst:
		// Bit patterns, never decimal literals: exact by construction, and
		// NaN, ±Inf and -0 need no special forms.
		if f32 {
			v := float32(in.Imm)
			return []jen.Code{jen.Id(name).Op(":=").Qual("math", "Float32frombits").Call(hex32(math.Float32bits(v))).Comment(fmtConst(in.Imm, 32))}, nil
		}
		return []jen.Code{jen.Id(name).Op(":=").Qual("math", "Float64frombits").Call(hex64(math.Float64bits(in.Imm))).Comment(fmtConst(in.Imm, 64))}, nil
	case vprog.OpAdd:
		return binop("+"), nil
	case vprog.OpSub:
		return binop("-"), nil
	case vprog.OpMul:
		return binop("*"), nil
	case vprog.OpDiv:
		return binop("/"), nil
	case vprog.OpFMA:
		if f32 {
			// vprog.FMA32 written out: the float64 sum, rounded again to
			// float32 unless it may be a float32 midpoint or is NaN
			// (vprog's fma32Midpoint), where fma32Slow takes over. Inline,
			// because a function with that call is too costly for Go's
			// inliner, and the call doubled the time of a kernel such as
			// hardswish.
			helpers["fma32Slow"] = true
			prod, sum, bits := jen.Id(name+"p"), jen.Id(name+"s"), jen.Id("bits")
			return []jen.Code{
				// Exact (two 24-bit significands), so fusing it into the
				// sum, as the Go spec allows, would change nothing. (Not
				// math.FMA: without GOAMD64=v3 it tests for FMA on every
				// call, which made float32 ELU's pure-Go kernel 1.6
				// times slower.)
				prod.Clone().Op(":=").Float64().Call(a(0)).Op("*").Float64().Call(a(1)),
				sum.Clone().Op(":=").Add(prod.Clone()).Op("+").Float64().Call(a(2)),
				jen.Id(name).Op(":=").Float32().Call(sum.Clone()),
				jen.If(bits.Clone().Op(":=").Qual("math", "Float64bits").Call(sum.Clone()),
					bits.Clone().Op("&").Op("(1<<28 - 1)").Op("==").Lit(0).Op("&&").Parens(
						bits.Clone().Op("&").Op("(1<<29 - 1)").Op("!=").Lit(0).Op("||").
							Add(bits.Clone()).Op("<<1-1 < (1023-126)<<53-1").Op("||").
							Add(sum.Clone()).Op("!=").Add(sum.Clone()))).Block(
					jen.Id(name).Op("=").Id("fma32Slow").Call(a(0), a(1), a(2))),
			}, nil
		}
		return def(jen.Qual("math", "FMA").Call(a(0), a(1), a(2))), nil
	case vprog.OpNeg:
		return def(jen.Op("-").Add(a(0))), nil
	case vprog.OpAbs:
		if f32 {
			helpers["abs32"] = true
			return def(jen.Id("abs32").Call(a(0))), nil
		}
		return def(jen.Qual("math", "Abs").Call(a(0))), nil
	case vprog.OpCopySign:
		if f32 {
			helpers["copysign32"] = true
			return def(jen.Id("copysign32").Call(a(0), a(1))), nil
		}
		return def(jen.Qual("math", "Copysign").Call(a(0), a(1))), nil
	case vprog.OpParityNeg:
		// The lowest bit of a(1)'s encoding into a(0)'s sign bit.
		if f32 {
			return def(jen.Qual("math", "Float32frombits").Call(jen.Qual("math", "Float32bits").Call(a(0)).Op("^").
				Qual("math", "Float32bits").Call(a(1)).Op("<<").Lit(31))), nil
		}
		return def(jen.Qual("math", "Float64frombits").Call(jen.Qual("math", "Float64bits").Call(a(0)).Op("^").
			Qual("math", "Float64bits").Call(a(1)).Op("<<").Lit(63))), nil
	case vprog.OpSqrt:
		return via64("Sqrt", a(0)), nil
	case vprog.OpMin:
		// x86 MINPD: a < b ? a : b, so b passes through on NaN or ±0.
		return pick(a(0).Op("<").Add(a(1)), a(0), a(1)), nil
	case vprog.OpMax:
		return pick(a(0).Op(">").Add(a(1)), a(0), a(1)), nil
	case vprog.OpRound:
		fn := map[vprog.RoundMode]string{
			vprog.RoundNearestEven: "RoundToEven", vprog.RoundFloor: "Floor",
			vprog.RoundCeil: "Ceil", vprog.RoundTrunc: "Trunc",
		}[vprog.RoundMode(in.Imm)]
		if uses[in.Args[0]] == 1 {
			return via64(fn, a(0)), nil // ROUNDSD in a's register
		}
		// a is needed after the round, so ROUNDSD would write another
		// register, and it keeps that register's upper half: it waits for
		// the register's last writer, which in a loop can chain the
		// iterations together (Go's compiler does not break that
		// dependency; golang/go pull request 80576 proposes to). a - 0 is
		// a, bit for bit (-0 and NaN payloads too), in a register of its
		// own that ROUNDSD rounds in place. When an exp that needed t after
		// floor(t) was tried, softplus's generic kernel took twice the time
		// without it.
		return via64(fn, a(0).Op("-").Lit(0)), nil
	case vprog.OpLdexp:
		if (in.Imm == vprog.LdexpNormal || in.Imm == vprog.LdexpFlush) && !f32 {
			helpers["ldexpNormal"] = true
			return def(jen.Id("ldexpNormal").Call(a(0), a(1))), nil
		}
		if in.Imm == vprog.LdexpMidRange && !f32 {
			// The same value as math.Ldexp under the op's promise, without
			// its classification of the operand: the generic kernels of
			// exp, sigmoid, erf spend a third of their time there.
			helpers["ldexpMid"] = true
			return def(jen.Id("ldexpMid").Call(a(0), a(1))), nil
		}
		if f32 && in.Imm == vprog.LdexpNormal {
			helpers["ldexpNormal32"] = true
			return def(jen.Id("ldexpNormal32").Call(a(0), a(1))), nil
		}
		if f32 {
			return def(jen.Float32().Call(jen.Qual("math", "Ldexp").Call(jen.Float64().Call(a(0)), jen.Int().Call(a(1))))), nil
		}
		return def(jen.Qual("math", "Ldexp").Call(a(0), jen.Int().Call(a(1)))), nil
	case vprog.OpGetExp:
		h := "getExp" + suffix(p.Compute)
		helpers[h] = true
		return def(jen.Id(h).Call(a(0))), nil
	case vprog.OpGetMant:
		h := "getMant" + suffix(p.Compute)
		helpers[h] = true
		return def(jen.Id(h).Call(a(0))), nil
	case vprog.OpLT:
		return def(a(0).Op("<").Add(a(1))), nil
	case vprog.OpLE:
		return def(a(0).Op("<=").Add(a(1))), nil
	case vprog.OpEQ:
		return def(a(0).Op("==").Add(a(1))), nil
	case vprog.OpIsNaN:
		if f32 {
			return def(jen.Qual("math", "IsNaN").Call(jen.Float64().Call(a(0)))), nil
		}
		return def(jen.Qual("math", "IsNaN").Call(a(0))), nil
	case vprog.OpAnd:
		return def(a(0).Op("&&").Add(a(1))), nil
	case vprog.OpOr:
		return def(a(0).Op("||").Add(a(1))), nil
	case vprog.OpAndNot:
		return def(a(0).Op("&&").Op("!").Add(a(1))), nil
	case vprog.OpNot:
		return def(jen.Op("!").Add(a(0))), nil
	case vprog.OpSelect:
		return pick(a(0), a(1), a(2)), nil
	}
	return nil, fmt.Errorf("%s: v%d: cannot emit %s", p.Name, i, in.Op)
}

func suffix(t vprog.Type) string {
	if t == vprog.F32 {
		return "32"
	}
	return "64"
}

// hex32 and hex64 render bit patterns as hexadecimal literals (jen.Lit would
// print decimal).
func hex32(b uint32) jen.Code { return jen.Op(fmt.Sprintf("0x%08x", b)) }
func hex64(b uint64) jen.Code { return jen.Op(fmt.Sprintf("0x%016x", b)) }

func fmtConst(v float64, bits int) string {
	return strconv.FormatFloat(v, 'g', -1, bits)
}

// emitHelpers renders the helper functions the kernels of a package use.
func emitHelpers(helpers helperSet) []jen.Code {
	var out []jen.Code
	for _, h := range helpers.sorted() {
		switch h {
		case "abs32":
			out = append(out,
				jen.Comment("abs32 is |a| by clearing the sign bit, as the vector ANDPS does (NaN payloads kept)."),
				jen.Func().Id("abs32").Params(jen.Id("a").Float32()).Float32().Block(
					jen.Return(jen.Qual("math", "Float32frombits").Call(jen.Qual("math", "Float32bits").Call(jen.Id("a")).Op("&^").Op("0x80000000"))),
				))
		case "copysign32":
			out = append(out,
				jen.Comment("copysign32 is |a| with the sign bit of s."),
				jen.Func().Id("copysign32").Params(jen.List(jen.Id("a"), jen.Id("s")).Float32()).Float32().Block(
					jen.Return(jen.Qual("math", "Float32frombits").Call(
						jen.Qual("math", "Float32bits").Call(jen.Id("a")).Op("&^").Op("0x80000000").Op("|").
							Qual("math", "Float32bits").Call(jen.Id("s")).Op("&").Op("0x80000000"))),
				))
		case "fma32Slow":
			f64 := func(name string) *jen.Statement { return jen.Float64().Call(jen.Id(name)) }
			out = append(out,
				jen.Comment("fma32Slow is a*b + c rounded once to float32 (vprog.FMA32) where the float64 sum s may be a\n"+
					"float32 midpoint, or is NaN or infinite. A NaN result is the first NaN of a, b and c, quieted, as\n"+
					"VFMADD…PS gives it, or x86's default NaN where the operation makes one. Otherwise TwoSum gives s's\n"+
					"rounding error e, and an inexact s is rounded to odd, which makes the final rounding to float32\n"+
					"correct (53 ≥ 24 + 2)."),
				jen.Func().Id("fma32Slow").Params(jen.List(jen.Id("a"), jen.Id("b"), jen.Id("c")).Float32()).Float32().Block(
					jen.For(jen.List(jen.Id("_"), jen.Id("v")).Op(":=").Range().Index(jen.Lit(3)).Float32().Values(jen.Id("a"), jen.Id("b"), jen.Id("c"))).Block(
						jen.If(jen.Id("v").Op("!=").Id("v")).Block(
							jen.Return(jen.Qual("math", "Float32frombits").Call(jen.Qual("math", "Float32bits").Call(jen.Id("v")).Op("|").Op("1<<22"))))),
					jen.Id("p").Op(":=").Add(f64("a")).Op("*").Add(f64("b")),
					jen.Id("s").Op(":=").Id("p").Op("+").Add(f64("c")),
					jen.If(jen.Id("s").Op("!=").Id("s")).Block(
						jen.Return(jen.Qual("math", "Float32frombits").Call(jen.Op("0xffc00000")))),
					jen.If(jen.Qual("math", "IsInf").Call(jen.Id("s"), jen.Lit(0))).Block(
						jen.Return(jen.Float32().Call(jen.Id("s")))),
					jen.Id("bb").Op(":=").Id("s").Op("-").Id("p"),
					jen.Id("e").Op(":=").Parens(jen.Id("p").Op("-").Parens(jen.Id("s").Op("-").Id("bb"))).Op("+").
						Parens(jen.Add(f64("c")).Op("-").Id("bb")),
					jen.If(jen.Id("bits").Op(":=").Qual("math", "Float64bits").Call(jen.Id("s")),
						jen.Id("e").Op("!=").Lit(0).Op("&&").Id("bits").Op("&").Lit(1).Op("==").Lit(0)).Block(
						jen.If(jen.Parens(jen.Id("e").Op(">").Lit(0)).Op("==").Parens(jen.Id("s").Op(">").Lit(0))).Block(
							jen.Id("bits").Op("++"),
						).Else().Block(
							jen.Id("bits").Op("--"),
						),
						jen.Id("s").Op("=").Qual("math", "Float64frombits").Call(jen.Id("bits")),
					),
					jen.Return(jen.Float32().Call(jen.Id("s"))),
				))
		case "getExp32":
			out = append(out,
				jen.Comment("getExp32 is floor(log2|a|) read off the exponent bits; defined for normal a only (the program selects other lanes away)."),
				jen.Func().Id("getExp32").Params(jen.Id("a").Float32()).Float32().Block(
					jen.Return(jen.Float32().Call(jen.Int().Call(jen.Qual("math", "Float32bits").Call(jen.Id("a")).Op(">>").Lit(23).Op("&").Op("0xff")).Op("-").Lit(127))),
				))
		case "ldexpMid":
			pow2 := func(e jen.Code) jen.Code {
				return jen.Qual("math", "Float64frombits").Call(jen.Uint64().Call(jen.Int64().Call(e).Op("+").Lit(1023)).Op("<<").Lit(52))
			}
			out = append(out,
				jen.Comment("ldexpMid is math.Ldexp(x, int(n)) for |x| in [2^-60, 2^60] (or 0, Inf, NaN) and n in [-1982, 1983]\n"+
					"(vprog.LdexpMidRange): x*2^c is exact for c = n clamped to [-960, 960], and the product by 2^(n-c)\n"+
					"rounds once, as the AVX2 kernels compute it."),
				jen.Func().Id("ldexpMid").Params(jen.List(jen.Id("x"), jen.Id("n")).Float64()).Float64().Block(
					jen.Id("c").Op(":=").Min(jen.Max(jen.Id("n"), jen.Lit(-960.0)), jen.Lit(960.0)),
					jen.Return(jen.Id("x").Op("*").Add(pow2(jen.Id("c"))).Op("*").Add(pow2(jen.Id("n").Op("-").Id("c")))),
				))
		case "ldexpNormal":
			out = append(out,
				jen.Comment("ldexpNormal is math.Ldexp(x, int(n)) for n in [-1022, 1023] (vprog.LdexpNormal): one\n"+
					"product by the normal power of two 2^n, as the AVX2 kernels compute it. At n = -1023\n"+
					"its power of two is +0 (vprog.LdexpFlush)."),
				jen.Func().Id("ldexpNormal").Params(jen.List(jen.Id("x"), jen.Id("n")).Float64()).Float64().Block(
					jen.Return(jen.Id("x").Op("*").Qual("math", "Float64frombits").Call(jen.Uint64().Call(jen.Int64().Call(jen.Id("n")).Op("+").Lit(1023)).Op("<<").Lit(52))),
				))
		case "ldexpNormal32":
			out = append(out,
				jen.Comment("ldexpNormal32 is ldexpNormal in float32 lanes, for n in [-126, 127]: one float32\n"+
					"product by the normal power of two 2^n."),
				jen.Func().Id("ldexpNormal32").Params(jen.List(jen.Id("x"), jen.Id("n")).Float32()).Float32().Block(
					jen.Return(jen.Id("x").Op("*").Qual("math", "Float32frombits").Call(jen.Uint32().Call(jen.Int32().Call(jen.Id("n")).Op("+").Lit(127)).Op("<<").Lit(23))),
				))
		case "getExp64":
			out = append(out,
				jen.Comment("getExp64 is floor(log2|a|) read off the exponent bits; defined for normal a only (the program selects other lanes away)."),
				jen.Func().Id("getExp64").Params(jen.Id("a").Float64()).Float64().Block(
					jen.Return(jen.Float64().Call(jen.Int().Call(jen.Qual("math", "Float64bits").Call(jen.Id("a")).Op(">>").Lit(52).Op("&").Op("0x7ff")).Op("-").Lit(1023))),
				))
		case "getMant32":
			out = append(out,
				jen.Comment("getMant32 is |a| scaled into [1, 2) by replacing its exponent; normal a only."),
				jen.Func().Id("getMant32").Params(jen.Id("a").Float32()).Float32().Block(
					jen.Return(jen.Qual("math", "Float32frombits").Call(jen.Qual("math", "Float32bits").Call(jen.Id("a")).Op("&").Op("0x007fffff").Op("|").Op("0x3f800000"))),
				))
		case "getMant64":
			out = append(out,
				jen.Comment("getMant64 is |a| scaled into [1, 2) by replacing its exponent; normal a only."),
				jen.Func().Id("getMant64").Params(jen.Id("a").Float64()).Float64().Block(
					jen.Return(jen.Qual("math", "Float64frombits").Call(jen.Qual("math", "Float64bits").Call(jen.Id("a")).Op("&").Op("0x000fffffffffffff").Op("|").Op("0x3ff0000000000000"))),
				))
		}
		out = append(out, jen.Line())
	}
	return out
}

// foldCode folds the element's value into lane i % AccLanes of acc, as
// vprog.Acc.Add (no products, so nothing the compiler could fuse).
func foldCode(p *vprog.Program) []jen.Code {
	v := jen.Id(val(p.Result))
	k := jen.Id("foldK")
	code := []jen.Code{k.Clone().Op(":=").Id("i").Op("&").Lit(vprog.AccLanes - 1)}
	if p.Reduce == vprog.ReduceMax {
		return append(code, jen.If(
			jen.Id("foldS").Op(":=").Id("acc").Index(k.Clone()),
			jen.Id("foldS").Op("==").Id("foldS").Op("&&").Parens(v.Clone().Op(">").Id("foldS").Op("||").Add(v.Clone()).Op("!=").Add(v.Clone())),
		).Block(jen.Id("acc").Index(k.Clone()).Op("=").Add(v.Clone())))
	}
	verr := jen.Lit(0.0)
	if p.ResultErr >= 0 {
		verr = jen.Id(val(p.ResultErr))
	}
	return append(code,
		jen.Id("foldS").Op(":=").Id("acc").Index(k.Clone()),
		jen.Id("foldT").Op(":=").Id("foldS").Op("+").Add(v.Clone()),
		jen.Id("foldBP").Op(":=").Id("foldT").Op("-").Id("foldS"),
		jen.Id("foldE").Op(":=").Parens(jen.Id("foldS").Op("-").Parens(jen.Id("foldT").Op("-").Id("foldBP"))).Op("+").Parens(v.Clone().Op("-").Id("foldBP")),
		jen.Id("acc").Index(k.Clone()).Op("=").Id("foldT"),
		jen.Id("acc").Index(jen.Lit(vprog.AccLanes).Op("+").Add(k.Clone())).Op("=").
			Id("acc").Index(jen.Lit(vprog.AccLanes).Op("+").Add(k.Clone())).Op("+").Parens(jen.Id("foldE").Op("+").Add(verr)),
	)
}
