package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress reports how far a check has got: a bar redrawn in place, with
// rate and ETA, when standard error is a terminal; a plain line every
// interval otherwise (a CI log, a file), so that logs stay readable.
type progress struct {
	w     io.Writer
	total uint64
	done  atomic.Uint64
	now   atomic.Value // string: the job being swept
	term  bool
	every time.Duration
	start time.Time
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	// recent holds (time, inputs done) samples over the last rateWindow,
	// for the rate and ETA: a job's cost per input varies a hundredfold
	// (float64 against float32, gelu against relu), so the rate since the
	// start says little about the jobs ahead. Only the printing goroutine
	// touches it.
	recent []progressSample
}

type progressSample struct {
	t    time.Time
	done uint64
}

const (
	barRedraw = 250 * time.Millisecond
	// rateWindow is how far back the rate looks; sampleEvery spaces the
	// samples it keeps.
	rateWindow  = 5 * time.Minute
	sampleEvery = 10 * time.Second
)

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, total uint64, every time.Duration) *progress {
	p := &progress{w: w, total: total, term: isTerminal(w), every: every, start: time.Now(), quit: make(chan struct{})}
	p.now.Store("")
	tick := every
	if p.term {
		tick = barRedraw
	}
	p.wg.Go(func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.print(false)
			case <-p.quit:
				return
			}
		}
	})
	return p
}

func (p *progress) add(n uint64)   { p.done.Add(n) }
func (p *progress) at(what string) { p.now.Store(what) }

// stop ends the reports with a final one.
func (p *progress) stop() {
	p.once.Do(func() {
		close(p.quit)
		p.wg.Wait()
		p.print(true)
	})
}

// recentRate is the rate over the last rateWindow (since the start until
// one has passed), after recording the sample (now, done).
func (p *progress) recentRate(now time.Time, done uint64) float64 {
	if n := len(p.recent); n == 0 || now.Sub(p.recent[n-1].t) >= sampleEvery {
		p.recent = append(p.recent, progressSample{now, done})
	}
	for len(p.recent) > 2 && now.Sub(p.recent[1].t) >= rateWindow {
		p.recent = p.recent[1:]
	}
	from := progressSample{p.start, 0}
	if now.Sub(p.start) > rateWindow {
		from = p.recent[0]
	}
	if dt := now.Sub(from.t).Seconds(); dt > 0 {
		return float64(done-from.done) / dt
	}
	return 0
}

func (p *progress) print(final bool) {
	now := time.Now()
	done, elapsed := p.done.Load(), now.Sub(p.start)
	rate := float64(done) / elapsed.Seconds()
	if !final {
		rate = p.recentRate(now, done)
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(p.total-done)/rate) * time.Second).Round(time.Second).String()
	}
	pct := 100 * float64(done) / float64(max(p.total, 1))
	if p.term {
		const width = 30
		fill := int(pct / 100 * width)
		bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
		line := fmt.Sprintf("[%s] %5.1f%% %s inputs/s ETA %s  %s", bar, pct, si(rate), eta, p.now.Load())
		end := ""
		if final {
			end = "\n"
		}
		// \x1b[K clears what a longer previous line left.
		fmt.Fprintf(p.w, "\r%s\x1b[K%s", line, end)
		return
	}
	if final {
		fmt.Fprintf(p.w, "actkern check: %.1f%% (%d of %d inputs) in %s, %s inputs/s\n", pct, done, p.total, elapsed.Round(time.Second), si(rate))
		return
	}
	fmt.Fprintf(p.w, "actkern check: %.1f%% (%d of %d inputs), %s inputs/s, elapsed %s, ETA %s; at %s\n",
		pct, done, p.total, si(rate), elapsed.Round(time.Second), eta, p.now.Load())
}

// si formats a rate with an SI prefix: 12.3M.
func si(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}
