package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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

// TestExtendSpec is the promise made to users: add an entry to the spec,
// run the generator, and the new activation is there, tested like the
// others. It copies the repository's spec into a scratch module, appends
// squareplus, runs the gen binary there and tests the generated packages.
func TestExtendSpec(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and tests the whole spec in a scratch module")
	}
	root := repoRoot(t)
	dir := scratchModule(t, "example.com/extended")
	bin := filepath.Join(t.TempDir(), "gen")
	goCmd(t, root, nil, "build", "-o", bin, "./gen")

	base, err := os.ReadFile(filepath.Join(root, "spec", "activations.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "spec"), 0o755))
	spec := strings.TrimRight(string(base), "\n") + "\n" + squareplus
	require.NoError(t, os.WriteFile(filepath.Join(dir, "spec", "activations.yaml"), []byte(spec), 0o644))

	run := func() string {
		out, err := runIn(dir, bin, "-spec", "spec/activations.yaml", "-out", "generated")
		require.NoError(t, err, "%s", out)
		return out
	}
	t.Log(run())
	for _, pkg := range []string{"f32", "f64"} {
		for _, f := range []string{"squareplus.go", "squareplus_generic.go", "squareplus_test.go"} {
			require.FileExists(t, filepath.Join(dir, "generated", pkg, f))
		}
	}
	// A second run changes nothing.
	require.Contains(t, run(), " 0 written, ")

	tidy(t, dir)
	goCmd(t, dir, nil, "vet", "./...")
	out := goCmd(t, dir, nil, "test", "-count=1", "-run", "Squareplus|Example", "./generated/...")
	t.Log(out)
}

func runIn(dir, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
