package main

// The state file of a check run in several sittings (`-state FILE`): the
// full float32 sweep takes longer than one sitting on a small machine, so
// each job that finishes is recorded, and a later run of the same sources
// takes the recorded results instead of sweeping the job again. A job cut
// off by Ctrl-C is not recorded: it is swept again from its start.
//
// The results are valid for the sources that produced them, so each
// record carries a fingerprint of those sources (check_fingerprint.go): of
// the job's own kernels and spec entry, and of everything every job
// shares. A record whose job now has another fingerprint is swept again;
// a change to one activation's kernels leaves the others' records valid.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/actkern/actkern/internal/spec"
)

// checkState is the state file's content.
type checkState struct {
	Runs []stateRun            `json:"runs"`
	Jobs map[string]*jobRecord `json:"jobs"`

	path string
	fp   *fingerprinter
	mu   sync.Mutex
}

// stateRun is one sitting: when it started, how long it ran, how much CPU
// it used, and how many jobs it finished.
type stateRun struct {
	Start    time.Time     `json:"start"`
	Wall     time.Duration `json:"wall"`
	CPU      time.Duration `json:"cpu"`
	Finished int           `json:"finished"`
}

// jobRecord is a finished job's results.
type jobRecord struct {
	Fingerprint string           `json:"fingerprint"`
	Stats       [][]statsRecord  `json:"stats"` // [dir][backend]
	Special     []specialVerdict `json:"special"`
	Inputs      uint64           `json:"inputs"`
	Exact       int64            `json:"exact"`
	Busy        time.Duration    `json:"busy"`
}

// statsRecord is dirStats in a form JSON can hold (NaN and ±Inf occur).
type statsRecord struct {
	N      uint64      `json:"n"`
	MaxULP jsonFloat   `json:"max_ulp"`
	Worst  pointRecord `json:"worst"`
	NotCR  uint64      `json:"not_cr"`
	Over1  uint64      `json:"over1"`
	// ZeroSign is absent from the records of sweeps made before it was
	// counted (the judging then changed, so their fingerprints are stale).
	ZeroSign uint64      `json:"zero_sign,omitempty"`
	Differ   uint64      `json:"differ,omitempty"`
	MaxDiff  jsonFloat   `json:"max_diff,omitempty"`
	First    pointRecord `json:"first,omitzero"`
}

type pointRecord struct {
	Key                uint64    `json:"key"`
	X, Y, DY, Got, Ref jsonFloat `json:",omitempty"`
	ULP                jsonFloat `json:"ulp"`
}

// jsonFloat is a float64 that JSON can hold: NaN and ±Inf, which
// encoding/json refuses, are written as the strings "NaN", "+Inf", "-Inf".
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return json.Marshal(strconv.FormatFloat(v, 'g', -1, 64))
	}
	return json.Marshal(v)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := strconv.ParseFloat(s, 64)
		*f = jsonFloat(v)
		return err
	}
	var v float64
	err := json.Unmarshal(b, &v)
	*f = jsonFloat(v)
	return err
}

func recordPoint(p sweepPoint) pointRecord {
	return pointRecord{Key: p.key, X: jsonFloat(p.X), Y: jsonFloat(p.Y), DY: jsonFloat(p.DY), Got: jsonFloat(p.Got), Ref: jsonFloat(p.Ref), ULP: jsonFloat(p.ULP)}
}

func (p pointRecord) point() sweepPoint {
	return sweepPoint{key: p.Key, X: float64(p.X), Y: float64(p.Y), DY: float64(p.DY), Got: float64(p.Got), Ref: float64(p.Ref), ULP: float64(p.ULP)}
}

func recordStats(s *dirStats) statsRecord {
	return statsRecord{N: s.N, MaxULP: jsonFloat(s.MaxULP), Worst: recordPoint(s.Worst), NotCR: s.NotCR, Over1: s.Over1, ZeroSign: s.ZeroSign,
		Differ: s.Differ, MaxDiff: jsonFloat(s.MaxDiff), First: recordPoint(s.First)}
}

func (r *statsRecord) stats() dirStats {
	return dirStats{N: r.N, MaxULP: float64(r.MaxULP), Worst: r.Worst.point(), NotCR: r.NotCR, Over1: r.Over1, ZeroSign: r.ZeroSign,
		Differ: r.Differ, MaxDiff: float64(r.MaxDiff), First: r.First.point()}
}

