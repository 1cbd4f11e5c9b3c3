package generate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dave/jennifer/jen"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/scratchmod"
	"github.com/actkern/actkern/internal/vprog"
)

// opCase builds a one-operation program (plus what it needs) over inputs x,
// dy and parameter alpha.
type opCase struct {
	name  string
	build func(b *vprog.Builder, x, dy, alpha vprog.Value) vprog.Value
}

var opCases = []opCase{
	{name: "add", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Add(x, dy) }},
	{name: "sub", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Sub(x, dy) }},
	{name: "mul", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Mul(x, dy) }},
	{name: "div", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Div(x, dy) }},
	// x*dy + alpha: with an FMA it rounds once, without twice; the kernel
	// must do exactly what the program says in both cases.
	{name: "fma", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.FMA(x, dy, al) }},
	// r*r + 2^-60 for r = 1 + k/4096: float32 midpoints that rounding
	// twice gets wrong (see asm's fmaMidpoint), so the Go kernel's float32
	// fma must round once, as Eval's does.
	{name: "fma_midpoint", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value {
		k := b.Round(b.Mul(x, b.Const(64)), vprog.RoundNearestEven)
		r := b.FMA(k, b.Const(0x1p-12), b.Const(1))
		return b.FMA(r, r, b.Const(0x1p-60))
	}},
	{name: "mul_add", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Add(b.Mul(x, dy), al) }},
	{name: "neg", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Neg(x) }},
	{name: "abs", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Abs(x) }},
	{name: "copysign", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.CopySign(x, dy) }},
	{name: "sqrt", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Sqrt(x) }},
	{name: "min", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Min(x, dy) }},
	{name: "max", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Max(x, dy) }},
	{name: "round_even", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Round(x, vprog.RoundNearestEven) }},
	{name: "floor", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Round(x, vprog.RoundFloor) }},
	// floor(x) beside x, which the kernel writes as math.Floor(x - 0)
	// (TestRoundFromCopy).
	{name: "floor_reused", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value {
		return b.Sub(x, b.Round(x, vprog.RoundFloor))
	}},
	{name: "ceil", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Round(x, vprog.RoundCeil) }},
	{name: "trunc", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Round(x, vprog.RoundTrunc) }},
	{name: "ldexp", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value {
		// The exponent must be integer-valued and bounded: clamp dy into
		// [-1100, 1100] (the clamp also maps NaN to a bound) and round.
		n := b.Round(b.Max(b.Min(dy, b.Const(1100)), b.Const(-1100)), vprog.RoundNearestEven)
		return b.Ldexp(x, n)
	}},
	{name: "getexp", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.GetExp(x) }},
	{name: "getmant", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.GetMant(x) }},
	{name: "lt", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Select(b.LT(x, dy), x, al) }},
	{name: "le", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Select(b.LE(x, dy), x, al) }},
	{name: "eq", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Select(b.EQ(x, dy), x, al) }},
	{name: "isnan", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value { return b.Select(b.IsNaN(x), al, dy) }},
	{name: "and_or_not", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value {
		lt, eq := b.LT(x, dy), b.EQ(x, al)
		m := b.Or(b.And(lt, b.Not(eq)), b.AndNot(eq, b.IsNaN(dy)))
		return b.Select(m, dy, b.Neg(x))
	}},
	{name: "hoisted", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value {
		// Loop-invariant arithmetic and masks on the parameter, and a dead
		// value, which the emitter must drop (Go rejects unused variables).
		inv := b.Div(b.Const(1), b.Add(al, b.Const(0.1)))
		pos := b.LT(b.Const(0), al)
		_ = b.Sqrt(dy)
		k := b.Select(pos, inv, b.Const(math.Inf(-1)))
		return b.Mul(b.Sub(x, k), b.Const(-0.0))
	}},
	{name: "constants", build: func(b *vprog.Builder, x, dy, al vprog.Value) vprog.Value {
		c := b.Select(b.LT(x, b.Const(0)), b.Const(math.NaN()), b.Const(math.Pi))
		return b.Select(b.IsNaN(dy), b.Const(math.Inf(1)), b.Add(c, b.Const(5e-324)))
	}},
}

type config struct {
	mem, compute vprog.Type
}

var configs = []config{{vprog.F64, vprog.F64}, {vprog.F32, vprog.F64}, {vprog.F32, vprog.F32}}

