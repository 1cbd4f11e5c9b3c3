package asm

import (
	"fmt"
	"go/parser"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/vprog"
)

// The end-to-end test proves the emitter independent of any activation:
// hand-built programs covering every operation, every memory/compute type
// pair, one and two inputs and zero to two parameters are generated into a
// scratch package whose generic twins run Program.Eval, and the generated
// agreement, guard-page and NaN tests run there against the assembly.

type combo struct {
	mem, compute vprog.Type
}

var combos = []combo{{vprog.F64, vprog.F64}, {vprog.F32, vprog.F64}, {vprog.F32, vprog.F32}}

func (c combo) suffix() string {
	return strings.ToUpper(c.mem.String()[:1]) + c.mem.String()[1:] + strings.ToUpper(c.compute.String()[:1]) + c.compute.String()[1:]
}

// opPrograms builds one small kernel per operation and type pair, so that a
// wrong encoding shows up in its own kernel rather than drowned in a sum.
func opPrograms() []Kernel {
	var ks []Kernel
	add := func(name string, c combo, inputs int, params []string, sets [][]float64, f func(b *vprog.Builder) vprog.Value) {
		b := vprog.NewBuilder(name+c.suffix(), c.mem, c.compute, inputs, params)
		ks = append(ks, Kernel{Program: b.Finish(f(b)), ParamSets: sets, Stream: true})
	}
	one := []string{"p"}
	oneSets := [][]float64{{1.5}, {-0.25}}
	for _, c := range combos {
		type bin func(b *vprog.Builder, x, y vprog.Value) vprog.Value
		bins := map[string]bin{
			"add": (*vprog.Builder).Add, "sub": (*vprog.Builder).Sub, "mul": (*vprog.Builder).Mul,
			"div": (*vprog.Builder).Div, "min": (*vprog.Builder).Min, "max": (*vprog.Builder).Max,
			"copysign": (*vprog.Builder).CopySign, "parityNeg": (*vprog.Builder).ParityNeg,
		}
		for _, name := range []string{"add", "sub", "mul", "div", "min", "max", "copysign", "parityNeg"} {
			op := bins[name]
			add(name, c, 2, nil, nil, func(b *vprog.Builder) vprog.Value { return op(b, b.Input(0), b.Input(1)) })
			// A constant first (register-only position) and a parameter second.
			add(name+"Leaf", c, 1, one, oneSets, func(b *vprog.Builder) vprog.Value {
				x := b.Input(0)
				return op(b, op(b, b.Const(-2.75), x), b.Param(0))
			})
		}
		type un func(b *vprog.Builder, x vprog.Value) vprog.Value
		uns := map[string]un{"neg": (*vprog.Builder).Neg, "abs": (*vprog.Builder).Abs, "sqrt": (*vprog.Builder).Sqrt}
		for _, name := range []string{"neg", "abs", "sqrt"} {
			op := uns[name]
			add(name, c, 1, nil, nil, func(b *vprog.Builder) vprog.Value { return op(b, b.Input(0)) })
		}
		// -|x|, which the assembly makes one instruction (vprog.OpNegAbs).
		add("negAbs", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value { return b.Neg(b.Abs(b.Input(0))) })
		for m, name := range []string{"roundEven", "floor", "ceil", "trunc"} {
			add(name, c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
				// Scale first so that many inputs have a fraction.
				return b.Round(b.Mul(b.Input(0), b.Const(0.3)), vprog.RoundMode(m))
			})
		}
		add("fma", c, 2, one, oneSets, func(b *vprog.Builder) vprog.Value {
			return b.FMA(b.Input(0), b.Input(1), b.Param(0))
		})
		// r = 1 + k/4096 for an integer k (x in [-64, 64) gives many).
		// For odd k < 4096, r*r = odd/2^24 is a float32 midpoint whose
		// lower neighbour is even, and adding 2^-60 rounds it up once
		// (VFMADD…PS); rounding to float64 first loses the 2^-60 and then
		// ties to the even neighbour below. So a float32-compute generic
		// kernel agrees only if its fma rounds once (vprog.FMA32).
		add("fmaMidpoint", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
			k := b.Round(b.Mul(b.Input(0), b.Const(64)), vprog.RoundNearestEven)
			r := b.FMA(k, b.Const(0x1p-12), b.Const(1))
			return b.FMA(r, r, b.Const(0x1p-60))
		})
		add("fmaLeaf", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			x, y := b.Input(0), b.Input(1)
			return b.FMA(b.Const(1.0/3), x, b.FMA(x, y, b.Const(-1)))
		})
		// One NaN input, three NaNs of it (x, -x and |x| differ in
		// the sign): the FMA must keep the one generic's math.FMA
		// keeps, the first of its operands, whichever encoding the
		// allocator picks. Each program puts them in another order.
		add("fmaNaNOrder", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			return b.FMA(x, b.Neg(x), b.Abs(x))
		})
		add("fmaNaNOrder2", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			return b.Add(b.FMA(b.Neg(x), b.Abs(x), x), x)
		})
		add("fmaNaNOrder3", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			n := b.Neg(x)
			return b.Mul(b.FMA(b.Abs(x), b.Const(3), n), n)
		})
		// NaN rules x86 arithmetic keeps (vprog.Program.ForX86): the
		// kernels drop the select, and must still give the generic
		// kernel's NaN, up to the quiet bit, for every NaN input.
		nanRule := func(b *vprog.Builder, x, y vprog.Value) vprog.Value {
			return b.Select(b.IsNaN(x), x, y)
		}
		add("nanRuleX86", c, 1, one, oneSets, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			return nanRule(b, x, b.Sub(x, b.Min(b.Max(x, b.Const(-0.5)), b.Param(0))))
		})
		add("nanRuleX86Const", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			return nanRule(b, x, b.Div(b.Sub(b.Const(2), b.Mul(b.Const(3), x)), b.Const(7)))
		})
		add("nanRuleX86TwoInputs", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			x, y := b.Input(0), b.Input(1)
			return nanRule(b, x, b.Add(b.Mul(x, y), b.Mul(y, x)))
		})
		// A NaN rule inside whose lanes the result does not see on x86
		// (vprog withoutShadowedNaNRules): max(0, a) is a's NaN where a =
		// x·y is (0·Inf too), and comes first in the sum.
		add("nanRuleX86Shadowed", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			a := b.Mul(x, b.Input(1))
			inner := nanRule(b, a, b.Sqrt(b.Abs(a)))
			return nanRule(b, x, b.Add(b.Max(b.Const(0), a), inner))
		})
		// The same with the sum's operands the other way: the rule's
		// lanes come first, and it stays.
		add("nanRuleX86NotShadowed", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			a := b.Mul(x, b.Input(1))
			inner := nanRule(b, a, b.Sqrt(b.Abs(a)))
			return nanRule(b, x, b.Add(inner, b.Max(b.Const(0), a)))
		})
		// Selects of constants that AVX-512 turns into VFIXUPIMM: by x's
		// sign; and the constant taken where x is NaN, for the NaN rule.
		add("fixUpSign", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			return nanRule(b, x, b.Mul(b.Select(b.GT(x, b.Const(0)), b.Const(1), b.Const(0)), b.Input(1)))
		})
		add("fixUpSignTwo", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			neg := b.Select(b.LE(x, b.Const(0)), b.Const(math.Inf(-1)), b.Const(0.5))
			zero := b.Select(b.EQ(b.Const(0), x), b.Const(-1), b.Const(math.Copysign(0, -1)))
			return nanRule(b, x, b.Add(neg, zero))
		})
		// By the sign of a difference with constants (and of their minimum).
		add("fixUpInterval", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			in := b.And(b.GT(x, b.Const(0)), b.LT(x, b.Const(6)))
			return nanRule(b, x, b.Mul(b.Select(in, b.Const(1), b.Const(0)), b.Input(1)))
		})
		add("fixUpIntervalClosed", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			in := b.And(b.GE(x, b.Const(-3)), b.LE(x, b.Const(3)))
			above := b.Select(b.GT(x, b.Const(2.5)), b.Const(math.Inf(1)), b.Const(0))
			return nanRule(b, x, b.Add(b.Select(in, b.Const(0.5), b.Const(-1)), above))
		})
		// A fix-up into a computed value, which token 0 keeps: elu's shape,
		// and a value against a token by x - 2.5.
		add("fixUpInto", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			return nanRule(b, x, b.Select(b.GT(x, b.Const(0)), x, b.Mul(x, b.Const(0.5))))
		})
		add("fixUpIntoDifference", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			return nanRule(b, x, b.Select(b.LT(x, b.Const(2.5)), b.Mul(x, x), b.Const(1)))
		})
		add("fixUpKeep", c, 2, one, oneSets, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			return nanRule(b, x, b.Mul(b.Select(b.LE(x, b.Param(0)), b.Const(0), b.Const(1)), b.Input(1)))
		})
		add("fixUpKeepAnd", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			in := b.And(b.GT(x, b.Const(-1)), b.LT(x, b.Const(6)))
			return nanRule(b, x, b.Mul(b.Select(in, b.Const(3), b.Const(-1)), b.Input(1)))
		})
		// Conjunctions of comparisons, which AVX-512 fuses into one
		// write-masked comparison; the second reads a parameter.
		add("andCmp", c, 1, one, oneSets, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			in := b.And(b.LE(b.Const(-1), x), b.LT(x, b.Param(0)))
			return b.Select(in, x, b.Mul(x, b.Const(3)))
		})
		add("andCmpBoth", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			x, y := b.Input(0), b.Input(1)
			in := b.And(b.EQ(x, y), b.LT(b.Const(0.5), y))
			return b.Select(in, x, b.Sub(x, y))
		})
		// Operations a select keeps or zeroes, which AVX-512 computes
		// under a zeroing write mask (OpKeepIf): each kept on a select's
		// true side with a constant operand, and on its false
		// side, under the negated comparison, with two computed ones.
		for _, op := range []string{"add", "sub", "mul", "div"} {
			f := bins[op]
			add("keepIf"+strings.ToUpper(op[:1])+op[1:], c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
				x, y := b.Input(0), b.Input(1)
				kept := b.Select(b.LT(b.Mul(x, y), b.Const(0.75)), f(b, x, b.Const(3)), b.Const(0))
				zeroed := b.Select(b.LE(y, b.Const(-0.5)), b.Const(0), f(b, y, x))
				return b.Add(kept, zeroed)
			})
		}
		add("keepIfLdexp", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			a, n := ldexpOperands(b, c)
			return b.Select(b.LT(b.Input(1), b.Const(0.5)), b.Const(0), b.Ldexp(a, n))
		})
		// Operations a select keeps or replaces by another value, which
		// AVX-512 computes under a merging write mask (OpMergeIf): on the
		// true side into y, which is used again after (so copied first);
		// on the false side, under the negated comparison, into x, which
		// is not (so merged in place); and into a constant.
		for _, op := range []string{"add", "sub", "mul", "div"} {
			f := bins[op]
			add("mergeIf"+strings.ToUpper(op[:1])+op[1:], c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
				x, y := b.Input(0), b.Input(1)
				kept := b.Select(b.LT(b.Mul(x, y), b.Const(0.75)), f(b, x, b.Const(3)), y)
				merged := b.Select(b.LE(y, b.Const(-0.5)), x, f(b, y, b.Const(1.5)))
				three := b.Select(b.LT(y, x), f(b, y, x), b.Const(3))
				return b.Add(b.Add(kept, b.Mul(merged, y)), three)
			})
		}
		// Both masked forms with a constant operand in memory (a
		// broadcast): more constants than the registers hold.
		add("mergeIfMemory", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			x, y := b.Input(0), b.Input(1)
			s, t := y, x
			for i := range 24 {
				k, at := b.Const(1+float64(i)/64), b.Const(float64(i)/8-1.5)
				s = b.Select(b.LT(x, at), b.Mul(s, k), s)
				t = b.Add(t, b.Select(b.LT(at, y), b.Add(x, k), b.Const(0)))
			}
			return b.Add(s, t)
		})
		add("mergeIfLdexp", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			a, n := ldexpOperands(b, c)
			// Not the stored value, which ForX86 leaves to a blend.
			return b.Mul(b.Select(b.LT(b.Input(1), b.Const(0.5)), a, b.Ldexp(a, n)), b.Const(0.5))
		})
		// And one x86 does not keep: -x is a NaN of the other sign.
		add("nanRuleX86Kept", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			return nanRule(b, x, b.Add(b.Neg(x), b.Mul(b.Abs(x), b.Const(2))))
		})
		// Ldexp: a finite value times 2^n for every n the contract allows
		// (in1 within ±64 scaled by 35 covers ±2240).
		add("ldexp", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			a, n := ldexpOperands(b, c)
			return b.Ldexp(a, n)
		})
		// LdexpMidRange: its contract, |a| in [2^-60, 2^60] and n in
		// [-1982, 1983] ([-186, 187] in float32 lanes), every exponent
		// of it.
		scale, nmin, nmax := 35.0, -1982.0, 1983.0
		if c.compute == vprog.F32 {
			scale, nmin, nmax = 3.5, -186, 187
		}
		add("ldexpmid", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
			x := b.Input(0)
			a := b.CopySign(b.Min(b.Max(b.Abs(x), b.Const(0x1p-60)), b.Const(0x1p60)), x)
			n := b.Round(b.Min(b.Max(b.Mul(b.Input(1), b.Const(scale)), b.Const(nmin)), b.Const(nmax)), vprog.RoundNearestEven)
			return b.LdexpMidRange(a, n)
		})
		// LdexpFlush: its contract, a positive finite and n in [-1023,
		// 1023], where 2^-1023 is +0 (float64 compute only). The power
		// tops a subnormal a; VSCALEF goes under a zeroing mask for it
		// (vprog.ForX86).
		if c.compute == vprog.F64 {
			add("ldexpflush", c, 2, nil, nil, func(b *vprog.Builder) vprog.Value {
				a := b.Min(b.Max(b.Abs(b.Input(0)), b.Const(0x1p-1074)), b.Const(math.MaxFloat64))
				n := b.Round(b.Min(b.Max(b.Mul(b.Input(1), b.Const(17)), b.Const(-1023)), b.Const(1023)), vprog.RoundNearestEven)
				return b.LdexpFlush(a, n)
			})
		}
		// GetExp/GetMant on normal inputs; others selected away.
		for _, name := range []string{"getexp", "getmant"} {
			add(name, c, 1, nil, nil, func(b *vprog.Builder) vprog.Value {
				x := b.Input(0)
				tiny := 2.2250738585072014e-308
				if c.compute == vprog.F32 {
					tiny = 1.1754943508222875e-38
				}
				ax := b.Abs(x)
				normal := b.And(b.LE(b.Const(tiny), ax), b.LT(ax, b.Const(math.Inf(1))))
				v := b.Select(normal, x, b.Const(1.5))
				var r vprog.Value
				if name == "getexp" {
					r = b.GetExp(v)
				} else {
					r = b.GetMant(v)
				}
				return b.Select(normal, r, x)
			})
		}
		// Comparisons and mask logic, each visible through a select.
		add("masks", c, 2, one, oneSets, func(b *vprog.Builder) vprog.Value {
			x, y, p := b.Input(0), b.Input(1), b.Param(0)
			lt, le, eq, nan := b.LT(x, y), b.LE(y, p), b.EQ(x, b.Const(0)), b.IsNaN(y)
			r := b.Select(b.And(lt, b.Not(nan)), x, y)
			r = b.Select(b.Or(eq, b.AndNot(le, lt)), b.Const(7), r)
			r = b.Select(nan, b.Add(r, b.Const(0.5)), r)
			return b.Select(b.LT(p, x), r, b.Sub(r, x))
		})
		// Loop invariants, which the prologue computes once: values of the
		// parameters alone (a vector and, on AVX2, a mask) that the loop
		// reads; forty of them, more than the registers, each used once;
		// and a result that is itself invariant.
		two := []string{"p", "q"}
		twoSets := [][]float64{{1.5, 0}, {-0.25, 2}}
		add("invariant", c, 1, two, twoSets, func(b *vprog.Builder) vprog.Value {
			x, p, q := b.Input(0), b.Param(0), b.Param(1)
			s := b.Sqrt(b.Abs(b.Add(p, q)))
			zero := b.EQ(q, b.Const(0))
			return b.Select(b.And(zero, b.LT(x, s)), b.Mul(x, b.Neg(p)), b.Add(x, s))
		})
		// On AVX-512 a mask of the parameters that only an invariant
		// select reads is computed by the prologue, one the loop reads
		// is computed in the loop (loopFixed).
		add("invariantSelect", c, 1, two, twoSets, invariantSelect)
		add("invariantMany", c, 1, one, oneSets, func(b *vprog.Builder) vprog.Value {
			r, inv := b.Input(0), b.Param(0)
			for i := range 40 {
				inv = b.Add(b.Mul(inv, b.Const(0.5)), b.Const(float64(i)))
				r = b.Add(r, inv)
			}
			return r
		})
		add("invariantResult", c, 1, one, oneSets, func(b *vprog.Builder) vprog.Value {
			return b.Mul(b.Param(0), b.Const(3))
		})
		// The identity, a constant result and a parameter result: results
		// that are leaves or inputs.
		add("identity", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value { return b.Input(0) })
		add("constant", c, 1, nil, nil, func(b *vprog.Builder) vprog.Value { return b.Const(-0.0) })
		add("param", c, 2, []string{"p", "q"}, [][]float64{{2, 3}}, func(b *vprog.Builder) vprog.Value { return b.Param(1) })
		ks = append(ks, bigProgram(c, 300, 40))
		ks = append(ks, stopPrograms(c)...)
	}
	for i, k := range ks {
		if masksProgram(k.Program.Name) {
			// Their comparisons' constants, whose neighbours the
			// agreement test then covers.
			ks[i].Thresholds = []float64{-3, -1, 0, 0.5, 2.5, 3, 6}
		}
	}
	return ks
}

