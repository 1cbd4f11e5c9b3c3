package spec

import (
	"go/ast"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRare: a rare condition written with a let names the where() whose
// condition, lets expanded, is the same expression, in whichever formula.
func TestRare(t *testing.T) {
	s, err := parseEdited(t, withLets, "    test_params:", "    rare: [\"bx > threshold\"]\n    test_params:")
	require.NoError(t, err)
	a := s.Lookup("softplus")
	require.Len(t, a.Rare, 1)
	assert.Equal(t, "(beta * x) > threshold", a.Rare[0].Expanded)
	cond := a.Derivative.Expr.(*ast.CallExpr).Args[0]
	assert.True(t, a.IsRare(cond), "the derivative's where condition")
	other, err := parseEdited(t, withLets)
	require.NoError(t, err)
	assert.False(t, other.Lookup("softplus").IsRare(cond), "an entry without rare:")
}

func TestRareErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []string
		want  string
	}{
		{"no such where", []string{"    test_params:", "    rare: [\"bx > 2*threshold\"]\n    test_params:"},
			"t.yaml:22:13: rare: bx > 2*threshold is the condition of no where() in the entry's formulas"},
		{"not a condition", []string{"    test_params:", "    rare: [\"bx + threshold\"]\n    test_params:"},
			"t.yaml:22:13: rare: need a condition"},
		{"unknown name", []string{"    test_params:", "    rare: [\"bz > threshold\"]\n    test_params:"},
			"t.yaml:22:13: rare: unknown name bz"},
		{"not elementwise", []string{"    test_params:", "    kind: rows\n    rare: [\"bx > threshold\"]\n    test_params:"},
			"t.yaml:23:5: rare: only elementwise entries name rare branches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseEdited(t, withLets, tc.edits...)
			require.Error(t, err)
			assert.Nil(t, s)
			var list ErrorList
			require.ErrorAs(t, err, &list)
			found := false
			for _, e := range list {
				found = found || strings.HasPrefix(e.Error(), tc.want)
			}
			assert.True(t, found, "got  %q\nwant %q...", list.Error(), tc.want)
		})
	}
}
