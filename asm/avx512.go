package asm

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/actkern/actkern/internal/vprog"
)

// avx512 encodes lane operations on ZMM registers with opmask registers for
// masks and tails (AVX-512 F, DQ, BW, VL).
type avx512 struct {
	fp
	mem   vprog.Type // element type of the slices
	pool  *pool
	tailK reg.Physical
	// plainMax: the program is a max reduction of a value that is never
	// NaN (vprog.Program.NeverNaN), folded by VMAXPD alone.
	plainMax bool
}

func newAVX512(p *vprog.Program, pl *pool) *avx512 {
	return &avx512{fp: fp{f32: p.Compute == vprog.F32}, mem: p.Mem, pool: pl, tailK: reg.K1,
		plainMax: p.Reduce == vprog.ReduceMax && p.NeverNaN(p.Result)}
}

func (a *avx512) name() string { return "AVX512" }
func (a *avx512) vecRegs() int { return 32 }

func (a *avx512) vec(i int) reg.VecPhysical { return zmm[i] }

// maskRegs excludes K0 (it cannot be a write mask) and K1 (the tail mask).
func (a *avx512) maskRegs() []reg.Physical {
	return []reg.Physical{reg.K2, reg.K3, reg.K4, reg.K5, reg.K6, reg.K7}
}

func (a *avx512) lanes() int {
	if a.f32 {
		return 16
	}
	return 8
}

func (a *avx512) memBytes() int { return a.lanes() * a.mem.Bits() / 8 }

func (a *avx512) shape(in vprog.Instr) shape {
	op := in.Op
	if s, ok := commonShape(op); ok {
		return s
	}
	switch op {
	case vprog.OpLdexp:
		return shape{memArg: 1, tie: -1}
	case vprog.OpGetExp, vprog.OpGetMant, vprog.OpNot:
		return shape{memArg: -1, tie: -1}
	case vprog.OpAnd, vprog.OpOr, vprog.OpAndNot:
		return shape{memArg: -1, tie: -1}
	case vprog.OpAndCmp:
		return shape{memArg: 2, tie: -1}
	case vprog.OpKeepIf:
		// The operation's second operand may be memory (a broadcast
		// constant).
		return shape{memArg: 2, tie: -1}
	case vprog.OpMergeIf:
		// As OpKeepIf, into dst, which holds argument 3 (the lanes off
		// the mask).
		return shape{memArg: 2, tie: 3, tieShared: true}
	case vprog.OpCopySign:
		// VPTERNLOG is destructive: dst starts as the magnitude operand.
		return shape{memArg: -1, tie: 0}
	case vprog.OpParityNeg:
		// A shift into a scratch register, then an XOR that may read a
		// from memory.
		return shape{memArg: 0, tie: -1, scratch: 1}
	case vprog.OpFixUp:
		// VFIXUPIMM keeps its destination (argument 2) where the token is
		// 0; the operand may be the destination too. The table (argument 1)
		// may be memory.
		return shape{memArg: 1, tie: 2, tieShared: true}
	}
	panic(fmt.Sprintf("asm: AVX512 has no encoding for %s", op))
}

func (a *avx512) constLoc(bits uint64) loc {
	return loc{m: a.pool.get(bits, a.bits()/8, 1), mem: true, bcst: true}
}

// three emits a two-source operation "dst = x OP y" whose y may be memory,
// broadcast from a scalar when the location says so.
func (a *avx512) three(c *build.Context, pd, ps, pdb, psb func(...operand.Op), x, y loc, dst reg.Physical) {
	f := a.pick(pd, ps)
	if y.bcst {
		f = a.pick(pdb, psb)
	}
	f(y.op(), x.op(), dst)
}

func (a *avx512) fma(c *build.Context, form fmaForm, dst reg.Physical, r, m loc) {
	switch form {
	case fma213:
		a.three(c, c.VFMADD213PD, c.VFMADD213PS, c.VFMADD213PD_BCST, c.VFMADD213PS_BCST, r, m, dst)
	case fma132:
		a.three(c, c.VFMADD132PD, c.VFMADD132PS, c.VFMADD132PD_BCST, c.VFMADD132PS_BCST, r, m, dst)
	case fma231:
		a.three(c, c.VFMADD231PD, c.VFMADD231PS, c.VFMADD231PD_BCST, c.VFMADD231PS_BCST, r, m, dst)
	}
}

