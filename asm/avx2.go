package asm

import (
	"fmt"
	"math"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/actkern/actkern/internal/vprog"
)

// avx2 encodes lane operations on YMM registers (AVX2 + FMA). Masks are
// all-ones/all-zeros lanes in ordinary registers; tails use VMASKMOV with a
// mask read from a table. Only Y0–Y15 exist for VEX encodings.
type avx2 struct {
	fp
	mem   vprog.Type
	pool  *pool
	tailY reg.VecPhysical
	// plainMax: as avx512's.
	plainMax bool
	prog     *vprog.Program
}

func newAVX2(p *vprog.Program, pl *pool) *avx2 {
	return &avx2{fp: fp{f32: p.Compute == vprog.F32}, mem: p.Mem, pool: pl, tailY: reg.Y15,
		plainMax: p.Reduce == vprog.ReduceMax && p.NeverNaN(p.Result), prog: p}
}

func (a *avx2) name() string { return "AVX2" }

// vecRegs leaves Y15 to the tail mask.
func (a *avx2) vecRegs() int                 { return 15 }
func (a *avx2) vec(i int) reg.VecPhysical    { return ymm[i] }
func (a *avx2) maskRegs() []reg.Physical     { return nil }
func (a *avx2) tailReserved() []reg.Physical { return []reg.Physical{a.tailY} }

func (a *avx2) lanes() int {
	if a.f32 {
		return 8
	}
	return 4
}

func (a *avx2) memBytes() int { return a.lanes() * a.mem.Bits() / 8 }

func (a *avx2) shape(in vprog.Instr) shape {
	op := in.Op
	if s, ok := commonShape(op); ok {
		return s
	}
	switch op {
	case vprog.OpAnd, vprog.OpOr, vprog.OpAndNot, vprog.OpAndMask:
		return shape{memArg: 1, tie: -1}
	case vprog.OpNot, vprog.OpGetExp, vprog.OpGetMant:
		return shape{memArg: -1, tie: -1}
	case vprog.OpCopySign:
		return shape{memArg: -1, tie: -1, scratch: 1}
	case vprog.OpParityNeg:
		// VEX shifts by an immediate take a register only; the XOR may
		// read a from memory.
		return shape{memArg: 0, tie: -1, scratch: 1}
	case vprog.OpLdexp:
		if in.Imm == vprog.LdexpNormal || in.Imm == vprog.LdexpFlush {
			// v·2^n is a product: v may be read from memory.
			return shape{memArg: 0, tie: -1, scratch: 1}
		}
		if in.Imm == vprog.LdexpMidRange {
			return shape{memArg: -1, tie: -1, scratch: 2, dstEarly: true}
		}
		return shape{memArg: -1, tie: -1, scratch: 4, dstEarly: true}
	}
	panic(fmt.Sprintf("asm: AVX2 has no encoding for %s", op))
}

// constLoc is a whole vector of the constant: VEX has no embedded broadcast.
func (a *avx2) constLoc(bits uint64) loc {
	return loc{m: a.pool.get(bits, a.bits()/8, 32/(a.bits()/8)), mem: true}
}

func (a *avx2) cf(v float64) operand.Mem {
	if a.f32 {
		return a.constLoc(uint64(math.Float32bits(float32(v)))).m
	}
	return a.constLoc(math.Float64bits(v)).m
}

func (a *avx2) fma(c *build.Context, form fmaForm, dst reg.Physical, r, m loc) {
	switch form {
	case fma213:
		a.pick(c.VFMADD213PD, c.VFMADD213PS)(m.op(), r.op(), dst)
	case fma132:
		a.pick(c.VFMADD132PD, c.VFMADD132PS)(m.op(), r.op(), dst)
	case fma231:
		a.pick(c.VFMADD231PD, c.VFMADD231PS)(m.op(), r.op(), dst)
	}
}