// testValues are inputs that probe every op's edges, then random bit
// patterns and ordinary numbers. NaNs are quiet: a signalling NaN is
// quieted by whichever conversion meets it first, which Eval and the
// kernels do at different points (documented, not a contract).
func testValues(mem vprog.Type, rnd *rand.Rand) []float64 {
	vs := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 3, 1e-3, 7,
		math.Inf(1), math.Inf(-1), math.NaN(), math.Float64frombits(0xfff8000000000123),
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64,
		math.MaxFloat32, math.SmallestNonzeroFloat32, 0x1p-126, 1e300, -1e-300, 4503599627370497.5, 1 << 53}
	for range 300 {
		var v float64
		switch rnd.IntN(3) {
		case 0:
			v = math.Float64frombits(rnd.Uint64())
		case 1:
			v = float64(math.Float32frombits(rnd.Uint32()))
		default:
			v = (rnd.Float64() - 0.5) * 40
		}
		vs = append(vs, v)
	}
	for i, v := range vs {
		if mem == vprog.F32 {
			v = float64(float32(v))
		}
		if math.IsNaN(v) && mem == vprog.F64 && math.Float64bits(v)&(1<<51) == 0 {
			v = math.NaN()
		}
		if math.IsNaN(v) && mem == vprog.F32 && math.Float32bits(float32(v))&(1<<22) == 0 {
			v = math.NaN()
		}
		vs[i] = v
	}
	return vs
}

func bitsOf(v float64, t vprog.Type) uint64 {
	if t == vprog.F32 {
		return uint64(math.Float32bits(float32(v)))
	}
	return math.Float64bits(v)
}

// TestKernelsMirrorEval emits the generic kernel of small programs covering
// every operation, in every memory/compute combination, into a scratch
// module, and checks there that each gives the bits Program.Eval gives.
func TestKernelsMirrorEval(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a scratch module")
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	kf := jen.NewFile("kern")
	kf.HeaderComment(header)
	var tf bytes.Buffer
	tf.WriteString("package kern\n\nimport (\n\t\"encoding/binary\"\n\t\"math\"\n\t\"os\"\n\t\"path/filepath\"\n\t\"testing\"\n)\n")
	tf.WriteString(loadFunc)
	data := map[string][]byte{}
	helpers := helperSet{}
	alphas := []float64{1.5, math.Copysign(0, -1), math.NaN(), 1e-310}
	n := 0
	for _, cfg := range configs {
		for _, oc := range opCases {
			name := fmt.Sprintf("%s%s%sBackward", strings.ReplaceAll(oc.name, "_", ""), cfg.mem, cfg.compute)
			b := vprog.NewBuilder(name, cfg.mem, cfg.compute, 2, []string{"alpha"})
			p := b.Finish(oc.build(b, b.Input(0), b.Input(1), b.Param(0)))
			code, err := emitKernel(p, vprog.Backward, helpers)
			require.NoError(t, err, name)
			for _, c := range code {
				kf.Add(c)
			}
			xs := testValues(cfg.mem, rnd)
			dys := testValues(cfg.mem, rnd)
			// Every x against a rotated dy, and specials against specials.
			for ai, al := range alphas {
				if cfg.mem == vprog.F32 {
					al = float64(float32(al))
				}
				var in0, in1, want []uint64
				for i := range xs {
					for _, j := range []int{i, (i * 7) % len(dys), (i + 1) % 27} {
						x, dy := xs[i], dys[j]
						in0 = append(in0, bitsOf(x, cfg.mem))
						in1 = append(in1, bitsOf(dy, cfg.mem))
						want = append(want, bitsOf(p.Eval([]float64{x, dy}, []float64{al}), cfg.mem))
					}
				}
				n += len(want)
				writeCase(&tf, data, fmt.Sprintf("%s_%d", name, ai), name, cfg.mem, al, in0, in1, want)
			}
		}
	}
	for _, c := range emitHelpers(helpers) {
		kf.Add(c)
	}
	var src bytes.Buffer
	require.NoError(t, kf.Render(&src))

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module scratch\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "kern"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kern", "kern.go"), src.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kern", "kern_test.go"), tf.Bytes(), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "kern", "testdata"), 0o755))
	for name, d := range data {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "kern", "testdata", name+".bin"), d, 0o644))
	}
	scratchmod.Go(t, dir, nil, "vet", "./...")
	scratchmod.Go(t, dir, nil, "test", "-count=1", "./...")
	// The kernels must also compile where Go may fuse multiply-adds.
	for _, arch := range []string{"arm64", "ppc64le", "s390x"} {
		scratchmod.Go(t, dir, []string{"GOARCH=" + arch}, "vet", "./...")
	}
	t.Logf("%d elements compared over %d programs", n, len(opCases)*len(configs))
}