func (a *avx512) emit(c *build.Context, in vprog.Instr, dst reg.Physical, args []loc, scratch []reg.VecPhysical) {
	switch in.Op {
	case vprog.OpAdd:
		a.three(c, c.VADDPD, c.VADDPS, c.VADDPD_BCST, c.VADDPS_BCST, args[0], args[1], dst)
	case vprog.OpSub:
		a.three(c, c.VSUBPD, c.VSUBPS, c.VSUBPD_BCST, c.VSUBPS_BCST, args[0], args[1], dst)
	case vprog.OpMul:
		a.three(c, c.VMULPD, c.VMULPS, c.VMULPD_BCST, c.VMULPS_BCST, args[0], args[1], dst)
	case vprog.OpDiv:
		a.three(c, c.VDIVPD, c.VDIVPS, c.VDIVPD_BCST, c.VDIVPS_BCST, args[0], args[1], dst)
	case vprog.OpMin:
		// MINPD dst, a, b gives b when either is NaN: the IR's rule exactly.
		a.three(c, c.VMINPD, c.VMINPS, c.VMINPD_BCST, c.VMINPS_BCST, args[0], args[1], dst)
	case vprog.OpMax:
		a.three(c, c.VMAXPD, c.VMAXPS, c.VMAXPD_BCST, c.VMAXPS_BCST, args[0], args[1], dst)
	case vprog.OpLdexp:
		if in.Imm == vprog.LdexpFlush {
			panic("asm: AVX512 needs LdexpFlush masked (vprog.Program.ForX86)")
		}
		// VSCALEF computes a·2^floor(b) with one rounding; b is integer-valued.
		a.three(c, c.VSCALEFPD, c.VSCALEFPS, c.VSCALEFPD_BCST, c.VSCALEFPS_BCST, args[0], args[1], dst)
	case vprog.OpNeg:
		a.three(c, c.VXORPD, c.VXORPS, c.VXORPD_BCST, c.VXORPS_BCST, args[0], a.constLoc(a.sign()), dst)
	case vprog.OpAbs:
		a.three(c, c.VANDPD, c.VANDPS, c.VANDPD_BCST, c.VANDPS_BCST, args[0], a.constLoc(a.abs()), dst)
	case vprog.OpNegAbs:
		a.three(c, c.VORPD, c.VORPS, c.VORPD_BCST, c.VORPS_BCST, args[0], a.constLoc(a.sign()), dst)
	case vprog.OpParityNeg:
		// scratch = the lowest bit of args[1] moved to the sign bit; dst =
		// args[0] XOR scratch. args[1] is read before dst is written.
		if a.f32 {
			c.VPSLLD(operand.U8(31), args[1].r, scratch[0])
		} else {
			c.VPSLLQ(operand.U8(63), args[1].r, scratch[0])
		}
		a.three(c, c.VXORPD, c.VXORPS, c.VXORPD_BCST, c.VXORPS_BCST, loc{r: scratch[0]}, args[0], dst)
	case vprog.OpCopySign:
		// dst holds args[0]; take the bits selected by the sign mask from
		// args[1] and the rest from dst: imm 0xD8 is "z3 ? z2 : z1".
		m := a.constLoc(a.sign())
		imm := operand.U8(0xD8)
		if a.f32 {
			c.VPTERNLOGD_BCST(imm, m.m, args[1].r, dst)
		} else {
			c.VPTERNLOGQ_BCST(imm, m.m, args[1].r, dst)
		}
	case vprog.OpSqrt:
		a.pick(c.VSQRTPD, c.VSQRTPS)(args[0].r, dst)
	case vprog.OpRound:
		a.pick(c.VRNDSCALEPD, c.VRNDSCALEPS)(operand.U8(uint8(in.Imm)|roundSuppress), args[0].r, dst)
	case vprog.OpGetExp:
		a.pick(c.VGETEXPPD, c.VGETEXPPS)(args[0].r, dst)
	case vprog.OpGetMant:
		a.pick(c.VGETMANTPD, c.VGETMANTPS)(operand.U8(getmantImm), args[0].r, dst)
	case vprog.OpFixUp:
		// Argument 1 is the table; dst holds argument 2.
		f := a.pick(c.VFIXUPIMMPD, c.VFIXUPIMMPS)
		if args[1].bcst {
			f = a.pick(c.VFIXUPIMMPD_BCST, c.VFIXUPIMMPS_BCST)
		}
		f(operand.U8(0), args[1].op(), args[0].r, dst)
	case vprog.OpLT, vprog.OpLE, vprog.OpEQ:
		pr := cmpPredicate(in.Op)
		if in.Imm == vprog.CmpNegated {
			pr = cmpNegation(pr)
		}
		p := operand.U8(pr)
		if args[1].bcst {
			a.pick(c.VCMPPD_BCST, c.VCMPPS_BCST)(p, args[1].m, args[0].r, dst)
		} else {
			a.pick(c.VCMPPD, c.VCMPPS)(p, args[1].op(), args[0].r, dst)
		}
	case vprog.OpAndCmp:
		// The comparison under write mask args[0]: lanes off it give 0.
		p := operand.U8(cmpPredicate(vprog.Op(in.Imm)))
		if args[2].bcst {
			a.pick(c.VCMPPD_BCST, c.VCMPPS_BCST)(p, args[2].m, args[1].r, args[0].r, dst)
		} else {
			a.pick(c.VCMPPD, c.VCMPPS)(p, args[2].op(), args[1].r, args[0].r, dst)
		}
	case vprog.OpIsNaN:
		a.pick(c.VCMPPD, c.VCMPPS)(operand.U8(cmpUNORDQ), args[0].r, args[0].r, dst)
	case vprog.OpKeepIf, vprog.OpMergeIf:
		a.masked(c, vprog.Op(in.Imm), in.Op == vprog.OpMergeIf, args, dst)
	case vprog.OpAnd:
		c.KANDW(args[1].r, args[0].r, dst)
	case vprog.OpOr:
		c.KORW(args[1].r, args[0].r, dst)
	case vprog.OpAndNot:
		// KANDNW k3, k2, k1 is k1 = ^k2 & k3.
		c.KANDNW(args[0].r, args[1].r, dst)
	case vprog.OpNot:
		c.KNOTW(args[0].r, dst)
	case vprog.OpSelect:
		if in.Imm == vprog.SelectSign {
			panic("asm: AVX512 selects by an opmask, not a sign (vprog.SelectSign is for AVX2)")
		}
		// VBLENDMPD t, f, k, dst is dst = k ? t : f.
		if args[1].bcst {
			a.pick(c.VBLENDMPD_BCST, c.VBLENDMPS_BCST)(args[1].m, args[2].r, args[0].r, dst)
		} else {
			a.pick(c.VBLENDMPD, c.VBLENDMPS)(args[1].op(), args[2].r, args[0].r, dst)
		}
	default:
		panic(fmt.Sprintf("asm: AVX512 cannot emit %s", in.Op))
	}
}