func (a *avx2) emit(c *build.Context, in vprog.Instr, dst reg.Physical, args []loc, s []reg.VecPhysical) {
	x := func(i int) operand.Op { return args[i].op() }
	switch in.Op {
	case vprog.OpAdd:
		a.pick(c.VADDPD, c.VADDPS)(x(1), x(0), dst)
	case vprog.OpSub:
		a.pick(c.VSUBPD, c.VSUBPS)(x(1), x(0), dst)
	case vprog.OpMul:
		a.pick(c.VMULPD, c.VMULPS)(x(1), x(0), dst)
	case vprog.OpDiv:
		a.pick(c.VDIVPD, c.VDIVPS)(x(1), x(0), dst)
	case vprog.OpMin:
		a.pick(c.VMINPD, c.VMINPS)(x(1), x(0), dst)
	case vprog.OpMax:
		a.pick(c.VMAXPD, c.VMAXPS)(x(1), x(0), dst)
	case vprog.OpNeg:
		a.pick(c.VXORPD, c.VXORPS)(a.constLoc(a.sign()).m, x(0), dst)
	case vprog.OpAbs:
		a.pick(c.VANDPD, c.VANDPS)(a.constLoc(a.abs()).m, x(0), dst)
	case vprog.OpNegAbs:
		a.pick(c.VORPD, c.VORPS)(a.constLoc(a.sign()).m, x(0), dst)
	case vprog.OpCopySign:
		// s0 = sign of args[1]; dst = |args[0]| | s0. Both operands are read
		// before dst is written.
		a.pick(c.VANDPD, c.VANDPS)(a.constLoc(a.sign()).m, x(1), s[0])
		a.pick(c.VANDPD, c.VANDPS)(a.constLoc(a.abs()).m, x(0), dst)
		a.pick(c.VORPD, c.VORPS)(s[0], dst, dst)
	case vprog.OpParityNeg:
		// s0 = the lowest bit of args[1] moved to the sign bit; dst =
		// args[0] XOR s0. args[1] is read before dst is written.
		if a.f32 {
			c.VPSLLD(operand.U8(31), x(1), s[0])
		} else {
			c.VPSLLQ(operand.U8(63), x(1), s[0])
		}
		a.pick(c.VXORPD, c.VXORPS)(x(0), s[0], dst)
	case vprog.OpSqrt:
		a.pick(c.VSQRTPD, c.VSQRTPS)(x(0), dst)
	case vprog.OpRound:
		f := c.VROUNDPD
		if a.f32 {
			f = c.VROUNDPS
		}
		f(operand.U8(uint8(in.Imm)|roundSuppress), x(0), dst)
	case vprog.OpLdexp:
		if in.Imm == vprog.LdexpNormal || in.Imm == vprog.LdexpFlush {
			// dst = v·2^n: the power built in s[0] from n's bits (+0 for
			// n = -1023: LdexpFlush), then one product (both operands
			// read before dst is written), which v = 1 does without.
			if v := a.prog.Instrs[in.Args[0]]; v.Op == vprog.OpConst && v.Imm == 1 {
				a.pow2(c, args[1].r.(reg.VecPhysical), dst.(reg.VecPhysical))
				break
			}
			a.pow2(c, args[1].r.(reg.VecPhysical), s[0])
			a.pick(c.VMULPD, c.VMULPS)(x(0), s[0], dst)
			break
		}
		a.ldexp(c, args[0].r.(reg.VecPhysical), args[1].r.(reg.VecPhysical), dst.(reg.VecPhysical), s, in.Imm == vprog.LdexpMidRange)
	case vprog.OpGetExp:
		// The biased exponent, placed in the mantissa of 2^52 (2^23) so
		// that subtracting 2^52+bias gives the unbiased exponent exactly.
		if a.f32 {
			c.VPSRLD(operand.U8(23), x(0), dst)
			c.VANDPS(a.constLoc(0xff).m, dst, dst)
			c.VORPS(a.constLoc(0x4b000000).m, dst, dst)
			c.VSUBPS(a.cf(1<<23+127), dst, dst)
		} else {
			c.VPSRLQ(operand.U8(52), x(0), dst)
			c.VANDPD(a.constLoc(0x7ff).m, dst, dst)
			c.VORPD(a.constLoc(0x4330000000000000).m, dst, dst)
			c.VSUBPD(a.cf(1<<52+1023), dst, dst)
		}
	case vprog.OpGetMant:
		if a.f32 {
			c.VANDPS(a.constLoc(0x007fffff).m, x(0), dst)
			c.VORPS(a.constLoc(0x3f800000).m, dst, dst)
		} else {
			c.VANDPD(a.constLoc(0x000fffffffffffff).m, x(0), dst)
			c.VORPD(a.constLoc(0x3ff0000000000000).m, dst, dst)
		}
	case vprog.OpLT, vprog.OpLE, vprog.OpEQ:
		pred := cmpPredicate(in.Op)
		if in.Imm == vprog.CmpNegated {
			pred = cmpNegation(pred)
		}
		a.pick(c.VCMPPD, c.VCMPPS)(operand.U8(pred), x(1), x(0), dst)
	case vprog.OpIsNaN:
		a.pick(c.VCMPPD, c.VCMPPS)(operand.U8(cmpUNORDQ), x(0), x(0), dst)
	case vprog.OpAnd:
		c.VANDPD(x(1), x(0), dst)
	case vprog.OpOr:
		c.VORPD(x(1), x(0), dst)
	case vprog.OpAndNot:
		// VANDNPD b, a, dst is dst = ^a & b.
		c.VANDNPD(x(0), x(1), dst)
	case vprog.OpNot:
		c.VXORPD(a.constLoc(^uint64(0)>>(64-a.bits())).m, x(0), dst)
	case vprog.OpAndMask:
		// VANDPD v, m, dst is m & v; VANDNPD v, m, dst is ^m & v.
		f := a.pick(c.VANDPD, c.VANDPS)
		if in.Imm == vprog.CmpNegated {
			f = a.pick(c.VANDNPD, c.VANDNPS)
		}
		f(x(1), x(0), dst)
	case vprog.OpSelect:
		f := c.VBLENDVPD
		if a.f32 {
			f = c.VBLENDVPS
		}
		// VBLENDVPD m, t, f, dst is dst = m ? t : f.
		f(x(0), x(1), x(2), dst)
	default:
		panic(fmt.Sprintf("asm: AVX2 cannot emit %s", in.Op))
	}
}

