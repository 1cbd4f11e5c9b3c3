package generate

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/asm"
	"github.com/actkern/actkern/internal/scratchmod"
	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/vprog"
)

// loadSubset loads the repository's spec and keeps the named activations,
// in spec order: a small spec that still covers no parameters, parameters
// without and with rules, and output forms with and without conditions.
func loadSubset(t *testing.T, names ...string) *spec.Spec {
	t.Helper()
	s, err := spec.Load(filepath.Join(scratchmod.RepoRoot(t), "spec", "activations.yaml"))
	require.NoError(t, err)
	var keep []*spec.Activation
	for _, n := range names {
		a := s.Lookup(n)
		require.NotNil(t, a, "spec has no %s", n)
		keep = append(keep, a)
	}
	s.Activations = keep
	return s
}

var subset = []string{"identity", "leaky_relu", "elu", "celu"}

func TestGenerateDeterministic(t *testing.T) {
	s := loadSubset(t, subset...)
	g := &generator{lower: vprog.Lower, asm: asm.Generate, importBase: "example.com/x/generated"}
	a, err := g.generate(s)
	require.NoError(t, err)
	// Shuffle the spec order: the output must not depend on it.
	for i, j := 0, len(s.Activations)-1; i < j; i, j = i+1, j-1 {
		s.Activations[i], s.Activations[j] = s.Activations[j], s.Activations[i]
	}
	b, err := g.generate(s)
	require.NoError(t, err)
	require.Equal(t, len(a), len(b))
	for name, content := range a {
		require.Equal(t, string(content), string(b[name]), name)
		require.True(t, strings.HasPrefix(string(content), "// "+header+"\n"), "%s lacks the generated-code line", name)
	}
	for _, want := range []string{"f32/elu.go", "f32/elu_generic.go", "f32/elu_test.go", "f64/activation.go",
		"f64/isa.go", "f64/doc.go", "f64/helpers.go", "f64/example_test.go", "f64/bench_helpers_test.go"} {
		assert.Contains(t, a, want)
	}
	// elu has specialize_defaults: the API runs the specialized kernels at
	// alpha = 1, the general ones otherwise.
	api := string(a["f32/elu.go"])
	assert.Contains(t, api, "if alpha == float32(1.0) {")
	assert.Contains(t, api, "eluDefaultsImpl(dst, x, alpha)\n\t\treturn\n\t}")
	assert.Contains(t, string(a["f32/elu_generic.go"]), "func eluDefaultsGeneric(")
	assert.NotContains(t, string(a["f32/celu.go"]), "Defaults", "celu does not ask for it")
}

func TestGenerateFailsWithoutOutput(t *testing.T) {
	s := loadSubset(t, subset...)
	g := &generator{
		lower: func(a *spec.Activation, d vprog.Direction, mem vprog.Type) (*vprog.Program, error) {
			if a.Name == "elu" && mem == vprog.F64 {
				return nil, assert.AnError
			}
			return vprog.Lower(a, d, mem)
		},
		importBase: "example.com/x/generated",
	}
	files, err := g.generate(s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "elu")
	assert.Nil(t, files)
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	gen := func(s string) []byte { return []byte("// " + header + "\n\npackage f32\n// " + s + "\n") }
	res, err := writeFiles(dir, map[string][]byte{"f32/a.go": gen("a"), "f32/b.go": gen("b")})
	require.NoError(t, err)
	assert.Equal(t, []string{"f32/a.go", "f32/b.go"}, res.Written)

	// A hand-written file in the output directory is never removed.
	hand := filepath.Join(dir, "f32", "hand.go")
	require.NoError(t, os.WriteFile(hand, []byte("package f32\n"), 0o644))
	before, err := os.Stat(filepath.Join(dir, "f32", "a.go"))
	require.NoError(t, err)

	res, err = writeFiles(dir, map[string][]byte{"f32/a.go": gen("a"), "f32/c.go": gen("c")})
	require.NoError(t, err)
	assert.Equal(t, []string{"f32/c.go"}, res.Written)
	assert.Equal(t, []string{"f32/a.go"}, res.Unchanged)
	assert.Equal(t, []string{"f32/b.go"}, res.Removed)
	after, err := os.Stat(filepath.Join(dir, "f32", "a.go"))
	require.NoError(t, err)
	assert.Equal(t, before.ModTime(), after.ModTime(), "an unchanged file was rewritten")
	assert.FileExists(t, hand)
	assert.NoFileExists(t, filepath.Join(dir, "f32", "b.go"))

	// Overwriting a hand-written file is refused.
	_, err = writeFiles(dir, map[string][]byte{"f32/hand.go": gen("x")})
	require.Error(t, err)
	entries, err := os.ReadDir(filepath.Join(dir, "f32"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".actkern-gen-"), "temporary file %s left behind", e.Name())
	}
}

