package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/kerneltest"
)

// benchPkgs are the packages benchmarked, in the order of the report.
var benchPkgs = []struct{ dir, title string }{
	{"./generated/f32", "float32"},
	{"./generated/f64", "float64"},
}

// bench runs the generated packages' benchmarks (every kernel at every ISA
// level beside the plain-Go loop, and copy()), keeps the raw output for
// benchstat and writes the Markdown report of the medians.
func bench(args []string) error {
	fs := newFlags("bench")
	funcs := fs.String("func", "", "comma-separated activation names (default: all)")
	sizes := fs.String("n", "4096,16777216", "comma-separated slice lengths, each one of "+intsString(kerneltest.BenchSizes))
	count := fs.Int("count", 3, "runs of each benchmark; the report shows the median")
	benchtime := fs.String("benchtime", "100ms", "go test -benchtime of each run")
	specPath := fs.String("spec", "spec/activations.yaml", "the spec the packages were generated from")
	out := fs.String("out", "docs/BENCHMARKS.md", "write the Markdown report here (- for standard output)")
	raw := fs.String("raw", "docs/bench/raw.txt", "write the raw go test output here, for benchstat")
	from := fs.String("from", "", "write the report from this raw output instead of running the benchmarks")
	fs.Parse(args)
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}

	s, err := spec.Load(*specPath)
	if err != nil {
		return err
	}
	var data []byte
	if *from != "" {
		if data, err = os.ReadFile(*from); err != nil {
			return err
		}
	} else {
		acts, err := elementwise(s, *funcs)
		if err != nil {
			return err
		}
		ns, err := parseSizes(*sizes)
		if err != nil {
			return err
		}
		if *count < 1 {
			return fmt.Errorf("bench: -count %d: need at least one run", *count)
		}
		if data, err = runBenchmarks(acts, ns, *count, *benchtime, os.Args[1:]); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(*raw), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(*raw, data, 0o644); err != nil {
			return err
		}
	}

	rep, err := parseBench(data, *from)
	if err != nil {
		return err
	}
	md := rep.markdown(s)
	if *out == "-" {
		_, err = os.Stdout.WriteString(md)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(*out, []byte(md), 0o644)
}

