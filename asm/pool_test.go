package asm

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPoolReplay: constants requested of private pools and replayed into
// the file's pool, search after search, land where they would have had the
// requests gone to the file's pool directly, the tail-mask table included.
func TestPoolReplay(t *testing.T) {
	table := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}
	searches := []func(*pool){
		func(p *pool) { p.get(1, 8, 1); p.get(2, 4, 8); p.get(1, 8, 1) },
		func(p *pool) { p.get(3, 4, 1); p.raw("tailmask", table, 64); p.get(2, 4, 8) },
		func(p *pool) { p.get(4, 8, 8); p.get(3, 4, 1) },
	}
	direct := newPool("c")
	direct.get(5, 8, 1) // a constant from an earlier kernel
	for _, s := range searches {
		s(direct)
	}
	replayed := newPool("c")
	replayed.get(5, 8, 1)
	for _, s := range searches {
		private := newPool("probe")
		s(private)
		private.replay(replayed)
	}
	assert.Equal(t, direct.data, replayed.data)
	assert.Equal(t, direct.entries, replayed.entries)
}
