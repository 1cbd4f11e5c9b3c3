package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/generated/f32"
	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/testutil"
	"github.com/actkern/actkern/kerneltest"
	builtin "github.com/actkern/actkern/spec"
)

// TestCheckBadInput: every bad flag gives exit status 2 and a message that
// names the problem, and nothing is written, neither on standard output
// nor to -out. (These fail before any sweep or child process starts, so
// they run in-process.)
func TestCheckBadInput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ACCURACY.md")
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown func", []string{"-func", "sigmoid,nope"}, `unknown activation "nope"`},
		{"bad type", []string{"-type", "f16"}, `-type "f16"`},
		{"bad dir", []string{"-dir", "forward,sideways"}, `-dir "forward,sideways"`},
		{"bad isa", []string{"-isa", "sse2"}, `-isa "sse2"`},
		{"range syntax", []string{"-range", "12"}, "want lo:hi"},
		{"range not a number", []string{"-range", "0x10:zz"}, "want lo:hi"},
		{"range empty", []string{"-range", "5:5"}, "lo < hi"},
		{"range too large", []string{"-range", "0:0x100000001"}, "hi <= 0x100000000"},
		{"range without f32", []string{"-type", "f64", "-range", "0:16"}, "leaves float32 out"},
		{"sample without f32", []string{"-type", "f64", "-sample", "100"}, "leaves float32 out"},
		{"no f64 inputs", []string{"-type", "f64", "-n", "0"}, "-n 0"},
		{"progress", []string{"-progress", "0s"}, "-progress"},
		{"positional", []string{"sigmoid"}, "unexpected arguments"},
		{"missing spec", []string{"-spec", filepath.Join(t.TempDir(), "none.yaml")}, "none.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"check", "-out", out}, tc.args...)
			stdout, stderr, code := runCmd(t, "", args...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tc.msg)
			assert.Empty(t, stdout)
			assert.NoFileExists(t, out)
		})
	}
	// An unknown flag: the flag package's message and the usage.
	stdout, stderr, code := runCmd(t, "", "check", "-nope")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "usage: actkern check")
	assert.Empty(t, stdout)
}

func TestParseRange(t *testing.T) {
	lo, hi, err := parseRange("0x3f800000:0x40000000")
	require.NoError(t, err)
	assert.Equal(t, uint64(0x3f800000), lo)
	assert.Equal(t, uint64(0x40000000), hi)
	lo, hi, err = parseRange(" 0 : 4294967296 ")
	require.NoError(t, err)
	assert.Equal(t, uint64(0), lo)
	assert.Equal(t, uint64(1<<32), hi)
}

// f64Input must reach every binade of both signs within 2·2047 inputs
// after the special values, which come first.
func TestF64InputBinades(t *testing.T) {
	sp := testutil.Special[float64]()
	for i, v := range sp {
		assert.True(t, testutil.SameBits(v, f64Input(uint64(i))))
	}
	seen := map[uint64]bool{}
	for i := range uint64(2 * 2047) {
		b := math.Float64bits(f64Input(uint64(len(sp)) + i))
		seen[b>>52] = true // sign and exponent
	}
	assert.Len(t, seen, 2*2047)
}

// dirStats must merge to the same result in any order: the worst input is
// the largest error, the first input on ties.
func TestDirStatsMerge(t *testing.T) {
	pt := func(key uint64, ulp float64) func(float64) sweepPoint {
		return func(u float64) sweepPoint { return sweepPoint{key: key, ULP: u, X: float64(key)} }
	}
	var a, b dirStats
	a.add(0, 1, pt(1, 0))
	a.add(2, 5, pt(5, 2))
	b.add(2, 3, pt(3, 2))
	b.add(1, 4, pt(4, 1))
	b.differ(sweepPoint{key: 4, ULP: 3})
	ab, ba := a, b
	ab.merge(&b)
	ba.merge(&a)
	for _, m := range []dirStats{ab, ba} {
		assert.Equal(t, uint64(4), m.N)
		assert.Equal(t, 2.0, m.MaxULP)
		assert.Equal(t, uint64(3), m.Worst.key, "ties go to the first input")
		assert.Equal(t, uint64(3), m.NotCR)
		assert.Equal(t, uint64(2), m.Over1)
		assert.Equal(t, uint64(1), m.Differ)
		assert.Equal(t, 3.0, m.MaxDiff)
	}
}

