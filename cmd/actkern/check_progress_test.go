package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRecentRate: the rate (and so the ETA) follows the last rateWindow,
// not the average since the start: after five minutes at 1000 inputs/s and
// ten at 10/s it says about 10/s, where the average would say 340.
func TestRecentRate(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	p := &progress{start: t0}
	var done uint64
	var rate float64
	for s := 1; s <= 900; s++ {
		if s <= 300 {
			done += 1000
		} else {
			done += 10
		}
		rate = p.recentRate(t0.Add(time.Duration(s)*time.Second), done)
		if s == 60 {
			assert.InDelta(t, 1000, rate, 1, "within the first window: the rate since the start")
		}
	}
	assert.InDelta(t, 10, rate, 1)
	assert.LessOrEqual(t, len(p.recent), int(rateWindow/sampleEvery)+2, "old samples are dropped")
}
