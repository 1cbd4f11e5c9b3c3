package asm

import (
	"fmt"
	"sort"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/actkern/actkern/internal/vprog"
)

// The body of a kernel is straight-line code: the program once per unrolled
// vector, interleaved instruction by instruction so that independent vectors
// hide each other's latency. Vector registers are assigned here, not by avo:
// avo cannot spill, and it may hand a VEX instruction (VBLENDVPD, VMASKMOV)
// one of X16–X31, which only EVEX can encode. On straight-line code Belady's
// rule (evict the value used farthest ahead) is the classic near-optimal
// choice, and it lets any program, however large, compile at any unroll.

// vkey is one program value in one unrolled vector.
type vkey struct {
	v vprog.Value
	u int
}

type valState struct {
	r       reg.Physical // valid when inReg
	inReg   bool
	slot    operand.Mem // valid when hasSlot
	hasSlot bool
	mask    bool
}

// item is one step of the body: compute value v of vector u, or (store)
// write vector u's result, or (fold) fold it into a reduction's
// accumulator.
type item struct {
	v     vprog.Value
	u     int
	store bool
	fold  bool
	// combine (a max reduction's tree): vector u's result becomes the
	// max-fold of itself and vector with's, which come later in the slice.
	combine bool
	with    int
	// stop: leave the kernel (label "stop") if any lane of the program's
	// Stops is set in any of the u vectors.
	stop bool
	// isHome (the prologue): write invariant v to its stack home.
	isHome bool
	home   operand.Mem
}

// frame is what the body's code may use: registers not reserved by the
// function (hoisted leaves, the tail mask) and the leaves' locations.
type frame struct {
	is   isa
	p    *vprog.Program
	live []bool // instruction reachable from the result
	// fixed marks the values the loop does not compute (loopFixed):
	// constants, parameters and the invariants the prologue computed;
	// leaf holds the locations of those it reads.
	fixed    []bool
	leaf     map[vprog.Value]loc
	vecFree  []int          // allocatable vector register indices
	maskFree []reg.Physical // allocatable mask registers (AVX-512)
	slots    map[int][]operand.Mem
	ptrs     []reg.GPVirtual // input slices
	dst      reg.GPVirtual
	// stream makes the whole-vector stores of dst non-temporal (the
	// <Name><Level>Stream kernels); the masked tail stays an ordinary store.
	stream    bool
	allocSlot func(bytes int) operand.Mem
	// accS and accC are a reduction's accumulator registers, held for the
	// whole call: per group of lanes the values and (sum) compensations.
	// Vector u of the body folds into group (pair0+u) % len(accS).
	accS, accC []reg.VecPhysical
}

type allocator struct {
	*frame
	c *build.Context
	// stopAfter is the last of the program's Stops (-1 when it has none,
	// and in the prologue): the body tests them once that is computed.
	stopAfter vprog.Value
	u         int
	tail      bool
	pair0     int
	seq       []item
	uses      map[vkey][]int
	state     map[vkey]*valState
	owner     map[reg.Physical]*vkey // nil entry: a temporary of the current item
	free      map[reg.Physical]bool
	pinned    map[reg.Physical]bool
	pos       int
	cost      bodyCost
}

// bodyCost is what register pressure cost a body: values evicted from
// registers (spills), and the instructions that move values rather than
// compute them (moves): spill stores and reloads, loads of leaves that
// must be in a register, and register copies.
type bodyCost struct {
	spills, moves int
}

func isLeaf(op vprog.Op) bool { return op == vprog.OpConst || op == vprog.OpParam }

// hasResultErr reports whether p folds a rounding-error term with its result.
func hasResultErr(p *vprog.Program) bool {
	return p.Reduce == vprog.ReduceSum && p.ResultErr >= 0
}

