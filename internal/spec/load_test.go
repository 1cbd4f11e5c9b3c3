package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// valid is a small spec that exercises every field. Line numbers matter:
// the refusal tests below edit it and expect errors at exact positions.
const valid = `activations:
  - name: softplus
    go_name: Softplus
    doc: Smooth ReLU; linear where beta*x > threshold.
    torch: torch.nn.Softplus
    params:
      - {name: beta, default: 1, require: "beta > 0", doc: "sharpness"}
      - {name: threshold, default: 20, doc: "linear above this"}
    forward: where(beta*x > threshold, x, log1p(exp(beta*x)) / beta)
    derivative: where(beta*x > threshold, 1, sigmoid(beta*x))
    special:
      - {x: "-inf", forward: "0", backward: "0"}
      - {x: "inf", forward: "inf", backward: "1"}
      - {x: "nan", forward: "nan", backward: "nan"}
    deviations:
      - "None."
    test_params:
      - {beta: 2, threshold: 10}
      - {beta: 0.5}
  - name: elu
    go_name: ELU
    kind: elementwise
    doc: Exponential linear unit.
    torch: torch.nn.ELU
    params:
      - {name: alpha, default: 1, doc: "negative saturation"}
    constants:
      - {name: half, value: "0.5", doc: "not needed, but tested"}
    thresholds:
      - {name: exp_small, f32: -87.33654, f64: -708.3964185322641, what: "exp underflows below"}
    forward: where(x > 0, x, alpha*expm1(x))
    derivative: where(x > 0, 1, alpha*exp(x)) * (half + half)
    derivative_output: where(y > 0, 1, y + alpha)
    output_requires: alpha >= 0
    kinks:
      - {at: "0", gradient: "1", why: "PyTorch takes the x > 0 side at 0 only for alpha = 1"}
    special:
      - {x: "-inf", forward: -alpha, backward: "0"}
      - {x: "nan", forward: "nan", backward: "nan"}
    test_params:
      - {alpha: 0.5}
      - {alpha: -0.5}
`

func TestParseValid(t *testing.T) {
	s, err := Parse("valid.yaml", []byte(valid))
	require.NoError(t, err)
	require.Len(t, s.Activations, 2)

	sp := s.Lookup("softplus")
	require.NotNil(t, sp)
	assert.Equal(t, "Softplus", sp.GoName)
	assert.Equal(t, "elementwise", sp.Kind)
	assert.Equal(t, "torch.nn.Softplus", sp.Torch)
	assert.Equal(t, []string{"beta", "threshold"}, sp.ParamNames())
	assert.Equal(t, []float64{1, 20}, sp.Defaults())
	assert.Equal(t, []float64{0.5, 20}, sp.ParamValues(sp.TestParams[1]))
	require.NotNil(t, sp.Params[0].Require)
	assert.Equal(t, "beta > 0", sp.Params[0].Require.Src)
	assert.Equal(t, Pos{"valid.yaml", 7, 44}, sp.Params[0].Require.Pos)
	assert.Nil(t, sp.Params[1].Require)
	assert.Equal(t, Pos{"valid.yaml", 9, 14}, sp.Forward.Pos)
	assert.Equal(t, Pos{"valid.yaml", 2, 5}, sp.Pos)
	assert.Len(t, sp.Special, 3)
	assert.Equal(t, "-inf", sp.Special[0].X.Src)
	assert.Equal(t, []string{"None."}, sp.Deviations)
	assert.Equal(t, []map[string]float64{{"beta": 2, "threshold": 10}, {"beta": 0.5}}, sp.TestParams)
	assert.Nil(t, sp.DerivativeOutput)

	elu := s.Lookup("elu")
	require.NotNil(t, elu)
	require.NotNil(t, elu.DerivativeOutput)
	require.NotNil(t, elu.OutputRequires)
	assert.Equal(t, "alpha >= 0", elu.OutputRequires.Src)
	require.Len(t, elu.Kinks, 1)
	assert.Equal(t, "0", elu.Kinks[0].At.Src)
	assert.Equal(t, "-alpha", elu.Special[0].Forward.Src)
	assert.Equal(t, map[string]string{"half": "0.5", "exp_small": "-708.3964185322641"}, elu.Consts("f64"))
	assert.Equal(t, map[string]string{"half": "0.5", "exp_small": "-87.33654022216797"}, elu.Consts("f32"))
	assert.Nil(t, s.Lookup("gelu"))
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "act.yaml")
	require.NoError(t, os.WriteFile(path, []byte(valid), 0o644))
	s, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, path, s.File)

	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