// A zero of the wrong sign is 0 ULP off but not correctly rounded: judged
// counts it in NotCR and ZeroSign, and the report calls it a violation.
func TestJudgedZeroSign(t *testing.T) {
	pt := func(u float64) sweepPoint { return sweepPoint{ULP: u} }
	var s dirStats
	negZero := float32(math.Copysign(0, -1))
	judged(&s, negZero, 0, 1, pt)
	judged(&s, negZero, negZero, 2, pt)
	judged(&s, float32(1), 1, 3, pt)
	assert.Equal(t, uint64(3), s.N)
	assert.Equal(t, 0.0, s.MaxULP)
	assert.Equal(t, uint64(1), s.NotCR)
	assert.Equal(t, uint64(1), s.ZeroSign)
	var o dirStats
	o.merge(&s)
	assert.Equal(t, uint64(1), o.ZeroSign)
	rec := recordStats(&s)
	assert.Equal(t, s, rec.stats())
}

// The worker protocol, served in-process over pipes: outputs and block
// hashes must be those of the kernels called directly.
func TestWorkerProtocol(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- serveWorker(inR, outW); outW.Close() }()
	w := &worker{isa: f32.ISA(), in: inW, w: bufio.NewWriter(inW), r: bufio.NewReader(outR)}
	var hello workResponse
	require.NoError(t, readHeader(w.r, &hello))
	assert.Equal(t, f32.ISA(), hello.ISA)

	xs := make([]float32, 3000)
	for i := range xs {
		xs[i] = float32(i-1500) / 97
	}
	ys := make([]float32, len(xs))
	a, err := f32.New("elu", f32.Params{"alpha": 0.5})
	require.NoError(t, err)
	a.Forward(ys, xs)
	specs := []outSpec{{Dir: kerneltest.Forward}, {Dir: kerneltest.Backward, DY: 0.75}, {Dir: kerneltest.BackwardFromOutput, DY: -1}}
	req := workRequest{Type: "f32", Func: "elu", Params: map[string]float64{"alpha": 0.5}, Out: specs}
	outs, err := workerOutputs(w, req, xs, ys)
	require.NoError(t, err)
	want := make([][]float32, 3)
	for i := range want {
		want[i] = make([]float32, len(xs))
	}
	dy := make([]float32, len(xs))
	a.Forward(want[0], xs)
	for i := range dy {
		dy[i] = 0.75
	}
	a.Backward(want[1], dy, xs)
	for i := range dy {
		dy[i] = -1
	}
	a.BackwardFromOutput(want[2], dy, ys)
	assert.Equal(t, want, outs)
	hs, err := workerHashes(w, req, xs, ys, 1024)
	require.NoError(t, err)
	for s := range want {
		assert.Equal(t, blockHashes(want[s], 1024), hs[s])
	}
	// Inputs given as bit patterns lo + i·stride: the worker makes the same
	// xs, and only ys travel.
	bits := make([]float32, 2500)
	for i := range bits {
		bits[i] = math.Float32frombits(0xbf000000 + uint32(i)*3)
	}
	a.Forward(ys[:len(bits)], bits)
	genReq := req
	genReq.XLo, genReq.XStride = 0xbf000000, 3
	hsGen, err := workerHashes(w, genReq, bits, ys[:len(bits)], 1024)
	require.NoError(t, err)
	hsSent, err := workerHashes(w, req, bits, ys[:len(bits)], 1024)
	require.NoError(t, err)
	assert.Equal(t, hsSent, hsGen)

	// One changed value changes its block's hash, and only that one.
	changed := append([]float32(nil), want[0]...)
	changed[2000] = math.Nextafter32(changed[2000], 10)
	h0, h1 := blockHashes(want[0], 1024), blockHashes(changed, 1024)
	assert.Equal(t, h0[0], h1[0])
	assert.NotEqual(t, h0[1], h1[1])
	assert.Equal(t, h0[2], h1[2])

	// A bad request is an error answer, and the worker goes on serving.
	_, err = workerOutputs(w, workRequest{Type: "f32", Func: "nope", Out: specs[:1]}, xs[:4], nil)
	assert.ErrorContains(t, err, "unknown activation")
	_, err = workerOutputs(w, req, xs[:4], ys[:4])
	assert.NoError(t, err)
	inW.Close()
	require.NoError(t, <-done)
}

