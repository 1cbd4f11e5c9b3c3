package asm

import (
	"fmt"
	"math"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/actkern/actkern/internal/vprog"
)

// loc is where an operand lives when an instruction reads it: a physical
// register, or memory (a constant in the pool, a parameter's stack home, a
// spill slot). bcst marks a scalar in memory that AVX-512 broadcasts with an
// embedded {1toN} operand; without it the memory holds a full vector.
type loc struct {
	r    reg.Physical
	m    operand.Mem
	mem  bool
	bcst bool
}

func (l loc) op() operand.Op {
	if l.mem {
		return l.m
	}
	return l.r
}

// shape tells the register allocator what an operation's encoding allows.
type shape struct {
	memArg   int  // the argument that may be a memory operand, -1 for none
	tie      int  // the argument the destination must share (destructive encodings), -1 for none
	commute  bool // arguments 0 and 1 may be exchanged
	scratch  int  // extra vector registers the sequence needs
	dstEarly bool // the sequence writes dst before it has read every operand: dst must not alias them
	// tieShared: one instruction that reads every operand before it
	// writes, so the tied operand may be another operand too and still
	// give its register to dst.
	tieShared bool
}

// isa is one instruction set behind the common emitter: it knows the
// registers, how each lane operation is encoded, and how slices are loaded
// and stored (whole vectors and masked tails). Everything specific to an
// activation lives in the vector program; everything specific to an
// instruction set lives behind this interface.
// storeKind is how a kernel writes one vector of results.
type storeKind int

const (
	storeWhole  storeKind = iota // an ordinary store of every lane
	storeTail                    // only the lanes of the tail mask
	storeStream                  // every lane, non-temporal: around the caches, straight to memory
)

type isa interface {
	name() string // "AVX2" or "AVX512": the kernel-name suffix
	vecRegs() int // allocatable vector registers
	vec(i int) reg.VecPhysical
	// maskRegs lists the registers masks live in; nil when masks are
	// ordinary vectors (AVX2).
	maskRegs() []reg.Physical
	lanes() int    // elements per vector
	memBytes() int // bytes of memory one vector of elements occupies
	shape(in vprog.Instr) shape
	constLoc(bits uint64) loc // memory operand holding a constant
	// emit encodes one lane operation, any but FMA; dst is a vector or
	// mask register.
	emit(c *build.Context, in vprog.Instr, dst reg.Physical, args []loc, scratch []reg.VecPhysical)
	// fma encodes an FMA in the form the allocator chose (fma.go); dst
	// holds the first slot's operand.
	fma(c *build.Context, form fmaForm, dst reg.Physical, reg, mem loc)
	// materialize loads a memory operand (constant, parameter, spilled
	// value) into a vector register.
	materialize(c *build.Context, dst reg.VecPhysical, l loc)
	move(c *build.Context, dst, src reg.VecPhysical)
	spill(c *build.Context, src reg.Physical, slot operand.Mem)
	reload(c *build.Context, dst reg.Physical, slot operand.Mem)
	slotBytes(mask bool) int
	// load reads one vector of elements at m (converting to the compute type);
	// when tail is set, only the lanes selected by the tail mask.
	load(c *build.Context, dst reg.VecPhysical, m operand.Mem, tail bool)
	// store writes src (clobbering it when converting) to m: a whole
	// vector, the lanes selected by the tail mask, or a whole vector with a
	// non-temporal store (m aligned to the vector's bytes).
	store(c *build.Context, src reg.VecPhysical, m operand.Mem, how storeKind)
	// setupTail builds the tail mask for rem (1 ≤ rem < lanes) remaining elements.
	setupTail(c *build.Context, rem reg.GPVirtual)
	tailReserved() []reg.Physical // registers the tail mask occupies
	// paramHome turns a scalar parameter, the argument arg of the memory
	// type, into its stack home. Only VEX-encoded instructions: a legacy
	// SSE one (MOVSS, CVTSS2SD) while the upper halves of the vector
	// registers are dirty cost a kernel hundreds of cycles per call on
	// Intel cores (measured: float32 hardtanh's AVX2 kernel took 1.6 times
	// as long as relu6's, whose loop is the same).
	paramHome(c *build.Context, arg, home operand.Mem)
	paramHomeBytes() int
	paramLoc(home operand.Mem) loc
	// foldScratch is how many vector and mask registers fold needs.
	foldScratch(r vprog.Reducer, tail bool) (vecs, masks int)
	// fold merges one vector of a reduction program's values v (and, for a
	// sum with a rounding-error term, verr; else nil) into the accumulator
	// lanes s (and c, the compensations of a sum) exactly as vprog.Acc.Add
	// does lane by lane. With tail set, lanes outside the tail mask keep
	// their values. scratch and masks are free registers.
	fold(c *build.Context, r vprog.Reducer, s, cc, v, verr reg.VecPhysical, scratch []reg.VecPhysical, masks []reg.Physical, tail bool)
	// stopIf jumps to the label stop where any lane of any of masks (a
	// program's Stops, one register each) is set; with tail set, only the
	// lanes of the tail mask count. It takes no register: a scratch one
	// could cost a wider body its place.
	stopIf(c *build.Context, masks []reg.Physical, tail bool, stop operand.LabelRef)
}

