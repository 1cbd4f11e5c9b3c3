package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/generated/f32"
	"github.com/actkern/actkern/internal/spec"
	builtin "github.com/actkern/actkern/spec"
)

// runCmd runs the command line in-process with stdin as input.
func runCmd(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

func f32Bytes(vs ...float32) string {
	var b bytes.Buffer
	for _, v := range vs {
		binary.Write(&b, binary.LittleEndian, math.Float32bits(v))
	}
	return b.String()
}

func f64Bytes(vs ...float64) string {
	var b bytes.Buffer
	for _, v := range vs {
		binary.Write(&b, binary.LittleEndian, math.Float64bits(v))
	}
	return b.String()
}

func TestEval(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		in   string
		want string
	}{
		{"relu f32", []string{"-func", "relu"}, f32Bytes(-1, 2, 0, float32(math.Inf(1))), f32Bytes(0, 2, 0, float32(math.Inf(1)))},
		{"sigmoid f64", []string{"-func", "sigmoid", "-type", "f64"}, f64Bytes(0, math.Inf(-1)), f64Bytes(0.5, 0)},
		{"sigmoid derivative", []string{"-func", "sigmoid", "-type", "f64", "-derivative"}, f64Bytes(0, math.Inf(1)), f64Bytes(0.25, 0)},
		{"parameter", []string{"-func", "leaky_relu", "-p", "negative_slope=0.5"}, f32Bytes(-2, 3), f32Bytes(-1, 3)},
		{"parameter derivative", []string{"-func", "leaky_relu", "-p", "negative_slope=0.5", "-derivative"}, f32Bytes(-2, 3), f32Bytes(0.5, 1)},
		{"empty input", []string{"-func", "tanh"}, "", ""},
		{"softmax rows", []string{"-func", "softmax", "-cols", "2", "-type", "f64"}, f64Bytes(0, 0, 5, math.Inf(-1)), f64Bytes(0.5, 0.5, 1, 0)},
		{"logsumexp, one value per row", []string{"-func", "logsumexp", "-cols", "2", "-type", "f64"}, f64Bytes(0, 0, 5, math.Inf(-1)), f64Bytes(math.Ln2, 5)},
		{"gated halves", []string{"-func", "reglu", "-cols", "2"}, f32Bytes(-1, 3, 5, 7), f32Bytes(0, 21)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCmd(t, tc.in, append([]string{"eval"}, tc.args...)...)
			require.Equal(t, 0, code, stderr)
			assert.Empty(t, stderr)
			assert.Equal(t, []byte(tc.want), []byte(stdout))
		})
	}
	// NaN in, NaN out, payload aside.
	stdout, _, code := runCmd(t, f32Bytes(float32(math.NaN())), "eval", "-func", "gelu")
	require.Equal(t, 0, code)
	require.Len(t, stdout, 4)
	assert.True(t, math.IsNaN(float64(math.Float32frombits(binary.LittleEndian.Uint32([]byte(stdout))))))
}

// TestBadInput: each kind of bad input gives exit status 2, a message on
// standard error and nothing on standard output.
func TestBadInput(t *testing.T) {
	brokenSpec := filepath.Join(t.TempDir(), "broken.yaml")
	require.NoError(t, os.WriteFile(brokenSpec, []byte("activations:\n  - name: Bad\n"), 0o644))
	for _, tc := range []struct {
		name string
		args []string
		in   string
		want string
	}{
		{"no command", nil, "", "usage: actkern <command>"},
		{"unknown command", []string{"evaluate"}, "", `actkern: unknown command "evaluate"`},
		{"unknown flag", []string{"eval", "-func", "relu", "-fn", "x"}, f32Bytes(1), "flag provided but not defined: -fn"},
		{"positional argument", []string{"eval", "-func", "relu", "in.bin"}, f32Bytes(1), `actkern eval: unexpected arguments ["in.bin"]`},
		{"no function", []string{"eval"}, f32Bytes(1), "actkern eval: need -func"},
		{"unknown function", []string{"eval", "-func", "swish"}, f32Bytes(1), `unknown activation "swish" (valid: celu, elu,`},
		{"unknown parameter", []string{"eval", "-func", "elu", "-p", "beta=2"}, f32Bytes(1), `elu has no parameter "beta" (parameters: alpha)`},
		{"parameter breaks its rule", []string{"eval", "-func", "celu", "-p", "alpha=0"}, f32Bytes(1), "alpha = 0 breaks the rule alpha != 0"},
		{"parameter not a number", []string{"eval", "-func", "elu", "-p", "alpha=one"}, f32Bytes(1), `alpha: "one" is not a number`},
		{"parameter given twice", []string{"eval", "-func", "elu", "-p", "alpha=1", "-p", "alpha=2"}, f32Bytes(1), "parameter alpha given twice"},
		{"bad type", []string{"eval", "-func", "elu", "-type", "f16"}, f32Bytes(1), `-type "f16": want f32 or f64`},
		{"bad isa", []string{"eval", "-func", "elu", "-isa", "sse2"}, f32Bytes(1), `-isa "sse2": want one of generic, avx2, avx512`},
		{"length not a multiple of 4", []string{"eval", "-func", "relu"}, f32Bytes(1, 2)[:7], "the input has 7 bytes, not a multiple of 4"},
		{"length not a multiple of 8", []string{"eval", "-func", "relu", "-type", "f64"}, f32Bytes(1, 2, 3), "the input has 12 bytes, not a multiple of 8"},
		{"cols on an elementwise activation", []string{"eval", "-func", "relu", "-cols", "2"}, f32Bytes(1, 2), "-cols: relu is elementwise"},
		{"row-wise without cols", []string{"eval", "-func", "softmax"}, f32Bytes(1, 2), "-cols: softmax works on rows"},
		{"cols does not divide the input", []string{"eval", "-func", "softmax", "-cols", "3"}, f32Bytes(1, 2), "the input's 2 values are not whole rows of 3"},
		{"gated rows are 2*cols", []string{"eval", "-func", "glu", "-cols", "2"}, f32Bytes(1, 2, 3, 4, 5, 6), "not whole rows of 4"},
		{"row-wise derivative", []string{"eval", "-func", "softmax", "-cols", "2", "-derivative"}, f32Bytes(1, 2), "-derivative: softmax works on rows"},
		{"row-wise parameter", []string{"eval", "-func", "softmax", "-cols", "2", "-p", "a=1"}, f32Bytes(1, 2), "-p: softmax has no parameters"},
		{"list: spec with errors", []string{"list", "-spec", brokenSpec}, "", brokenSpec + `:2:11: name "Bad": must be snake_case`},
		{"list: missing spec", []string{"list", "-spec", brokenSpec + ".none"}, "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCmd(t, tc.in, tc.args...)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout, "a refused command wrote output")
			assert.Contains(t, stderr, tc.want)
		})
	}
}