// stopPrograms are kernels with stops (vprog.Program.Stops, a rare path's
// usual kernel): one stop; two, of which one is the negation (whose KNOT
// sets the opmask bits above float64 lanes) of a comparison with a
// parameter; and a stop in a program with more live values than
// registers.
func stopPrograms(c combo) []Kernel {
	b := vprog.NewBuilder("stopAbs"+c.suffix(), c.mem, c.compute, 1, nil)
	x := b.Input(0)
	b.StopAt(b.LT(b.Const(3), b.Abs(x)))
	ks := []Kernel{{Program: b.Finish(b.Add(b.Mul(x, x), b.Const(1))), Stream: true, Thresholds: []float64{-3, 3}}}

	b = vprog.NewBuilder("stopTwo"+c.suffix(), c.mem, c.compute, 2, []string{"p"})
	x, y := b.Input(0), b.Input(1)
	b.StopAt(b.Not(b.LT(x, b.Param(0))))
	b.StopAt(b.LT(y, b.Const(-4)))
	ks = append(ks, Kernel{Program: b.Finish(b.Sub(b.Mul(x, b.Param(0)), y)), ParamSets: [][]float64{{5}, {-1}}, Thresholds: []float64{-4, -1, 5}})

	big := bigProgram(c, 300, 40)
	big.Program.Name = "stopBig" + c.suffix()
	inv := big.Program.Invariant()
	for i, in := range big.Program.Instrs {
		if in.Op == vprog.OpLT && !inv[i] {
			big.Program.Stops = []vprog.Value{vprog.Value(i)}
			break
		}
	}
	return append(ks, big)
}