// masked emits args[1] OP args[2] under the write mask args[0]: lanes off
// the mask give +0 (zeroing, vprog.OpKeepIf), or keep dst, which holds
// args[3] (merging, vprog.OpMergeIf). args[2] may be a broadcast constant.
func (a *avx512) masked(c *build.Context, op vprog.Op, merge bool, args []loc, dst reg.Physical) {
	// The forms: merging, then zeroing; each double, single, and with a
	// broadcast double, single.
	var f [2][4]func(ops ...operand.Op)
	z := func(fs ...func(m, xyz, k, xyz1 operand.Op)) [4]func(ops ...operand.Op) {
		var w [4]func(ops ...operand.Op)
		for i, g := range fs {
			w[i] = func(ops ...operand.Op) { g(ops[0], ops[1], ops[2], ops[3]) }
		}
		return w
	}
	switch op {
	case vprog.OpAdd:
		f = [2][4]func(ops ...operand.Op){{c.VADDPD, c.VADDPS, c.VADDPD_BCST, c.VADDPS_BCST},
			z(c.VADDPD_Z, c.VADDPS_Z, c.VADDPD_BCST_Z, c.VADDPS_BCST_Z)}
	case vprog.OpSub:
		f = [2][4]func(ops ...operand.Op){{c.VSUBPD, c.VSUBPS, c.VSUBPD_BCST, c.VSUBPS_BCST},
			z(c.VSUBPD_Z, c.VSUBPS_Z, c.VSUBPD_BCST_Z, c.VSUBPS_BCST_Z)}
	case vprog.OpMul:
		f = [2][4]func(ops ...operand.Op){{c.VMULPD, c.VMULPS, c.VMULPD_BCST, c.VMULPS_BCST},
			z(c.VMULPD_Z, c.VMULPS_Z, c.VMULPD_BCST_Z, c.VMULPS_BCST_Z)}
	case vprog.OpDiv:
		f = [2][4]func(ops ...operand.Op){{c.VDIVPD, c.VDIVPS, c.VDIVPD_BCST, c.VDIVPS_BCST},
			z(c.VDIVPD_Z, c.VDIVPS_Z, c.VDIVPD_BCST_Z, c.VDIVPS_BCST_Z)}
	case vprog.OpLdexp:
		f = [2][4]func(ops ...operand.Op){{c.VSCALEFPD, c.VSCALEFPS, c.VSCALEFPD_BCST, c.VSCALEFPS_BCST},
			z(c.VSCALEFPD_Z, c.VSCALEFPS_Z, c.VSCALEFPD_BCST_Z, c.VSCALEFPS_BCST_Z)}
	default:
		panic(fmt.Sprintf("asm: AVX512 has no masked form for %s", op))
	}
	i, j := 0, 0
	if !merge {
		i = 1
	}
	if a.f32 {
		j = 1
	}
	if args[2].bcst {
		j += 2
	}
	f[i][j](args[2].op(), args[1].r, args[0].r, dst)
}

