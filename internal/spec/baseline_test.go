package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withBaseline adds a baseline: block to the valid spec's softplus entry.
func withBaseline(block string) []string {
	d := "    derivative: where(beta*x > threshold, 1, sigmoid(beta*x))\n"
	return []string{d, d + "    baseline:\n" + block}
}

func TestBaselineFormulas(t *testing.T) {
	edits := withBaseline("      forward: where(beta*x > threshold, x, log(1 + exp(beta*x))/beta)\n")
	s, err := Parse("t.yaml", []byte(strings.Replace(valid, edits[0], edits[1], 1)))
	require.NoError(t, err)
	sp := s.Activations[0]
	require.NotNil(t, sp.Baseline.Forward)
	for _, f32 := range []bool{false, true} {
		assert.Same(t, sp.Baseline.Forward, sp.PlainFormulas(f32).Forward, "the baseline takes the baseline formula")
		assert.Same(t, sp.Kernels(f32).Derivative, sp.PlainFormulas(f32).Derivative, "a formula baseline: does not replace stays the kernels'")
	}
	assert.Same(t, &sp.Forward, sp.Kernels(false).Forward, "the kernels keep the entry's")
}

func TestBaselineRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []string
		want  string
	}{
		{"another function", withBaseline("      forward: log1p(exp(2*x))\n"),
			"t.yaml:12:16: baseline: forward gives"},
		{"unknown field", withBaseline("      derivative_output: y\n"),
			`t.yaml:12:7: baseline: unknown field "derivative_output" (known: forward, derivative)`},
		{"unknown name", withBaseline("      derivative: sigmoid(z)\n"),
			"t.yaml:12:27: derivative: unknown name z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list := refuse(t, tc.edits...)
			require.NotEmpty(t, list)
			assert.True(t, strings.HasPrefix(list[0].Error(), tc.want), "got  %q\nwant %q...", list[0].Error(), tc.want)
		})
	}
}