// invariantSelect picks between two values of the parameters p and q by
// a mask of q alone (q == 0), and reads a second mask of them (p < q) in
// the loop.
func invariantSelect(b *vprog.Builder) vprog.Value {
	x, p, q := b.Input(0), b.Param(0), b.Param(1)
	z := b.Select(b.EQ(q, b.Const(0)), b.Neg(p), b.Mul(p, b.Const(3)))
	return b.Select(b.And(b.LT(p, q), b.LT(x, z)), z, b.Add(x, z))
}

// TestLoopFixedMasks checks which invariant masks the AVX-512 loop
// computes: those it reads, and no others.
func TestLoopFixedMasks(t *testing.T) {
	b := vprog.NewBuilder("invariantSelect", vprog.F64, vprog.F64, 1, []string{"p", "q"})
	p := b.Finish(invariantSelect(b))
	var masks []vprog.Value // in program order: q == 0, p < q, x < z
	for i, in := range p.Instrs {
		if in.Op.GivesMask() && in.Op != vprog.OpAnd {
			masks = append(masks, vprog.Value(i))
		}
	}
	require.Len(t, masks, 3)
	fixed := loopFixed(newAVX512(p, newPool("t")), p)
	assert.True(t, fixed[masks[0]], "q == 0: read only by the invariant select")
	assert.False(t, fixed[masks[1]], "p < q: read by the loop's And")
	assert.False(t, fixed[masks[2]], "x < z: depends on x")
	fixed = loopFixed(newAVX2(p, newPool("t")), p)
	assert.True(t, fixed[masks[0]] && fixed[masks[1]], "AVX2 keeps invariant masks in vector registers")
}

