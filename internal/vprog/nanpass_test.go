package vprog

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/spec"
)

// TestSelectDropsSatisfiedNaNRule checks that the NaN rule's select goes
// exactly where the formula already gives x, bit for bit, for a NaN x, and
// that either way a NaN x comes out unchanged: payload, sign and
// signaling bit (which any arithmetic on it would change).
func TestSelectDropsSatisfiedNaNRule(t *testing.T) {
	cases := []struct {
		forward string
		dropped bool
	}{
		{"max(x, 0)", true},
		{"min(max(x, -1), 2)", true},
		{"where(x < 0, 0, x)", true},
		{"where(x <= 0, 2*x, x)", true},
		{"where(abs(x) <= 0.5, 0, x)", true}, // abs(NaN) is a NaN: the comparison is false
		{"where(x < 0 || x > 1, 0, x)", true},
		{"where(x != 0, x, 1)", true}, // != is true for NaN
		{"where(x > 0, x, 2*x)", false},
		{"x - min(max(x, -0.5), 0.5)", false},
		{"where(x > 0, x, 0)", false},
		{"min(x*x, x)", false}, // min's own NaN select gives x*x: a NaN, not x
	}
	nans := []uint64{0x7ff8000000000abc, 0xfff8000000000001, 0x7ff0000000000001, 0xfff4000000000000}
	for _, c := range cases {
		t.Run(c.forward, func(t *testing.T) {
			p, err := Lower(activation(t, "f", c.forward, "1"), Forward, F64)
			require.NoError(t, err)
			res := p.Instrs[p.Result]
			rule := res.Op == OpSelect && p.Instrs[res.Args[0]].Op == OpIsNaN && p.Instrs[res.Args[1]].Op == OpInput
			assert.Equal(t, c.dropped, !rule, "NaN rule dropped")
			for _, bits := range nans {
				got := math.Float64bits(p.Eval([]float64{math.Float64frombits(bits)}, nil))
				assert.Equal(t, fmt.Sprintf("%#x", bits), fmt.Sprintf("%#x", got))
			}
		})
	}
}

// TestForX86DropsNaNRuleArithmeticKeeps checks which NaN rules the x86
// kernels drop: those whose formula reaches x's NaN through arithmetic that
// x86 makes return its first NaN operand, never one where a negation, an
// absolute value or an operand that may be another NaN comes first. The
// assembly end-to-end tests (asm, programs nanRuleX86*) check the bits.
func TestForX86DropsNaNRuleArithmeticKeeps(t *testing.T) {
	cases := []struct {
		forward string
		dropped bool
	}{
		{"x - min(max(x, -0.5), 0.5)", true}, // softshrink
		{"2 - 3*x", true},                    // constants are never NaN
		{"fma(0.5, x, 1)", true},
		{"x*min(max(x + 3, 0), 6)/6", true}, // hardswish
		{"sqrt(x*x + 1)", true},
		{"-x + 1", false},          // -x is a NaN of the other sign
		{"abs(x)*2", false},        // |x| too
		{"1/(1 + exp(-x))", false}, // exp's reduction goes through bit operations
		{"min(x*x, x)", true},      // min gives its second operand, x
	}
	for _, c := range cases {
		t.Run(c.forward, func(t *testing.T) {
			p, err := Lower(activation(t, "f", c.forward, "1"), Forward, F64)
			require.NoError(t, err)
			hasRule := func(p *Program) bool {
				for i, in := range p.Instrs {
					if p.Live()[i] && in.Op == OpSelect && p.Instrs[in.Args[0]].Op == OpIsNaN && p.Instrs[in.Args[1]].Op == OpInput {
						return true
					}
				}
				return false
			}
			require.True(t, hasRule(p), "the portable program keeps its NaN rule")
			q := p.ForX86(false)
			assert.Equal(t, c.dropped, !hasRule(q), "NaN rule dropped for x86")
			for _, x := range []float64{-7, -0.5, 0, 0.25, 3, math.Inf(1), math.Inf(-1)} {
				assert.Equal(t, math.Float64bits(p.Eval([]float64{x}, nil)), math.Float64bits(q.Eval([]float64{x}, nil)), "x = %v", x)
			}
		})
	}
}

