package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/scratchmod"
	"github.com/actkern/actkern/internal/spec"
	builtin "github.com/actkern/actkern/spec"
)

// squareplus is a new activation a user might add: f(x) = (x + sqrt(x²+b))/2.
// Written as the spec asks, in a numerically sound form, with a let for the
// square root (x*x + b rounded once by fma): for x ≪ 0 the sum x + s cancels,
// so below x = -sqrt(b)/2 it uses the identity x + s = b/(s - x), and likewise
// 1 + x/s = b/(s(s - x)) = b/(q - x·s) below -0.3·sqrt(b) in the derivative (nearer 0 the
// plain forms lose less than the extra roundings of the identities); beyond |x| = 1e150, where x*x
// would overflow, the asymptotic forms (exact to far below one ULP there)
// take over.
const squareplus = `
  - name: squareplus
    go_name: Squareplus
    kind: elementwise
    doc: "Squareplus, f(x) = (x + sqrt(x*x + b))/2: a smooth ReLU without transcendental functions."
    torch: "none"
    params:
      - {name: b, default: 4, require: "b > 0", doc: "curvature near 0; f(0) = sqrt(b)/2"}
    let:
      - {name: q, formula: "fma(x, x, b)"}
      - {name: s, formula: "sqrt(q)"}
    forward: "where(x > 1e150, x, where(x < -1e150, -0.25*b/x, where(x < -0.5*sqrt(b), 0.5*b/(s - x), 0.5*(x + s))))"
    derivative: "where(x > 1e150, 1, where(x < -1e150, 0.25*b/x/x, where(x < -0.3*sqrt(b), 0.5*b/fma(-x, s, q), 0.5*(1 + x/s))))"
    kinks: []
    special:
      - {x: "-inf", forward: "0", backward: "0"}
      - {x: "-0.0", forward: "sqrt(b)/2", backward: "0.5"}
      - {x: "0", forward: "sqrt(b)/2", backward: "0.5"}
      - {x: "inf", forward: "inf", backward: "1"}
      - {x: "nan", forward: "nan", backward: "nan"}
    test_params:
      - {b: 1}
      - {b: 0.25}
`

var (
	buildOnce sync.Once
	binPath   string
	binDir    string
	buildErr  error
)

// actkernBinary builds this command once per test run, as `go run` would.
func actkernBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "actkern-test-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "actkern")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = &buildFailure{err, string(out)}
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

type buildFailure struct {
	err error
	out string
}

func (b *buildFailure) Error() string { return "go build: " + b.err.Error() + "\n" + b.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// TestGenerateUserModule is the promise made to users, done as they would
// do it: in a module of their own, a spec that includes actkern's and adds
// an activation; `actkern generate` into a directory of the module; then
// go vet and go test there. The new activation gets the kernels, the API,
// the tests and the examples of the built-in ones.
func TestGenerateUserModule(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the whole spec in a scratch module and tests part of it there")
	}
	bin := actkernBinary(t)
	dir := scratchmod.New(t, "example.com/user")
	mySpec := "# My activations: actkern's, and squareplus.\ninclude: [actkern]\nactivations:" + squareplus
	require.NoError(t, os.WriteFile(filepath.Join(dir, "act.yaml"), []byte(mySpec), 0o644))

	generate := func() string {
		cmd := exec.Command(bin, "generate", "-spec", "act.yaml", "-out", "./act")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	out := generate()
	t.Log(out)
	ours, err := spec.Parse(builtin.File, builtin.YAML)
	require.NoError(t, err)
	assert.Contains(t, out, fmt.Sprintf("actkern generate: example.com/user/act/f32 and example.com/user/act/f64: %d activations, ", len(ours.Activations)+1))
	for _, pkg := range []string{"f32", "f64"} {
		for _, f := range []string{"squareplus.go", "squareplus_generic.go", "squareplus_test.go", "sigmoid.go", "kernels_amd64.s"} {
			require.FileExists(t, filepath.Join(dir, "act", pkg, f))
		}
	}
	// A second run changes nothing.
	require.Contains(t, generate(), " 0 written, ")

	scratchmod.Tidy(t, dir)
	scratchmod.Go(t, dir, nil, "vet", "./...")
	out = scratchmod.Go(t, dir, nil, "test", "-count=1", "-run", "Squareplus|Example", "./act/...")
	t.Log(out)
	for _, pkg := range []string{"f32", "f64"} {
		assert.Contains(t, out, "ok  \texample.com/user/act/"+pkg)
	}
}

// TestGenerateRefusals: a broken spec or inconsistent flags give exit
// status 2, the message on standard error and no files.
func TestGenerateRefusals(t *testing.T) {
	dir := scratchmod.New(t, "example.com/user")
	broken := "include: [actkern]\nactivations:" + strings.Replace(squareplus, "sqrt(q)", "sqrt(q", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(broken), 0o644))
	dup := "include: [actkern]\nactivations:" + strings.Replace(squareplus, "name: squareplus", "name: relu", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dup.yaml"), []byte(dup), 0o644))
	good := "include: [actkern]\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good.yaml"), []byte(good), 0o644))
	out := filepath.Join(dir, "act")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"syntax error in a formula", []string{"-spec", filepath.Join(dir, "bad.yaml"), "-out", out},
			filepath.Join(dir, "bad.yaml") + ":12:"},
		{"name of ours repeated", []string{"-spec", filepath.Join(dir, "dup.yaml"), "-out", out},
			filepath.Join(dir, "dup.yaml") + ":3:11: duplicate name relu (first at github.com/actkern/actkern/spec/activations.yaml:"},
		{"missing spec file", []string{"-spec", filepath.Join(dir, "none.yaml"), "-out", out}, "none.yaml: no such file"},
		{"no -spec", []string{"-out", out}, "actkern generate: need -spec and -out"},
		{"wrong -pkg", []string{"-spec", filepath.Join(dir, "good.yaml"), "-out", out, "-pkg", "act"},
			"actkern generate: -pkg act does not match example.com/user/act"},
		{"unknown flag", []string{"-spec", filepath.Join(dir, "good.yaml"), "-out", out, "-package", "x"},
			"flag provided but not defined: -package"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCmd(t, "", append([]string{"generate"}, tc.args...)...)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tc.want)
			assert.NoDirExists(t, out, "a failed generate wrote files")
		})
	}
}