func TestHelp(t *testing.T) {
	_, stderr, code := runCmd(t, "", "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "generate -spec my.yaml -out dir")
	_, stderr, code = runCmd(t, "", "eval", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "usage: actkern eval -func name")
	assert.Contains(t, stderr, "-derivative")
}

func TestList(t *testing.T) {
	stdout, stderr, code := runCmd(t, "", "list")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	require.Equal(t, []string{"NAME", "GO", "NAME", "KIND", "PARAMETERS", "PYTORCH", "OUTPUT-FORM", "DERIVATIVE"}, strings.Fields(lines[0]))
	ours, err := spec.Parse(builtin.File, builtin.YAML)
	require.NoError(t, err)
	// One row per activation, in spec order; every name the generated
	// package knows is there.
	require.Len(t, lines, 1+len(ours.Activations))
	var names []string
	rows := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		names = append(names, f[0])
		rows[f[0]] = l
	}
	// Every function the generated package knows by name is listed, and
	// PReLU (which takes a weight, so has no by-name form).
	assert.ElementsMatch(t, append(append(f32.Names(), f32.RowwiseNames()...), "prelu"), names)
	for _, want := range []struct{ name, fields string }{
		{"softmax", "softmax Softmax rows cols torch.nn.Softmax(dim=-1) always (dx from y)"},
		{"prelu", "prelu PReLU channel weight[C] (leaky_relu's negative_slope), inner torch.nn.PReLU -"},
		{"relu", "relu ReLU elementwise - torch.nn.ReLU yes"},
		{"softplus", "softplus Softplus elementwise beta=1, threshold=20 torch.nn.Softplus no"},
		{"elu", "elu ELU elementwise alpha=1 torch.nn.ELU if alpha >= 0"},
		{"gelu", "gelu GELU elementwise - torch.nn.GELU no"},
	} {
		assert.Equal(t, want.fields, strings.Join(strings.Fields(rows[want.name]), " "), want.name)
	}
}

// TestEvalISA runs the built command with each -isa level: every level the
// CPU runs gives the generic kernels' bits; a level it lacks is refused.
func TestEvalISA(t *testing.T) {
	bin := actkernBinary(t)
	var in bytes.Buffer
	for i := range 1000 {
		x := float32(i-500) / 37
		binary.Write(&in, binary.LittleEndian, math.Float32bits(x))
	}
	evalWith := func(isa string, extra ...string) (string, string, int) {
		cmd := exec.Command(bin, append([]string{"eval", "-func", "gelu", "-isa", isa}, extra...)...)
		cmd.Stdin = bytes.NewReader(in.Bytes())
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return out.String(), errOut.String(), code
	}
	for _, deriv := range [][]string{nil, {"-derivative"}} {
		generic, stderr, code := evalWith("generic", deriv...)
		require.Equal(t, 0, code, stderr)
		require.Len(t, generic, in.Len())
		ran := 0
		for _, isa := range []string{"avx2", "avx512"} {
			out, stderr, code := evalWith(isa, deriv...)
			if code != 0 {
				assert.Equal(t, 2, code)
				assert.Contains(t, stderr, "this CPU does not run the "+isa+" kernels")
				assert.Empty(t, out)
				continue
			}
			ran++
			assert.Equal(t, []byte(generic), []byte(out), "%s differs from generic", isa)
		}
		t.Logf("%d SIMD levels compared with generic", ran)
	}
}