// bigProgram is a random DAG of n operations over many constants: more
// values live at once than either ISA has registers, so the allocator must
// spill and reload.
func bigProgram(c combo, n, consts int) Kernel {
	r := rand.New(rand.NewPCG(uint64(n), uint64(c.mem)*3+uint64(c.compute)))
	b := vprog.NewBuilder("big"+c.suffix(), c.mem, c.compute, 2, []string{"p"})
	vals := []vprog.Value{b.Input(0), b.Input(1), b.Param(0)}
	for i := 0; i < consts; i++ {
		vals = append(vals, b.Const(float64(i)*0.37-3))
	}
	var masks []vprog.Value
	pick := func() vprog.Value {
		// Mostly recent values, sometimes old ones: long live ranges.
		if r.IntN(3) == 0 {
			return vals[r.IntN(len(vals))]
		}
		return vals[max(0, len(vals)-1-r.IntN(8))]
	}
	for i := 0; i < n; i++ {
		x, y := pick(), pick()
		var v vprog.Value
		switch r.IntN(10) {
		case 0:
			v = b.Add(x, y)
		case 1:
			v = b.Sub(x, y)
		case 2:
			v = b.Mul(x, b.Const(0.5))
		case 3:
			v = b.Min(x, y)
		case 4:
			v = b.Max(x, y)
		case 5:
			if c.compute == vprog.F64 {
				v = b.FMA(x, b.Const(0.25), y)
			} else {
				v = b.Add(x, b.Mul(y, b.Const(0.25)))
			}
		case 6:
			masks = append(masks, b.LT(x, y))
			continue
		case 7:
			if len(masks) > 0 {
				v = b.Select(masks[r.IntN(len(masks))], x, y)
			} else {
				v = b.Neg(x)
			}
		case 8:
			v = b.Div(x, b.Add(b.Abs(y), b.Const(1)))
		default:
			v = b.CopySign(x, y)
		}
		vals = append(vals, v)
	}
	// Sum everything so that every value stays live to the end.
	acc := vals[len(vals)-1]
	for i := len(vals) - 2; i >= 3+consts; i -= 3 {
		acc = b.Add(acc, b.Mul(vals[i], b.Const(1.0/64)))
	}
	for _, m := range masks {
		acc = b.Select(m, acc, b.Sub(acc, b.Const(1)))
	}
	return Kernel{Program: b.Finish(acc), ParamSets: [][]float64{{0.75}}}
}

