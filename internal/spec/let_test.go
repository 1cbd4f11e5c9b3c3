package spec

import (
	"go/ast"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/expr"
)

// withLets is a softplus written with lets of every kind: over x (bx),
// over the parameters only (inv_beta, used in a require rule and a special
// cell), built on earlier lets (soft), and over y (ey). Line numbers
// matter: the refusal tests edit it and expect errors at exact positions.
const withLets = `activations:
  - name: softplus
    go_name: Softplus
    doc: Smooth ReLU.
    torch: torch.nn.Softplus
    params:
      - {name: beta, default: 1, require: "inv_beta > 0", doc: "sharpness"}
      - {name: threshold, default: 20}
    let:
      - {name: inv_beta, formula: "1/beta", doc: "reciprocal sharpness"}
      - {name: bx, formula: "beta*x"}
      - {name: soft, formula: "log1p(exp(bx)) * inv_beta"}
    let_output:
      - {name: ey, formula: "-expm1(-beta*y)"}
    forward: where(bx > threshold, x, soft)
    derivative: where(bx > threshold, 1, sigmoid(bx))
    derivative_output: where(beta*y > threshold, 1, ey)
    special:
      - {x: "-inf", forward: "0*inv_beta", backward: "0"}
      - {x: "inf", forward: "inf", backward: "1"}
      - {x: "nan", forward: "nan", backward: "nan"}
    test_params:
      - {beta: 2, threshold: 10}
`

// parseEdited applies edits (old, new, ...; each must match once) to src.
func parseEdited(t *testing.T, src string, edits ...string) (*Spec, error) {
	t.Helper()
	for i := 0; i+1 < len(edits); i += 2 {
		require.Equal(t, 1, strings.Count(src, edits[i]), "edit %q must match once", edits[i])
		src = strings.Replace(src, edits[i], edits[i+1], 1)
	}
	return Parse("t.yaml", []byte(src))
}

func TestLets(t *testing.T) {
	s, err := Parse("t.yaml", []byte(withLets))
	require.NoError(t, err)
	a := s.Lookup("softplus")
	require.NotNil(t, a)

	require.Len(t, a.Lets, 3)
	require.Len(t, a.LetsOutput, 1)
	assert.Equal(t, "inv_beta", a.Lets[0].Name)
	assert.Equal(t, "", a.Lets[0].Var)
	assert.Equal(t, "reciprocal sharpness", a.Lets[0].Doc)
	assert.Equal(t, Pos{"t.yaml", 10, 9}, a.Lets[0].Pos)
	assert.Equal(t, "x", a.Lets[1].Var)
	assert.Equal(t, "x", a.Lets[2].Var, "soft depends on x through bx")
	assert.Equal(t, "log1p(exp(bx)) * inv_beta", a.Lets[2].Formula.Src)
	assert.Equal(t, "log1p(exp((beta * x))) * (1 / beta)", a.Lets[2].Formula.Expanded)
	assert.Equal(t, "y", a.LetsOutput[0].Var)

	// Src stays as written; Expanded is the substituted text.
	assert.Equal(t, "where(bx > threshold, x, soft)", a.Forward.Src)
	assert.Equal(t, "where((beta*x) > threshold, x, (log1p(exp((beta * x))) * (1 / beta)))", a.Forward.Expanded)
	assert.Equal(t, "where(beta*y > threshold, 1, (-expm1(-beta * y)))", a.DerivativeOutput.Expanded)
	assert.Equal(t, "(1 / beta) > 0", a.Params[0].Require.Expanded)
	assert.Equal(t, "0 * (1 / beta)", a.Special[0].Forward.Expanded)
	assert.Equal(t, "inf", a.Special[1].Forward.Expanded, "formulas without lets get Expanded too")

	lets := map[string]bool{"inv_beta": true, "bx": true, "soft": true, "ey": true}
	all := a.formulas()
	for i := range a.Lets {
		all = append(all, &a.Lets[i].Formula)
	}
	all = append(all, &a.LetsOutput[0].Formula)
	for _, f := range all {
		ast.Inspect(f.Expr, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				assert.False(t, lets[id.Name], "%s: let %s left in Expr", f.Src, id.Name)
			}
			return true
		})
		back, err := expr.Parse(f.Expanded)
		require.NoError(t, err, f.Expanded)
		assert.Equal(t, f.Expanded, printExpr(back), "Expanded must print back unchanged")
		assert.True(t, sameExpr(back, f.Expr), "%s: Expanded parses to another tree", f.Expanded)
	}

	// Every node copied from a let sits at the let's name in this
	// formula: soft is at byte offset 25 of the forward formula, so
	// token.Pos 26 (Pos = offset+1), nested lets (bx inside soft) too.
	call := a.Forward.Expr.(*ast.CallExpr)
	soft, ok := call.Args[2].(*ast.ParenExpr)
	require.True(t, ok, "soft replaced by a parenthesized copy")
	nodes := 0
	ast.Inspect(soft, func(n ast.Node) bool {
		if n != nil {
			nodes++
			assert.Equal(t, 26, int(n.Pos()), "%T", n)
		}
		return true
	})
	assert.Greater(t, nodes, 10)
	// Untouched nodes keep their own positions: x at offset 22.
	assert.Equal(t, 23, int(call.Args[1].Pos()))
}

