package reference_test

import (
	"go/ast"
	"go/parser"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/spec"
	builtin "github.com/actkern/actkern/spec"
)

// specFormula is one formula of the built-in spec, lets substituted, as the
// harness compiles it.
type specFormula struct {
	name, src string
	vars      []string // x (or y), then the parameters
	params    []float64
	consts    map[string]string
}

func specFormulas(t *testing.T) []specFormula {
	s, err := spec.Parse(builtin.File, builtin.YAML)
	require.NoError(t, err)
	var out []specFormula
	for _, a := range s.Activations {
		if a.Kind != "" && a.Kind != "elementwise" {
			continue
		}
		add := func(what string, f *spec.Formula, in string) {
			src := f.Expanded
			if src == "" {
				src = f.Src
			}
			if src != "" {
				out = append(out, specFormula{a.Name + " " + what, src, append([]string{in}, a.ParamNames()...), a.Defaults(), a.Consts("f64")})
			}
		}
		add("forward", &a.Forward, "x")
		add("derivative", &a.Derivative, "x")
		if a.DerivativeOutput != nil {
			add("derivative_output", a.DerivativeOutput, "y")
		}
	}
	require.Greater(t, len(out), 50)
	return out
}

// testInputs are random bit patterns and log-uniform values of both signs,
// with the special values.
func testInputs(n int) []float64 {
	r := rand.New(rand.NewPCG(1, 2))
	xs := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1, -1}
	for len(xs) < n {
		if r.IntN(2) == 0 {
			xs = append(xs, math.Float64frombits(r.Uint64()))
		} else {
			xs = append(xs, math.Copysign(math.Exp(r.Float64()*20-10), float64(r.IntN(2)*2-1)))
		}
	}
	return xs
}

func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}

// Sharing subexpressions and folding constants must change no value: the
// shared evaluation of every spec formula gives the plain tree's bits, on
// the fast path, in a Program (parameters fixed) and on the exact path.
func TestSharingChangesNothing(t *testing.T) {
	xs := testInputs(3000)
	for _, f := range specFormulas(t) {
		shared, err := reference.CompileString(f.src, f.vars, f.consts)
		require.NoError(t, err, f.name)
		tree, err := reference.CompileUnshared(f.src, f.vars, f.consts)
		require.NoError(t, err, f.name)
		e, err := parser.ParseExpr(f.src)
		require.NoError(t, err)
		fixed := map[string]float64{}
		for i, p := range f.vars[1:] {
			fixed[p] = f.params[i]
		}
		prog, err := reference.CompileProgram([]ast.Expr{e, e}, f.vars[:1], f.consts, fixed)
		require.NoError(t, err, f.name)
		ev := prog.NewEval()
		out := make([]float64, 2)
		for i, x := range xs {
			args := append([]float64{x}, f.params...)
			want := tree.Fast(args...)
			got := shared.Fast(args...)
			require.True(t, sameFloat(want, got), "%s Fast at %v: shared %v, tree %v", f.name, x, got, want)
			ev.Eval([]float64{x}, out)
			require.True(t, sameFloat(want, out[0]) && sameFloat(want, out[1]), "%s Program at %v: %v, tree %v", f.name, x, out, want)
			if i%30 == 0 {
				w, g := tree.Float64(args...), shared.Float64(args...)
				require.True(t, sameFloat(w, g), "%s Float64 at %v: shared %v, tree %v", f.name, x, g, w)
			}
		}
	}
}

func TestProgramErrors(t *testing.T) {
	e, err := parser.ParseExpr("x*a")
	require.NoError(t, err)
	_, err = reference.CompileProgram([]ast.Expr{e}, []string{"x", "a"}, nil, map[string]float64{"a": 2})
	assert.ErrorContains(t, err, "both a variable and a fixed value")
	bad, err := parser.ParseExpr("x*nope")
	require.NoError(t, err)
	_, err = reference.CompileProgram([]ast.Expr{e, bad}, []string{"x"}, nil, map[string]float64{"a": 2})
	assert.ErrorContains(t, err, `unknown name "nope"`)
	p, err := reference.CompileProgram([]ast.Expr{e}, []string{"x"}, nil, map[string]float64{"a": -0.1})
	require.NoError(t, err)
	out := []float64{0}
	p.NewEval().Eval([]float64{3}, out)
	x, a := 3.0, -0.1 // variables: Go would fold 3*-0.1 exactly
	assert.Equal(t, x*a, out[0])
}