// pool is a file's constant pool: every constant is stored once, as a bit
// pattern, in the layout the ISA wants (a scalar for broadcast, or a whole
// vector for plain memory operands).
type pool struct {
	name    string
	entries map[poolKey]int
	data    []byte
	// added replays each addition, in order, on another pool (replay).
	added []func(*pool)
}

type poolKey struct {
	bits  uint64
	size  int // bytes of one element
	count int // replications
}

func newPool(name string) *pool { return &pool{name: name, entries: map[poolKey]int{}} }

func (p *pool) mem(off int) operand.Mem {
	return operand.Mem{Symbol: operand.Symbol{Name: p.name, Static: true}, Base: reg.StaticBase, Disp: off}
}

// get returns the memory operand of the constant, adding it if needed. The
// entry is aligned to its own size so that vector loads do not split lines.
func (p *pool) get(bits uint64, size, count int) operand.Mem {
	k := poolKey{bits, size, count}
	if off, ok := p.entries[k]; ok {
		return p.mem(off)
	}
	n := size * count
	for len(p.data)%n != 0 {
		p.data = append(p.data, 0)
	}
	off := len(p.data)
	for i := 0; i < count; i++ {
		for b := 0; b < size; b++ {
			p.data = append(p.data, byte(bits>>(8*b)))
		}
	}
	p.entries[k] = off
	p.added = append(p.added, func(q *pool) { q.get(bits, size, count) })
	return p.mem(off)
}

// raw appends arbitrary bytes (the AVX2 tail-mask table).
func (p *pool) raw(key string, b []byte, align int) operand.Mem {
	k := poolKey{bits: hash(key), size: -1, count: len(b)}
	if off, ok := p.entries[k]; ok {
		return p.mem(off)
	}
	for len(p.data)%align != 0 {
		p.data = append(p.data, 0)
	}
	off := len(p.data)
	p.data = append(p.data, b...)
	p.entries[k] = off
	p.added = append(p.added, func(q *pool) { q.raw(key, b, align) })
	return p.mem(off)
}

// replay adds to q, in the order p received them, the constants p holds:
// q then holds them where it would had it received p's requests itself.
func (p *pool) replay(q *pool) {
	for _, add := range p.added {
		add(q)
	}
}

func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// emitData writes the pool as a read-only global.
func (p *pool) emitData(c *build.Context) {
	if len(p.data) == 0 {
		return
	}
	for len(p.data)%8 != 0 {
		p.data = append(p.data, 0)
	}
	c.StaticGlobal(p.name)
	c.DataAttributes(8 | 256) // RODATA | NOPTR
	for off := 0; off < len(p.data); off += 8 {
		var v uint64
		for b := 0; b < 8; b++ {
			v |= uint64(p.data[off+b]) << (8 * b)
		}
		c.AddDatum(off, operand.U64(v))
	}
}

// constBits is the bit pattern of v in the compute type t.
func constBits(v float64, t vprog.Type) uint64 {
	if t == vprog.F32 {
		return uint64(math.Float32bits(float32(v)))
	}
	return math.Float64bits(v)
}

