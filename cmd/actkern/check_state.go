package main

// The state file of a check run in several sittings (`-state FILE`): the
// full float32 sweep takes longer than one sitting on a small machine, so
// each job that finishes is recorded, and a later run of the same sources
// takes the recorded results instead of sweeping the job again. A job cut
// off by Ctrl-C is not recorded: it is swept again from its start.
//
// The results are valid for the sources that produced them, so the state
// carries a fingerprint of those sources (sourceFingerprint); a state with
// another fingerprint is set aside and the sweep starts afresh.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fingerprintPaths are the files and folders, relative to the module root,
// whose content decides a check's verdicts: the kernels, the reference and
// the judging, the spec, and the module's dependencies.
var fingerprintPaths = []string{
	"go.mod", "go.sum", "spec", "generated", "internal/reference", "internal/testutil",
	"kerneltest", "cmd/actkern/check.go", "cmd/actkern/check_worker.go",
}

// checkState is the state file's content.
type checkState struct {
	Fingerprint string                `json:"fingerprint"`
	Runs        []stateRun            `json:"runs"`
	Jobs        map[string]*jobRecord `json:"jobs"`

	path string
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
	Stats   [][]statsRecord  `json:"stats"` // [dir][backend]
	Special []specialVerdict `json:"special"`
	Inputs  uint64           `json:"inputs"`
	Exact   int64            `json:"exact"`
	Busy    time.Duration    `json:"busy"`
}

// statsRecord is dirStats in a form JSON can hold (NaN and ±Inf occur).
type statsRecord struct {
	N       uint64      `json:"n"`
	MaxULP  jsonFloat   `json:"max_ulp"`
	Worst   pointRecord `json:"worst"`
	NotCR   uint64      `json:"not_cr"`
	Over1   uint64      `json:"over1"`
	Differ  uint64      `json:"differ,omitempty"`
	MaxDiff jsonFloat   `json:"max_diff,omitempty"`
	First   pointRecord `json:"first,omitzero"`
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
	return statsRecord{N: s.N, MaxULP: jsonFloat(s.MaxULP), Worst: recordPoint(s.Worst), NotCR: s.NotCR, Over1: s.Over1,
		Differ: s.Differ, MaxDiff: jsonFloat(s.MaxDiff), First: recordPoint(s.First)}
}

func (r *statsRecord) stats() dirStats {
	return dirStats{N: r.N, MaxULP: float64(r.MaxULP), Worst: r.Worst.point(), NotCR: r.NotCR, Over1: r.Over1,
		Differ: r.Differ, MaxDiff: float64(r.MaxDiff), First: r.First.point()}
}

// stateKey names a job in the state: everything that decides what it
// sweeps, so that a run asking for other inputs or backends sweeps anew.
func stateKey(j *checkJob, backends []string) string {
	return fmt.Sprintf("%s %s (%s) dirs=%s lo=%#x stride=%d count=%d backends=%s",
		j.act.Name, j.typ, j.label, strings.Join(j.dirs, ","), j.lo, j.stride, j.count, strings.Join(backends, ","))
}

// openState reads the state at path for a check of sources with
// fingerprint fp. A missing file is an empty state; a state of other
// sources is reported on warn and replaced.
func openState(path, fp string, warn func(string)) (*checkState, error) {
	st := &checkState{Fingerprint: fp, Jobs: map[string]*jobRecord{}, path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	var old checkState
	if err := json.Unmarshal(b, &old); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to start afresh)", path, err)
	}
	if old.Fingerprint != fp {
		warn(fmt.Sprintf("%s holds results of other sources (%d jobs): starting afresh", path, len(old.Jobs)))
		return st, nil
	}
	if old.Jobs != nil {
		st.Jobs = old.Jobs
	}
	st.Runs = old.Runs
	return st, nil
}

// restore gives every job the state has results for those results, and
// reports how many it restored.
func (st *checkState) restore(jobs []*checkJob, backends []string) int {
	n := 0
	for _, j := range jobs {
		rec, ok := st.Jobs[stateKey(j, backends)]
		if !ok || len(rec.Stats) != len(j.dirs) || len(rec.Special) != len(backends) {
			continue
		}
		j.stats = newStats(len(j.dirs), len(backends))
		for d := range rec.Stats {
			if len(rec.Stats[d]) != len(backends) {
				return n // a malformed record: this and later jobs are swept
			}
			for b := range rec.Stats[d] {
				j.stats[d][b] = rec.Stats[d][b].stats()
			}
		}
		j.special, j.specDone = rec.Special, true
		j.done, j.exact, j.busy = rec.Inputs, rec.Exact, rec.Busy
		j.restored = true
		n++
	}
	return n
}

// finish records job j, which has swept all its inputs, and writes the
// state file.
func (st *checkState) finish(j *checkJob, backends []string) error {
	j.mu.Lock()
	rec := &jobRecord{Special: j.special, Inputs: j.done, Exact: j.exact, Busy: j.busy}
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

// sourceFingerprint hashes the files of fingerprintPaths under the module
// root (found from the working directory up), with the Go version and
// the spec the check uses.
func sourceFingerprint(specBytes []byte) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	var files []string
	for _, p := range fingerprintPaths {
		err := filepath.WalkDir(filepath.Join(root, p), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	slices.Sort(files)
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	h.Write(specBytes)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "\n%s %d\n", filepath.ToSlash(rel), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// moduleRoot is the nearest folder at or above the working directory whose
// go.mod declares actkern's module.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/actkern/actkern\n") {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("-state: run the check inside actkern's module (the state is tied to its source files)")
		}
		dir = up
	}
}