// checkBin runs the built command (a check starts child processes, which
// must be actkern itself).
func checkBin(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(actkernBinary(t), append([]string{"check"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errOut.String(), code
}

// reportRows returns the rows of a report's float32 and float64 tables, by
// type and their first four cells (activation, params, direction, backend)
// joined with spaces: "f32 sigmoid default forward avx2".
func reportRows(report string) map[string][]string {
	rows := map[string][]string{}
	typ := ""
	for _, line := range strings.Split(report, "\n") {
		switch line {
		case "## float32":
			typ = "f32"
		case "## float64":
			typ = "f64"
		case "## Worst kernels":
			typ = ""
		}
		cells := strings.Split(line, "|")
		if len(cells) < 12 || !strings.HasPrefix(line, "| ") {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if typ != "" {
			rows[typ+" "+strings.Join(cells[1:5], " ")] = cells[1 : len(cells)-1]
		}
	}
	return rows
}

// TestCheckSweep sweeps a small range with every backend and checks the
// verdict against one computed here, input by input, with the exact
// reference alone (no fast path): the max ULP, where it occurs, and how
// many results are not correctly rounded.
func TestCheckSweep(t *testing.T) {
	const lo, hi = 0x9c000, 0x9e000 // subnormal x, where GELU is found 1 ULP off
	report, stderr, code := checkBin(t, "-func", "gelu,relu", "-type", "f32", "-dir", "forward,backward", "-range", fmt.Sprintf("%#x:%#x", lo, hi), "-progress", "1h")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, report, "every bit pattern in [0x9c000, 0x9e000)")
	assert.Contains(t, report, "dy in {1, -1, 0.75, 3.5, 0.001}")
	assert.NotContains(t, report, "PARTIAL")
	rows := reportRows(report)

	s, err := spec.Parse(builtin.File, builtin.YAML)
	require.NoError(t, err)
	sw, err := kerneltest.NewSweep[float32](kerneltest.FromSpec(s.Lookup("gelu")), nil)
	require.NoError(t, err)
	judge, err := sw.NewJudge()
	require.NoError(t, err)
	a, err := f32.New("gelu", nil)
	require.NoError(t, err)
	n := hi - lo
	xs, got := make([]float32, n), make([]float32, n)
	for i := range xs {
		xs[i] = math.Float32frombits(uint32(lo + i))
	}
	a.Forward(got, xs)
	maxULP, notCR, worst := 0.0, 0, float32(0)
	for i, x := range xs {
		want, err := judge.Want(kerneltest.Forward, x, 1, math.NaN(), nil) // NaN: always exact
		require.NoError(t, err)
		u := testutil.ULP(got[i], want)
		if u > 0 {
			notCR++
		}
		if u > maxULP {
			maxULP, worst = u, x
		}
	}
	t.Logf("gelu forward over %d inputs: max %v ULP at %v, %d not correctly rounded", n, maxULP, worst, notCR)
	backends := 0
	for _, isa := range isaLevels {
		row, ok := rows["f32 gelu default forward "+isa]
		if !ok {
			continue
		}
		backends++
		assert.Equal(t, strconv.Itoa(n), row[4], "inputs")
		assert.Equal(t, fmtULP(maxULP), row[5], "%s max ULP", isa)
		if maxULP > 0 {
			assert.Contains(t, row[6], "x="+fmtVal("f32", float64(worst))+":", "%s worst input", isa)
		}
		assert.Equal(t, strconv.Itoa(notCR), row[7], "%s not CR", isa)
		if isa != "generic" {
			assert.Equal(t, "bit-identical", row[10])
		}
		// Backward: five dy values per input.
		assert.Equal(t, strconv.Itoa(n), rows["f32 gelu default backward "+isa][4])
		// relu is exact everywhere, and its specials hold.
		relu := rows["f32 relu default forward "+isa]
		require.NotNil(t, relu)
		assert.Equal(t, "0", relu[5])
		assert.Equal(t, "0", relu[7])
		assert.Regexp(t, `^\d+/\d+ exact$`, relu[9])
	}
	assert.GreaterOrEqual(t, backends, 1)
	assert.Contains(t, report, "## Worst kernels")
}

// TestCheckSample: -sample checks that many inputs, strided over the range,
// and the report says it is a sample; float64 checks -n inputs.
func TestCheckSample(t *testing.T) {
	report, stderr, code := checkBin(t, "-func", "sigmoid", "-dir", "forward", "-sample", "5000", "-n", "300", "-isa", "generic", "-progress", "1h")
	require.Equal(t, 0, code, stderr)
	rows := reportRows(report)
	assert.Equal(t, "5000", rows["f32 sigmoid default forward generic"][4])
	assert.Equal(t, "300", rows["f64 sigmoid default forward generic"][4])
	assert.Contains(t, report, "5000 inputs evenly strided")
	assert.Contains(t, report, "## float64")
}

var progressLine = regexp.MustCompile(`^actkern check: \d+\.\d% \(\d+ of \d+ inputs\), [0-9.]+[kMG]? inputs/s, elapsed \S+, ETA \S+; at [a-z_0-9]+ f(32|64) \S+$`)
var finalLine = regexp.MustCompile(`^actkern check: \d+\.\d% \(\d+ of \d+ inputs\) in \S+, [0-9.]+[kMG]? inputs/s$`)

// TestCheckPartial interrupts a long check with SIGINT once it has made
// progress: it must print what it found, write the report marked PARTIAL
// with the inputs it covered, and exit with status 2. The progress lines
// (standard error is not a terminal here) must have the plain format.
func TestCheckPartial(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ACCURACY.md")
	cmd := exec.Command(actkernBinary(t), "check", "-func", "mish", "-type", "f32", "-isa", "generic", "-progress", "200ms", "-out", out)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stderr)
	var lines []string
	sent := false
	deadline := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if !sent && strings.Contains(sc.Text(), "inputs/s") && !strings.HasPrefix(sc.Text(), "actkern check: 0.0%") {
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			sent = true
		}
	}
	err = cmd.Wait()
	require.True(t, sent, "no progress line seen:\n%s", strings.Join(lines, "\n"))
	exit, ok := err.(*exec.ExitError)
	require.True(t, ok, "%v", err)
	assert.Equal(t, 2, exit.ExitCode())
	text := strings.Join(lines, "\n")
	assert.Contains(t, text, "interrupted after")
	assert.Contains(t, text, "what was found so far")
	assert.Contains(t, text, "mish f32 forward generic (default): max ")
	assert.Contains(t, text, "partial report (marked PARTIAL)")
	progress := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "actkern check: ") && strings.Contains(l, "inputs/s") {
			if progressLine.MatchString(l) {
				progress++
			} else {
				assert.Regexp(t, finalLine, l)
			}
		}
	}
	assert.Positive(t, progress)

	b, err := os.ReadFile(out)
	require.NoError(t, err)
	report := string(b)
	assert.True(t, strings.HasPrefix(report, "# Accuracy (PARTIAL)\n"), report[:min(200, len(report))])
	assert.Contains(t, report, "**PARTIAL REPORT.**")
	row := reportRows(report)["f32 mish default forward generic"]
	require.NotNil(t, row)
	assert.Regexp(t, `^\d+ of 4294967296$`, row[4])
}

