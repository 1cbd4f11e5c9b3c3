package asm

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/actkern/actkern/internal/vprog"
)

// plan is how one kernel is laid out: vectors per loop iteration and how
// many leaves (constants, parameters) are held in registers for the whole
// call rather than read from memory at each use.
type plan struct {
	unroll int
	hoist  int
}

// maxUnroll is the widest body tried per ISA; choosePlan lowers it when the
// registers do not hold that many copies of the program's live values.
// Four independent vectors cover the 4-cycle FMA latency on two ports, and
// measurement agrees. Unroll 1, 2, 4 and 8 were timed on both ISAs and
// precisions (ReLU, Hardswish, Sigmoid, GELU, Softplus, n = 4096; eight
// interleaved rounds of every variant on a 2-core AMD EPYC shared with
// other jobs, load average about 10, so run-to-run spread was 35-65% and
// the minimum of the eight is the steadier figure). Minimum ns per call:
//
//	              f32 u=1  u=2   u=4   u=8 | f64 u=1  u=2   u=4   u=8
//	ReLU avx512      459   303   244   304 |   1052  1034   763   797
//	ReLU avx2        588   295   226   289 |    995  1040   808   874
//	Sigmoid avx512  3638  4410  5029  3831 |  10588  9484  7828 11081
//	Sigmoid avx2    7881  7457  8465 10829 |  30906 33140 29037 40396
//	Softplus avx512 22324 17079 16085 16864|  39767 28158 27373 33345
//	GELU avx512    39687 26060 30586 29544 |  77723 72211 57479 72221
//
// Unroll 4 is best or within noise of the best everywhere except f32
// Sigmoid, where the medians (10379, 8606, 6671, 6969) still favour it;
// unroll 8 never wins (more leaves go to memory to make room) and unroll 1
// loses up to 2× on the light kernels. So 4 for both ISAs and precisions;
// worth re-measuring on a quiet machine.
func maxUnroll(is isa) int { return 4 }

// minUnroll is the narrowest body a float32 elementwise kernel with long
// dependency chains takes (see longChain): when its values do not fit the
// registers that many times, it spills rather than go narrower. A spill is
// a store and a load to L1, beside the FMA ports; a narrower body is fewer
// independent chains for them. Measured (benchstat, 6 interleaved runs,
// n = 4096, on the 2-core Zen 5 of this project's CI) against the widest
// spill-free body, which was 2 for most transcendental kernels:
//
//   - float32, AVX2 (15 registers): 3 with spills was faster for 11 of 17
//     kernels (logsigmoid -20%, gelu_tanh -15%, softplus -12%, sigmoid,
//     silu and elu -8%) and slower for none; 4 lost on gelu' and sin.
//   - float32, AVX-512 (31 registers): 4 was faster for 8 of 17 (gelu_tanh
//     -17%, celu -15%, mish' -12%, elu -9%) and slower for none.
//   - float64, whose programs are two to ten times larger: 3 and 4 won on
//     some (mish -26%, logsigmoid -22%) and lost on others (hardswish'
//     +50%, mish' +26%, silu' +23%, elu' +15%). It keeps 2.
//   - float32 in float32 lanes (16 or 8 elements per vector, the
//     measurements above were of float64 lanes): on AVX2, 2 against 3 was
//     faster for ELU (-8%, 8 runs) and the same for SELU, so 2; on
//     AVX-512, 2 lost 9% on ELU, so 4 as above.
func minUnroll(is isa, p *vprog.Program) int {
	switch {
	case p.Mem != vprog.F32:
		return 2
	case p.Compute == vprog.F32 && is.vecRegs() <= 16:
		return 2
	case is.vecRegs() > 16:
		return 4
	}
	return 3
}

// nosplitFrame is the largest frame kept NOSPLIT (the linker allows about
// 800 bytes for a chain of NOSPLIT functions).
const nosplitFrame = 256

// sigType is the Go element type of a kernel's slices and parameters.
func sigType(p *vprog.Program) string {
	if p.Mem == vprog.F32 {
		return "float32"
	}
	return "float64"
}