// genericFile writes, for the scratch package, each program as a Go
// literal and a generic twin that runs Program.Eval element by element.
func genericFile(pkg string, ks []Kernel) string {
	var s strings.Builder
	fmt.Fprintf(&s, "package %s\n\nimport (\n\t\"math\"\n\t\"unsafe\"\n\n\t\"github.com/actkern/actkern/internal/vprog\"\n)\n\nvar _ = math.Float64frombits\n\nvar isa = \"generic\"\n\n", pkg)
	// The streaming kernels' split, as the generated packages define it.
	s.WriteString("func streamHead[T float32 | float64](d []T) int {\n\tvar z T\n\tmis := uintptr(unsafe.Pointer(unsafe.SliceData(d))) % 64\n\th := int((64 - mis) % 64 / unsafe.Sizeof(z))\n\treturn min(h, len(d))\n}\n\n")
	for _, k := range ks {
		p := k.Program
		t := sigType(p)
		fmt.Fprintf(&s, "var %sProg = &vprog.Program{Name: %q, Mem: %d, Compute: %d, Inputs: %d, Params: %#v, Result: %d, Reduce: %d, ResultErr: %d, Stops: %#v, Instrs: []vprog.Instr{\n",
			p.Name, p.Name, p.Mem, p.Compute, p.Inputs, p.Params, p.Result, p.Reduce, p.ResultErr, p.Stops)
		for _, in := range p.Instrs {
			fmt.Fprintf(&s, "\t{Op: %d, Args: %#v, Imm: math.Float64frombits(%#x)},\n", in.Op, in.Args, math.Float64bits(in.Imm))
		}
		s.WriteString("}}\n\n")
		sig := strings.TrimPrefix(signature(p), "func")
		if p.Reduce != vprog.NoReduce {
			// The twin of a reduction is Program.Fold, the definition.
			fmt.Fprintf(&s, "var %sImpl = %sGeneric\n\nfunc %sGeneric%s {\n\tin := make([][]float64, %d)\n\tfor k := range in {\n\t\tin[k] = make([]float64, len(in0))\n\t}\n\tps := []float64{",
				p.Name, p.Name, p.Name, sig, p.Inputs)
			for _, pn := range p.Params {
				fmt.Fprintf(&s, "float64(%s), ", pn)
			}
			s.WriteString("}\n\tfor i := range in0 {\n")
			for i := 0; i < p.Inputs; i++ {
				fmt.Fprintf(&s, "\t\tin[%d][i] = float64(in%d[i])\n", i, i)
			}
			fmt.Fprintf(&s, "\t}\n\t%sProg.Fold((*vprog.Acc)(acc), in, ps)\n}\n\n", p.Name)
			continue
		}
		if k.Stream {
			fmt.Fprintf(&s, "var %sStreamImpl %s\n\n", p.Name, signature(p))
		}
		fmt.Fprintf(&s, "var %sImpl = %sGeneric\n\nfunc %sGeneric%s {\n\tin := make([]float64, %d)\n\tps := []float64{",
			p.Name, p.Name, p.Name, sig, p.Inputs)
		for _, pn := range p.Params {
			fmt.Fprintf(&s, "float64(%s), ", pn)
		}
		s.WriteString("}\n\tfor i := range dst {\n")
		for i := 0; i < p.Inputs; i++ {
			fmt.Fprintf(&s, "\t\tin[%d] = float64(in%d[i])\n", i, i)
		}
		if len(p.Stops) > 0 {
			// A kernel with stops stores nothing from the first element
			// it stops at, and returns how many it stored.
			fmt.Fprintf(&s, "\t\tif %sProg.StopsAt(in, ps) {\n\t\t\treturn i\n\t\t}\n", p.Name)
			fmt.Fprintf(&s, "\t\tdst[i] = %s(%sProg.Eval(in, ps))\n\t}\n\treturn len(dst)\n}\n\n", t, p.Name)
			continue
		}
		fmt.Fprintf(&s, "\t\tdst[i] = %s(%sProg.Eval(in, ps))\n\t}\n}\n\n", t, p.Name)
	}
	return s.String()
}