// ldexp computes v·2^n with a single rounding, as math.Ldexp does, for any
// finite v and integer-valued n (the result saturates correctly for any |n|,
// so no clamp of n is needed up front). It follows musl's scalbn: up to two
// exact pre-scalings, then one final multiply by a normal power of two.
//
//   - While n > emax the value is scaled by 2^emax: exact unless it
//     overflows, and then the true result overflows too.
//   - While n < emin the value is scaled by 2^(emin+p) (p = mantissa
//     bits). If that rounds (the scaled value is subnormal), what is left of
//     n is below -p, so the true result and the computed one both round to
//     a signed zero: no double rounding can show.
//
// Two steps cover |n| ≤ 2·emax + emax; beyond, the final clamp keeps the
// saturated result (overflow or zero) that math.Ldexp gives.
//
// midRange (vprog.LdexpMidRange): |v| in [2^-60, 2^60] and n in [-1982,
// 1983], so v·2^c with c = n clamped to [-960, 960] is exact, and 2^(n-c)
// is a normal power of two: one rounding, in the second multiplication.
// In float32 lanes n is in [-186, 187] and c is clamped to [-60, 60].
func (a *avx2) ldexp(c *build.Context, v, n, dst reg.VecPhysical, s []reg.VecPhysical, midRange bool) {
	emax, emin, down, mid := 1023.0, -1022.0, -969.0, 960.0
	if a.f32 {
		emax, emin, down, mid = 127, -126, -102, 60
	}
	cmp := a.pick(c.VCMPPD, c.VCMPPS)
	blend := c.VBLENDVPD
	if a.f32 {
		blend = c.VBLENDVPS
	}
	sub, mul := a.pick(c.VSUBPD, c.VSUBPS), a.pick(c.VMULPD, c.VMULPS)
	minf, maxf := a.pick(c.VMINPD, c.VMINPS), a.pick(c.VMAXPD, c.VMAXPS)
	if midRange {
		cl, rest := s[0], s[1]
		maxf(a.cf(-mid), n, cl)
		minf(a.cf(mid), cl, cl)
		sub(cl, n, rest)
		a.pow2(c, cl, cl)
		mul(cl, v, dst)
		a.pow2(c, rest, rest)
		mul(rest, dst, dst)
		return
	}
	vv, nn := v, n // current value and remaining exponent
	e, m, p, r := s[0], s[1], s[2], s[3]
	for step := 0; step < 2; step++ {
		// e = n > emax ? emax : (n < emin ? down : 0)
		cmp(operand.U8(cmpLTOQ), a.cf(emin), nn, m) // n < emin
		c.VANDPD(a.cf(down), m, e)
		cmp(operand.U8(cmpGTOQ), a.cf(emax), nn, m) // n > emax
		blend(m, a.cf(emax), e, e)
		a.pow2(c, e, p)
		mul(p, vv, dst)
		sub(e, nn, r) // the exponent still to apply
		vv, nn = dst, r
	}
	// Clamp what is left into the normal range: the saturating cases.
	maxf(a.cf(emin), nn, e)
	minf(a.cf(emax), e, e)
	a.pow2(c, e, p)
	mul(p, dst, dst)
}

