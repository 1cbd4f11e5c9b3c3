package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withFloat32 adds a float32: block to the valid spec's softplus entry.
func withFloat32(block string) []string {
	d := "    derivative: where(beta*x > threshold, 1, sigmoid(beta*x))\n"
	return []string{d, d + "    float32:\n" + block}
}

func TestFloat32Formulas(t *testing.T) {
	edits := withFloat32("      forward: where(beta*x > threshold, x, (max(beta*x, 0) + log1p(exp(-abs(beta*x))))/beta)\n")
	s, err := Parse("t.yaml", []byte(strings.Replace(valid, edits[0], edits[1], 1)))
	require.NoError(t, err)
	sp := s.Activations[0]
	require.NotNil(t, sp.Float32.Forward)
	assert.Same(t, sp.Float32.Forward, sp.Kernels(true).Forward, "float32 kernels take the float32 formula")
	assert.Same(t, &sp.Forward, sp.Kernels(false).Forward, "float64 kernels keep the entry's")
	assert.Same(t, &sp.Derivative, sp.Kernels(true).Derivative, "a formula float32: does not replace stays the entry's")
	assert.Nil(t, sp.Kernels(true).DerivativeOutput)
}

func TestFloat32Lanes(t *testing.T) {
	edits := withFloat32("      forward: where(beta*x > threshold, x, (max(beta*x, 0) + log1p(exp(-abs(beta*x))))/beta)\n" +
		"      float32_lanes: [forward]\n")
	s, err := Parse("t.yaml", []byte(strings.Replace(valid, edits[0], edits[1], 1)))
	require.NoError(t, err)
	sp := s.Activations[0]
	assert.True(t, sp.Float32.Forward.Float32Lanes, "the listed formula runs in float32 lanes")
	assert.False(t, sp.Forward.Float32Lanes, "the entry's own formula does not")
	assert.False(t, sp.Derivative.Float32Lanes)
}

// TestFloat32LanesOwnFormula: a name the block gives no formula for marks
// the entry's own, which float32 kernels then compute in float32 lanes.
func TestFloat32LanesOwnFormula(t *testing.T) {
	edits := withFloat32("      forward: where(beta*x > threshold, x, (max(beta*x, 0) + log1p(exp(-abs(beta*x))))/beta)\n" +
		"      float32_lanes: [derivative]\n")
	s, err := Parse("t.yaml", []byte(strings.Replace(valid, edits[0], edits[1], 1)))
	require.NoError(t, err)
	sp := s.Activations[0]
	assert.True(t, sp.Derivative.Float32Lanes, "the entry's derivative is marked")
	assert.Same(t, &sp.Derivative, sp.Kernels(true).Derivative, "and float32 kernels take it")
	assert.False(t, sp.Float32.Forward.Float32Lanes, "the block's forward is not listed")
}

func TestFloat32Refusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []string
		want  string
	}{
		{"another function", withFloat32("      forward: log1p(exp(x))\n"),
			"t.yaml:12:16: float32: forward gives"},
		{"unknown field", withFloat32("      backward: sigmoid(x)\n"),
			`t.yaml:12:7: float32: unknown field "backward" (known: forward, derivative, derivative_output, float32_lanes)`},
		{"no derivative_output to replace", withFloat32("      derivative_output: y\n"),
			"t.yaml:12:7: float32: derivative_output replaces the entry's derivative_output, and it has none"},
		{"float32_lanes: an unknown formula", withFloat32("      float32_lanes: [backward]\n"),
			`t.yaml:12:23: float32_lanes: expected forward, derivative or derivative_output, got "backward"`},
		{"float32_lanes: a formula the entry does not have", withFloat32("      float32_lanes: [derivative_output]\n"),
			"t.yaml:12:23: float32_lanes: derivative_output: the entry has no derivative_output"},
		{"unknown name", withFloat32("      derivative: sigmoid(z)\n"),
			"t.yaml:12:27: derivative: unknown name z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list := refuse(t, tc.edits...)
			require.NotEmpty(t, list)
			assert.True(t, strings.HasPrefix(list[0].Error(), tc.want), "got  %q\nwant %q...", list[0].Error(), tc.want)
		})
	}
}