// scratch generates ks into a fresh package under testdata and returns its
// directory (removed at the end of the test).
func scratch(t *testing.T, ks []Kernel) string {
	t.Helper()
	require.NoError(t, os.MkdirAll("testdata", 0o755))
	dir, err := os.MkdirTemp("testdata", "e2e")
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("generated package kept in %s for inspection; delete it when done", dir)
			return
		}
		os.RemoveAll(dir)
	})
	pkg := "scratch"
	files, err := Generate(pkg, ks)
	require.NoError(t, err)
	files["generic.go"] = []byte(genericFile(pkg, ks))
	for name, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	return dir
}

func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

func TestEndToEnd(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("runs the generated assembly")
	}
	if testing.Short() {
		t.Skip("builds and runs a generated package")
	}
	ks := opPrograms()
	dir := scratch(t, ks)
	goCmd(t, dir, []string{"GOARCH=amd64"}, "vet", ".")
	out := goCmd(t, dir, nil, "test", "-short", "-count=1", ".")
	t.Log(out)
	// The generic level must also build and pass with the assembly dropped.
	goCmd(t, dir, nil, "vet", "-tags", "purego", ".")
}

// ldexpOperands are the operands of Ldexp that the end-to-end programs
// scale by: in0 clamped to a finite value, and in1 (within ±64) times 35,
// rounded and clamped to ±2200, every exponent the contract allows.
func ldexpOperands(b *vprog.Builder, c combo) (a, n vprog.Value) {
	big := 1e300
	if c.compute == vprog.F32 {
		big = 1e38
	}
	a = b.Min(b.Max(b.Input(0), b.Const(-big)), b.Const(big))
	n = b.Round(b.Min(b.Max(b.Mul(b.Input(1), b.Const(35)), b.Const(-2200)), b.Const(2200)), vprog.RoundNearestEven)
	return a, n
}