// writeCase appends a test of one kernel call to w; its data (element
// count, then in0, in1 and the expected bits, little-endian uint64) goes to
// data[test], so that the scratch module compiles quickly.
func writeCase(w *bytes.Buffer, data map[string][]byte, test, kernel string, mem vprog.Type, alpha float64, in0, in1, want []uint64) {
	var d []byte
	d = binary.LittleEndian.AppendUint64(d, uint64(len(want)))
	for _, vs := range [][]uint64{in0, in1, want} {
		for _, v := range vs {
			d = binary.LittleEndian.AppendUint64(d, v)
		}
	}
	data[test] = d
	t, from, conv := "float64", "math.Float64frombits", "math.Float64bits"
	if mem == vprog.F32 {
		t, from, conv = "float32", "math.Float32frombits", "math.Float32bits"
	}
	fmt.Fprintf(w, "func Test_%s(t *testing.T) {\n", test)
	fmt.Fprintf(w, "\tin0, in1, want := load(t, %q)\n", test)
	fmt.Fprintf(w, "\tx, dy, dx := make([]%s, len(in0)), make([]%s, len(in0)), make([]%s, len(in0))\n", t, t, t)
	fmt.Fprintf(w, "\tfor i := range in0 {\n\t\tx[i], dy[i] = %s(%s(in0[i])), %s(%s(in1[i]))\n\t}\n", from, bitsType(mem), from, bitsType(mem))
	fmt.Fprintf(w, "\t%sGeneric(dx, x, dy, %s(%#x))\n", kernel, from, bitsOf(alpha, mem))
	// Where x and dy are both NaN, which payload a result keeps is left
	// open (see vprog.OpAdd): any NaN is right.
	fmt.Fprintf(w, "\tbad := 0\n\tfor i := range want {\n\t\tif got := uint64(%s(dx[i])); got != want[i] && !(x[i] != x[i] && dy[i] != dy[i] && dx[i] != dx[i] && %[2]s(%[3]s(want[i])) != %[2]s(%[3]s(want[i]))) {\n", conv, from, bitsType(mem))
	fmt.Fprintf(w, "\t\t\tif bad++; bad <= 5 {\n\t\t\t\tt.Errorf(\"x = %%v, dy = %%v: got %%#x (%%v), want %%#x\", x[i], dy[i], got, dx[i], want[i])\n\t\t\t}\n\t\t}\n\t}\n")
	fmt.Fprintf(w, "\tif bad > 0 {\n\t\tt.Errorf(\"%%d of %%d elements differ\", bad, len(want))\n\t}\n}\n\n")
}

func bitsType(mem vprog.Type) string {
	if mem == vprog.F32 {
		return "uint32"
	}
	return "uint64"
}

// loadFunc is the scratch test's reader of writeCase's data.
const loadFunc = `
func load(t *testing.T, name string) (in0, in1, want []uint64) {
	b, err := os.ReadFile(filepath.Join("testdata", name+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	n := int(binary.LittleEndian.Uint64(b))
	vs := make([]uint64, 3*n)
	for i := range vs {
		vs[i] = binary.LittleEndian.Uint64(b[8+8*i:])
	}
	return vs[:n], vs[n : 2*n], vs[2*n:]
}
`

// TestRoundFromCopy checks that a round whose operand is used again reads
// it as a - 0, so that ROUNDSD rounds a register of its own in place (see
// emitInstr), and that a round whose operand is not used again reads it
// directly. TestKernelsMirrorEval checks the bits of both.
func TestRoundFromCopy(t *testing.T) {
	render := func(f func(b *vprog.Builder, x vprog.Value) vprog.Value) string {
		b := vprog.NewBuilder("r", vprog.F64, vprog.F64, 1, nil)
		p := b.Finish(f(b, b.Input(0)))
		code, err := emitKernel(p, vprog.Forward, helperSet{})
		require.NoError(t, err)
		kf := jen.NewFile("kern")
		for _, c := range code {
			kf.Add(c)
		}
		return kf.GoString()
	}
	reused := render(func(b *vprog.Builder, x vprog.Value) vprog.Value {
		return b.Sub(b.Mul(x, b.Const(3)), b.Round(b.Mul(x, b.Const(3)), vprog.RoundFloor))
	})
	require.Contains(t, reused, "math.Floor(v2 - 0)")
	alone := render(func(b *vprog.Builder, x vprog.Value) vprog.Value {
		return b.Round(b.Mul(x, b.Const(3)), vprog.RoundFloor)
	})
	require.Contains(t, alone, "math.Floor(v2)")
}