// TestLetsMultiLine: a formula written as a YAML block is expanded onto
// one line that parses back to the same tree.
func TestLetsMultiLine(t *testing.T) {
	s, err := parseEdited(t, withLets, "    forward: where(bx > threshold, x, soft)\n",
		"    forward: |\n      where(bx > threshold,\n        x, soft)\n")
	require.NoError(t, err)
	f := s.Activations[0].Forward
	assert.Equal(t, "where((beta*x) > threshold, x, (log1p(exp((beta * x))) * (1 / beta)))", f.Expanded)
	assert.Equal(t, Pos{"t.yaml", 16, 7}, f.Pos)
}

// TestLetsNumericCheck: the derivative check runs on the substituted
// formulas, so a wrong let is caught where it makes a formula wrong.
func TestLetsNumericCheck(t *testing.T) {
	_, err := parseEdited(t, withLets, `"log1p(exp(bx)) * inv_beta"`, `"log1p(exp(bx)) * inv_beta * 1.000001"`)
	require.Error(t, err)
	var list ErrorList
	require.ErrorAs(t, err, &list)
	require.NotEmpty(t, list)
	assert.True(t, strings.HasPrefix(list[0].Error(), "t.yaml:16:17: derivative disagrees with forward at x = "), list.Error())
}

// extraLet is the edit that declares one more let, named name, before
// soft (at line 12, its name at column 16).
func extraLet(name string) []string {
	return []string{"      - {name: soft,", "      - {name: " + name + ", formula: \"beta\"}\n      - {name: soft,"}
}

func TestLetRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []string
		want  []string // every error, in order, each a prefix
	}{
		{"unknown name in a let", []string{`"log1p(exp(bx)) * inv_beta"`, `"log1p(exp(bx)) * inv_bta"`},
			[]string{"t.yaml:12:49: let soft: unknown name inv_bta (did you mean inv_beta?); in scope: beta, bx, inv_beta, threshold, x, e,"}},
		{"let uses a later let", []string{`"beta*x"`, `"beta*x + 0*soft"`},
			[]string{"t.yaml:11:41: let bx: unknown name soft (lets may only use earlier lets)"}},
		{"let uses itself", []string{`"beta*x"`, `"beta*x + 0*bx"`},
			[]string{"t.yaml:11:41: let bx: unknown name bx (lets may only use earlier lets)"}},
		{"let uses a let_output", []string{`"beta*x"`, `"beta*x + 0*ey"`},
			[]string{"t.yaml:11:41: let bx: unknown name ey (lets may only use earlier lets)"}},
		{"let uses y", []string{`"beta*x"`, `"beta*y"`},
			[]string{"t.yaml:11:35: let bx: y is not available in this formula; in scope: beta, inv_beta, threshold, x,"}},
		{"let_output uses a let over x", []string{`"-expm1(-beta*y)"`, `"-expm1(-beta*y) + 0*bx"`},
			[]string{"t.yaml:14:50: let_output ey: let bx depends on x, which is not available in this formula"}},
		{"let over x in derivative_output", []string{"derivative_output: where(beta*y > threshold, 1, ey)", "derivative_output: where(bx > threshold, 1, ey)"},
			[]string{"t.yaml:17:30: derivative_output: let bx depends on x, which is not available in this formula"}},
		{"let over x through another let in derivative_output", []string{"derivative_output: where(beta*y > threshold, 1, ey)", "derivative_output: where(beta*y > threshold, 1, ey*soft)"},
			[]string{"t.yaml:17:56: derivative_output: let soft depends on x, which is not available in this formula"}},
		{"let over x in a require rule", []string{`require: "inv_beta > 0"`, `require: "inv_beta > 0 && bx > 0"`},
			[]string{"t.yaml:7:60: require: let bx depends on x, which is not available in this formula"}},
		{"let over x in a special cell", []string{`forward: "0*inv_beta"`, `forward: "0*soft"`},
			[]string{"t.yaml:19:33: forward: let soft depends on x, which is not available in this formula"}},
		{"let over y in forward", []string{"forward: where(bx > threshold, x, soft)", "forward: where(bx > threshold, x, soft + 0*ey)"},
			[]string{"t.yaml:15:48: forward: let ey depends on y, which is not available in this formula"}},
		{"duplicate let", []string{`      - {name: soft,`, "      - {name: bx, formula: \"x\"}\n      - {name: soft,"},
			[]string{"t.yaml:12:16: duplicate let name bx (first at line 11)"}},
		{"let shadows x", extraLet("x"), []string{"t.yaml:12:16: let name x shadows the input variable"}},
		{"let_output shadows y", []string{"      - {name: ey,", "      - {name: y, formula: \"beta\"}\n      - {name: ey,"},
			[]string{"t.yaml:14:16: let name y shadows the output variable"}},
		{"let shadows a parameter", extraLet("threshold"), []string{"t.yaml:12:16: let name threshold shadows the parameter threshold (line 8)"}},
		{"let shadows a function", extraLet("exp"), []string{"t.yaml:12:16: let name exp shadows the function exp"}},
		{"let shadows a built-in constant", extraLet("pi"), []string{"t.yaml:12:16: let name pi shadows the built-in constant pi"}},
		{"let shadows a kernel argument", extraLet("dy"), []string{"t.yaml:12:16: let name dy shadows a kernel argument"}},
		{"let name not snake_case", extraLet("Bx"), []string{`t.yaml:12:16: let name "Bx": must be snake_case`}},
		{"let name is a Go keyword", extraLet("func"), []string{"t.yaml:12:16: let name func is a Go keyword or predeclared identifier"}},
		{"unused let", []string{`      - {name: soft,`, "      - {name: t, formula: \"x*x\"}\n      - {name: soft,"},
			[]string{"t.yaml:12:16: let t is never used"}},
		{"let used only by an unused let", []string{`      - {name: soft,`, "      - {name: t, formula: \"x*x\"}\n      - {name: u, formula: \"t + 1\"}\n      - {name: soft,"},
			[]string{"t.yaml:12:16: let t is never used (only by lets that are themselves never used: u)", "t.yaml:13:16: let u is never used"}},
		{"missing formula", []string{`{name: bx, formula: "beta*x"}`, `{name: bx}`},
			[]string{`t.yaml:11:9: let bx: missing required field "formula"`}},
		{"unknown field in a let", []string{`{name: bx, formula: "beta*x"}`, `{name: bx, formula: "beta*x", why: "."}`},
			[]string{`t.yaml:11:39: let bx: unknown field "why" (known: name, formula, doc)`}},
		{"let called as a function", []string{"derivative: where(bx > threshold, 1, sigmoid(bx))", "derivative: where(bx > threshold, 1, sigmoid(bx(x)))"},
			[]string{"t.yaml:16:50: derivative: bx is not a function"}},
		{"fma arity", []string{"derivative: where(bx > threshold, 1, sigmoid(bx))", "derivative: where(bx > threshold, 1, sigmoid(fma(beta, x)))"},
			[]string{"t.yaml:16:50: derivative: fma takes 3 arguments, got 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseEdited(t, withLets, tc.edits...)
			require.Error(t, err)
			assert.Nil(t, s)
			var list ErrorList
			require.ErrorAs(t, err, &list)
			require.Len(t, list, len(tc.want), list.Error())
			for i, w := range tc.want {
				assert.True(t, strings.HasPrefix(list[i].Error(), w), "got  %q\nwant %q...", list[i].Error(), w)
			}
		})
	}
}