// masksProgram reports whether the end-to-end program is one meant for an
// AVX-512 form with opmasks or VFIXUPIMM: fix-ups (a NaN rule x86
// arithmetic does not keep is one too), write-masked comparisons,
// zeroing-masked and merging-masked operations.
func masksProgram(name string) bool {
	for _, p := range []string{"fixUp", "andCmp", "keepIf", "mergeIf", "nanRuleX86Kept"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// mergingOp matches an arithmetic instruction under a merging write mask;
// the Memory forms, one with a broadcast operand under either mask.
var (
	mergingOp       = regexp.MustCompile(`\tV(ADD|SUB|MUL|DIV|SCALEF)P[SD] +[^\n]*, K[2-7], Z`)
	mergingMemoryOp = regexp.MustCompile(`\tV(ADD|SUB|MUL|DIV|SCALEF)P[SD]\.BCST +[^\n]*, K[2-7], Z`)
	zeroingMemoryOp = regexp.MustCompile(`\tV(ADD|SUB|MUL|DIV|SCALEF)P[SD]\.BCST\.Z +[^\n]*, K[2-7], Z`)
)

// TestAVX512Forms checks that the end-to-end programs meant for VFIXUPIMM,
// write-masked comparisons, zeroing-masked and merging-masked operations
// get them on AVX-512, so that the end-to-end test runs those forms, and
// that AVX2, which has none of them, keeps the selects and conjunctions.
func TestAVX512Forms(t *testing.T) {
	var ks []Kernel
	for _, k := range opPrograms() {
		if masksProgram(k.Program.Name) {
			ks = append(ks, k)
		}
	}
	require.NotEmpty(t, ks)
	files, err := Generate("scratch", ks)
	require.NoError(t, err)
	var text string
	for name, b := range files {
		if strings.HasSuffix(name, ".s") {
			text += string(b)
		}
	}
	funcs := strings.Split(text, "\nTEXT ")
	seen := 0
	for _, f := range funcs[1:] {
		name := f[:strings.Index(f, "(")]
		fixup, and, zeroing := strings.Contains(f, "VFIXUPIMM"), strings.Contains(f, "KANDW"), strings.Contains(f, ".Z ")
		switch {
		case strings.Contains(name, "AVX512") && (strings.Contains(name, "fixUp") || strings.Contains(name, "nanRuleX86Kept")):
			seen++
			assert.True(t, fixup, "%s has no VFIXUPIMM", name)
		case strings.Contains(name, "AVX512") && strings.Contains(name, "keepIf"):
			seen++
			assert.True(t, zeroing, "%s has no zeroing-masked operation", name)
		case strings.Contains(name, "AVX512") && strings.Contains(name, "mergeIfMemory"):
			seen++
			assert.True(t, mergingMemoryOp.MatchString(f), "%s has no merging-masked operation on a broadcast", name)
			assert.True(t, zeroingMemoryOp.MatchString(f), "%s has no zeroing-masked operation on a broadcast", name)
		case strings.Contains(name, "AVX512") && strings.Contains(name, "mergeIf"):
			seen++
			assert.True(t, mergingOp.MatchString(f), "%s has no merging-masked operation", name)
		case strings.Contains(name, "AVX512"):
			seen++
			assert.False(t, and, "%s has KANDW", name)
		case strings.Contains(name, "AVX2"):
			assert.False(t, fixup, "%s has VFIXUPIMM", name)
		}
	}
	assert.Equal(t, 2*len(ks), seen, "AVX-512 functions (each with its stream twin)")
}

// TestEndToEndFull runs the full-size agreement test (2^20 inputs per
// kernel) on the operations whose correctness depends on the inputs' range
// rather than on the encoding alone.
func TestEndToEndFull(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("runs the generated assembly")
	}
	if testing.Short() {
		t.Skip("builds and runs a generated package")
	}
	var ks []Kernel
	for _, k := range opPrograms() {
		n := k.Program.Name
		if strings.HasPrefix(n, "ldexp") || strings.HasPrefix(n, "getexp") || strings.HasPrefix(n, "getmant") || strings.HasPrefix(n, "big") {
			ks = append(ks, k)
		}
	}
	dir := scratch(t, ks)
	goCmd(t, dir, nil, "test", "-count=1", "-run", "Agreement", ".")
}

func TestGenerateRefusesBadPrograms(t *testing.T) {
	b := vprog.NewBuilder("x", vprog.F32, vprog.F32, 1, nil)
	p := b.Finish(b.Input(0))
	bad := *p
	bad.Inputs = 5
	_, err := Generate("x", []Kernel{{Program: &bad}})
	require.ErrorContains(t, err, "inputs")
	_, err = Generate("x", []Kernel{{Program: p}, {Program: p}})
	require.ErrorContains(t, err, "twice")
	b = vprog.NewBuilder("y", vprog.F32, vprog.F32, 1, []string{"a"})
	q := b.Finish(b.Add(b.Input(0), b.Param(0)))
	_, err = Generate("x", []Kernel{{Program: q}})
	require.ErrorContains(t, err, "parameter sets")
}

func TestGeneratedFilesHaveHeader(t *testing.T) {
	b := vprog.NewBuilder("sq", vprog.F64, vprog.F64, 1, nil)
	p := b.Finish(b.FMA(b.Input(0), b.Input(0), b.Const(1)))
	files, err := Generate("x", []Kernel{{Program: p}})
	require.NoError(t, err)
	for _, name := range []string{"kernels_amd64.s", "kernels_amd64.go", "dispatch_amd64.go", "simd_amd64_test.go"} {
		require.Contains(t, files, name)
		require.True(t, strings.HasPrefix(string(files[name]), Header+"\n"), name)
		require.Contains(t, string(files[name]), "!purego", name)
	}
	s := string(files["kernels_amd64.s"])
	require.Equal(t, strings.Count(s, "RET"), strings.Count(s, "VZEROUPPER"), "VZEROUPPER before every RET")
	d := string(files["dispatch_amd64.go"])
	require.Contains(t, d, "cpu.X86.HasAVX512F")
	require.Contains(t, d, "cpu.X86.HasFMA")
}

// formula parses src as a spec formula.
func formula(t *testing.T, src string) *spec.Formula {
	t.Helper()
	e, err := parser.ParseExpr(src)
	require.NoError(t, err)
	return &spec.Formula{Src: src, Expr: e, Pos: spec.Pos{File: "test.yaml", Line: 1, Col: 1}}
}

// reducePrograms are reduction kernels of every shape the emitter meets:
// a max, sums of a transcendental with a per-call scalar, a sum of a
// product with its rounding-error term (a PReLU-style weight gradient),
// results that are leaves (a constant, a parameter), and a program with
// more live values than registers; each for float32 and float64 memory.
func reducePrograms(t *testing.T) []Kernel {
	var ks []Kernel
	for _, mem := range []vprog.Type{vprog.F32, vprog.F64} {
		sfx := strings.ToUpper(mem.String()[:1]) + mem.String()[1:]
		lower := func(name, src string, n vprog.Names, r vprog.Reducer, sets [][]float64) {
			a := &spec.Activation{Name: name}
			p, err := vprog.LowerFormula(a, name+sfx, formula(t, src), n, mem, r)
			require.NoError(t, err)
			ks = append(ks, Kernel{Program: p, ParamSets: sets})
		}
		lower("maxX", "x", vprog.Names{Inputs: []string{"x"}}, vprog.ReduceMax, nil)
		lower("sumX", "x", vprog.Names{Inputs: []string{"x"}}, vprog.ReduceSum, nil)
		lower("sumExp", "exp(x - m)", vprog.Names{Inputs: []string{"x"}, Scalars: []string{"m"}}, vprog.ReduceSum,
			[][]float64{{0}, {3.5}, {-20}, {math.Inf(-1)}})
		lower("sumDyNeg", "where(x < 0, x, 0)", vprog.Names{Inputs: []string{"x", "dy"}, ScaleBy: []string{"dy"}}, vprog.ReduceSum, nil)
		lower("maxDiff", "abs(x - dy) * s", vprog.Names{Inputs: []string{"x", "dy"}, Scalars: []string{"s"}}, vprog.ReduceMax,
			[][]float64{{1}, {-0.5}})

		b := vprog.NewBuilder("sumConst"+sfx, mem, vprog.F64, 1, nil)
		b.Input(0)
		ks = append(ks, Kernel{Program: b.FinishReduce(b.Const(0.1), -1, vprog.ReduceSum)})
		b = vprog.NewBuilder("maxParam"+sfx, mem, vprog.F64, 1, []string{"p"})
		b.Input(0)
		ks = append(ks, Kernel{Program: b.FinishReduce(b.Param(0), -1, vprog.ReduceMax), ParamSets: [][]float64{{2.5}}})
		// A max of a value that is never NaN (a flag of 1 or 0, without
		// the NaN rule) folds by a plain maximum. The flag is 1 at
		// the zeros a tail load puts in the lanes past the end (and seldom
		// elsewhere), so a fold that let those lanes in would differ.
		b = vprog.NewBuilder("maxFlag"+sfx, mem, vprog.F64, 1, nil)
		flag := b.Select(b.EQ(b.Input(0), b.Const(0)), b.Const(1), b.Const(0))
		ks = append(ks, Kernel{Program: b.FinishReduce(flag, -1, vprog.ReduceMax)})

		big := bigProgram(combo{mem, vprog.F64}, 300, 40).Program
		big.Name = "sumBig" + sfx
		big.Reduce, big.ResultErr = vprog.ReduceSum, -1
		ks = append(ks, Kernel{Program: big, ParamSets: [][]float64{{0.75}}})
	}
	return ks
}

// TestReduceEndToEnd generates the reduction kernels into a scratch package
// whose generic twins run Program.Fold, and runs the generated agreement
// (full size: 2^20 elements per input set), guard-page and NaN-payload
// tests there.
func TestReduceEndToEnd(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("runs the generated assembly")
	}
	if testing.Short() {
		t.Skip("builds and runs a generated package")
	}
	dir := scratch(t, reducePrograms(t))
	goCmd(t, dir, []string{"GOARCH=amd64"}, "vet", ".")
	out := goCmd(t, dir, nil, "test", "-count=1", "-v", ".")
	// Every case ran on every ISA the CPU has: no silent skip.
	for _, k := range reducePrograms(t) {
		require.Contains(t, out, "--- PASS: TestSIMDAgreement/"+k.Program.Name)
		require.Contains(t, out, "--- PASS: TestSIMDGuardPages/"+k.Program.Name)
		require.Contains(t, out, "--- PASS: TestSIMDNaNPayloads/"+k.Program.Name)
	}
	goCmd(t, dir, nil, "vet", "-tags", "purego", ".")
}