// pow2 sets out = 2^e for integer-valued e in the normal exponent range:
// e + 2^52 + bias puts the biased exponent in the low mantissa bits, and a
// shift moves it into the exponent field.
func (a *avx2) pow2(c *build.Context, e, out reg.VecPhysical) {
	if a.f32 {
		c.VADDPS(a.cf(1<<23+127), e, out)
		c.VPSLLD(operand.U8(23), out, out)
		return
	}
	c.VADDPD(a.cf(1<<52+1023), e, out)
	c.VPSLLQ(operand.U8(52), out, out)
}

func (a *avx2) materialize(c *build.Context, dst reg.VecPhysical, l loc) {
	if !l.mem {
		a.move(c, dst, l.r.(reg.VecPhysical))
		return
	}
	c.VMOVUPD(l.m, dst)
}

func (a *avx2) move(c *build.Context, dst, src reg.VecPhysical) { c.VMOVAPD(src, dst) }

func (a *avx2) spill(c *build.Context, src reg.Physical, slot operand.Mem) { c.VMOVUPD(src, slot) }

func (a *avx2) reload(c *build.Context, dst reg.Physical, slot operand.Mem) {
	c.VMOVUPD(slot, dst)
}

func (a *avx2) slotBytes(bool) int { return 32 }

func (a *avx2) load(c *build.Context, dst reg.VecPhysical, m operand.Mem, tail bool) {
	switch {
	case a.mem == vprog.F32 && !a.f32:
		if tail {
			// VMASKMOV does not fault on lanes whose mask is clear.
			c.VMASKMOVPS(m, a.tailY.AsX(), dst.AsX())
			c.VCVTPS2PD(dst.AsX(), dst)
		} else {
			c.VCVTPS2PD(m, dst)
		}
	case tail:
		f := c.VMASKMOVPD
		if a.f32 {
			f = c.VMASKMOVPS
		}
		f(m, a.tailY, dst)
	default:
		a.pick(c.VMOVUPD, c.VMOVUPS)(m, dst)
	}
}