// An exact result of EvalExact is the formula's exact value: the exact
// evaluation rounds to it, bit for bit. Its values are Eval's.
func TestEvalExact(t *testing.T) {
	xs := testInputs(2000)
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 { // float32 inputs, where the exact ties are
		xs = append(xs, float64(math.Float32frombits(r.Uint32())), float64(float32(r.Float64()*8-4)))
	}
	exactSeen := 0
	for _, f := range specFormulas(t) {
		ref, err := reference.CompileString(f.src, f.vars, f.consts)
		require.NoError(t, err, f.name)
		e, err := parser.ParseExpr(f.src)
		require.NoError(t, err)
		fixed := map[string]float64{}
		for i, p := range f.vars[1:] {
			fixed[p] = f.params[i]
		}
		prog, err := reference.CompileProgram([]ast.Expr{e}, f.vars[:1], f.consts, fixed)
		require.NoError(t, err, f.name)
		ev := prog.NewEval()
		out, fast, exact := []float64{0}, []float64{0}, []bool{false}
		for _, x := range xs {
			ev.EvalExact([]float64{x}, out, exact)
			ev.Eval([]float64{x}, fast)
			require.True(t, sameFloat(fast[0], out[0]), "%s at %v: EvalExact %v, Eval %v", f.name, x, out[0], fast[0])
			if !exact[0] {
				continue
			}
			exactSeen++
			want := ref.Float64(append([]float64{x}, f.params...)...)
			require.Equal(t, math.Float64bits(want), math.Float64bits(out[0]), "%s at %v: exact %v, reference %v", f.name, x, out[0], want)
		}
	}
	assert.Greater(t, exactSeen, 10000)
}

// The exactness tests of single operations, at the edges: a residual that
// underflows, a quotient that is exact, the residual idiom of fma (0 in
// exact arithmetic).
func TestExactOperations(t *testing.T) {
	cases := []struct {
		src   string
		x     float64
		exact bool
	}{
		{"x*3", 0.5, true},
		{"x*0.1", 0.5, false}, // 0.1 is not a float64
		{"x/6", 9, true},
		{"x/6", 10, false},
		{"x*x", 0x1p-600, false}, // underflows to 0
		{"x*x", 0x1p-500, false}, // exact, but below the residual-safe range
		{"x + 1", 0x1p-60, false},
		{"x + 1", 0.5, true},
		// The reference's x*x is exact, so this is 0 there, and the float64
		// residual is not the formula's value.
		{"fma(x, x, -(x*x))", 1 + 0x1p-30, false},
		{"fma(x, 3, -1.5)", 0.5, true},
		{"fma(x, x, 1)", 3, true},
		{"sqrt(x)", 2.25, true},
		{"sqrt(x)", 2, false},
		{"exp(x)", 0, false},
		{"where(x*0.1 > 1, x, 0)", 20, false}, // a branch chosen by a rounded value
		{"where(x > 1, x, 0)", 20, true},
		{"min(x, 2)", 1, true},
		{"x", math.Inf(1), false},
	}
	for _, c := range cases {
		e, err := parser.ParseExpr(c.src)
		require.NoError(t, err)
		prog, err := reference.CompileProgram([]ast.Expr{e}, []string{"x"}, nil, nil)
		require.NoError(t, err)
		out, exact := []float64{0}, []bool{false}
		prog.NewEval().EvalExact([]float64{c.x}, out, exact)
		assert.Equal(t, c.exact, exact[0], "%s at %v", c.src, c.x)
	}
}

// EvalColumns is Eval, point by point and bit for bit: on random inputs
// (blocks where a condition differs from point to point, so both branches
// are evaluated) and on runs of consecutive float32 bit patterns (blocks
// that take one branch), two formulas at once, and a last partial block.
func TestEvalColumns(t *testing.T) {
	xs := testInputs(1001)
	for _, base := range []uint32{0x3f7fff00, 0xbf7fff00, 0x3e000000, 0x41a00000, 0xc2200000, 0x00000010, 0x7f7fff00} {
		for i := range uint32(700) {
			xs = append(xs, float64(math.Float32frombits(base+i)))
		}
	}
	fs := specFormulas(t)
	for k, f := range fs {
		e1, err := parser.ParseExpr(f.src)
		require.NoError(t, err)
		// The next formula of the same activation, if any, as a second
		// output sharing subexpressions with the first.
		es := []ast.Expr{e1}
		if k+1 < len(fs) && fs[k+1].vars[0] == f.vars[0] && strings.Fields(fs[k+1].name)[0] == strings.Fields(f.name)[0] {
			e2, err := parser.ParseExpr(fs[k+1].src)
			require.NoError(t, err)
			es = append(es, e2)
		}
		fixed := map[string]float64{}
		for i, p := range f.vars[1:] {
			fixed[p] = f.params[i]
		}
		prog, err := reference.CompileProgram(es, f.vars[:1], f.consts, fixed)
		require.NoError(t, err, f.name)
		ev := prog.NewEval()
		outs := make([][]float64, len(es))
		for i := range outs {
			outs[i] = make([]float64, len(xs))
		}
		ev.EvalColumns(xs, outs)
		one := make([]float64, len(es))
		for i, x := range xs {
			ev.Eval([]float64{x}, one)
			for r := range es {
				require.True(t, sameFloat(one[r], outs[r][i]), "%s (formula %d) at %v: columns %v, Eval %v", f.name, r, x, outs[r][i], one[r])
			}
		}
	}
}