// body emits the program for u vectors at the current pointers; with tail
// set, u is 1 and loads and stores go through the tail mask. A reduction's
// vector k folds into accumulator group (pair0+k) % groups, vectors in
// order, so each lane's terms go in element order. It returns what
// register pressure cost it.
func (f *frame) body(c *build.Context, u int, tail bool, pair0 int) bodyCost {
	a := newAllocator(f, c, u, tail, pair0)
	for _, v := range f.p.Stops {
		a.stopAfter = max(a.stopAfter, v)
	}
	a.computeItems(u)
	reduce := f.p.Reduce != vprog.NoReduce
	groups := len(f.accS)
	if f.p.Reduce == vprog.ReduceMax && !f.fixed[f.p.Result] && u > groups {
		// A max folds by a tree: the vectors of one group combine
		// pairwise, neighbours first, and only the survivor is folded
		// into the accumulator, so that the accumulator's dependency
		// chain has one link per iteration instead of u/groups. The bits
		// are the same as folding in element order: Acc.Add's max keeps
		// the earliest of the maximal terms (the first NaN, else the
		// first of the largest, +0 and -0 being equal), and "the earliest
		// maximal element" is associative, whatever the bracketing.
		for g := 0; g < groups; g++ {
			for step := groups; step < u; step *= 2 {
				for k := g; k+step < u; k += 2 * step {
					pos := len(a.seq)
					a.seq = append(a.seq, item{v: f.p.Result, u: k, with: k + step, combine: true})
					for _, kk := range []int{k, k + step} {
						key := vkey{f.p.Result, kk}
						a.uses[key] = append(a.uses[key], pos)
					}
				}
			}
			pos := len(a.seq)
			a.seq = append(a.seq, item{v: f.p.Result, u: g, fold: true})
			key := vkey{f.p.Result, g}
			a.uses[key] = append(a.uses[key], pos)
		}
	} else {
		for k := 0; k < u; k++ {
			pos := len(a.seq)
			a.seq = append(a.seq, item{v: f.p.Result, u: k, store: !reduce, fold: reduce})
			outs := []vprog.Value{f.p.Result}
			if hasResultErr(f.p) {
				outs = append(outs, f.p.ResultErr)
			}
			for _, v := range outs {
				if !f.fixed[v] {
					key := vkey{v, k}
					a.uses[key] = append(a.uses[key], pos)
				}
			}
		}
	}
	a.run()
	return a.cost
}

// newAllocator starts the register allocation of straight-line code in f.
func newAllocator(f *frame, c *build.Context, u int, tail bool, pair0 int) *allocator {
	a := &allocator{frame: f, c: c, stopAfter: -1, u: u, tail: tail, pair0: pair0,
		uses: map[vkey][]int{}, state: map[vkey]*valState{},
		owner: map[reg.Physical]*vkey{}, free: map[reg.Physical]bool{}, pinned: map[reg.Physical]bool{}}
	for _, i := range f.vecFree {
		a.free[f.is.vec(i)] = true
	}
	for _, k := range f.maskFree {
		a.free[k] = true
	}
	return a
}

// computeItems appends to the sequence every live value f does not hold
// fixed, for vectors 0 to u-1, and records the uses of their arguments.
// The stop test comes as soon as the stops are computed: before any store,
// and before the rest of the program holds registers.
func (a *allocator) computeItems(u int) {
	for i, in := range a.p.Instrs {
		if !a.live[i] || a.fixed[i] {
			continue
		}
		for k := 0; k < u; k++ {
			pos := len(a.seq)
			a.seq = append(a.seq, item{v: vprog.Value(i), u: k})
			for _, arg := range in.Args[:in.Op.Arity()] {
				if !a.fixed[arg] {
					key := vkey{arg, k}
					a.uses[key] = append(a.uses[key], pos)
				}
			}
		}
		if vprog.Value(i) == a.stopAfter {
			pos := len(a.seq)
			a.seq = append(a.seq, item{stop: true})
			for k := 0; k < u; k++ {
				for _, s := range a.p.Stops {
					key := vkey{s, k}
					a.uses[key] = append(a.uses[key], pos)
				}
			}
		}
	}
}

