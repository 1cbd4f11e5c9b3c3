package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const gapEntry = `    test_params:
      - {alpha: 0.5}
      - {alpha: -0.5}
    accuracy_gaps:
      - {type: f64, direction: backward, max_ulp: 3, why: "the fit ends too early"}
`

func TestAccuracyGaps(t *testing.T) {
	src := strings.Replace(valid, "    test_params:\n      - {alpha: 0.5}\n      - {alpha: -0.5}\n", gapEntry, 1)
	s, err := Parse("t.yaml", []byte(src))
	require.NoError(t, err)
	g := s.Lookup("elu").Gaps
	require.Len(t, g, 1)
	assert.Equal(t, Gap{Pos: g[0].Pos, Type: "f64", Direction: "backward", MaxULP: 3, Why: "the fit ends too early"}, g[0])

	for _, tc := range []struct{ from, to, want string }{
		{"max_ulp: 3", "max_ulp: 2", `t.yaml:44:51: accuracy_gaps: max_ulp 2 is within the 2-ULP bar`},
		{"type: f64", "type: f16", `t.yaml:44:16: accuracy_gaps: type must be f32 or f64`},
		{"direction: backward", "direction: sideways", `t.yaml:44:32: accuracy_gaps: direction must be`},
		{`, why: "the fit ends too early"`, "", `t.yaml:44:9: accuracy_gaps entry: missing required field "why"`},
	} {
		_, err := Parse("t.yaml", []byte(strings.Replace(src, tc.from, tc.to, 1)))
		require.Error(t, err, tc.from)
		assert.Contains(t, err.Error(), tc.want)
	}
}
