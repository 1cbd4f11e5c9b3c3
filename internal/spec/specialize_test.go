package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eluTestParams ends the valid spec's elu entry; the tests add a field after it.
const eluTestParams = "      - {alpha: -0.5}\n"

func TestSpecializeDefaults(t *testing.T) {
	s, err := Parse("t.yaml", []byte(strings.Replace(valid, eluTestParams, eluTestParams+"    specialize_defaults: true\n", 1)))
	require.NoError(t, err)
	assert.True(t, s.Lookup("elu").SpecializeDefaults)
	assert.False(t, s.Lookup("softplus").SpecializeDefaults, "off unless asked for")

	s, err = Parse("t.yaml", []byte(strings.Replace(valid, eluTestParams, eluTestParams+"    specialize_defaults: false\n", 1)))
	require.NoError(t, err)
	assert.False(t, s.Lookup("elu").SpecializeDefaults)
}

func TestSpecializeDefaultsRefusals(t *testing.T) {
	// relu has no parameters: nothing to bind.
	const relu = `activations:
  - name: relu
    go_name: ReLU
    doc: Rectified linear unit.
    torch: torch.nn.ReLU
    forward: max(x, 0)
    derivative: where(x > 0, 1, 0)
    specialize_defaults: true
`
	_, err := Parse("t.yaml", []byte(relu))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "t.yaml:8:5: specialize_defaults: relu has no parameters to bind")

	for _, tc := range []struct{ value, want string }{
		{"yes please", `t.yaml:43:26: specialize_defaults: expected true or false, got "yes please"`},
		{"[forward]", `t.yaml:43:26: specialize_defaults: expected true or false, got a list`},
		{"1", `t.yaml:43:26: specialize_defaults: expected true or false, got "1"`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			list := refuse(t, eluTestParams, eluTestParams+"    specialize_defaults: "+tc.value+"\n")
			require.NotEmpty(t, list)
			assert.True(t, strings.HasPrefix(list[0].Error(), tc.want), "got  %q\nwant %q...", list[0].Error(), tc.want)
		})
	}
}
