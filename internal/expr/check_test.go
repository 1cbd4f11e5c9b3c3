package expr

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var scope = map[string]bool{"x": true, "beta": true, "threshold": true}

func checkSrc(t *testing.T, src string, cond bool) []Error {
	t.Helper()
	e, err := Parse(src)
	require.NoError(t, err, src)
	if cond {
		return CheckCond(e, scope)
	}
	return Check(e, scope)
}

func TestCheckAccepts(t *testing.T) {
	for _, src := range []string{
		"x",
		"where(beta*x > threshold, x, log1p(exp(beta*x)) / beta)",
		"where(beta*x > threshold, 1, sigmoid(beta*x))",
		"0.5*x*(1 + erf(x*sqrt1_2))",
		"where(!(x >= 0) || x != x && x == 0, -x, +x)",
		"min(max(x, -1), 1) - pi*e + inf - nan",
		"1e-3 + .5 + 2. + 0 + 0.25E+2",
		"where(((x < 0)), 0, x)",
		"fma(beta, x, -(beta*x))",
	} {
		assert.Empty(t, checkSrc(t, src, false), src)
	}
	for _, src := range []string{"beta > 0", "beta > 0 && threshold >= -1", "!(beta == 0)", "(beta > 0)"} {
		assert.Empty(t, checkSrc(t, src, true), src)
	}
}

// TestCheckRefuses pins each refusal to its offset (the offending token)
// and the start of its message.
func TestCheckRefuses(t *testing.T) {
	for _, tc := range []struct {
		src    string
		cond   bool
		offset int
		msg    string
	}{
		{"exp(x) + expp(x)", false, 9, "unknown function expp (did you mean exp?); known functions: abs, cos, erf, erfc, exp, exp_err, expm1, fma, log, log1p, max, min, sigmoid, sin, sqrt, tanh, where"},
		{"beta(x)", false, 0, "beta is not a function; known functions: "},
		{"1 + max(x)", false, 4, "max takes 2 arguments, got 1"},
		{"exp(x, x)", false, 0, "exp takes 1 argument, got 2"},
		{"where(x > 0, x)", false, 0, "where takes 3 arguments, got 2"},
		{"x + fma(beta, x)", false, 4, "fma takes 3 arguments, got 2"},
		{"fma(x, x, x > 0)", false, 12, "comparison > is only allowed in the first argument of where"},
		{"x + alpha", false, 4, "unknown name alpha; in scope: beta, threshold, x, e, inf, inv_sqrtpi, ln2, nan, pi, sqrt1_2, sqrt2, sqrt2_pi"},
		{"bta*x", false, 0, "unknown name bta (did you mean beta?); in scope: beta, threshold, x, "},
		{"y", false, 0, "y is not available in this formula; in scope: beta, threshold, x, "},
		{"2*exp", false, 2, "exp is a function: call it as exp(...)"},
		{"x[0]", false, 1, "indexing is not supported"},
		{"x[0:1]", false, 1, "slicing is not supported"},
		{"1 + math.Exp(x)", false, 9, "selector .Exp is not supported"},
		{`x + "a"`, false, 4, `string literal "a" is not supported`},
		{"x + 'a'", false, 4, "character literal 'a' is not supported"},
		{"x + 2i", false, 4, "literal 2i is not supported"},
		{"x + 0x10", false, 4, "number 0x10: only plain decimal numbers"},
		{"x + 017", false, 4, "number 017: only plain decimal numbers"},
		{"x + 1_000", false, 4, "number 1_000: only plain decimal numbers"},
		{"x % 2", false, 2, "operator % is not supported"},
		{"x & 1", false, 2, "bit operator & is not supported"},
		{"x | 1", false, 2, "bit operator | is not supported"},
		{"x << 1", false, 2, "bit operator << is not supported"},
		{"x &^ 1", false, 2, "bit operator &^ is not supported"},
		{"^x", false, 0, "bit operator ^ is not supported"},
		{"*x", false, 0, "pointer dereference * is not supported"},
		{"f()(x)", false, 0, "only named functions can be called"},
		{"x * (x > 0)", false, 7, "comparison > is only allowed in the first argument of where"},
		{"exp(x > 0 && x < 1)", false, 10, "&& is only allowed in the first argument of where"},
		{"-!x", false, 1, "! is only allowed in the first argument of where"},
		{"where(x, 1, 0)", false, 6, "first argument of where must be a condition"},
		{"where(x > 0 && x, 1, 0)", false, 15, "need a condition"},
		{"where(0 < x < 2, 1, 0)", false, 8, "comparisons cannot be chained: write a < x && x < b"},
		{"x.(int)", false, 2, "type assertion is not supported"},
		{"[]int{1}", false, 5, "composite literal is not supported"},
		{"func() {}", false, 0, "function literal is not supported"},
		{"exp(x...)", false, 5, "... is not supported"},
		{"beta", true, 0, "need a condition"},
		{"beta > 0 && gamma > 0", true, 12, "unknown name gamma"},
	} {
		errs := checkSrc(t, tc.src, tc.cond)
		require.NotEmpty(t, errs, tc.src)
		assert.Equal(t, tc.offset, errs[0].Offset, "%s: %v", tc.src, errs)
		assert.True(t, len(errs[0].Msg) >= len(tc.msg) && errs[0].Msg[:len(tc.msg)] == tc.msg, "%s: %q does not start with %q", tc.src, errs[0].Msg, tc.msg)
	}
}

// TestCheckReportsAll makes sure one bad token does not hide the next.
func TestCheckReportsAll(t *testing.T) {
	errs := checkSrc(t, "foo(a) + b % x[1]", false)
	var offs []int
	for _, e := range errs {
		offs = append(offs, e.Offset)
	}
	// foo at 0, a at 4, b at 9, % at 11, [ at 14.
	assert.Equal(t, []int{0, 4, 9, 11, 14}, offs, "%v", errs)
}

func TestParseError(t *testing.T) {
	_, err := Parse("exp(x +")
	require.Error(t, err)
	var pe Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 7, pe.Offset)

	_, err = Parse("  ")
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "empty formula", pe.Msg)

	_, err = Parse("x y")
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 2, pe.Offset)
}

func TestVars(t *testing.T) {
	e, err := Parse("where(beta*x > threshold, x, log1p(exp(beta*x)) / beta) + pi")
	require.NoError(t, err)
	assert.Equal(t, []string{"beta", "pi", "threshold", "x"}, Vars(e))
}

// TestUses: every value use in source order, repeats included, called
// function names left out (t(x) does not use t as a value).
func TestUses(t *testing.T) {
	e, err := Parse("where(t > x, t(x), -(u)) + fma(t, pi, x)")
	require.NoError(t, err)
	var names []string
	var offs []int
	for _, id := range Uses(e) {
		names = append(names, id.Name)
		offs = append(offs, Offset(id.Pos()))
	}
	assert.Equal(t, []string{"t", "x", "x", "u", "t", "pi", "x"}, names)
	assert.Equal(t, []int{6, 10, 15, 21, 31, 34, 38}, offs)
}

func TestIsDecimal(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "12": true, "1.5": true, ".5": true, "1.": true, "1e-3": true, "2.5E+10": true, "0.5": true, "00.5": true,
		"017": false, "0x1": false, "1_0": false, "1e": false, ".": false, "0b1": false, "0o7": false, "1e+": false,
	} {
		assert.Equal(t, want, isDecimal(s), s)
	}
}