func intsString(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// parseSizes reads -n: the generated benchmarks run kerneltest.BenchSizes,
// so only those can be selected.
func parseSizes(list string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || !slices.Contains(kerneltest.BenchSizes, n) {
			return nil, fmt.Errorf("bench: -n %q: sizes must be among %s", f, intsString(kerneltest.BenchSizes))
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// runBenchmarks runs go test on the generated packages and returns its
// output, preceded by configuration lines (date, Go version, command) that
// benchstat and the report read back. Two runs, because a -bench pattern has
// one element per level and BenchmarkCopy/n=… has one level fewer than
// BenchmarkSigmoid/isa=…/n=…. -p 1 keeps the two packages' benchmarks from
// running at the same time; -timeout 0 lifts go test's 10-minute limit.
func runBenchmarks(acts []*spec.Activation, ns []int, count int, benchtime string, cmdline []string) ([]byte, error) {
	var names []string
	for _, a := range acts {
		names = append(names, regexp.QuoteMeta(a.GoName))
	}
	nre := make([]string, len(ns))
	for i, n := range ns {
		nre[i] = strconv.Itoa(n)
	}
	sizes := "^n=(" + strings.Join(nre, "|") + ")$"
	patterns := []string{
		"^Benchmark(" + strings.Join(names, "|") + ")(Backward)?$/^isa=/" + sizes,
		"^BenchmarkCopy$/" + sizes,
	}
	gover, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return nil, fmt.Errorf("bench: go env GOVERSION: %v", err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "date: %s\ngo: %s\ncommand: actkern %s\n\n",
		time.Now().UTC().Format("2006-01-02"), strings.TrimSpace(string(gover)), strings.Join(cmdline, " "))
	for _, pat := range patterns {
		args := []string{"test", "-run", "^$", "-bench", pat, "-count", strconv.Itoa(count), "-benchtime", benchtime, "-timeout", "0", "-p", "1"}
		for _, p := range benchPkgs {
			args = append(args, p.dir)
		}
		fmt.Fprintf(os.Stderr, "actkern bench: go %s\n", strings.Join(args, " "))
		cmd := exec.Command("go", args...)
		// The output goes to the terminal too: a full run takes minutes.
		cmd.Stdout = io.MultiWriter(&buf, os.Stderr)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("bench: go test: %v", err)
		}
	}
	return buf.Bytes(), nil
}

// benchKey identifies one median: a benchmark as benchfmt names it
// (Sigmoid, SigmoidBackward, Copy: no "Benchmark" prefix), the package, the level ("" for copy) and the length.
type benchKey struct {
	bench, pkg, isa string
	n               int
}

type benchStat struct {
	secs, bps []float64 // per run: seconds per call, bytes per second
}

type benchReport struct {
	cpu, goVersion, date, command string
	stats                         map[benchKey]*benchStat
	isas                          []string // levels seen, best first, then plaingo
	sizes                         []int
}

var isaOrder = []string{"avx512", "avx2", "generic", kerneltest.Plain}

// parseBench reads go test -bench output (with benchfmt, as benchstat does).
func parseBench(data []byte, name string) (*benchReport, error) {
	rep := &benchReport{stats: map[benchKey]*benchStat{}}
	seenISA, seenN := map[string]bool{}, map[int]bool{}
	r := benchfmt.NewReader(bytes.NewReader(data), name)
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, rec
		case *benchfmt.Result:
			rep.cpu = rec.GetConfig("cpu")
			rep.goVersion = rec.GetConfig("go")
			rep.date = rec.GetConfig("date")
			rep.command = rec.GetConfig("command")
			base, parts := rec.Name.Parts()
			k := benchKey{bench: string(base), pkg: path2pkg(rec.GetConfig("pkg"))}
			for _, p := range parts {
				key, val, ok := strings.Cut(strings.TrimPrefix(string(p), "/"), "=")
				if !ok {
					continue // -GOMAXPROCS
				}
				switch key {
				case "isa":
					k.isa = val
				case "n":
					n, err := strconv.Atoi(val)
					if err != nil {
						return nil, fmt.Errorf("%s: bad n in %s", name, rec.Name)
					}
					k.n = n
				}
			}
			sec, ok1 := rec.Value("sec/op")
			bps, ok2 := rec.Value("B/s")
			if k.n == 0 || !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: %s lacks n=, sec/op or B/s", name, rec.Name)
			}
			st := rep.stats[k]
			if st == nil {
				st = &benchStat{}
				rep.stats[k] = st
			}
			st.secs = append(st.secs, sec)
			st.bps = append(st.bps, bps)
			if k.isa != "" {
				seenISA[k.isa] = true
			}
			seenN[k.n] = true
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if len(rep.stats) == 0 {
		return nil, errors.New("bench: no benchmark results")
	}
	for _, l := range isaOrder {
		if seenISA[l] {
			rep.isas = append(rep.isas, l)
		}
	}
	for n := range seenN {
		rep.sizes = append(rep.sizes, n)
	}
	sort.Ints(rep.sizes)
	return rep, nil
}

// path2pkg turns an import path into its last element: f32, f64.
func path2pkg(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// get returns the median seconds per call and bytes per second of k.
func (r *benchReport) get(k benchKey) (sec, bps float64, ok bool) {
	st := r.stats[k]
	if st == nil {
		return 0, 0, false
	}
	return median(st.secs), median(st.bps), true
}

func (r *benchReport) markdown(s *spec.Spec) string {
	var b strings.Builder
	b.WriteString(`# Benchmarks

Every kernel of the generated packages at every ISA level this machine runs,
beside the loop a Go programmer would write over package math
(` + "`y[i] = T(f(float64(x[i])))`" + `, **plaingo**), and Go's built-in ` + "`copy()`" + ` of
a slice of the same length. Generated by ` + "`make bench`" + ` (` + "`go run ./cmd/actkern bench`" + `);
the raw ` + "`go test -bench`" + ` output is in [bench/raw.txt](bench/raw.txt), so
` + "`benchstat docs/bench/raw.txt`" + ` shows the spread of every figure.

`)
	fmt.Fprintf(&b, "- CPU: %s\n- Go: %s\n- Date: %s\n- Command: `%s`\n\n", orUnknown(r.cpu), orUnknown(r.goVersion), orUnknown(r.date), orUnknown(r.command))
	b.WriteString(`Each cell is the median over the runs of **ns per element** · **GB/s**
(bytes read plus written: 8 per element for a float32 forward kernel, 12
for its backward, twice that for float64) · **speedup over plaingo**.
Inputs are pseudo-random over [-10, 10). For piecewise-linear activations
(whose kernels only compare, select and scale) the last column is the
fastest level's time over ` + "`copy()`" + `'s at the same length: 1.0× is as fast as
moving the memory at all. Backward kernels read dy and x, so they move
1.5× the bytes of copy.

Forward rows are the activation's name; **backward** rows time
` + "`XBackward(dx, dy, x)`" + `.
`)
	r.bars(&b, s)
	type row struct {
		label, bench string
		pl           bool
	}
	var rows []row
	every, _ := elementwise(s, "")
	for _, a := range every {
		pl := piecewiseLinear(a.Forward.Expr)
		rows = append(rows, row{a.Name, a.GoName, pl}, row{a.Name + " backward", a.GoName + "Backward", pl})
	}
	for _, p := range benchPkgs {
		pkg := path2pkg(p.dir)
		for _, n := range r.sizes {
			var body strings.Builder
			for _, rw := range rows {
				plainSec, _, plainOK := r.get(benchKey{rw.bench, pkg, kerneltest.Plain, n})
				var cells []string
				best := math.Inf(1)
				any := false
				for _, l := range r.isas {
					sec, bps, ok := r.get(benchKey{rw.bench, pkg, l, n})
					if !ok {
						cells = append(cells, "–")
						continue
					}
					any = true
					cell := fmt.Sprintf("%s · %.2f", nsPerElem(sec, n), bps/1e9)
					if l != kerneltest.Plain {
						best = math.Min(best, sec)
						if plainOK {
							cell += fmt.Sprintf(" · %.1f×", plainSec/sec)
						}
					}
					cells = append(cells, cell)
				}
				if !any {
					continue
				}
				ratio := ""
				if copySec, _, ok := r.get(benchKey{"Copy", pkg, "", n}); ok && rw.pl && !math.IsInf(best, 1) {
					ratio = fmt.Sprintf("%.1f×", best/copySec)
				}
				fmt.Fprintf(&body, "| %s | %s | %s |\n", rw.label, strings.Join(cells, " | "), ratio)
			}
			if body.Len() == 0 {
				continue
			}
			fmt.Fprintf(&b, "\n## %s, n = %d\n\n", p.title, n)
			if sec, bps, ok := r.get(benchKey{"Copy", pkg, "", n}); ok {
				fmt.Fprintf(&b, "copy(): %s ns/element, %.2f GB/s.\n\n", nsPerElem(sec, n), bps/1e9)
			}
			b.WriteString("| kernel | " + strings.Join(r.isas, " | ") + " | ÷ copy() |\n|---|")
			b.WriteString(strings.Repeat("---|", len(r.isas)+1) + "\n")
			b.WriteString(body.String())
		}
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// nsPerElem prints seconds per call of n elements as ns per element, with
// three significant digits.
func nsPerElem(sec float64, n int) string {
	v := sec * 1e9 / float64(n)
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// piecewiseLinear reports whether a forward formula is linear in x on each
// piece: x appears only in sums, in products and quotients with factors
// free of x, and under min, max, abs and where (whose conditions only pick
// the piece). Such kernels do no more arithmetic than a few vector
// instructions per element, so copy() is their bar.
func piecewiseLinear(e ast.Expr) bool { return xDegree(e) <= 1 }

// xDegree is the polynomial degree of e in x on each piece, or a large
// number when e is not a piecewise polynomial (exp(x), 1/x, ...).
func xDegree(e ast.Expr) int {
	const nonPoly = 1 << 20
	switch e := e.(type) {
	case *ast.BasicLit:
		return 0
	case *ast.Ident:
		if e.Name == "x" {
			return 1
		}
		return 0 // a parameter or a constant
	case *ast.ParenExpr:
		return xDegree(e.X)
	case *ast.UnaryExpr:
		return xDegree(e.X)
	case *ast.BinaryExpr:
		l, r := xDegree(e.X), xDegree(e.Y)
		switch e.Op {
		case token.ADD, token.SUB:
			return max(l, r)
		case token.MUL:
			return min(l+r, nonPoly)
		case token.QUO:
			if r == 0 {
				return l
			}
			return nonPoly
		}
		return 0 // comparisons and logic: they choose a piece
	case *ast.CallExpr:
		fn, _ := e.Fun.(*ast.Ident)
		var d []int
		for _, a := range e.Args {
			d = append(d, xDegree(a))
		}
		switch {
		case fn == nil:
			return nonPoly
		case fn.Name == "where" && len(d) == 3:
			return max(d[1], d[2])
		case fn.Name == "min" || fn.Name == "max" || fn.Name == "abs":
			return slices.Max(d)
		case fn.Name == "fma" && len(d) == 3:
			return max(min(d[0]+d[1], nonPoly), d[2])
		}
		if slices.Max(append(d, 0)) == 0 {
			return 0 // a function of the parameters only
		}
		return nonPoly
	}
	return nonPoly
}