func (a *avx2) store(c *build.Context, src reg.VecPhysical, m operand.Mem, how storeKind) {
	var out, mask operand.Op = src, a.tailY
	if a.mem == vprog.F32 && !a.f32 {
		// Four float64 lanes narrowed to four float32: an XMM register.
		c.VCVTPD2PSY(src, src.AsX())
		out, mask = src.AsX(), a.tailY.AsX()
	}
	switch f32 := a.mem == vprog.F32; {
	case how == storeTail && f32:
		c.VMASKMOVPS(out, mask, m)
	case how == storeTail:
		c.VMASKMOVPD(out, mask, m)
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

// setupTail loads the mask of the first rem lanes from a table of 32 bytes
// of ones followed by 32 bytes of zeros, at offset 32 - rem·elementsize.
func (a *avx2) setupTail(c *build.Context, rem reg.GPVirtual) {
	tbl := make([]byte, 64)
	for i := 0; i < 32; i++ {
		tbl[i] = 0xff
	}
	base := c.GP64()
	c.LEAQ(a.pool.raw("tailmask", tbl, 64), base)
	neg := c.GP64()
	c.MOVQ(rem, neg)
	c.NEGQ(neg)
	m := operand.Mem{Base: base, Index: neg, Scale: uint8(a.mem.Bits() / 8), Disp: 32}
	if a.memBytes() == 16 {
		c.VMOVDQU(m, a.tailY.AsX())
	} else {
		c.VMOVDQU(m, a.tailY)
	}
}

func (a *avx2) paramHomeBytes() int { return 32 }

// paramHome stores the converted argument broadcast to a whole vector, so
// that uses can read it as a plain memory operand.
func (a *avx2) paramHome(c *build.Context, arg, home operand.Mem) {
	x := reg.X0
	switch {
	case a.f32:
		c.VBROADCASTSS(arg, x.AsY())
	case a.mem == vprog.F32:
		c.VCVTSS2SD(arg, x, x)
		c.VBROADCASTSD(x, x.AsY())
	default:
		c.VBROADCASTSD(arg, x.AsY())
	}
	c.VMOVUPD(x.AsY(), home)
}

func (a *avx2) paramLoc(home operand.Mem) loc { return loc{m: home, mem: true} }

func (a *avx2) foldScratch(r vprog.Reducer, tail bool) (vecs, masks int) {
	if r == vprog.ReduceMax && a.plainMax {
		if tail {
			return 2, 0
		}
		return 0, 0
	}
	if r == vprog.ReduceMax {
		return 2, 0
	}
	if tail {
		return 4, 0
	}
	return 3, 0
}

// laneMask64 puts the tail mask, one all-ones float64 lane per active
// element, in dst: the mask register itself for float64 memory, the
// sign-extended 32-bit mask for float32 memory (whose tail mask has
// 32-bit lanes).
func (a *avx2) laneMask64(c *build.Context, dst reg.VecPhysical) reg.VecPhysical {
	if a.mem == vprog.F64 {
		return a.tailY
	}
	c.VPMOVSXDQ(a.tailY.AsX(), dst)
	return dst
}

// fold: VEX has no merge masking, so in the tail the new lanes are blended
// into the old under the tail mask.
func (a *avx2) fold(c *build.Context, r vprog.Reducer, s, cc, v, verr reg.VecPhysical, scratch []reg.VecPhysical, masks []reg.Physical, tail bool) {
	switch r {
	case vprog.ReduceSum:
		t, bp, e := scratch[0], scratch[1], scratch[2]
		twoSum(c, s, v, verr, t, bp, e)
		if !tail {
			c.VADDPD(e, cc, cc)
			c.VMOVAPD(t, s)
			return
		}
		c.VADDPD(e, cc, e) // e = c + e
		m := a.laneMask64(c, scratch[3])
		c.VBLENDVPD(m, e, cc, cc) // c = m ? c + e : c
		c.VBLENDVPD(m, t, s, s)   // s = m ? t : s
	case vprog.ReduceMax:
		if a.plainMax {
			// s = v > s ? v : s, the rule below when neither can be NaN
			// (s starts at -Inf); in the tail only the tail's lanes.
			if !tail {
				c.VMAXPD(s, v, s)
				return
			}
			m := scratch[0]
			c.VMAXPD(s, v, m)
			c.VBLENDVPD(a.laneMask64(c, scratch[1]), m, s, s) // s = tail lane ? max : s
			return
		}
		// take = s is not NaN && !(v <= s): v > s, or v is NaN.
		take, ord := scratch[0], scratch[1]
		c.VCMPPD(operand.U8(cmpNLEUQ), s, v, take)
		c.VCMPPD(operand.U8(cmpORDQ), s, s, ord)
		c.VANDPD(ord, take, take)
		if tail {
			c.VANDPD(a.laneMask64(c, ord), take, take)
		}
		c.VBLENDVPD(take, v, s, s) // s = take ? v : s
	default:
		panic(fmt.Sprintf("asm: no fold for reducer %s", r))
	}
}

// stopIf tests each mask vector's sign bits (VTEST) and jumps where one
// is set; in the tail it reads them into a general register (VMOVMSK) and
// tests them against the tail mask's, which is in lanes of the memory
// type: four float32 lanes where a float32 kernel computes in float64,
// one bit per element either way.
func (a *avx2) stopIf(c *build.Context, masks []reg.Physical, tail bool, stop operand.LabelRef) {
	var lanes, bits reg.GPVirtual
	if tail {
		lanes, bits = c.GP32(), c.GP32()
		switch {
		case a.mem == vprog.F64:
			c.VMOVMSKPD(a.tailY, lanes)
		case a.memBytes() == 16:
			c.VMOVMSKPS(a.tailY.AsX(), lanes)
		default:
			c.VMOVMSKPS(a.tailY, lanes)
		}
	}
	for _, m := range masks {
		switch {
		case tail && a.f32:
			c.VMOVMSKPS(m, bits)
			c.TESTL(lanes, bits)
		case tail:
			c.VMOVMSKPD(m, bits)
			c.TESTL(lanes, bits)
		case a.f32:
			c.VTESTPS(m, m) // ZF where no lane's sign bit is set
		default:
			c.VTESTPD(m, m)
		}
		c.JNE(stop)
	}
}