func (a *avx512) materialize(c *build.Context, dst reg.VecPhysical, l loc) {
	switch {
	case !l.mem:
		a.move(c, dst, l.r.(reg.VecPhysical))
	case l.bcst && a.f32:
		c.VBROADCASTSS(l.m, dst)
	case l.bcst:
		c.VBROADCASTSD(l.m, dst)
	default:
		c.VMOVUPD(l.m, dst)
	}
}

func (a *avx512) move(c *build.Context, dst, src reg.VecPhysical) { c.VMOVAPD(src, dst) }

func (a *avx512) spill(c *build.Context, src reg.Physical, slot operand.Mem) {
	if src.Kind() == reg.KindOpmask {
		c.KMOVW(src, slot)
		return
	}
	c.VMOVUPD(src, slot)
}

func (a *avx512) reload(c *build.Context, dst reg.Physical, slot operand.Mem) {
	if dst.Kind() == reg.KindOpmask {
		c.KMOVW(slot, dst)
		return
	}
	c.VMOVUPD(slot, dst)
}

func (a *avx512) slotBytes(mask bool) int {
	if mask {
		return 8
	}
	return 64
}

func (a *avx512) load(c *build.Context, dst reg.VecPhysical, m operand.Mem, tail bool) {
	switch {
	case a.mem == vprog.F32 && !a.f32:
		// Eight float32 widened to float64. The masked load suppresses
		// faults on the lanes past the end.
		y := dst.AsY()
		if tail {
			c.VMOVUPS_Z(m, a.tailK, y)
			c.VCVTPS2PD(y, dst)
		} else {
			c.VCVTPS2PD(m, dst)
		}
	case tail && a.f32:
		c.VMOVUPS_Z(m, a.tailK, dst)
	case tail:
		c.VMOVUPD_Z(m, a.tailK, dst)
	default:
		a.pick(c.VMOVUPD, c.VMOVUPS)(m, dst)
	}
}

func (a *avx512) store(c *build.Context, src reg.VecPhysical, m operand.Mem, how storeKind) {
	var out operand.Op = src
	if a.mem == vprog.F32 && !a.f32 {
		// VCVTPD2PS rounds to nearest like Go's float32(x).
		c.VCVTPD2PS(src, src.AsY())
		out = src.AsY()
	}
	switch f32 := a.mem == vprog.F32; {
	case how == storeTail && f32:
		c.VMOVUPS(out, a.tailK, m)
	case how == storeTail:
		c.VMOVUPD(out, a.tailK, m)
	case how == storeStream && f32:
		c.VMOVNTPS(out, m)
	case how == storeStream:
		c.VMOVNTPD(out, m)
	case f32:
		c.VMOVUPS(out, m)
	default:
		c.VMOVUPD(out, m)
	}
}