// signature is the Go signature of the kernel's assembly and generic twins:
// func(dst, in0[, in1] []T[, params T]) for an elementwise kernel, returning
// int (how many elements it stored) where the program has stops, and
// func(acc *[16]float64, in0[, in1] []T[, params T]) for a reduction, whose
// length is len(in0).
func signature(p *vprog.Program) string {
	t := sigType(p)
	var names []string
	if p.Reduce == vprog.NoReduce {
		names = append(names, "dst")
	}
	for i := 0; i < p.Inputs; i++ {
		names = append(names, fmt.Sprintf("in%d", i))
	}
	s := strings.Join(names, ", ") + " []" + t
	if p.Reduce != vprog.NoReduce {
		s = fmt.Sprintf("acc *[%d]float64, %s", 2*vprog.AccLanes, s)
	}
	if len(p.Params) > 0 {
		s += ", " + strings.Join(p.Params, ", ") + " " + t
	}
	if len(p.Stops) > 0 {
		return "func(" + s + ") int"
	}
	return "func(" + s + ")"
}

// loopFixed marks the values a kernel's loop does not compute: constants,
// parameters, and the invariants (vprog.Program.Invariant) that the
// prologue computes once per call (frame.prologue). On AVX-512 an
// invariant mask that the loop reads is still computed in the loop: no mask
// register can be spared for the whole call, and reloading a spilled mask
// costs what recomputing it does, one instruction. A mask that only other
// invariants read (the condition of a select between two parameters) stays
// in the prologue with them.
func loopFixed(is isa, p *vprog.Program) []bool {
	fixed := p.Invariant()
	if is.maskRegs() == nil {
		return fixed
	}
	live := p.Live()
	// Users come after their operands: one backward pass finds every mask
	// a loop instruction reads, masks read by such masks included.
	for i := len(p.Instrs) - 1; i >= 0; i-- {
		if fixed[i] || !live[i] {
			continue
		}
		in := p.Instrs[i]
		for _, a := range in.Args[:in.Op.Arity()] {
			if p.Instrs[a].Op.GivesMask() {
				fixed[a] = false
			}
		}
	}
	return fixed
}

// loopReads lists the fixed values the loop reads: those a live computed
// value uses, and the outputs if fixed.
func loopReads(p *vprog.Program, live, fixed []bool) []vprog.Value {
	read := make([]bool, len(p.Instrs))
	for i, in := range p.Instrs {
		if live[i] && !fixed[i] {
			for _, a := range in.Args[:in.Op.Arity()] {
				read[a] = read[a] || fixed[a]
			}
		}
	}
	read[p.Result] = read[p.Result] || fixed[p.Result]
	if hasResultErr(p) {
		read[p.ResultErr] = read[p.ResultErr] || fixed[p.ResultErr]
	}
	var vs []vprog.Value
	for i := range read {
		if read[i] {
			vs = append(vs, vprog.Value(i))
		}
	}
	return vs
}

// leafOrder lists the loop's leaves (the fixed values it reads) in the
// order in which they earn a register: first by how many of their uses
// need one (in memory each of those takes a load), then by how many uses
// they have, then by value number. A leaf that every instruction can read
// from memory gains nothing from a register, whatever its count.
func leafOrder(is isa, p *vprog.Program, live, fixed []bool) []vprog.Value {
	uses := p.Uses()
	regUses := make([]int, len(p.Instrs))
	for i, in := range p.Instrs {
		if !live[i] || fixed[i] {
			continue
		}
		for j, a := range in.Args[:in.Op.Arity()] {
			if fixed[a] && needsReg(is, in, j, fixed) {
				regUses[a]++
			}
		}
	}
	ls := loopReads(p, live, fixed)
	sort.SliceStable(ls, func(i, j int) bool {
		if regUses[ls[i]] != regUses[ls[j]] {
			return regUses[ls[i]] > regUses[ls[j]]
		}
		return uses[ls[i]] > uses[ls[j]]
	})
	return ls
}

