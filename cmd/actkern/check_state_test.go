package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckState: a second run with the same -state sweeps nothing and
// reports what the first found, row for row; a state of other sources is
// set aside with a warning and the sweep runs again.
func TestCheckState(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	args := []string{"-func", "gelu,relu", "-dir", "forward,backward", "-range", "0x9c000:0x9d000", "-n", "200", "-progress", "1h", "-state", state}
	first, stderr, code := checkBin(t, args...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, first, "gave the results of 0 of the 4 jobs")
	var st checkState
	b, err := os.ReadFile(state)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &st))
	assert.Len(t, st.Jobs, 4, "every finished job is recorded")
	require.Len(t, st.Runs, 1)
	assert.Equal(t, 4, st.Runs[0].Finished)
	assert.Positive(t, st.Runs[0].Wall)

	second, stderr, code := checkBin(t, args...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, second, "gave the results of 4 of the 4 jobs")
	assert.Contains(t, second, "all 2 runs together took")
	assert.Equal(t, reportRows(first), reportRows(second))
	assert.Contains(t, stderr, "(0 of 0 inputs)", "nothing is swept again")

	// Other sources: one job's record has another fingerprint.
	key := ""
	for k := range st.Jobs {
		if strings.HasPrefix(k, "relu f32 ") {
			key = k
		}
	}
	require.NotEmpty(t, key)
	st.Jobs[key].Fingerprint = "other"
	b, err = json.Marshal(&st)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(state, b, 0o644))
	third, stderr, code := checkBin(t, args...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "records 1 of these jobs for other sources: they are swept again")
	assert.Contains(t, third, "gave the results of 3 of the 4 jobs")
	assert.Equal(t, reportRows(first), reportRows(third))

	// A state that is not JSON is an error, not a fresh start.
	require.NoError(t, os.WriteFile(state, []byte("{"), 0o644))
	_, stderr, code = checkBin(t, args...)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr, "delete it to start afresh")
}

// TestJSONFloat: the state's floats survive JSON, NaN and ±Inf included.
func TestJSONFloat(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1e-45, -3.5, math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN()} {
		b, err := json.Marshal(jsonFloat(v))
		require.NoError(t, err)
		var got jsonFloat
		require.NoError(t, json.Unmarshal(b, &got), "%s", b)
		if math.IsNaN(v) {
			assert.True(t, math.IsNaN(float64(got)))
			continue
		}
		assert.Equal(t, math.Float64bits(v), math.Float64bits(float64(got)), "%v as %s", v, b)
	}
	b, err := json.Marshal(pointRecord{ULP: jsonFloat(math.Inf(1)), Got: jsonFloat(math.NaN())})
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), `"+Inf"`) && strings.Contains(string(b), `"NaN"`), "%s", b)
}
