package parallel

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestForEach: every index is done once, for more indices than CPUs and
// for none.
func TestForEach(t *testing.T) {
	for _, n := range []int{0, 1, 1000} {
		done := make([]int, n)
		ForEach(n, func(i int) { done[i]++ })
		for i, c := range done {
			assert.Equal(t, 1, c, "n=%d, index %d", n, i)
		}
	}
}