// needsReg reports whether argument j of in, a fixed value, must be in a
// register when the instruction runs (as the allocator places operands):
// it is not the one operand the encoding may read from memory, nor can it
// trade places with a computed one that is. An FMA has a memory slot for
// any of its operands (fma.go), so only a second fixed operand needs one.
func needsReg(is isa, in vprog.Instr, j int, fixed []bool) bool {
	fixedArgs := 0
	for _, a := range in.Args[:in.Op.Arity()] {
		if fixed[a] {
			fixedArgs++
		}
	}
	if in.Op == vprog.OpFMA {
		return fixedArgs > 1
	}
	sh := is.shape(in)
	return j != sh.memArg && !(sh.commute && j == 0 && fixedArgs == 1)
}

// accGroups is how many registers of float64 lanes a reduction's
// accumulator takes: vprog.AccLanes lanes, so one ZMM, or two YMM. Each
// step of a reduction kernel consumes this many vectors, so that element i
// of a call lands in lane i % AccLanes on every ISA.
func accGroups(is isa) int { return vprog.AccLanes / is.lanes() }

// accRegs is how many vector registers a program's accumulator holds for
// the whole call: values and, for a sum, compensations.
func accRegs(is isa, p *vprog.Program) int {
	switch p.Reduce {
	case vprog.ReduceSum:
		return 2 * accGroups(is)
	case vprog.ReduceMax:
		return accGroups(is)
	}
	return 0
}

// newFrame prepares the body's allocation state for a plan; leaf memory
// locations come from locate. A reduction's accumulator takes the highest
// registers.
func newFrame(is isa, p *vprog.Program, live []bool, pl plan, locate func(v vprog.Value) loc) (*frame, []vprog.Value) {
	fixed := loopFixed(is, p)
	f := &frame{is: is, p: p, live: live, fixed: fixed, leaf: map[vprog.Value]loc{}, slots: map[int][]operand.Mem{}}
	leaves := leafOrder(is, p, live, fixed)
	h := pl.hoist
	if h > len(leaves) {
		h = len(leaves)
	}
	for i, v := range leaves {
		if i < h {
			f.leaf[v] = loc{r: is.vec(i)}
		} else {
			f.leaf[v] = locate(v)
		}
	}
	top := is.vecRegs() - accRegs(is, p)
	for i := h; i < top; i++ {
		f.vecFree = append(f.vecFree, i)
	}
	if p.Reduce != vprog.NoReduce {
		g := accGroups(is)
		for k := 0; k < g; k++ {
			f.accS = append(f.accS, is.vec(top+k))
			if p.Reduce == vprog.ReduceSum {
				f.accC = append(f.accC, is.vec(top+g+k))
			}
		}
	}
	f.maskFree = is.maskRegs()
	return f, leaves[:h]
}

