package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	builtin "github.com/actkern/actkern/spec"
)

func TestShapedKindsOfTheBuiltinSpec(t *testing.T) {
	s, err := Parse(builtin.File, builtin.YAML)
	require.NoError(t, err)

	sm := s.Lookup("softmax")
	require.NotNil(t, sm)
	assert.Equal(t, "rows", sm.Kind)
	require.Len(t, sm.Reduce, 2)
	assert.Equal(t, "max", sm.Reduce[0].Op)
	assert.Equal(t, "s_lo", sm.Reduce[1].Lo)
	// The lets are substituted into the reduction's formula.
	assert.Contains(t, sm.Reduce[1].Of.Expanded, "exp(")
	require.NotNil(t, sm.Backward)
	assert.NotEmpty(t, sm.SpecialRows)

	lse := s.Lookup("logsumexp")
	require.NotNil(t, lse)
	assert.True(t, lse.RowOutput)
	for _, sr := range lse.SpecialRows {
		assert.Len(t, sr.Forward, 1)
	}

	glu := s.Lookup("glu")
	require.NotNil(t, glu)
	assert.Equal(t, "sigmoid", glu.Gate.Name)
	assert.Equal(t, "b", glu.GateOn)
	assert.Equal(t, "a", s.Lookup("swiglu").GateOn)

	pr := s.Lookup("prelu")
	require.NotNil(t, pr)
	assert.Equal(t, "leaky_relu", pr.Of.Name)
	assert.Equal(t, "negative_slope", pr.ChannelParam)
	require.NotNil(t, pr.DerivativeWeight)
	assert.Equal(t, "where(x > 0, 0, x)", pr.DerivativeWeight.Expanded)
}

const shapedBase = `activations:
  - name: relu
    go_name: ReLU
    doc: ReLU.
    torch: torch.nn.ReLU
    params:
      - {name: slope, default: 0}
    forward: "x + slope*x"
    derivative: "1 + slope"
    special:
      - {x: "nan", forward: "nan", backward: "nan"}
  - name: twice
    go_name: Twice
    doc: Twice.
    torch: none
    forward: "2*x"
    derivative: "2"
    special:
      - {x: "nan", forward: "nan", backward: "nan"}
  - name: sm
    go_name: Sm
    kind: rows
    doc: Softmax.
    torch: torch.nn.Softmax
    reduce:
      - {name: m, op: max, of: x}
      - {name: s, op: sum, of: "exp(x - m)"}
    forward: "exp(x - m) / s"
    backward_reduce:
      - {name: r, op: sum, of: "dy * y"}
    backward: "y * (dy - r)"
    special_rows:
      - {x: ["0"], forward: ["1"]}
  - name: g
    go_name: G
    kind: gated
    doc: Gated.
    torch: none
    gate: twice
  - name: c
    go_name: C
    kind: channel
    doc: Channel.
    torch: none
    of: relu
    channel_param: slope
    derivative_weight: "where(x > 0, 0, x)"
`

func TestShapedRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"reduction op", "op: max", "op: mean", `t.yaml:26:23: op "mean": must be max or sum`},
		{"reduction uses a later one", `of: x}`, `of: "x + s"}`, `t.yaml:26:37: of: unknown name s`},
		{"forward uses a backward value", `forward: "exp(x - m) / s"`, `forward: "exp(x - m) / r"`, `t.yaml:28:28: forward: unknown name r`},
		{"backward uses a forward value", `backward: "y * (dy - r)"`, `backward: "y * (dy - m)"`, `t.yaml:31:26: backward: unknown name m`},
		{"special row length", `forward: ["1"]`, `forward: ["1", "0"]`, `t.yaml:33:9: special row: forward has 2 values, want 1 (one per element)`},
		{"field of another kind", "    gate: twice\n", "    gate: twice\n    reduce: []\n",
			`t.yaml:40:5: activation g: a gated entry has no reduce (that belongs to kind rows)`},
		{"unknown gate", "gate: twice", "gate: twcie", `t.yaml:39:11: gate: no activation named "twcie"`},
		{"gate with params", "gate: twice", "gate: relu", `t.yaml:39:11: gate: relu has parameters ([slope]); a gate must have none`},
		{"gate of a rows entry", "gate: twice", "gate: sm", `t.yaml:39:11: gate: sm is a rows entry; it must be elementwise`},
		{"unknown channel param", "channel_param: slope", "channel_param: alpha", `t.yaml:46:20: channel_param: relu has no parameter "alpha" (parameters: [slope])`},
		{"missing of", "    of: relu\n", "", `t.yaml:40:5: activation c: missing required field "of"`},
		{"unknown reduction field", "{name: m, op: max, of: x}", "{name: m, op: max, of: x, bogus: 1}",
			`t.yaml:26:35: reduce: unknown field "bogus" (known: name, op, of, lo, doc)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(shapedBase, tc.from, tc.to, 1)
			_, err := Parse("t.yaml", []byte(src))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), tc.want), "the error is reported more than once")
		})
	}
}