// fp holds the instruction variants of one lane type, so that each lane
// operation is written once per ISA rather than once per precision.
type fp struct {
	f32 bool
}

func (f fp) pick(pd, ps func(...operand.Op)) func(...operand.Op) {
	if f.f32 {
		return ps
	}
	return pd
}

func (f fp) bits() int {
	if f.f32 {
		return 32
	}
	return 64
}

func (f fp) sign() uint64 { return 1 << (f.bits() - 1) }

func (f fp) abs() uint64 { return f.sign() - 1 }

// Encodings shared by both ISAs (VEX and EVEX spell them alike).
const (
	cmpEQOQ   = 0x00
	cmpUNORDQ = 0x03
	cmpORDQ   = 0x07
	// cmpNLEUQ is !(a <= b): a > b, or either is NaN.
	cmpNLEUQ = 0x16
	cmpLTOQ  = 0x11
	cmpLEOQ  = 0x12
	cmpGTOQ  = 0x1e
	// roundSuppress is bit 3 of the ROUND/RNDSCALE immediate: do not raise
	// the precision exception.
	roundSuppress = 8
	// getmantImm selects the interval [1, 2) with the sign cleared.
	getmantImm = 0x04
)

func cmpPredicate(op vprog.Op) uint64 {
	switch op {
	case vprog.OpLT:
		return cmpLTOQ
	case vprog.OpLE:
		return cmpLEOQ
	case vprog.OpEQ:
		return cmpEQOQ
	case vprog.OpIsNaN:
		return cmpUNORDQ
	}
	panic(fmt.Sprintf("asm: %s is not a comparison", op))
}

// cmpNegation is the predicate that is true exactly where the ordered
// predicate p is false, NaN operands included (bit 2 of the VEX/EVEX
// predicate negates it, and the negation is unordered): NLT_UQ, NLE_UQ,
// NEQ_UQ.
func cmpNegation(p uint64) uint64 { return p ^ 0x04 }

// commonShape is the shape of operations both ISAs encode as one
// three-operand instruction whose last source may be memory.
func commonShape(op vprog.Op) (shape, bool) {
	switch op {
	case vprog.OpAdd, vprog.OpMul:
		return shape{memArg: 1, tie: -1, commute: true}, true
	case vprog.OpSub, vprog.OpDiv, vprog.OpMin, vprog.OpMax, vprog.OpLT, vprog.OpLE, vprog.OpEQ:
		return shape{memArg: 1, tie: -1}, true
	case vprog.OpNeg, vprog.OpAbs, vprog.OpNegAbs, vprog.OpSqrt, vprog.OpRound, vprog.OpIsNaN:
		return shape{memArg: -1, tie: -1}, true
	case vprog.OpSelect:
		// Blend: the "true" operand may be memory.
		return shape{memArg: 1, tie: -1}, true
	}
	return shape{}, false
}

// twoSum emits the error-free addition of vprog.Acc.Add, lane-wise, for
// YMM or ZMM registers: t = s + v and e = (s - (t - bp)) + (v - bp) (+ verr
// when not nil) with bp = t - s. It uses bp as scratch; t, bp and e must be
// distinct from s, v and verr. Each operation keeps the operand order of
// the Go definition, so that where two NaNs meet the first operand's
// payload wins on both sides (x86 returns the first source's NaN).
//
// The definition adds verr even when it is 0: e + 0 would turn e = -0 into
// +0. No vector is needed for that: in round-to-nearest e is never -0
// (v - bp = -0 needs v = -0 and bp = +0, hence t = s and s - (t - bp) = +0),
// so e + 0 = e.
func twoSum(c *build.Context, s, v, verr, t, bp, e reg.VecPhysical) {
	c.VADDPD(v, s, t)   // t = s + v
	c.VSUBPD(s, t, bp)  // bp = t - s
	c.VSUBPD(bp, t, e)  // e = t - bp
	c.VSUBPD(e, s, e)   // e = s - (t - bp)
	c.VSUBPD(bp, v, bp) // bp = v - bp
	c.VADDPD(bp, e, e)  // e = (s - (t - bp)) + (v - bp)
	if verr != nil {
		c.VADDPD(verr, e, e) // e + verr
	}
}