// TestReduceFailsOnWrongFold proves the generated reduction tests can fail:
// the same package, with one generic twin's fold order changed (element i
// into lane (i+1) % 8), must fail the agreement test.
func TestReduceFailsOnWrongFold(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("runs the generated assembly")
	}
	if testing.Short() {
		t.Skip("builds and runs a generated package")
	}
	var ks []Kernel
	for _, k := range reducePrograms(t) {
		if k.Program.Name == "sumXF64" || k.Program.Name == "maxXF32" {
			ks = append(ks, k)
		}
	}
	dir := scratch(t, ks)
	// Rotate the accumulator's lanes after the generic fold.
	rot := `
func rotate(acc *[16]float64, by int) {
	var r [16]float64
	for k := 0; k < 8; k++ {
		r[(k+by)%8], r[8+(k+by)%8] = acc[k], acc[8+k]
	}
	*acc = r
}
`
	g := filepath.Join(dir, "generic.go")
	src, err := os.ReadFile(g)
	require.NoError(t, err)
	// Only calls whose length is not a multiple of 8 are wrong, as a fold
	// that mishandled the tail would be.
	s := strings.ReplaceAll(string(src), "Prog.Fold((*vprog.Acc)(acc), in, ps)", "Prog.Fold((*vprog.Acc)(acc), in, ps)\n\tif len(in0)%8 != 0 {\n\t\trotate(acc, 1)\n\t}")
	require.NotEqual(t, string(src), s)
	require.NoError(t, os.WriteFile(g, []byte(s+rot), 0o644))
	cmd := exec.Command("go", "test", "-count=1", "-short", "-run", "Agreement|GuardPages|NaNPayloads", "-v", ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "a wrong generic fold must fail the generated tests:\n%s", out)
	for _, k := range ks {
		for _, test := range []string{"TestSIMDAgreement", "TestSIMDGuardPages", "TestSIMDNaNPayloads"} {
			require.Contains(t, string(out), "--- FAIL: "+test+"/"+k.Program.Name, "%s", out)
		}
	}
}

func TestGenerateRefusesBadReductions(t *testing.T) {
	b := vprog.NewBuilder("r", vprog.F32, vprog.F32, 1, nil)
	p := b.FinishReduce(b.Input(0), -1, vprog.ReduceSum)
	_, err := Generate("x", []Kernel{{Program: p}})
	require.ErrorContains(t, err, "reduction computes in f64")
	b = vprog.NewBuilder("r", vprog.F64, vprog.F64, 1, nil)
	x := b.Input(0)
	p = b.FinishReduce(x, b.Mul(x, x), vprog.ReduceMax)
	_, err = Generate("x", []Kernel{{Program: p}})
	require.ErrorContains(t, err, "sums only")
}

// TestReduceSignature: the reduction kernels' declarations take the
// accumulator and no dst, and read and write it.
func TestReduceSignature(t *testing.T) {
	b := vprog.NewBuilder("s", vprog.F32, vprog.F64, 2, []string{"p"})
	p := b.FinishReduce(b.Mul(b.Input(0), b.Input(1)), -1, vprog.ReduceSum)
	files, err := Generate("x", []Kernel{{Program: p, ParamSets: [][]float64{{1}}}})
	require.NoError(t, err)
	require.Contains(t, string(files["kernels_amd64.go"]), "func sAVX512(acc *[16]float64, in0, in1 []float32, p float32)")
	require.Contains(t, string(files["kernels_amd64.go"]), "func sAVX2(acc *[16]float64, in0, in1 []float32, p float32)")
	s := string(files["kernels_amd64.s"])
	require.Equal(t, strings.Count(s, "RET"), strings.Count(s, "VZEROUPPER"), "VZEROUPPER before every RET")
}
