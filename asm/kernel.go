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

// maxUnroll is the widest body tried per ISA. Four independent vectors
// cover the 4-cycle FMA latency on two ports; choosePlan lowers it when the
// registers do not hold that many copies of the program's live values. Not
// yet tuned by measurement: the shared development machine was too loaded
// for stable figures (see the asm package report).
func maxUnroll(is isa) int { return 4 }

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

// signature is the Go signature of the kernel's assembly and generic twins.
func signature(p *vprog.Program) string {
	t := sigType(p)
	names := []string{"dst"}
	for i := 0; i < p.Inputs; i++ {
		names = append(names, fmt.Sprintf("in%d", i))
	}
	s := strings.Join(names, ", ") + " []" + t
	if len(p.Params) > 0 {
		s += ", " + strings.Join(p.Params, ", ") + " " + t
	}
	return "func(" + s + ")"
}

// leafOrder lists the live leaves, most used first (ties by value number),
// the order in which they earn a register.
func leafOrder(p *vprog.Program, live []bool) []vprog.Value {
	uses := p.Uses()
	var ls []vprog.Value
	for i, in := range p.Instrs {
		if live[i] && isLeaf(in.Op) {
			ls = append(ls, vprog.Value(i))
		}
	}
	sort.SliceStable(ls, func(i, j int) bool { return uses[ls[i]] > uses[ls[j]] })
	return ls
}

// newFrame prepares the body's allocation state for a plan; leaf memory
// locations come from locate.
func newFrame(is isa, p *vprog.Program, live []bool, pl plan, locate func(v vprog.Value) loc) (*frame, []vprog.Value) {
	f := &frame{is: is, p: p, live: live, leaf: map[vprog.Value]loc{}, slots: map[int][]operand.Mem{}}
	leaves := leafOrder(p, live)
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
	for i := h; i < is.vecRegs(); i++ {
		f.vecFree = append(f.vecFree, i)
	}
	f.maskFree = is.maskRegs()
	return f, leaves[:h]
}

// choosePlan tries layouts from the most to the least register-hungry and
// keeps the first whose body and tail compile without spills: first every
// leaf in a register at the widest unroll that allows it (down to 2), then
// fewer leaves in registers, then narrower bodies. If nothing fits the
// program is large enough that spilling is unavoidable; it gets unroll 1.
func choosePlan(is isa, p *vprog.Program, live []bool) plan {
	leaves := len(leafOrder(p, live))
	try := func(pl plan) (ok bool) {
		if pl.hoist >= is.vecRegs()-2 {
			return false
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
		return f.body(c, pl.unroll, false) == 0 && f.body(c, 1, true) == 0
	}
	top := maxUnroll(is)
	for u := top; u >= 2; u-- {
		if pl := (plan{u, leaves}); try(pl) {
			return pl
		}
	}
	for u := top; u >= 1; u-- {
		if !try(plan{u, 0}) {
			continue
		}
		// Fewer leaves in registers never needs more spills: search for
		// the most that still fit.
		lo, hi := 0, leaves // try(lo) holds; find the largest such
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if try(plan{u, mid}) {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		return plan{u, lo}
	}
	return plan{1, 0}
}

// emitKernel writes one kernel: prologue (parameters to their stack homes,
// hoisted leaves to registers), the unrolled loop, a one-vector loop, and a
// masked tail that runs the very same body on the last len%lanes elements.
func emitKernel(c *build.Context, is isa, p *vprog.Program, pl plan, pool *pool) {
	name := p.Name + is.name()
	c.Function(name)
	c.Attributes(attr.NOSPLIT)
	c.SignatureExpr(signature(p))
	c.Doc(fmt.Sprintf("%s is %s for %s with %d vectors per iteration and %d constants held in registers.",
		name, p.Name, is.name(), pl.unroll, pl.hoist))

	live := liveInstrs(p)
	homes := map[int]operand.Mem{}
	locate := func(v vprog.Value) loc {
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
	// Parameters go to stack homes first: hoisting may then load them.
	for i, pn := range p.Params {
		homes[i] = local(is.paramHomeBytes())
		x := reg.X0
		c.Load(c.Param(pn), x)
		is.paramHome(c, x, homes[i])
	}
	f, hoisted := newFrame(is, p, live, pl, locate)
	f.allocSlot = local
	for i, v := range hoisted {
		is.materialize(c, is.vec(i), locate(v))
	}

	f.dst = c.GP64()
	c.Load(c.Param("dst").Base(), f.dst)
	f.ptrs = make([]reg.GPVirtual, p.Inputs)
	for i := range f.ptrs {
		f.ptrs[i] = c.GP64()
		c.Load(c.Param(fmt.Sprintf("in%d", i)).Base(), f.ptrs[i])
	}
	n := c.GP64()
	c.Load(c.Param("dst").Len(), n)

	lanes := is.lanes()
	advance := func(vectors int) {
		b := operand.U32(vectors * is.memBytes())
		c.ADDQ(b, f.dst)
		for _, r := range f.ptrs {
			c.ADDQ(b, r)
		}
		c.SUBQ(operand.U32(vectors*lanes), n)
	}
	if pl.unroll > 1 {
		c.Label("loop")
		c.CMPQ(n, operand.U32(pl.unroll*lanes))
		c.JB(operand.LabelRef("single"))
		f.body(c, pl.unroll, false)
		advance(pl.unroll)
		c.JMP(operand.LabelRef("loop"))
	}
	c.Label("single")
	c.CMPQ(n, operand.U32(lanes))
	c.JB(operand.LabelRef("tail"))
	f.body(c, 1, false)
	advance(1)
	c.JMP(operand.LabelRef("single"))

	c.Label("tail")
	c.TESTQ(n, n)
	c.JZ(operand.LabelRef("done"))
	is.setupTail(c, n)
	f.body(c, 1, true)

	c.Label("done")
	// Leave the upper halves clean for SSE code after us.
	c.VZEROUPPER()
	c.RET()
	if frameBytes > nosplitFrame {
		// Spill slots made the frame too big to run on the caller's
		// stack margin: let the assembler add the stack check.
		c.Attributes(0)
	}
}