// refuse applies edits (old, new, old, new ...) to the valid spec, each of
// which must match exactly once, and returns the errors.
func refuse(t *testing.T, edits ...string) ErrorList {
	t.Helper()
	src := valid
	for i := 0; i+1 < len(edits); i += 2 {
		require.Equal(t, 1, strings.Count(src, edits[i]), "edit %q must match once", edits[i])
		src = strings.Replace(src, edits[i], edits[i+1], 1)
	}
	s, err := Parse("t.yaml", []byte(src))
	require.Error(t, err)
	assert.Nil(t, s, "a broken spec must give no *Spec")
	var list ErrorList
	require.ErrorAs(t, err, &list)
	return list
}

// expectOne asserts that the only error starts with want
// ("t.yaml:line:col: message...").
func expectOne(t *testing.T, list ErrorList, want string) {
	t.Helper()
	require.Len(t, list, 1, "%v", list)
	assert.True(t, strings.HasPrefix(list[0].Error(), want), "got  %q\nwant %q...", list[0].Error(), want)
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []string
		want  string
	}{
		{"unknown field", []string{"    kind: elementwise\n", "    kind: elementwise\n    dco: typo\n"},
			`t.yaml:23:5: activation elu: unknown field "dco" (known: name, go_name, kind, doc, torch, params,`},
		{"unknown top-level field", []string{"activations:\n", "version: 2\nactivations:\n"},
			`t.yaml:1:1: spec: unknown field "version" (known: include, activations)`},
		{"unknown param field", []string{`default: 20, doc:`, `default: 20, dflt: 3, doc:`},
			`t.yaml:8:40: parameter threshold: unknown field "dflt" (known: name, default, require, doc)`},
		{"missing required field", []string{"    doc: Exponential linear unit.\n", ""},
			`t.yaml:20:5: activation elu: missing required field "doc"`},
		{"missing special", []string{"    special:\n      - {x: \"-inf\", forward: -alpha, backward: \"0\"}\n      - {x: \"nan\", forward: \"nan\", backward: \"nan\"}\n", ""},
			`t.yaml:20:5: activation elu: missing required field "special"`},
		{"empty special", []string{"    special:\n      - {x: \"-inf\", forward: -alpha, backward: \"0\"}\n      - {x: \"nan\", forward: \"nan\", backward: \"nan\"}\n", "    special: []\n"},
			`t.yaml:37:14: special: must list at least one special value`},
		{"missing field of a special row", []string{`{x: "inf", forward: "inf", backward: "1"}`, `{x: "inf", forward: "inf"}`},
			`t.yaml:13:9: special value: missing required field "backward"`},
		{"list where a string is expected", []string{"doc: Exponential linear unit.", "doc: [Exponential, linear]"},
			`t.yaml:23:10: doc: expected a string, got a list`},
		{"mapping where a list is expected", []string{"    deviations:\n      - \"None.\"\n", "    deviations: {a: b}\n"},
			`t.yaml:15:17: deviations: expected a list, got a mapping`},
		{"non-number default", []string{"default: 20,", "default: twenty,"},
			`t.yaml:8:36: default: expected a number, got "twenty"`},
		{"infinite default", []string{"default: 20,", "default: .inf,"},
			`t.yaml:8:36: default: must be a finite number, got .inf`},
		{"multi-line doc", []string{"doc: Exponential linear unit.", "doc: \"Exponential\\nlinear unit.\""},
			`t.yaml:23:10: doc: must be one line`},
		{"duplicate key", []string{"    torch: torch.nn.ELU\n", "    torch: torch.nn.ELU\n    torch: torch.nn.ELU\n"},
			`t.yaml:25:5: activation elu: field "torch" given twice (first at line 24)`},
		{"duplicate name", []string{"  - name: elu\n", "  - name: softplus\n"},
			`t.yaml:20:11: duplicate name softplus (first at line 2)`},
		{"duplicate go_name", []string{"go_name: ELU", "go_name: Softplus"},
			`t.yaml:21:14: duplicate go_name Softplus (first at line 2)`},
		{"bad name", []string{"  - name: elu\n", "  - name: Elu\n"},
			`t.yaml:20:11: name "Elu": must be snake_case ([a-z][a-z0-9_]*)`},
		{"bad go_name", []string{"go_name: ELU", "go_name: elu"},
			`t.yaml:21:14: go_name "elu": must be an exported Go identifier (such as LeakyReLU)`},
		{"reserved go_name", []string{"go_name: ELU", "go_name: New"},
			`t.yaml:21:14: go_name New is reserved: the generated package declares it`},
		{"go_name clashing with a generated name", []string{"go_name: ELU", "go_name: SoftplusBackward"},
			`t.yaml:21:14: go_name SoftplusBackward clashes with SoftplusBackward generated for softplus (line 2)`},
		{"unknown kind", []string{"kind: elementwise", "kind: rowwise"},
			`t.yaml:22:11: kind "rowwise": must be one of elementwise, rows, gated, channel`},
		{"unknown function", []string{"forward: where(x > 0, x, alpha*expm1(x))", "forward: where(x > 0, x, alpha*expml(x))"},
			`t.yaml:31:36: forward: unknown function expml (did you mean expm1?); known functions: abs, cos,`},
		{"unknown variable, quoted", []string{"forward: where(x > 0, x, alpha*expm1(x))", `forward: "where(x > 0, x, alpah*expm1(x))"`},
			`t.yaml:31:31: forward: unknown name alpah (did you mean alpha?); in scope: alpha, exp_small, half, x, e, inf,`},
		{"x in derivative_output", []string{"derivative_output: where(y > 0, 1, y + alpha)", "derivative_output: where(x > 0, 1, y + alpha)"},
			`t.yaml:33:30: derivative_output: x is not available in this formula; in scope: alpha, exp_small, half, y,`},
		{"wrong arity", []string{"derivative: where(beta*x > threshold, 1, sigmoid(beta*x))", "derivative: where(beta*x > threshold, sigmoid(beta*x))"},
			`t.yaml:10:17: derivative: where takes 3 arguments, got 2`},
		{"unsupported syntax", []string{"forward: where(x > 0, x, alpha*expm1(x))", "forward: where(x > 0, x, alpha*expm1(x)) % 2"},
			`t.yaml:31:46: forward: operator % is not supported`},
		{"syntax error", []string{"forward: where(x > 0, x, alpha*expm1(x))", "forward: where(x > 0, x, alpha*expm1(x)"},
			`t.yaml:31:44: forward: missing ',' before newline in argument list`},
		{"formula in a kink", []string{`{at: "0", gradient: "1",`, `{at: "0", gradient: "lambd",`},
			`t.yaml:36:30: gradient: unknown name lambd; in scope: alpha, exp_small, half, e, inf,`},
		{"param without default", []string{"{name: alpha, default: 1, doc:", "{name: alpha, doc:"},
			`t.yaml:26:9: parameter alpha: missing required field "default"`},
		{"default breaks its rule", []string{"{name: beta, default: 1,", "{name: beta, default: 0,"},
			`t.yaml:7:31: default 0 of beta breaks its own rule beta > 0`},
		{"require not a condition", []string{`require: "beta > 0"`, `require: "beta"`},
			`t.yaml:7:44: require: need a condition`},
		{"output_requires without derivative_output", []string{"    derivative_output: where(y > 0, 1, y + alpha)\n", ""},
			`t.yaml:33:5: output_requires without derivative_output`},
		{"test_params key not a parameter", []string{"{beta: 0.5}", "{beta: 0.5, gamma: 1}"},
			`t.yaml:19:21: test_params: "gamma" is not a parameter of softplus (parameters: beta, threshold)`},
		{"test_params breaks a rule", []string{"{beta: 0.5}", "{beta: -0.5}"},
			`t.yaml:19:9: test_params: test_params set 2 breaks the rule of beta: beta > 0 (beta=-0.5, threshold=20)`},
		{"test_params non-number", []string{"{beta: 0.5}", "{beta: [1]}"},
			`t.yaml:19:16: beta: expected a number, got a list`},
		{"param shadows x", []string{"      - {name: alpha, default: 1, doc: \"negative saturation\"}\n", "      - {name: alpha, default: 1, doc: \"negative saturation\"}\n" + "      - {name: x, default: 1}\n"},
			`t.yaml:27:16: parameter name x shadows the input variable`},
		{"param shadows a function", []string{"      - {name: alpha, default: 1, doc: \"negative saturation\"}\n", "      - {name: alpha, default: 1, doc: \"negative saturation\"}\n" + "      - {name: exp, default: 1}\n"},
			`t.yaml:27:16: parameter name exp shadows the function exp`},
		{"constant shadows y", []string{"      - {name: half, value: \"0.5\", doc: \"not needed, but tested\"}\n", "      - {name: half, value: \"0.5\", doc: \"not needed, but tested\"}\n" + "      - {name: y, value: 1}\n"},
			`t.yaml:29:16: constant name y shadows the output variable`},
		{"threshold shadows a built-in constant", []string{"{name: exp_small, f32:", "{name: pi, f32:"},
			`t.yaml:30:16: threshold name pi shadows the built-in constant pi`},
		{"name is a Go keyword", []string{"      - {name: half, value: \"0.5\", doc: \"not needed, but tested\"}\n", "      - {name: half, value: \"0.5\", doc: \"not needed, but tested\"}\n" + "      - {name: func, value: 1}\n"},
			`t.yaml:29:16: constant name func is a Go keyword or predeclared identifier`},
		{"duplicate local name", []string{"      - {name: half, value: \"0.5\", doc: \"not needed, but tested\"}\n", "      - {name: half, value: \"0.5\", doc: \"not needed, but tested\"}\n" + "      - {name: alpha, value: 1}\n"},
			`t.yaml:29:16: duplicate name alpha in this activation (first at line 26)`},
		{"bad constant value", []string{`value: "0.5"`, `value: "1/2"`},
			`t.yaml:28:29: value "1/2": must be a decimal number`},
		{"f32 threshold beyond float32", []string{"f32: -87.33654", "f32: -1e39"},
			`t.yaml:30:32: f32: -1e39 is beyond the float32 range`},
		{"derivative disagrees", []string{"derivative: where(beta*x > threshold, 1, sigmoid(beta*x))", "derivative: where(beta*x > threshold, 1, sigmoid(x))"},
			`t.yaml:10:17: derivative disagrees with forward at x = 0.001, test_params set 1 (beta=2, threshold=10): derivative gives 0.50024999997916667, central difference of forward gives 0.500499999833`},
		{"derivative_output disagrees", []string{"derivative_output: where(y > 0, 1, y + alpha)", "derivative_output: where(y > 0, 1, y - alpha)"},
			`t.yaml:33:24: derivative_output disagrees with derivative at x = -0.001, default parameters (alpha=1): derivative_output gives -1.00099950016`},
		// ELU with alpha = 0.5 (test set 1) has slopes 0.5 and 1 at 0;
		// alpha = 1 is smooth there.
		{"missing kink", []string{"    kinks:\n      - {at: \"0\", gradient: \"1\", why: \"PyTorch takes the x > 0 side at 0 only for alpha = 1\"}\n", ""},
			`t.yaml:31:14: forward is not differentiable at x = 0, test_params set 1 (alpha=0.5): slope 0.5 on the left, 1 on the right; declare the point under kinks`},
		// yaml.v3 reports a parser error at its context mark's 0-based
		// line and no column: here the line before the unclosed [. The
		// loader passes on what the library knows rather than guess.
		{"derivative_output never checked", []string{"output_requires: alpha >= 0", "output_requires: alpha >= 5"},
			`t.yaml:33:24: derivative_output is never checked: output_requires holds neither at the defaults nor at any test_params set`},
		{"YAML syntax", []string{"    torch: torch.nn.ELU\n", "    torch: [torch.nn.ELU\n"},
			`t.yaml:23:1: YAML syntax: did not find expected ',' or ']'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectOne(t, refuse(t, tc.edits...), tc.want)
		})
	}
}

// TestAllErrorsSorted: problems in several entries come back together, one
// per line, in file order.
func TestAllErrorsSorted(t *testing.T) {
	list := refuse(t,
		"go_name: ELU", "go_name: elu",
		"    doc: Smooth ReLU; linear where beta*x > threshold.\n", "",
		"forward: where(beta*x > threshold, x, log1p(exp(beta*x)) / beta)", "forward: where(beta*x > threshold, x, log1p(exp(beta*x)) / bta)",
	)
	var one *Error
	require.ErrorAs(t, error(list), &one, "errors.As reaches the single errors")
	assert.Equal(t, Pos{"t.yaml", 2, 5}, one.Pos)
	lines := strings.Split(list.Error(), "\n")
	require.Len(t, lines, 3, list.Error())
	assert.True(t, strings.HasPrefix(lines[0], `t.yaml:2:5: activation softplus: missing required field "doc"`), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], `t.yaml:8:64: forward: unknown name bta (did you mean beta?)`), lines[1])
	assert.True(t, strings.HasPrefix(lines[2], `t.yaml:20:14: go_name "elu"`), lines[2])
}

// TestFormulaColumns checks the column of an error inside formulas written
// in every YAML scalar style: plain, single-quoted with ” escapes,
// double-quoted with \ escapes, and a literal block.
func TestFormulaColumns(t *testing.T) {
	for _, tc := range []struct {
		name, forward, want string
	}{
		{"plain", `forward: where(x > 0, x, bad)`, "t.yaml:31:30: forward: unknown name bad"},
		{"single quoted", `forward: 'where(x > 0, x, bad)'`, "t.yaml:31:31: forward: unknown name bad"},
		{"single quoted with escape", `forward: 'where(x > 0, x, ''a'' + bad)'`, "t.yaml:31:39: forward: unknown name bad"},
		{"double quoted with escapes", `forward: "where(x > 0, x,\t\u0020bad)"`, "t.yaml:31:38: forward: unknown name bad"},
		{"literal block", "forward: |\n      where(x > 0,\n        x, bad)", "t.yaml:33:12: forward: unknown name bad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list := refuse(t, "forward: where(x > 0, x, alpha*expm1(x))", tc.forward)
			require.NotEmpty(t, list)
			last := list[len(list)-1].Error() // after any error the style itself provokes
			assert.True(t, strings.HasPrefix(last, tc.want), "got  %q\nwant %q...", last, tc.want)
		})
	}
}

func TestEmptySpecs(t *testing.T) {
	for src, want := range map[string]string{
		"":                 "e.yaml:1:1: empty spec",
		"# nothing\n":      "e.yaml:1:1: empty spec",
		"activations:\n":   "e.yaml:1:13: activations: empty list",
		"activations: 3\n": `e.yaml:1:14: activations: expected a list, got "3"`,
		"- a\n":            "e.yaml:1:1: spec: expected a mapping, got a list",
	} {
		s, err := Parse("e.yaml", []byte(src))
		assert.Nil(t, s, src)
		require.Error(t, err, src)
		assert.True(t, strings.HasPrefix(err.Error(), want), "%q: got %q, want %q", src, err.Error(), want)
	}
}

// TestRealistic loads a spec of 22 common activations with their true
// derivatives: the numeric checks must not raise a single false alarm.
func TestRealistic(t *testing.T) {
	s, err := Load(filepath.Join("testdata", "realistic.yaml"))
	require.NoError(t, err)
	assert.Len(t, s.Activations, 22)
	hw := s.Lookup("hardtanh")
	require.NotNil(t, hw)
	assert.Equal(t, "max_val > min_val", hw.Params[1].Require.Src)
}

// TestRealisticMutations scales every derivative (then every
// derivative_output) of the realistic spec by 1 + 1e-9, far less than any
// real mistake: each entry must be refused on its own line.
func TestRealisticMutations(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "realistic.yaml"))
	require.NoError(t, err)
	for _, field := range []string{"derivative", "derivative_output"} {
		t.Run(field, func(t *testing.T) {
			var doc yaml.Node
			require.NoError(t, yaml.Unmarshal(data, &doc))
			mutated := 0
			for _, entry := range doc.Content[0].Content[1].Content {
				for i := 0; i+1 < len(entry.Content); i += 2 {
					if entry.Content[i].Value == field {
						v := entry.Content[i+1]
						v.Value = "(" + strings.ReplaceAll(v.Value, "\n", " ") + ")*(1 + 1e-9)"
						v.Style = yaml.DoubleQuotedStyle
						mutated++
					}
				}
			}
			out, err := yaml.Marshal(&doc)
			require.NoError(t, err)
			_, err = Parse("m.yaml", out)
			require.Error(t, err)
			var list ErrorList
			require.ErrorAs(t, err, &list)
			refused := 0
			for _, e := range list {
				switch {
				case strings.HasPrefix(e.Msg, field+" disagrees with"):
					refused++
				case field == "derivative" && strings.HasPrefix(e.Msg, "derivative_output disagrees with derivative"):
					// derivative_output is compared with the (now wrong)
					// derivative.
				default:
					t.Errorf("unexpected error: %v", e)
				}
			}
			assert.Equal(t, mutated, refused, "%v", list)
			assert.Greater(t, mutated, 5)
		})
	}
}