// choosePlan tries layouts from the most to the least register-hungry and
// keeps the first whose body and tail compile without spills: first every
// leaf in a register at the widest unroll that allows it (down to 2), then
// fewer leaves in registers, then narrower bodies down to 2. If nothing
// fits, the program is large enough that spilling is unavoidable; it gets
// unroll 2 with spills (or 1 where the allocator cannot place 2).
//
// A reduction's unroll is a multiple of its step (accGroups vectors), and
// its accumulator registers are not available to the body.
func choosePlan(is isa, p *vprog.Program, live []bool) plan {
	leaves := len(leafOrder(is, p, live, loopFixed(is, p)))
	step := 1
	if p.Reduce != vprog.NoReduce {
		step = accGroups(is)
	}
	// cost compiles the body and tail of a plan and returns the cost of
	// each; ok is false if the allocator cannot place the operands.
	cost := func(pl plan) (body, tail bodyCost, ok bool) {
		if pl.hoist >= is.vecRegs()-accRegs(is, p)-2 {
			return body, tail, false
		}
		// Too few registers left for one operation's operands: the
		// allocator gives up, and so does this plan.
		defer func() {
			if recover() != nil {
				ok = false
			}
		}()
		c := build.NewContext()
		c.Function("probe")
		slot := func(n int) operand.Mem { return c.AllocLocal(n) }
		f, _ := newFrame(is, p, live, pl, func(vprog.Value) loc {
			return loc{m: operand.Mem{Base: reg.RSP}, mem: true, bcst: is.maskRegs() != nil}
		})
		f.allocSlot = slot
		f.ptrs = make([]reg.GPVirtual, p.Inputs)
		for i := range f.ptrs {
			f.ptrs[i] = c.GP64()
		}
		f.dst = c.GP64()
		return f.body(c, pl.unroll, false, 0), f.body(c, 1, true, 0), true
	}
	try := func(pl plan) bool {
		body, tail, ok := cost(pl)
		return ok && body.spills+tail.spills == 0
	}
	top := max(maxUnroll(is)/step*step, step)
	// mostLeaves is the plan at unroll u with as many leaves in registers
	// as compile without spills (fewer leaves never need more spills, so
	// a binary search finds it); ok is false if none does.
	mostLeaves := func(u int) (plan, bool) {
		if !try(plan{u, 0}) {
			return plan{}, false
		}
		lo, hi := 0, leaves // try(lo) holds; find the largest such
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if try(plan{u, mid}) {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		return plan{u, lo}, true
	}
	// low is the narrowest body worth keeping free of spills: minUnroll
	// for an elementwise kernel with long chains; otherwise two steps.
	low := 2 * step
	if p.Reduce == vprog.NoReduce && chainDepth(p, live) >= longChain {
		low = minUnroll(is, p)
	}
	for u := top; u >= low; u -= step {
		if pl := (plan{u, leaves}); try(pl) {
			return pl
		}
	}
	for u := top; u >= low; u -= step {
		if pl, ok := mostLeaves(u); ok {
			return pl
		}
	}
	// Nothing fits without spills at low vectors per iteration or more.
	// low still gives the core that many independent chains to overlap (a
	// Horner chain of FMAs is latency-bound), and a spill is a store and a
	// load to L1 beside the FMA ports: see minUnroll. Where low is two
	// steps, two with spills against one without was measured (benchstat,
	// 6 runs, n = 4096, 52 kernel and ISA pairs): 24 significantly faster,
	// AVX2 by 6-30%, AVX-512 by 8-18%, and none slower. The hoisted leaves
	// are as many as give the loop the fewest moves: a leaf in a register
	// saves its loads and may cost spills.
	if low <= top {
		best, fewest := plan{}, -1
		for h := 0; h <= leaves; h++ {
			if body, _, ok := cost(plan{low, h}); ok && (fewest < 0 || body.moves <= fewest) {
				best, fewest = plan{low, h}, body.moves
			}
		}
		if fewest >= 0 {
			return best
		}
	}
	if pl, ok := mostLeaves(step); ok {
		return pl
	}
	return plan{step, 0}
}

// kernelName is the assembly function's name: <Name><Level>, or
// <Name><Level>Stream for the non-temporal twin.
func kernelName(p *vprog.Program, level string, stream bool) string {
	if stream {
		return p.Name + level + "Stream"
	}
	return p.Name + level
}

// emitKernel writes one kernel: prologue (parameters to their stack homes,
// the invariants computed once, hoisted leaves to registers), the unrolled
// loop, a one-step loop, and a masked tail that runs the very same body on
// the last len%lanes elements.
//
// A kernel whose program has stops tests them in each iteration before it
// stores anything (allocator.stopTest) and leaves at the first iteration
// with an element to stop at, returning how many elements it stored (all
// of them where it reaches the end).
//
// A reduction kernel keeps its accumulator in registers from entry to exit
// (read from and written back to *acc). Its step is accGroups vectors, one
// per group of accumulator lanes; in the tail, whole vectors go to their
// groups in order until fewer than a vector's elements are left, and those
// go masked to the next group, so element i still meets lane i % AccLanes.
//
// With stream set it emits the streaming twin, <Name><Level>Stream: the same
// code, but its whole-vector stores are non-temporal (MOVNTPS/MOVNTPD), so
// a large output goes to memory without first being read into the caches
// and without evicting them. Those stores need dst aligned to the vector's
// bytes, which the callers arrange (see the generated streamHead); the
// masked tail stays an ordinary store. An SFENCE before returning orders the
// non-temporal stores before any later store of the caller.
func emitKernel(c *build.Context, is isa, p *vprog.Program, pl plan, pool *pool, stream bool) {
	name := kernelName(p, is.name(), stream)
	reduce := p.Reduce != vprog.NoReduce
	c.Function(name)
	c.Attributes(attr.NOSPLIT)
	c.SignatureExpr(signature(p))
	if reduce {
		c.Doc(fmt.Sprintf("%s folds %s into acc (reduction %s) for %s with %d vectors per iteration and %d constants held in registers.",
			name, p.Name, p.Reduce, is.name(), pl.unroll, pl.hoist))
	} else {
		c.Doc(fmt.Sprintf("%s is %s for %s with %d vectors per iteration and %d constants held in registers.",
			name, p.Name, is.name(), pl.unroll, pl.hoist))
	}

	live := p.Live()
	homes := map[int]operand.Mem{}
	leafLoc := func(v vprog.Value) loc {
		in := p.Instrs[v]
		if in.Op == vprog.OpParam {
			return is.paramLoc(homes[int(in.Imm)])
		}
		return is.constLoc(constBits(in.Imm, p.Compute))
	}
	frameBytes := 0
	local := func(n int) operand.Mem {
		frameBytes += n
		return c.AllocLocal(n)
	}
	locate := leafLoc
	// Parameters go to stack homes first: hoisting may then load them.
	for i, pn := range p.Params {
		homes[i] = local(is.paramHomeBytes())
		arg, err := c.Param(pn).Resolve()
		if err != nil {
			panic(fmt.Sprintf("asm: %s: parameter %s: %v", p.Name, pn, err))
		}
		is.paramHome(c, arg.Addr, homes[i])
	}
	// Then the invariants the loop reads (loopFixed), computed once.
	fixed := loopFixed(is, p)
	inv := map[vprog.Value]operand.Mem{}
	for _, v := range loopReads(p, live, fixed) {
		if !isLeaf(p.Instrs[v].Op) {
			inv[v] = local(is.slotBytes(false))
		}
	}
	prologue(c, is, p, inv, locate, local)
	locate = func(v vprog.Value) loc {
		if m, ok := inv[v]; ok {
			return loc{m: m, mem: true}
		}
		return leafLoc(v)
	}
	f, hoisted := newFrame(is, p, live, pl, locate)
	f.allocSlot = local
	f.stream = stream
	for i, v := range hoisted {
		is.materialize(c, is.vec(i), locate(v))
	}

	// accMem is where group g's values (or compensations) live in *acc.
	var accPtr reg.GPVirtual
	accMem := func(g int, comp bool) operand.Mem {
		off := g * is.lanes() * 8
		if comp {
			off += vprog.AccLanes * 8
		}
		return operand.Mem{Base: accPtr, Disp: off}
	}
	if reduce {
		accPtr = c.GP64()
		c.Load(c.Param("acc"), accPtr)
		for g := range f.accS {
			is.reload(c, f.accS[g], accMem(g, false))
			if f.accC != nil {
				is.reload(c, f.accC[g], accMem(g, true))
			}
		}
	} else {
		f.dst = c.GP64()
		c.Load(c.Param("dst").Base(), f.dst)
	}
	f.ptrs = make([]reg.GPVirtual, p.Inputs)
	for i := range f.ptrs {
		f.ptrs[i] = c.GP64()
		c.Load(c.Param(fmt.Sprintf("in%d", i)).Base(), f.ptrs[i])
	}
	n := c.GP64()
	if reduce {
		c.Load(c.Param("in0").Len(), n)
	} else {
		c.Load(c.Param("dst").Len(), n)
	}

	lanes := is.lanes()
	step := 1
	if reduce {
		step = accGroups(is)
	}
	advance := func(vectors int) {
		b := operand.U32(vectors * is.memBytes())
		if !reduce {
			c.ADDQ(b, f.dst)
		}
		for _, r := range f.ptrs {
			c.ADDQ(b, r)
		}
		c.SUBQ(operand.U32(vectors*lanes), n)
	}
	if pl.unroll > step {
		c.Label("loop")
		c.CMPQ(n, operand.U32(pl.unroll*lanes))
		c.JB(operand.LabelRef("single"))
		f.body(c, pl.unroll, false, 0)
		advance(pl.unroll)
		c.JMP(operand.LabelRef("loop"))
	}
	c.Label("single")
	c.CMPQ(n, operand.U32(step*lanes))
	c.JB(operand.LabelRef("tail"))
	f.body(c, step, false, 0)
	advance(step)
	c.JMP(operand.LabelRef("single"))

	// Fewer than step*lanes elements are left: whole vectors to groups 0,
	// 1, … while they last, then the masked rest to the next group.
	c.Label("tail")
	for g := 0; g < step-1; g++ {
		c.TESTQ(n, n)
		c.JZ(operand.LabelRef("done"))
		c.CMPQ(n, operand.U32(lanes))
		c.JB(operand.LabelRef(fmt.Sprintf("masked%d", g)))
		f.body(c, 1, false, g)
		advance(1)
	}
	c.TESTQ(n, n)
	c.JZ(operand.LabelRef("done"))
	is.setupTail(c, n)
	f.body(c, 1, true, step-1)
	for g := step - 2; g >= 0; g-- {
		c.JMP(operand.LabelRef("done"))
		c.Label(fmt.Sprintf("masked%d", g))
		is.setupTail(c, n)
		f.body(c, 1, true, g)
	}

	// ret returns, for a program with stops, how many elements were
	// stored: the length less the rest (all of them at done).
	ret := func(rest reg.GPVirtual) {
		if len(p.Stops) == 0 {
			return
		}
		r := c.GP64()
		c.Load(c.Param("dst").Len(), r)
		if rest != nil {
			c.SUBQ(rest, r)
		}
		c.Store(r, c.ReturnIndex(0))
	}
	exit := func() {
		if stream {
			c.SFENCE()
		}
		// Leave the upper halves clean for SSE code after us.
		c.VZEROUPPER()
		c.RET()
	}
	c.Label("done")
	if reduce {
		for g := range f.accS {
			is.spill(c, f.accS[g], accMem(g, false))
			if f.accC != nil {
				is.spill(c, f.accC[g], accMem(g, true))
			}
		}
	}
	ret(nil)
	exit()
	if len(p.Stops) > 0 {
		c.Label("stop")
		ret(n)
		exit()
	}
	if frameBytes > nosplitFrame {
		// Spill slots made the frame too big to run on the caller's
		// stack margin: let the assembler add the stack check.
		c.Attributes(0)
	}
}

// longChain is the dependency chain, in operations, from which a kernel
// needs minUnroll independent vectors more than a spill-free body. In
// float32 the chains of the piecewise-linear and rational kernels are at
// most 8 operations long (softsign'), those of the transcendental ones 15
// or more (sigmoid on AVX-512, whose flush to 0 is part of its Ldexp). The
// first have their latency covered at two or three vectors: at AVX-512
// unroll 4, with one spill per vector, four of them lost 8-25% (relu6',
// hardtanh', hardsigmoid', hardswish).
const longChain = 12

// chainDepth is the number of operations on the longest dependency chain
// of the loop's live program.
func chainDepth(p *vprog.Program, live []bool) int {
	d := make([]int, len(p.Instrs))
	most := 0
	for i, in := range p.Instrs {
		if !live[i] || isLeaf(in.Op) || in.Op == vprog.OpInput {
			continue
		}
		for _, a := range in.Args[:in.Op.Arity()] {
			d[i] = max(d[i], d[a])
		}
		d[i]++
		most = max(most, d[i])
	}
	return most
}