// TestCheckViolations: the verdict that makes the check (and CI's sampled
// sweep) fail names each kernel over the bar, differing from generic or
// missing a special value, and nothing else.
func TestCheckViolations(t *testing.T) {
	s, err := spec.Parse(builtin.File, builtin.YAML)
	require.NoError(t, err)
	job := &checkJob{act: s.Lookup("sigmoid"), typ: "f32", label: "default", dirs: []string{kerneltest.Forward, kerneltest.Backward},
		stats: newStats(2, 2), special: make([]specialVerdict, 2)}
	rep := &checkReport{jobs: []*checkJob{job}, backends: []string{"generic", "avx2"}}
	assert.Empty(t, rep.violations())

	job.stats[0][1].add(3, 7, func(u float64) sweepPoint { return sweepPoint{key: 7, ULP: u, X: 0.5} })
	job.stats[1][0].differ(sweepPoint{key: 9, ULP: 1})
	job.special[1].Failures = []string{"x = -Inf: got NaN"}
	v := rep.violations()
	require.Len(t, v, 4, "%q", v) // the ULP, the difference, and the special value on both directions of avx2
	assert.Contains(t, v[0], "sigmoid default f32 forward on avx2: 3 ULP (bar 2)")
}

// judgeChunk must give, for every backend, what judging each result on its
// own gives: against Want with every backend's result at that input (the
// exact value wherever one disagrees with the fast one). Here a fake
// backend differs from generic at a few results, so both the screened path
// (specs where it agrees everywhere) and the result-by-result path run.
func TestJudgeChunk(t *testing.T) {
	s, err := spec.Parse(builtin.File, builtin.YAML)
	require.NoError(t, err)
	for _, name := range []string{"elu", "hardswish", "gelu"} {
		o := &checkOptions{dirs: []string{kerneltest.Forward, kerneltest.Backward, kerneltest.BackwardFromOutput}, types: []string{"f32"}, lo: 0xbf7ff000, hi: 0xbf801000}
		jobs, err := planCheck([]*spec.Activation{s.Lookup(name)}, o)
		require.NoError(t, err)
		sj := jobs[0].run.(*sweepJob[float32])
		const i0 = 100
		n := int(jobs[0].count) - i0
		sc := &scratch[float32]{xs: make([]float32, n), ys: make([]float32, n)}
		for i := range sc.xs {
			sc.xs[i] = sj.input(i0 + uint64(i))
		}
		var ys []float32
		if sj.needY {
			ys = sc.ys
			sj.local.forward(ys, sc.xs)
		}
		local := make([][]float32, len(sj.specs))
		for sp := range local {
			local[sp] = make([]float32, n)
		}
		require.NoError(t, sj.local.compute(sj.specs, sc.xs, ys, local, nil))
		judge, err := sj.sw.NewJudge()
		require.NoError(t, err)
		fwd, bwd, fy := make([]float64, n), make([]float64, n), make([]float64, n)
		require.NoError(t, judge.FastX(sc.xs, fwd, bwd))
		if ys != nil {
			require.NoError(t, judge.FastY(ys, fy))
		} else {
			fy = nil
		}
		sc.special = judge.SpecialIndices(sc.xs, nil)
		// The fake backend: generic's outputs, but 1 ULP up at a few inputs
		// of spec 1 (backward, dy = 1), and far off at one (not NaN, which
		// would make the stats compare unequal to themselves).
		fake := slices.Clone(local)
		fake[1] = slices.Clone(local[1])
		for _, i := range []int{3, 700, 2048, 4000} {
			fake[1][i] = math.Nextafter32(fake[1][i], float32(math.Inf(1)))
		}
		fake[1][1000] *= 3
		per := [][][]float32{local, fake}
		res, err := sj.judgeChunk(t.Context(), sc, judge, i0, ys, local, per, fwd, bwd, fy)
		require.NoError(t, err)

		// Result by result.
		want := newStats(len(jobs[0].dirs), 2)
		for sp, spec := range sj.specs {
			d := sj.sDir[sp]
			dir := jobs[0].dirs[d]
			for i := range n {
				in, f := sc.xs[i], fwd[i]
				switch dir {
				case kerneltest.Backward:
					f = bwd[i]
				case kerneltest.BackwardFromOutput:
					in, f = ys[i], fy[i]
				}
				gots := []float32{local[sp][i]}
				if sp == 1 {
					gots = append(gots, fake[sp][i])
				}
				ref, err := judge.Want(dir, in, float32(spec.DY), f, gots)
				require.NoError(t, err)
				for b := range 2 {
					got := per[b][sp][i]
					p := sj.point(i0, i, sp, dir, ys, float32(spec.DY), got, ref, 0)
					want[d][b].add(testutil.ULP(got, ref), p.key, func(u float64) sweepPoint { p.ULP = u; return p })
					if b == 1 && !testutil.SameBits(got, local[sp][i]) {
						want[d][b].differ(sj.point(i0, i, sp, dir, ys, float32(spec.DY), got, local[sp][i], testutil.ULP(got, local[sp][i])))
					}
				}
			}
		}
		assert.Equal(t, want, res.stats, name)
		assert.Equal(t, uint64(5), res.stats[1][1].Differ, name)
	}
}