// setupTail sets K1 to the low rem bits.
func (a *avx512) setupTail(c *build.Context, rem reg.GPVirtual) {
	t := c.GP32()
	c.MOVL(operand.I32(-1), t)
	c.BZHIL(rem.As32(), t, t)
	c.KMOVW(t, a.tailK)
}

func (a *avx512) tailReserved() []reg.Physical { return []reg.Physical{a.tailK} }

func (a *avx512) paramHomeBytes() int { return 8 }

// paramHome converts the argument to the compute type and stores the scalar;
// uses broadcast it with {1toN}.
func (a *avx512) paramHome(c *build.Context, arg, home operand.Mem) {
	x := reg.X0
	switch {
	case a.f32:
		c.VMOVSS(arg, x)
		c.VMOVSS(x, home)
		return
	case a.mem == vprog.F32:
		c.VCVTSS2SD(arg, x, x)
	default:
		c.VMOVSD(arg, x)
	}
	c.VMOVSD(x, home)
}

func (a *avx512) paramLoc(home operand.Mem) loc { return loc{m: home, mem: true, bcst: true} }

var zmm = []reg.VecPhysical{
	reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
	reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
	reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
	reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31,
}

var ymm = []reg.VecPhysical{
	reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
	reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15,
}

func (a *avx512) foldScratch(r vprog.Reducer, tail bool) (vecs, masks int) {
	if r == vprog.ReduceMax && a.plainMax {
		return 0, 0
	}
	if r == vprog.ReduceMax {
		return 0, 1
	}
	return 3, 0
}

// fold: the sum's new s and c are written under the tail mask (merge
// masking keeps the other lanes); the max takes v where a mask built
// under the tail mask says so.
func (a *avx512) fold(c *build.Context, r vprog.Reducer, s, cc, v, verr reg.VecPhysical, scratch []reg.VecPhysical, masks []reg.Physical, tail bool) {
	switch r {
	case vprog.ReduceSum:
		t, bp, e := scratch[0], scratch[1], scratch[2]
		twoSum(c, s, v, verr, t, bp, e)
		if tail {
			c.VADDPD(e, cc, a.tailK, cc) // c = c + e where the tail mask is set
			c.VMOVAPD(t, a.tailK, s)
		} else {
			c.VADDPD(e, cc, cc)
			c.VMOVAPD(t, s)
		}
	case vprog.ReduceMax:
		if a.plainMax {
			// s = v > s ? v : s, which is the rule below when neither
			// can be NaN (s starts at -Inf).
			if tail {
				c.VMAXPD(s, v, a.tailK, s)
			} else {
				c.VMAXPD(s, v, s)
			}
			return
		}
		// take = s is not NaN && !(v <= s), i.e. s is a number and v > s
		// or v is NaN: then s = v.
		k := masks[0]
		if tail {
			c.VCMPPD(operand.U8(cmpORDQ), s, s, a.tailK, k)
		} else {
			c.VCMPPD(operand.U8(cmpORDQ), s, s, k)
		}
		c.VCMPPD(operand.U8(cmpNLEUQ), s, v, k, k)
		c.VMOVAPD(v, k, s)
	default:
		panic(fmt.Sprintf("asm: no fold for reducer %s", r))
	}
}

// stopIf tests the opmasks two at a time, one KORTEST and one JNE each
// pair (ZF where no bit of either is set), or in the tail each against the
// tail mask with KTEST: as many instructions as ORing them into one
// register first, without that register. Float64 lanes use the byte
// forms: a comparison clears the bits above its lanes, but a KNOT would
// not.
func (a *avx512) stopIf(c *build.Context, masks []reg.Physical, tail bool, stop operand.LabelRef) {
	orTest, andTest := c.KORTESTW, c.KTESTW
	if !a.f32 {
		orTest, andTest = c.KORTESTB, c.KTESTB
	}
	for i := 0; i < len(masks); i++ {
		switch {
		case tail:
			andTest(a.tailK, masks[i])
		case i+1 < len(masks):
			orTest(masks[i], masks[i+1])
			i++
		default:
			orTest(masks[i], masks[i])
		}
		c.JNE(stop)
	}
}