// apiTest is hand-written test code dropped into a generated package in a
// scratch module: it checks the behaviour of the generated API that the
// spec-driven kerneltest suite does not (messages, New).
const apiTest = `package f64

import (
	"strings"
	"testing"
)

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want %q", want)
		}
		if msg, _ := r.(string); !strings.Contains(msg, want) {
			t.Fatalf("panic %q, want it to contain %q", r, want)
		}
	}()
	f()
}

func TestAPIChecks(t *testing.T) {
	x := make([]float64, 8)
	mustPanic(t, "actkern: ELU: len(dst) = 3, len(x) = 4", func() { ELU(x[:3], x[:4], 1) })
	mustPanic(t, "actkern: ELUBackward: len(dx) = 3, len(dy) = 3, len(x) = 4", func() { ELUBackward(x[:3], x[4:7], x[:4], 1) })
	mustPanic(t, "overlap", func() { ELU(x[1:5], x[:4], 1) })
	mustPanic(t, "overlap", func() { ELUBackward(x[4:8], x[:4], x[3:7], 1) })
	mustPanic(t, "actkern: CELU: alpha = 0 breaks the rule alpha != 0", func() { CELU(x[:2], x[2:4], 0) })
	mustPanic(t, "actkern: ELUBackwardFromOutput: the output form needs alpha >= 0 (got alpha = -1)", func() { ELUBackwardFromOutput(x[:2], x[2:4], x[4:6], -1) })
	// Exact aliasing is in-place operation, allowed; so are empty slices.
	x[0], x[1] = -1, 2
	ELU(x[:2], x[:2], 1)
	if x[1] != 2 || x[0] >= 0 {
		t.Fatalf("in place: got %v", x[:2])
	}
	ELU(nil, nil, 1)
	ELUBackward(x[:4], x[:4], x[:4], 1)
}

func TestNew(t *testing.T) {
	if got := strings.Join(Names(), ","); got != "celu,elu,identity,leaky_relu" {
		t.Fatalf("Names() = %s", got)
	}
	_, err := New("nope", nil)
	if err == nil || !strings.Contains(err.Error(), "unknown activation \"nope\" (valid: celu, elu, identity, leaky_relu)") {
		t.Fatalf("New(nope): %v", err)
	}
	_, err = New("elu", Params{"beta": 1})
	if err == nil || !strings.Contains(err.Error(), "elu has no parameter \"beta\" (parameters: alpha)") {
		t.Fatalf("New(elu, beta): %v", err)
	}
	_, err = New("identity", Params{"alpha": 1})
	if err == nil || !strings.Contains(err.Error(), "(it has none)") {
		t.Fatalf("New(identity, alpha): %v", err)
	}
	_, err = New("celu", Params{"alpha": 0})
	if err == nil || !strings.Contains(err.Error(), "alpha = 0 breaks the rule alpha != 0") {
		t.Fatalf("New(celu, 0): %v", err)
	}
	a, err := New("leaky_relu", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != "leaky_relu" || a.Params()["negative_slope"] != 0.01 || !a.HasBackwardFromOutput() {
		t.Fatalf("leaky_relu: %s %v %v", a.Name(), a.Params(), a.HasBackwardFromOutput())
	}
	dst := []float64{0, 0}
	a.Forward(dst, []float64{-2, 3})
	if dst[0] != -0.02 || dst[1] != 3 {
		t.Fatalf("Forward: %v", dst)
	}
	a.Backward(dst, []float64{1, 1}, []float64{-2, 3})
	if dst[0] != 0.01 || dst[1] != 1 {
		t.Fatalf("Backward: %v", dst)
	}
	neg, err := New("leaky_relu", Params{"negative_slope": -0.5})
	if err != nil {
		t.Fatal(err)
	}
	if neg.HasBackwardFromOutput() {
		t.Fatal("leaky_relu with a negative slope offers the output form")
	}
	mustPanic(t, "no BackwardFromOutput", func() { neg.BackwardFromOutput(dst, dst, dst) })
}
`

// TestGeneratedPackages generates a subset of the spec into a scratch
// module and vets and tests the result there: the kerneltest suites, the
// examples and apiTest.
func TestGeneratedPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests generated packages in a scratch module")
	}
	s := loadSubset(t, subset...)
	dir := scratchmod.New(t, "example.com/acttest")
	g := &generator{lower: vprog.Lower, asm: asm.Generate, importBase: "example.com/acttest/generated"}
	files, err := g.generate(s)
	require.NoError(t, err)
	_, err = writeFiles(filepath.Join(dir, "generated"), files)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "generated", "f64", "api_test.go"), []byte(apiTest), 0o644))
	scratchmod.Tidy(t, dir)
	scratchmod.Go(t, dir, nil, "vet", "./...")
	for _, arch := range []string{"arm64", "386"} {
		scratchmod.Go(t, dir, []string{"GOARCH=" + arch}, "vet", "./...")
	}
	out := scratchmod.Go(t, dir, nil, "test", "-short", "-count=1", "./...")
	t.Log(out)
	out = scratchmod.Go(t, dir, nil, "test", "-short", "-count=1", "-tags=purego", "./...")
	t.Log(out)
}

// TestGeneratedImportsNoToolchain checks that what users import pulls in
// none of the generator's dependencies.
func TestGeneratedImportsNoToolchain(t *testing.T) {
	root := scratchmod.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "generated", "f32", "doc.go")); err != nil {
		t.Skip("generated/ is not there yet: run go generate ./...")
	}
	cmd := exec.Command("go", "list", "-deps", "./generated/...")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/mmcloughlin/avo", "github.com/dave/jennifer", "yaml", "github.com/actkern/actkern/internal/", "golang.org/x/tools"} {
			assert.NotContains(t, dep, bad, "generated packages depend on %s", dep)
		}
	}
}

// TestStageRare: a stage splits off its rare path only where its kernel
// takes slices alone, which is all its driver passes; a stage with scalars
// keeps the rare branch inline (before, the split generated calls that did
// not compile).
func TestStageRare(t *testing.T) {
	build := func(params []string) *stage {
		b := vprog.NewBuilder("toy", vprog.F64, vprog.F64, 1, params)
		x := b.Input(0)
		v := b.SelectRare(b.LT(b.Const(100), b.Abs(x)), b.Mul(x, x), b.Add(x, b.Const(1)))
		if len(params) > 0 {
			v = b.Mul(v, b.Param(0))
		}
		return &stage{p: b.Finish(v), out: "dst", ins: []string{"x"}}
	}
	assert.NotNil(t, stageRare(build(nil)), "slices only: split")
	assert.Nil(t, stageRare(build([]string{"m"})), "a scalar: inline")
}