// backendOutputs fetches from a worker exactly the blocks whose hashes
// differ from generic's, and takes every other output from generic. Here
// "generic" (local) is the worker's own kernels' output with a few values
// changed, so the fetched blocks must bring the worker's values back.
func TestBackendOutputs(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- serveWorker(inR, outW); outW.Close() }()
	w := &worker{isa: f32.ISA(), in: inW, w: bufio.NewWriter(inW), r: bufio.NewReader(outR)}
	var hello workResponse
	require.NoError(t, readHeader(w.r, &hello))

	s, err := spec.Parse(builtin.File, builtin.YAML)
	require.NoError(t, err)
	o := &checkOptions{dirs: []string{kerneltest.Forward, kerneltest.Backward, kerneltest.BackwardFromOutput}, types: []string{"f32"}, lo: 0x3f000000, hi: 0x3f000000 + 5000}
	jobs, err := planCheck([]*spec.Activation{s.Lookup("sigmoid")}, o)
	require.NoError(t, err)
	sj := jobs[0].run.(*sweepJob[float32])
	n := int(jobs[0].count)
	sc := &scratch[float32]{xs: make([]float32, n), ys: make([]float32, n)}
	for i := range sc.xs {
		sc.xs[i] = sj.input(uint64(i))
	}
	sj.local.forward(sc.ys, sc.xs)
	truth := make([][]float32, len(sj.specs))
	for sp := range truth {
		truth[sp] = make([]float32, n)
	}
	require.NoError(t, sj.local.compute(sj.specs, sc.xs, sc.ys, truth, nil))
	local := make([][]float32, len(truth))
	for sp := range local {
		local[sp] = slices.Clone(truth[sp])
	}
	local[2][10] += 1      // block 0 of spec 2
	local[4][4999] = 0.125 // the last, partial block of spec 4

	st := &goState{backends: []string{"generic", w.isa}, workers: []*worker{nil, w}}
	req := sj.request()
	req.XLo, req.XStride = jobs[0].lo, 1
	require.NoError(t, sendHashes(w, req, sc.xs, sc.ys, hashBlock))
	per, err := sj.backendOutputs(st, sc, local)
	require.NoError(t, err)
	require.Len(t, per, 2)
	assert.Equal(t, local, per[0])
	assert.Equal(t, truth, per[1])
	for sp := range local {
		// Specs without a difference share generic's slice (and verdicts).
		shared := &per[1][sp][0] == &local[sp][0]
		assert.Equal(t, sp != 2 && sp != 4, shared, "spec %d", sp)
	}
	inW.Close()
	require.NoError(t, <-done)
}