// TestForX86FixUp checks the fix-up rewrites for AVX-512: a select
// between constants by x's sign becomes one OpFixUp, and the constant a
// select takes where x is NaN becomes a fix-up that gives x there, when
// that takes the NaN rule away. The x86 program must give the portable
// program's bits wherever x is a number, and x's NaN up to the quiet bit.
func TestForX86FixUp(t *testing.T) {
	c := spec.Param{Name: "c", Default: 0.5}
	cases := []struct {
		der      string
		fixups   int
		compares int
		dropped  bool
	}{
		{"where(x > 0, 1, 0)", 1, 0, true}, // relu
		{"where(x >= 0, 1, 0)", 1, 0, true},
		{"where(x <= 0, 0.5, -1)", 1, 0, true},
		{"where(x == 0, 1, 0)", 1, 0, true},
		{"where(x > 2.5, 1, 0)", 1, 0, true},
		{"where(-3 >= x, 1, 0)", 1, 0, true},
		{"where(x <= c, 0, 1)", 1, 1, true},            // threshold: the constant where x <= c is false
		{"where(x > 0 && x < 6, 1, 0)", 1, 0, true},    // relu6
		{"where(x >= -3 && 3 >= x, 1, 0)", 1, 0, true}, // both non-strict
		{"where(x > 0 && x <= 6, 1, 0)", 1, 2, true},   // mixed: the constant where false
		{"where(x > 0, 2, 0)", 1, 0, true},             // 2 is no token: the destination
		{"where(x - 1 > 0, 1, 0)", 1, 1, true},         // not x's sign, but false where x is NaN
		{"where(x > 0, 1, c)", 1, 0, true},             // leaky_relu': c is the destination
		{"where(x > 0 || x < -1, 1, 0)", 1, 2, true},   // false where x is NaN too
		{"where(!(x > 0), 2, 1)", 1, 1, true},          // true where x is NaN, and 2 is no token: the NaN rule stays, as a fix-up
		{"where(x > 0, x, -x)", 1, 0, true},            // elu's shape: x where positive, else into -x
		{"where(x <= 2.5, -x, 1)", 1, 0, true},         // a value and a token, by x - 2.5
		{"where(x < 0, -x, 2*x)", 0, 1, true},          // two values other than x: no fix-up (2*x passes x's NaN)
	}
	xs := []float64{-math.MaxFloat32, -3.0000002, -3, -2.9999998, -1, -0x1p-149, math.Copysign(0, -1), 0, 0x1p-149, 0.5, 1, 2.4999998, 2.5, 2.5000002,
		3, 5.9999995, 6, 6.0000005, math.MaxFloat32, math.Inf(1), math.Inf(-1)}
	dys := []float64{2, -0.5, 0, math.Copysign(0, -1), math.Inf(1), math.NaN()}
	nan := math.Float64frombits(0x7ff4000000000abc) // signalling, with a payload
	for _, tc := range cases {
		t.Run(tc.der, func(t *testing.T) {
			for _, mem := range []Type{F32, F64} {
				p, err := Lower(activation(t, "f", "x", tc.der, c), Backward, mem)
				require.NoError(t, err)
				for i, in := range p.ForX86(false).Instrs {
					assert.False(t, in.Op == OpFixUp, "%s: without VFIXUPIMM, v%d is a fix-up", mem, i)
				}
				q := p.ForX86(true)
				fixups, compares, rule := 0, 0, false
				for i, in := range q.Instrs {
					fixups += boolInt(q.Live()[i] && in.Op == OpFixUp)
					compares += boolInt(q.Live()[i] && (in.Op == OpLT || in.Op == OpLE || in.Op == OpEQ || in.Op == OpAndCmp))
					rule = rule || q.Live()[i] && in.Op == OpSelect && q.Instrs[in.Args[0]].Op == OpIsNaN
				}
				assert.Equal(t, tc.fixups, fixups, "%s: fix-ups", mem)
				assert.Equal(t, tc.compares, compares, "%s: comparisons", mem)
				assert.Equal(t, tc.dropped, !rule, "%s: NaN rule dropped", mem)
				for _, x := range xs {
					if mem == F32 {
						x = float64(float32(x)) // float32 kernels take float32 values
					}
					for _, dy := range dys {
						in := []float64{x, dy}
						want, got := p.Eval(in, []float64{0.5}), q.Eval(in, []float64{0.5})
						assert.True(t, math.Float64bits(want) == math.Float64bits(got) || want != want && got != got, "%s: x = %v, dy = %v: %v, want %v", mem, x, dy, got, want)
					}
				}
				in := []float64{nan, 2}
				if mem == F32 {
					in[0] = float64(math.Float32frombits(0x7fa00abc))
				}
				const quiet = 1 << 51
				want, got := math.Float64bits(p.Eval(in, []float64{0.5})), math.Float64bits(q.Eval(in, []float64{0.5}))
				assert.Equal(t, fmt.Sprintf("%#x", want|quiet), fmt.Sprintf("%#x", got|quiet), "%s: NaN x", mem)
			}
		})
	}
}