// stateKey names a job in the state: everything that decides what it
// sweeps, so that a run asking for other inputs or backends sweeps anew.
func stateKey(j *checkJob, backends []string) string {
	return fmt.Sprintf("%s %s (%s) dirs=%s lo=%#x stride=%d count=%d backends=%s",
		j.act.Name, j.typ, j.label, strings.Join(j.dirs, ","), j.lo, j.stride, j.count, strings.Join(backends, ","))
}

// openState reads the state at path (a missing file is an empty state)
// for a check of the sources in the module around the working directory,
// with the spec specText.
func openState(path string, specText []byte, s *spec.Spec) (*checkState, error) {
	fp, err := newFingerprinter(specText, s)
	if err != nil {
		return nil, err
	}
	st := &checkState{Jobs: map[string]*jobRecord{}, path: path, fp: fp}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to start afresh)", path, err)
	}
	if st.Jobs == nil {
		st.Jobs = map[string]*jobRecord{}
	}
	return st, nil
}

// restore gives every job the state holds a record of, for the job's
// present fingerprint, that record's results. It returns how many jobs it
// restored and how many records it found stale.
func (st *checkState) restore(jobs []*checkJob, backends []string) (restored, stale int, err error) {
	for _, j := range jobs {
		// Every job's fingerprint is taken now, from the sources as they
		// are when the sweep starts, and is the one its record gets.
		fp, err := st.fp.job(j.act.Name, j.typ)
		if err != nil {
			return 0, 0, err
		}
		rec, ok := st.Jobs[stateKey(j, backends)]
		if !ok {
			continue
		}
		if rec.Fingerprint != fp || !rec.fits(len(j.dirs), len(backends)) {
			stale++
			continue
		}
		j.stats = newStats(len(j.dirs), len(backends))
		for d := range rec.Stats {
			for b := range rec.Stats[d] {
				j.stats[d][b] = rec.Stats[d][b].stats()
			}
		}
		j.special, j.specDone = rec.Special, true
		j.done, j.exact, j.busy = rec.Inputs, rec.Exact, rec.Busy
		j.restored = true
		restored++
	}
	return restored, stale, nil
}

// fits says whether the record has the shape of a job with dirs
// directions on backends backends.
func (rec *jobRecord) fits(dirs, backends int) bool {
	if len(rec.Stats) != dirs || len(rec.Special) != backends {
		return false
	}
	for _, row := range rec.Stats {
		if len(row) != backends {
			return false
		}
	}
	return true
}

// finish records job j, which has swept all its inputs, and writes the
// state file.
func (st *checkState) finish(j *checkJob, backends []string) error {
	fp, err := st.fp.job(j.act.Name, j.typ)
	if err != nil {
		return err
	}
	j.mu.Lock()
	rec := &jobRecord{Fingerprint: fp, Special: j.special, Inputs: j.done, Exact: j.exact, Busy: j.busy}
	for d := range j.stats {
		row := make([]statsRecord, len(j.stats[d]))
		for b := range row {
			row[b] = recordStats(&j.stats[d][b])
		}
		rec.Stats = append(rec.Stats, row)
	}
	j.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.Jobs[stateKey(j, backends)] = rec
	st.Runs[len(st.Runs)-1].Finished++
	return st.write()
}

// startRun and endRun bracket this sitting in the state's list of runs.
func (st *checkState) startRun(start time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.Runs = append(st.Runs, stateRun{Start: start.UTC().Truncate(time.Second)})
}

func (st *checkState) endRun(wall, cpu time.Duration) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	r := &st.Runs[len(st.Runs)-1]
	r.Wall, r.CPU = wall, cpu
	return st.write()
}

// totals sums the wall and CPU time of every run.
func (st *checkState) totals() (wall, cpu time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, r := range st.Runs {
		wall += r.Wall
		cpu += r.CPU
	}
	return wall, cpu
}

// write replaces the state file (through a temporary file and a rename, so
// that a run killed while writing leaves the previous state whole).
func (st *checkState) write() error {
	b, err := json.MarshalIndent(st, "", "\t")
	if err != nil {
		return err
	}
	tmp := st.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, st.path)
}