// TestFma: fma(beta, x, -(beta*x)) is the rounding error of beta*x in a
// kernel and exactly 0 in the reference, so adding it leaves the
// derivative check undisturbed.
func TestFma(t *testing.T) {
	s, err := parseEdited(t, withLets, "derivative: where(bx > threshold, 1, sigmoid(bx))",
		"derivative: where(bx > threshold, 1, sigmoid(bx + fma(beta, x, -bx)))")
	require.NoError(t, err)
	assert.Equal(t, "where((beta*x) > threshold, 1, sigmoid((beta*x)+fma(beta, x, -(beta*x))))", s.Activations[0].Derivative.Expanded)
}

// TestDocExample loads the let example of doc.go, completed into an entry:
// the documentation must show a spec that works.
func TestDocExample(t *testing.T) {
	const src = `activations:
  - name: softplus
    go_name: Softplus
    doc: Smooth ReLU.
    torch: torch.nn.Softplus
    params:
      - {name: beta, default: 1, require: "beta > 0"}
      - {name: threshold, default: 20}
    let:
      - {name: inv_beta, formula: "1/beta"}         # no variable: usable anywhere
      - {name: u, formula: "beta*x"}                # over x
      - {name: err, formula: "fma(beta, x, -u)"}    # may use earlier lets
    let_output:
      - {name: ey, formula: "-expm1(-beta*y)"}      # over y
    forward: where(u > threshold, x, (max(u, 0) + log1p(exp(-abs(u))) + sigmoid(u)*err) * inv_beta)
    derivative: where(u > threshold, 1, sigmoid(u))
    derivative_output: where(beta*y > threshold, 1, ey)
    special:
      - {x: "-inf", forward: "0*inv_beta", backward: "0"}
    test_params:
      - {beta: 2, threshold: 10}
      - {beta: 0.3}
`
	s, err := Parse("doc.yaml", []byte(src))
	require.NoError(t, err)
	a := s.Activations[0]
	assert.Equal(t, "where((beta*x) > threshold, x, (max((beta*x), 0)+log1p(exp(-abs((beta*x))))+sigmoid((beta*x))*(fma(beta, x, -(beta*x))))*(1/beta))", a.Forward.Expanded)
	assert.Equal(t, "x", a.Lets[2].Var)
}