// TestFixUpTokens checks FixUp against VFIXUPIMM's classes on the values
// that mark their edges (the assembly end-to-end tests run the instruction).
func TestFixUpTokens(t *testing.T) {
	// Token c+8 (constant c: +0, -1, +1, 0.5 for c = 0..3) for class c+2,
	// and so on around: each class its own token.
	table := uint32(0x11) | 0x8<<8 | 0x9<<12 | 0xA<<16 | 0xB<<20 | 0x4<<24 | 0x5<<28
	cases := []struct{ x, want float64 }{
		{0, 0}, {math.Copysign(0, -1), 0}, // zero: token 8
		{1, -1},                                                            // +1: token 9
		{math.Inf(-1), 1},                                                  // -Inf: token 10
		{math.Inf(1), 0.5},                                                 // +Inf: token 11
		{-0x1p-1074, math.Inf(-1)}, {-3, math.Inf(-1)}, {-1, math.Inf(-1)}, // negative: token 4
		{0x1p-1074, math.Inf(1)}, {0.5, math.Inf(1)}, {1.0000000000000002, math.Inf(1)}, // positive: token 5
	}
	for _, c := range cases {
		assert.Equal(t, math.Float64bits(c.want), math.Float64bits(FixUp(c.x, table, 7)), "x = %v", c.x)
	}
	nan := math.Float64frombits(0xfff4000000000123)
	assert.Equal(t, math.Float64bits(nan), math.Float64bits(FixUp(nan, table, 7)))
	// Token 0 gives the destination: here for positive operands only.
	keep := table &^ (0xf << 28)
	assert.Equal(t, 7.0, FixUp(0.5, keep, 7))
	assert.Equal(t, 0.5, FixUp(math.Inf(1), keep, 7)) // +Inf is a class of its own
}

// TestForX86MaskedCompares checks that AVX-512 programs fuse a
// comparison with one use into the conjunction that reads it, and give the
// same bits.
func TestForX86MaskedCompares(t *testing.T) {
	c := spec.Param{Name: "c", Default: 0.5}
	cases := []string{
		"where(x > c && x < 6, x, 2*x)",
		"where(x > c && x < 6, x, where(x < 6, 3*x, 2))", // x < 6 twice: x > c is fused
		"where(x == c && (x < 6 && -x < 1), x, 2*x)",
	}
	xs := []float64{-2, -1, 0, 0.5, 1, 5, 6, 7, math.Inf(1), math.Inf(-1), math.NaN()}
	for _, f := range cases {
		t.Run(f, func(t *testing.T) {
			p, err := Lower(activation(t, "f", f, "1", c), Forward, F64)
			require.NoError(t, err)
			q := p.ForX86(true)
			ands, fused := 0, 0
			for i, in := range q.Instrs {
				ands += boolInt(q.Live()[i] && in.Op == OpAnd)
				fused += boolInt(q.Live()[i] && in.Op == OpAndCmp)
			}
			assert.Zero(t, ands, "conjunctions left")
			assert.Positive(t, fused)
			for _, x := range xs {
				want, got := p.Eval([]float64{x}, []float64{0.5}), q.Eval([]float64{x}, []float64{0.5})
				assert.True(t, math.Float64bits(want) == math.Float64bits(got) || want != want && got != got, "x = %v: %v, want %v", x, got, want)
			}
		})
	}
}