// run emits the sequence's items in order.
func (a *allocator) run() {
	for a.pos = 0; a.pos < len(a.seq); a.pos++ {
		it := a.seq[a.pos]
		switch {
		case it.isHome:
			a.writeHome(it)
		case it.store:
			a.store(it)
		case it.fold:
			a.fold(it)
		case it.combine:
			a.combine(it)
		case it.stop:
			a.stopTest()
		default:
			a.compute(it)
		}
	}
}

// prologue computes, once per call, the invariants the loop reads (homes'
// keys, see loopFixed) and writes each to its home, from which the loop
// reads it or the kernel loads it into a register for the whole call. Its
// leaves are read from where leafLoc says; every register is free.
func prologue(c *build.Context, is isa, p *vprog.Program, homes map[vprog.Value]operand.Mem, leafLoc func(vprog.Value) loc, local func(int) operand.Mem) {
	if len(homes) == 0 {
		return
	}
	var vs []vprog.Value
	need := make([]bool, len(p.Instrs))
	for v := range homes {
		vs = append(vs, v)
		need[v] = true
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	fixed := make([]bool, len(p.Instrs))
	f := &frame{is: is, p: p, live: need, fixed: fixed, leaf: map[vprog.Value]loc{}, slots: map[int][]operand.Mem{}, allocSlot: local}
	for i := len(p.Instrs) - 1; i >= 0; i-- {
		in := p.Instrs[i]
		switch {
		case !need[i]:
		case isLeaf(in.Op):
			fixed[i] = true
			f.leaf[vprog.Value(i)] = leafLoc(vprog.Value(i))
		default:
			for _, a := range in.Args[:in.Op.Arity()] {
				need[a] = true
			}
		}
	}
	for i := 0; i < is.vecRegs(); i++ {
		f.vecFree = append(f.vecFree, i)
	}
	f.maskFree = is.maskRegs()
	a := newAllocator(f, c, 1, false, 0)
	a.computeItems(1)
	for _, v := range vs {
		key := vkey{v, 0}
		a.uses[key] = append(a.uses[key], len(a.seq))
		a.seq = append(a.seq, item{v: v, isHome: true, home: homes[v]})
	}
	a.run()
}

// writeHome stores a prologue's invariant to its home.
func (a *allocator) writeHome(it item) {
	var temps []reg.Physical
	r := a.operand(it.v, 0, true, &temps).r
	a.is.spill(a.c, r, it.home)
	for _, t := range temps {
		a.release(t)
	}
	a.retire([]vprog.Value{it.v}, 0)
	for r := range a.pinned {
		delete(a.pinned, r)
	}
}

// nextUse is the first use of k after position p (a large number if none).
func (a *allocator) nextUse(k vkey, p int) int {
	us := a.uses[k]
	i := sort.SearchInts(us, p+1)
	if i == len(us) {
		return 1 << 30
	}
	return us[i]
}

func (a *allocator) dies(k vkey) bool { return a.nextUse(k, a.pos) == 1<<30 }

func (a *allocator) isMaskReg(r reg.Physical) bool { return r.Kind() == reg.KindOpmask }

// alloc takes a free register of the class (mask or vector), evicting the
// value whose next use is farthest when none is free.
func (a *allocator) alloc(mask bool) reg.Physical {
	mask = mask && a.is.maskRegs() != nil
	var cands []reg.Physical
	if mask {
		cands = a.maskFree
	} else {
		for _, i := range a.vecFree {
			cands = append(cands, a.is.vec(i))
		}
	}
	for _, r := range cands {
		if a.free[r] {
			delete(a.free, r)
			return r
		}
	}
	var victim reg.Physical
	far := -1
	for _, r := range cands {
		k := a.owner[r]
		if k == nil || a.pinned[r] {
			continue
		}
		if n := a.nextUse(*k, a.pos-1); n > far {
			far, victim = n, r
		}
	}
	if victim == nil {
		panic(fmt.Sprintf("asm: %s: no register left to evict (program needs more operands at once than the ISA has registers)", a.p.Name))
	}
	k := a.owner[victim]
	st := a.state[*k]
	if !st.hasSlot {
		st.slot, st.hasSlot = a.getSlot(st.mask), true
		a.is.spill(a.c, victim, st.slot)
		a.cost.moves++
	}
	st.inReg = false
	delete(a.owner, victim)
	a.cost.spills++
	return victim
}

func (a *allocator) getSlot(mask bool) operand.Mem {
	n := a.is.slotBytes(mask)
	if l := a.slots[n]; len(l) > 0 {
		m := l[len(l)-1]
		a.slots[n] = l[:len(l)-1]
		return m
	}
	return a.allocSlot(n)
}

func (a *allocator) release(r reg.Physical) {
	delete(a.owner, r)
	delete(a.pinned, r)
	a.free[r] = true
}

// operand returns where argument v of vector u is, reloading a spilled value
// when a register is required.
func (a *allocator) operand(v vprog.Value, u int, needReg bool, temps *[]reg.Physical) loc {
	if l, ok := a.leaf[v]; ok {
		if !l.mem || !needReg {
			return l
		}
		r := a.alloc(false)
		a.pinned[r] = true
		*temps = append(*temps, r)
		a.is.materialize(a.c, r.(reg.VecPhysical), l)
		a.cost.moves++
		return loc{r: r}
	}
	k := vkey{v, u}
	st := a.state[k]
	if st == nil {
		panic(fmt.Sprintf("asm: %s: v%d used before it is computed", a.p.Name, v))
	}
	if st.inReg {
		a.pinned[st.r] = true
		return loc{r: st.r}
	}
	if !needReg {
		return loc{m: st.slot, mem: true}
	}
	r := a.alloc(st.mask)
	a.is.reload(a.c, r, st.slot)
	a.cost.moves++
	st.r, st.inReg = r, true
	kk := k
	a.owner[r] = &kk
	a.pinned[r] = true
	return loc{r: r}
}

// inReg reports whether argument v (vector u) is in a register now.
func (a *allocator) inReg(v vprog.Value, u int) bool {
	if l, ok := a.leaf[v]; ok {
		return !l.mem
	}
	st := a.state[vkey{v, u}]
	return st != nil && st.inReg
}

func (a *allocator) dyingReg(v vprog.Value, u int) bool {
	if _, ok := a.leaf[v]; ok {
		return false
	}
	return a.inReg(v, u) && a.dies(vkey{v, u})
}

func (a *allocator) compute(it item) {
	in := a.p.Instrs[it.v]
	key := vkey{it.v, it.u}
	st := &valState{mask: in.Op.GivesMask()}
	var temps []reg.Physical
	var dst reg.Physical

	if in.Op == vprog.OpInput {
		dst = a.alloc(false)
		idx := int(in.Imm)
		m := operand.Mem{Base: a.ptrs[idx], Disp: it.u * a.is.memBytes()}
		a.is.load(a.c, dst.(reg.VecPhysical), m, a.tail)
		a.define(key, st, dst)
		return
	}

	n := in.Op.Arity()
	args := append([]vprog.Value(nil), in.Args[:n]...)
	var sh shape
	var form fmaForm
	if in.Op == vprog.OpFMA {
		// Three forms, six placements of the operands: fma.go.
		args, form = a.fmaLayout(args, it.u)
		sh = fmaShape
	} else {
		sh = a.is.shape(in)
	}
	// Exchanging the operands of a commutative operation changes which NaN
	// comes out where both are NaN (x86 returns the first source's), and
	// x and |x| are two NaNs of one input: only a leaf (a constant or a
	// parameter, never NaN from an input) may trade places with a computed
	// value. A spilled computed first operand is reloaded instead.
	if _, leaf0 := a.leaf[args[0]]; sh.commute && leaf0 {
		memOnly := func(v vprog.Value) bool { return !a.inReg(v, it.u) }
		if sh.memArg == 1 && memOnly(args[0]) && !memOnly(args[1]) {
			args[0], args[1] = args[1], args[0]
		}
	}

	locs := make([]loc, n)
	for j := 0; j < n; j++ {
		if j == sh.tie {
			continue
		}
		locs[j] = a.operand(args[j], it.u, j != sh.memArg, &temps)
	}

	switch {
	case sh.tie >= 0:
		t := args[sh.tie]
		if a.dyingReg(t, it.u) && (sh.tieShared || !a.usedTwice(args, sh.tie)) {
			tk := vkey{t, it.u}
			dst = a.state[tk].r
			a.state[tk].inReg = false
			delete(a.owner, dst)
			a.pinned[dst] = true
		} else {
			src := a.operand(t, it.u, false, &temps)
			dst = a.alloc(st.mask)
			a.pinned[dst] = true
			a.is.materialize(a.c, dst.(reg.VecPhysical), src)
			a.cost.moves++
		}
		locs[sh.tie] = loc{r: dst}
	case !sh.dstEarly:
		// Reuse a dying operand's register for the result.
		for j := 0; j < n && dst == nil; j++ {
			if locs[j].mem || !a.dyingReg(args[j], it.u) {
				continue
			}
			r := locs[j].r
			if a.isMaskReg(r) != (st.mask && a.is.maskRegs() != nil) {
				continue
			}
			dst = r
			a.state[vkey{args[j], it.u}].inReg = false
			delete(a.owner, r)
		}
	}
	if dst == nil {
		dst = a.alloc(st.mask)
	}
	a.pinned[dst] = true
	scratch := make([]reg.VecPhysical, sh.scratch)
	for i := range scratch {
		r := a.alloc(false)
		a.pinned[r] = true
		temps = append(temps, r)
		scratch[i] = r.(reg.VecPhysical)
	}
	if in.Op == vprog.OpFMA {
		a.is.fma(a.c, form, dst, locs[1], locs[2])
	} else {
		a.is.emit(a.c, in, dst, locs, scratch)
	}

	for _, r := range temps {
		a.release(r)
	}
	a.retire(args, it.u)
	a.define(key, st, dst)
	for r := range a.pinned {
		delete(a.pinned, r)
	}
}

func (a *allocator) usedTwice(args []vprog.Value, j int) bool {
	for i, v := range args {
		if i != j && v == args[j] {
			return true
		}
	}
	return false
}

// retire frees the registers and slots of operands with no further use.
func (a *allocator) retire(args []vprog.Value, u int) {
	for _, v := range args {
		if _, ok := a.leaf[v]; ok {
			continue
		}
		k := vkey{v, u}
		st := a.state[k]
		if st == nil || !a.dies(k) {
			continue
		}
		if st.inReg {
			a.release(st.r)
		}
		if st.hasSlot {
			n := a.is.slotBytes(st.mask)
			a.slots[n] = append(a.slots[n], st.slot)
		}
		delete(a.state, k)
	}
}

func (a *allocator) define(k vkey, st *valState, r reg.Physical) {
	st.r, st.inReg = r, true
	kk := k
	a.owner[r] = &kk
	a.state[k] = st
	delete(a.pinned, r)
}

func (a *allocator) store(it item) {
	var temps []reg.Physical
	l := a.operand(it.v, it.u, true, &temps)
	r := l.r.(reg.VecPhysical)
	if _, isLeafVal := a.leaf[it.v]; isLeafVal && len(temps) == 0 {
		// A hoisted leaf: store a copy, the register must survive.
		t := a.alloc(false)
		temps = append(temps, t)
		a.is.move(a.c, t.(reg.VecPhysical), r)
		a.cost.moves++
		r = t.(reg.VecPhysical)
	}
	m := operand.Mem{Base: a.dst, Disp: it.u * a.is.memBytes()}
	how := storeWhole
	switch {
	case a.tail:
		how = storeTail
	case a.stream:
		how = storeStream
	}
	a.is.store(a.c, r, m, how)
	for _, t := range temps {
		a.release(t)
	}
	a.retire([]vprog.Value{it.v}, it.u)
	for r := range a.pinned {
		delete(a.pinned, r)
	}
}

// fold merges vector u's result (and rounding-error term) into its
// accumulator group.
func (a *allocator) fold(it item) {
	var temps []reg.Physical
	outs := []vprog.Value{a.p.Result}
	v := a.operand(a.p.Result, it.u, true, &temps).r.(reg.VecPhysical)
	var verr reg.VecPhysical
	if hasResultErr(a.p) {
		outs = append(outs, a.p.ResultErr)
		verr = a.operand(a.p.ResultErr, it.u, true, &temps).r.(reg.VecPhysical)
	}
	nv, nm := a.is.foldScratch(a.p.Reduce, a.tail)
	scratch := make([]reg.VecPhysical, nv)
	for i := range scratch {
		r := a.alloc(false)
		a.pinned[r] = true
		temps = append(temps, r)
		scratch[i] = r.(reg.VecPhysical)
	}
	masks := make([]reg.Physical, nm)
	for i := range masks {
		r := a.alloc(true)
		a.pinned[r] = true
		temps = append(temps, r)
		masks[i] = r
	}
	g := (a.pair0 + it.u) % len(a.accS)
	var cc reg.VecPhysical
	if a.accC != nil {
		cc = a.accC[g]
	}
	a.is.fold(a.c, a.p.Reduce, a.accS[g], cc, v, verr, scratch, masks, a.tail)
	for _, r := range temps {
		a.release(r)
	}
	a.retire(outs, it.u)
	for r := range a.pinned {
		delete(a.pinned, r)
	}
}

// stopTest leaves the kernel, before this iteration stores anything, if
// any element of its vectors is one to stop at (Program.Stops).
func (a *allocator) stopTest() {
	var temps, masks []reg.Physical
	for k := 0; k < a.u; k++ {
		for _, s := range a.p.Stops {
			masks = append(masks, a.operand(s, k, true, &temps).r)
		}
	}
	a.is.stopIf(a.c, masks, a.tail, operand.LabelRef("stop"))
	for _, r := range temps {
		a.release(r)
	}
	for k := 0; k < a.u; k++ {
		a.retire(a.p.Stops, k)
	}
	for r := range a.pinned {
		delete(a.pinned, r)
	}
}

// combine folds vector with's result into vector u's, in u's register (a
// max reduction's tree; see body).
func (a *allocator) combine(it item) {
	var temps []reg.Physical
	k := vkey{it.v, it.u}
	acc := a.operand(it.v, it.u, true, &temps).r.(reg.VecPhysical)
	v := a.operand(it.v, it.with, true, &temps).r.(reg.VecPhysical)
	if st := a.state[k]; st.hasSlot {
		// The register is about to change: the spilled copy goes stale.
		a.slots[a.is.slotBytes(false)] = append(a.slots[a.is.slotBytes(false)], st.slot)
		st.hasSlot = false
	}
	nv, nm := a.is.foldScratch(vprog.ReduceMax, false)
	scratch := make([]reg.VecPhysical, nv)
	for i := range scratch {
		r := a.alloc(false)
		a.pinned[r] = true
		temps = append(temps, r)
		scratch[i] = r.(reg.VecPhysical)
	}
	masks := make([]reg.Physical, nm)
	for i := range masks {
		r := a.alloc(true)
		a.pinned[r] = true
		temps = append(temps, r)
		masks[i] = r
	}
	a.is.fold(a.c, vprog.ReduceMax, acc, nil, v, nil, scratch, masks, false)
	for _, r := range temps {
		a.release(r)
	}
	a.retire([]vprog.Value{it.v}, it.with)
	for r := range a.pinned {
		delete(a.pinned, r)
	}
}