// TestForX86NegAbs checks that x86 programs make -|a| one OpNegAbs with
// the same bits, NaNs included (both set the sign bit).
func TestForX86NegAbs(t *testing.T) {
	p, err := Lower(activation(t, "f", "x*(-abs(x))", "1"), Forward, F64)
	require.NoError(t, err)
	for _, avx512 := range []bool{false, true} {
		q := p.ForX86(avx512)
		ops := map[Op]int{}
		for i, in := range q.Instrs {
			if q.Live()[i] {
				ops[in.Op]++
			}
		}
		assert.Equal(t, 1, ops[OpNegAbs])
		assert.Zero(t, ops[OpNeg]+ops[OpAbs], "neg or abs left")
		const quiet = 1 << 51 // x86 arithmetic quiets x's NaN (nanpass.go)
		for _, bits := range []uint64{0, 1 << 63, 0x3ff8000000000000, 0xc008000000000000, 0x7ff0000000000000, 0x7ff8000000000abc, 0xfff4000000000001} {
			x := math.Float64frombits(bits)
			want, got := math.Float64bits(p.Eval([]float64{x}, nil)), math.Float64bits(q.Eval([]float64{x}, nil))
			if x != x {
				want, got = want|quiet, got|quiet
			}
			assert.Equal(t, want, got, "x = %#x", bits)
		}
	}
}

// liveOps counts the live instructions of p with operation op.
func liveOps(p *Program, op Op) int {
	n, live := 0, p.Live()
	for i, in := range p.Instrs {
		n += boolInt(live[i] && in.Op == op)
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestForX86KeepIfs checks that AVX-512 programs compute an operation whose
// only use is a select under a write mask, with the same bits: zeroing
// (OpKeepIf) against +0, merging (OpMergeIf) against any other value; and
// that AVX2 keeps its selects.
func TestForX86KeepIfs(t *testing.T) {
	c := spec.Param{Name: "c", Default: 0.5}
	cases := []struct {
		f             string
		mem           Type
		keeps, merges int
	}{
		// (A select by a comparison of x itself with a constant is a
		// fix-up instead, which also keeps the NaN rule: withFixUps.)
		{"where(!(x*x <= c), x*3, 0)", F64, 1, 0},
		{"where(!(x*x <= c), x - c, 0)", F64, 1, 0},
		{"where(x*x < c, 0, 3/x)", F64, 1, 0},            // under the negated comparison
		{"2*where(!(x*x <= c), x - c, -0.0)", F64, 0, 1}, // -0 is no zeroing mask's: merged from a register
		{"where(!(x*x <= c), x*3, 0) + x*3", F64, 0, 0},  // x*3 has another use
		{"where(x*x < c || x > 1, 0, 3/x)", F64, 0, 0},   // not a comparison: no negation
		{"2*where(x*x < c || x > 1, 3/x, x)", F64, 0, 1}, // but none needed on the true side
		{"2*where(x*x < c, x, 3/x)", F64, 0, 1},          // under the negated comparison
		{"2*where(x*x < c, x + 1, 3/x)", F64, 0, 1},      // the true side's, into the false side's
		{"where(x*x < c, x + 1, 3/x)", F64, 0, 0},        // the value stored: merging measured slower there
		{"where(x*x < c, x, 3/x) + 3/x", F64, 0, 0},      // 3/x has another use
		{"sigmoid(x)", F32, 1, 0},                        // exp's flush to 0 below exp32MinArg: an Ldexp
	}
	xs := []float64{-800, -703.5, -703, -2, -1, math.Copysign(0, -1), 0, 0.5, 1, 5, 88, math.Inf(1), math.Inf(-1), math.NaN()}
	for _, tc := range cases {
		t.Run(tc.f, func(t *testing.T) {
			p, err := Lower(activation(t, "f", tc.f, "1", c), Forward, tc.mem)
			require.NoError(t, err)
			assert.Zero(t, liveOps(p.ForX86(false), OpKeepIf)+liveOps(p.ForX86(false), OpMergeIf), "AVX2")
			q := p.ForX86(true)
			assert.Equal(t, tc.keeps, liveOps(q, OpKeepIf), "zeroing")
			assert.Equal(t, tc.merges, liveOps(q, OpMergeIf), "merging")
			for _, x := range xs {
				if tc.mem == F32 {
					x = float64(float32(x))
				}
				want, got := p.Eval([]float64{x}, []float64{0.5}), q.Eval([]float64{x}, []float64{0.5})
				assert.True(t, math.Float64bits(want) == math.Float64bits(got) || want != want && got != got, "x = %v: %v, want %v", x, got, want)
			}
		})
	}
}

// TestForX86AndMasks checks that AVX2 programs make a select between a
// value and +0 a bitwise AND with the mask (OpAndMask), with the same bits,
// and that AVX-512, which has opmasks instead, makes none.
func TestForX86AndMasks(t *testing.T) {
	c := spec.Param{Name: "c", Default: 0.5}
	cases := []struct {
		f     string
		masks int
	}{
		{"where(x*x < c, x*3, 0)", 1},
		{"where(x*x < c, 0, 3/x)", 1},                      // under the negated mask (VANDNPD)
		{"where(x*x < c || x > 1, 0, 3/x) + x", 1},         // a mask made of two comparisons
		{"where(x*x < c, x*3, -0.0)", 0},                   // -0 has a bit set: a blend
		{"where(x*x < c, x*3, 1)", 0},                      // a blend
		{"where(x*x < c, 0, 1)*where(x > c, x, 0)", 2},     // both
		{"where(x*x < c, x*3, 0) + where(x < c, 0, x)", 2}, // one +0 shared by both
	}
	xs := []float64{-800, -2, -1, -0.5, math.Copysign(0, -1), 0, 0.5, 0.75, 1, 5, math.Inf(1), math.Inf(-1), math.NaN()}
	for _, tc := range cases {
		t.Run(tc.f, func(t *testing.T) {
			p, err := Lower(activation(t, "f", tc.f, "1", c), Forward, F64)
			require.NoError(t, err)
			assert.Zero(t, liveOps(p.ForX86(true), OpAndMask), "AVX-512")
			q := p.ForX86(false)
			assert.Equal(t, tc.masks, liveOps(q, OpAndMask), "AVX2")
			for _, x := range xs {
				want, got := p.Eval([]float64{x}, []float64{0.5}), q.Eval([]float64{x}, []float64{0.5})
				assert.True(t, math.Float64bits(want) == math.Float64bits(got) || want != want && got != got, "x = %v: %v, want %v", x, got, want)
			}
		})
	}
}

// TestForX86FixUpSharesDifference checks that the fix-up of a comparison
// with a constant c reads a difference x - c the program already computes,
// written x - c, x + (-c) or (-c) + x, and that the bits stay the same.
func TestForX86FixUpSharesDifference(t *testing.T) {
	cases := []struct {
		forward string
		subs    int // live additions and subtractions on AVX-512
	}{
		{"where(x <= -3, -0.0, x*(x + 3))", 1}, // hardswish's shape
		{"where(x <= -3, -0.0, x*(3 + x))", 1},
		{"where(x > 2, 1, x*(x - 2))", 1},
		{"where(x > 2, 1, x*(x + 2))", 2}, // x + 2 is not x - 2
	}
	for _, c := range cases {
		t.Run(c.forward, func(t *testing.T) {
			p, err := Lower(activation(t, "f", c.forward, "1"), Forward, F32)
			require.NoError(t, err)
			q := p.ForX86(true)
			require.Equal(t, 1, liveOps(q, OpFixUp))
			assert.Equal(t, c.subs, liveOps(q, OpAdd)+liveOps(q, OpSub))
			for _, x := range []float64{-4, -3, -2.9999998, -1, 0, 1.9999999, 2, 2.0000002, 5, math.Inf(-1), math.Inf(1)} {
				assert.Equal(t, math.Float64bits(p.Eval([]float64{x}, nil)), math.Float64bits(q.Eval([]float64{x}, nil)), "x = %v", x)
			}
		})
	}
}

// TestForX86NaNRuleFixUp checks that a NaN rule AVX-512 keeps is one
// fix-up, with no comparison left, giving the portable program's bits for
// every number and x's NaN up to the quiet bit; AVX2 keeps the select.
func TestForX86NaNRuleFixUp(t *testing.T) {
	for _, f := range []string{"-x + 1", "abs(x)*2", "1/(1 + exp(-x))"} {
		t.Run(f, func(t *testing.T) {
			for _, mem := range []Type{F32, F64} {
				p, err := Lower(activation(t, "f", f, "1"), Forward, mem)
				require.NoError(t, err)
				_, kept := p.ForX86(false).nanRuleInput()
				assert.True(t, kept, "%s: AVX2 keeps the NaN rule's select", mem)
				q := p.ForX86(true)
				_, kept = q.nanRuleInput()
				assert.False(t, kept, "%s: AVX-512 NaN rule select", mem)
				assert.Zero(t, liveOps(q, OpIsNaN), "%s: comparisons for NaN", mem)
				res := q.Instrs[q.Result]
				require.Equal(t, OpFixUp, res.Op, "%s: result", mem)
				assert.Equal(t, uint32(0x11), fixUpTable(q.Instrs[res.Args[1]].Imm, q.Compute), "%s: table", mem)
				assertSameBits(t, p, q, mem, -1e30, -3, -0.5, math.Copysign(0, -1), 0, 1e-40, 2, 1e30, math.Inf(1), math.Inf(-1))
			}
		})
	}
}

// TestForX86DropsShadowedNaNRules checks that an x86 program drops a
// primitive's NaN rule isnan(a) ? a : r where its result is a's NaN
// wherever a is NaN however that rule decides, and keeps it where the
// rule's lanes reach the result. a = b*x may be NaN where x is not (0·Inf,
// a NaN b), so the portable program keeps each of these rules.
func TestForX86DropsShadowedNaNRules(t *testing.T) {
	b := spec.Param{Name: "b", Default: 1}
	cases := []struct {
		forward string
		dropped bool
	}{
		{"max(0, b*x) + exp(-abs(b*x))", true},  // softplus's shape: max gives b*x's NaN first
		{"exp(-abs(b*x)) + max(0, b*x)", false}, // the exp's NaN comes first
		{"max(0, b*x)*exp(-abs(b*x))", true},
		{"exp(-abs(b*x))", false}, // the rule is the result
	}
	rules := func(p *Program) int {
		n, live := 0, p.Live()
		for i, in := range p.Instrs {
			if live[i] && in.Op == OpSelect && p.Instrs[in.Args[0]].Op == OpIsNaN && Value(i) != p.Result {
				n++
			}
		}
		return n
	}
	for _, c := range cases {
		t.Run(c.forward, func(t *testing.T) {
			p, err := Lower(activation(t, "f", c.forward, "1", b), Forward, F64)
			require.NoError(t, err)
			for _, avx512 := range []bool{false, true} {
				q := p.ForX86(avx512)
				inner := rules(q)
				if !avx512 {
					require.Positive(t, rules(p), "the portable program keeps the exp's rule")
					assert.Equal(t, c.dropped, inner < rules(p), "dropped for x86")
				}
				for _, x := range []float64{-7, -0.5, 0, 3, math.Inf(1), math.Inf(-1)} {
					for _, bv := range []float64{1, 0, -2, math.Inf(1)} {
						want, got := p.Eval([]float64{x}, []float64{bv}), q.Eval([]float64{x}, []float64{bv})
						assert.True(t, math.Float64bits(want) == math.Float64bits(got) || want != want && got != got, "x = %v, b = %v: %v, want %v", x, bv, got, want)
					}
				}
			}
		})
	}
}

// TestForX86SignSelects checks which selects on x < 0 or 0 < x the AVX2
// programs make selects on x's sign bit: those whose choice at the zero
// where the two differ (-0 for x < 0, +0 for 0 < x) does not change the
// kernel's result, and whose sides read nothing but x.
func TestForX86SignSelects(t *testing.T) {
	b := spec.Param{Name: "b", Default: 2}
	cases := []struct {
		forward string
		signed  bool
	}{
		{"where(x < 0, x*2, x*3)", true},   // -0 either way
		{"where(x < 0, 1, 2)", false},      // 1 at -0 instead of 2
		{"where(x > 0, x, 0)", true},       // +0 either way
		{"where(x > 0, 1, 0)", false},      // 1 at +0 instead of 0
		{"where(x < 0, x*b, x)", false},    // a parameter on one side
		{"where(x < 0, 1 + x*x, 1)", true}, // 1 either way
	}
	for _, c := range cases {
		t.Run(c.forward, func(t *testing.T) {
			var params []spec.Param
			if strings.Contains(c.forward, "b") {
				params = append(params, b)
			}
			p, err := Lower(activation(t, "f", c.forward, "1", params...), Forward, F64)
			require.NoError(t, err)
			q := p.ForX86(false)
			signed := false
			for i, in := range q.Instrs {
				if q.Live()[i] && in.Op == OpSelect && in.Imm == SelectSign {
					signed = true
				}
			}
			assert.Equal(t, c.signed, signed)
			for _, x := range []float64{-7, -0.5, math.Copysign(0, -1), 0, 0.25, 3, math.Inf(1), math.Inf(-1)} {
				params := []float64{2}[:len(p.Params)]
				assert.Equal(t, math.Float64bits(p.Eval([]float64{x}, params)), math.Float64bits(q.Eval([]float64{x}, params)), "x = %v", x)
			}
		})
	}
}

// TestForX86NaNRuleInSelect checks that AVX2 folds a NaN rule that stays
// around where(x CMP k, x, v) into one select on the negated comparison:
// no isnan left, one comparison, and the same bits for every number and
// for a NaN x (up to the quiet bit). A select that does not give x on its
// true side keeps the rule.
func TestForX86NaNRuleInSelect(t *testing.T) {
	for _, c := range []struct {
		forward string
		folded  bool
	}{
		// The false sides make a NaN of another sign: the rule stays
		// without the fold.
		{"where(x > 0, x, -x)", true},
		{"where(x >= -1, x, -abs(x)*3)", true},
		{"where(0.5 > x, x, -x*x)", true},
		{"where(x > 0, -x, 3)", false},
		{"where(x == 1, x, -x)", false}, // no ordered negation of ==
	} {
		t.Run(c.forward, func(t *testing.T) {
			for _, mem := range []Type{F32, F64} {
				p, err := Lower(activation(t, "f", c.forward, "1"), Forward, mem)
				require.NoError(t, err)
				q := p.ForX86(false)
				_, kept := q.nanRuleInput()
				assert.Equal(t, c.folded, !kept, "%s: NaN rule folded", mem)
				if c.folded {
					assert.Zero(t, liveOps(q, OpIsNaN), "%s: comparisons for NaN", mem)
					assert.Equal(t, 1, liveOps(q, OpLT)+liveOps(q, OpLE), "%s: comparisons", mem)
				}
				assertSameBits(t, p, q, mem, -1e30, -3, -1, -0.5, math.Copysign(0, -1), 0, 1e-40, 0.5, 1, 2, 1e30, math.Inf(1), math.Inf(-1))
			}
		})
	}
}

// assertSameBits checks that q gives p's bits at each x (rounded to mem),
// and p's NaN up to the quiet bit for a signaling NaN x.
func assertSameBits(t *testing.T, p, q *Program, mem Type, xs ...float64) {
	t.Helper()
	for _, x := range xs {
		if mem == F32 {
			x = float64(float32(x))
		}
		assert.Equal(t, math.Float64bits(p.Eval([]float64{x}, nil)), math.Float64bits(q.Eval([]float64{x}, nil)), "%s: x = %v", mem, x)
	}
	const quiet = 1 << 51
	nan := math.Float64frombits(0x7ff4000000000abc)
	if mem == F32 {
		nan = float64(math.Float32frombits(0x7fa00abc))
	}
	want, got := math.Float64bits(p.Eval([]float64{nan}, nil)), math.Float64bits(q.Eval([]float64{nan}, nil))
	assert.Equal(t, fmt.Sprintf("%#x", want|quiet), fmt.Sprintf("%#x", got|quiet), "%s: NaN x", mem)
}
