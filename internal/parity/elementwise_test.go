package parity

import (
	"flag"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/generated/f32"
	"github.com/actkern/actkern/generated/f64"
	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/testutil"
	"github.com/actkern/actkern/kerneltest"
)

var writeDoc = flag.Bool("parity.write", false, "write docs/PYTORCH.md from the measurements")

const (
	specPath = "../../spec/activations.yaml"
	dataDir  = "testdata"
	docPath  = "../../docs/PYTORCH.md"
)

// kernel is one of our activations, bound to its parameters, in type T.
type kernel[T float32 | float64] struct {
	fwd func(dst, x []T)
	bwd func(dx, dy, x []T)
}

func newKernel[T float32 | float64](name string, p map[string]float64) (kernel[T], error) {
	var k kernel[T]
	switch kk := any(&k).(type) {
	case *kernel[float32]:
		a, err := f32.New(name, f32.Params(p))
		if err != nil {
			return k, err
		}
		kk.fwd, kk.bwd = a.Forward, a.Backward
	case *kernel[float64]:
		a, err := f64.New(name, f64.Params(p))
		if err != nil {
			return k, err
		}
		kk.fwd, kk.bwd = a.Forward, a.Backward
	}
	return k, nil
}

// label names a parameter set as the generated tests do: "default" or
// "beta=2,threshold=10".
func label(set map[string]float64) string {
	if len(set) == 0 {
		return "default"
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.FormatFloat(set[k], 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// measured is one row of docs/PYTORCH.md: PyTorch's and our largest error
// against the correctly rounded value over the same inputs.
type measured struct {
	name, label, typ, dir string
	n                     int
	torchULP, oursULP     float64
	torchX, oursX         float64 // the inputs where each is worst (first on ties)
	torchDY               float64
	order                 int // spec order, for the table
}

// difference is a special value or kink gradient where our bits are not
// PyTorch's.
type difference struct {
	name, label, typ, kind, src, dir string
	x, ours, torchScalar, torchVec   float64
	deviation                        string // the spec's deviation that explains it; "" if none
	torchSplit                       bool   // PyTorch's scalar and vectorised loops disagree (and we match one)
}

type results struct {
	mu    sync.Mutex
	rows  []measured
	diffs []difference
}

func (r *results) add(m ...measured) {
	r.mu.Lock()
	r.rows = append(r.rows, m...)
	r.mu.Unlock()
}

func (r *results) diff(d difference) {
	r.mu.Lock()
	r.diffs = append(r.diffs, d)
	r.mu.Unlock()
}

func loadSpec(t *testing.T) *spec.Spec {
	t.Helper()
	s, err := spec.Load(specPath)
	require.NoError(t, err)
	return s
}

// TestElementwise compares every elementwise kernel with PyTorch: special
// values and kink gradients bit for bit (unless a spec deviation explains the
// difference), and the error of both against the correctly rounded value
// elsewhere, ours held to the accuracy bar.
func TestElementwise(t *testing.T) {
	sp := loadSpec(t)
	checkExemptions(t, sp)
	var res results
	t.Run("f32", func(t *testing.T) { elementwise[float32](t, sp, &res) })
	t.Run("f64", func(t *testing.T) { elementwise[float64](t, sp, &res) })
	for _, d := range res.diffs {
		t.Logf("differs from PyTorch: %s", d)
	}
	if *writeDoc {
		// Written even when differences fail the test: the document marks
		// them, and it is how they are reviewed.
		if len(res.rows) == 0 {
			t.Fatal("nothing measured: not writing docs/PYTORCH.md")
		}
		require.NoError(t, os.WriteFile(docPath, renderDoc(sp, &res), 0o644))
		t.Logf("wrote %s", filepath.Clean(docPath))
	}
}

func (d difference) String() string {
	s := fmt.Sprintf("%s %s %s %s x=%s (%v) %s: ours %v, PyTorch %v", d.name, d.typ, d.label, d.kind, d.src, d.x, d.dir, d.ours, d.torchScalar)
	if d.torchSplit || !sameBits(d.torchScalar, d.torchVec) {
		s += fmt.Sprintf(" (vectorised %v)", d.torchVec)
	}
	if d.deviation != "" {
		s += " — spec deviation: " + d.deviation
	}
	return s
}

func sameBits(a, b float64) bool {
	return testutil.SameBits(a, b)
}

func elementwise[T float32 | float64](t *testing.T, sp *spec.Spec, res *results) {
	var g Elementwise
	require.NoError(t, Load[T](dataDir, "elementwise", &g))
	xs, err := Decode[T](g.X)
	require.NoError(t, err)
	dys, err := Decode[T](g.DY)
	require.NoError(t, err)
	require.Len(t, dys, len(xs))

	// The goldens must cover the spec: every elementwise activation at its
	// defaults and every test parameter set, nothing more.
	want := map[string]bool{}
	var order []string
	for _, a := range sp.Activations {
		if a.Kind != "" && a.Kind != "elementwise" {
			continue
		}
		for _, set := range append([]map[string]float64{nil}, a.TestParams...) {
			key := a.Name + " " + label(set)
			want[key] = true
			order = append(order, key)
		}
	}
	have := map[string]bool{}
	for _, c := range g.Cases {
		have[c.Name+" "+label(c.Set)] = true
	}
	for _, k := range order {
		if !have[k] {
			t.Errorf("goldens have no case %q: the spec changed, run `make goldens`", k)
		}
	}
	for k := range have {
		if !want[k] {
			t.Errorf("goldens have case %q, which the spec does not list: run `make goldens`", k)
		}
	}

	t.Run("cases", func(t *testing.T) {
		for _, c := range g.Cases {
			a := sp.Lookup(c.Name)
			if a == nil {
				continue // reported above
			}
			idx := slices.Index(order, c.Name+" "+label(c.Set))
			t.Run(c.Name+"/"+label(c.Set), func(t *testing.T) {
				t.Parallel()
				elementwiseCase[T](t, a, c, xs, dys, idx, res)
			})
		}
	})
}

func elementwiseCase[T float32 | float64](t *testing.T, a *spec.Activation, c ElementwiseCase, xs, dys []T, order int, res *results) {
	typ := TypeName[T]()
	lab := label(c.Set)
	k, err := newKernel[T](c.Name, c.Params)
	require.NoError(t, err)

	// The reference sees the parameters as our kernel does: rounded to T.
	names := a.ParamNames()
	params := a.ParamValues(c.Set)
	for i := range params {
		params[i] = float64(T(params[i]))
	}
	consts := a.Consts(typ)
	dyName := "dy"
	for slices.Contains(names, dyName) {
		dyName += "_"
	}
	fwdRef, err := reference.CompileString(a.Forward.Expanded, append([]string{"x"}, names...), consts)
	require.NoError(t, err)
	bwdRef, err := reference.CompileString(dyName+"*("+a.Derivative.Expanded+")", append([]string{"x", dyName}, names...), consts)
	require.NoError(t, err)

	// Points: special values and kink gradients are compared bit for bit;
	// forward values at kinks, everything at kink neighbours, and products
	// dy*f'(x) that must round are measured with the random inputs.
	torchY, err := Decode[T](c.Random.Y)
	require.NoError(t, err)
	torchG, err := Decode[T](c.Random.G)
	require.NoError(t, err)
	require.Len(t, torchY, len(xs))
	require.Len(t, torchG, len(xs))
	// Measured inputs: forward (fx, ftorch) and backward (bx, bdy, btorch).
	// At points, PyTorch's vectorised result stands for PyTorch: it is what
	// a real tensor gets.
	fx, ftorch := slices.Clone(xs), slices.Clone(torchY)
	bx, bdy, btorch := slices.Clone(xs), slices.Clone(dys), slices.Clone(torchG)
	nSpecial, nKink := 0, 0
	for _, p := range c.Points {
		x := mustDecode1[T](t, p.X)
		dy := mustDecode1[T](t, p.DY)
		// grad is the spec's f'(x) at a special value or kink: the
		// special table's backward cell or the kink's gradient.
		var grad string
		switch p.Kind {
		case "special":
			require.Less(t, nSpecial, len(a.Special), "%s: more special points than the spec has: run `make goldens`", c.Name)
			sr := a.Special[nSpecial]
			require.Equal(t, sr.X.Src, p.Src, "%s: special point %d: run `make goldens`", c.Name, nSpecial)
			grad = sr.Backward.Expanded
			nSpecial++
		case "kink":
			require.Less(t, nKink, len(a.Kinks), "%s: more kinks than the spec has: run `make goldens`", c.Name)
			kr := a.Kinks[nKink]
			require.Equal(t, kr.At.Src, p.Src, "%s: kink %d: run `make goldens`", c.Name, nKink)
			grad = kr.Gradient.Expanded
			nKink++
		}
		if p.Kind != "near_kink" {
			// The golden's x must be the spec's, exactly rounded.
			f, err := reference.CompileString(p.Src, names, consts)
			require.NoError(t, err, "%s: point %q", c.Name, p.Src)
			var want T
			if testutil.Is32[T]() {
				want = T(f.Float32(params...))
			} else {
				want = T(f.Float64(params...))
			}
			require.True(t, testutil.SameBits(x, want), "%s %s: golden x for %q is %v, the spec gives %v: run `make goldens`", c.Name, lab, p.Src, x, want)
		}
		ours := run1(k, x, dy)
		torch := [3][2]T{
			{mustDecode1[T](t, p.Y), mustDecode1[T](t, p.YV)},
			{mustDecode1[T](t, p.G1), mustDecode1[T](t, p.G1V)},
			{mustDecode1[T](t, p.G2), mustDecode1[T](t, p.G2V)},
		}
		dirs := [3]string{"forward", "backward (dy=1)", fmt.Sprintf("backward (dy=%v)", dy)}
		switch p.Kind {
		case "special", "kink":
			from := 0
			if p.Kind == "kink" {
				// A kink's forward value is an ordinary value; its
				// gradient is what PyTorch defines.
				from = 1
				fx, ftorch = append(fx, x), append(ftorch, torch[0][1])
			}
			for d := from; d < 3; d++ {
				if d == 2 && !exactProduct(t, grad, append([]float64{float64(x)}, params...), append([]string{"x"}, names...), consts, dy) {
					// dy*f'(x) must round (mish'(0) = 0.6 times -1.5):
					// an accuracy question, not one of semantics.
					bx, bdy, btorch = append(bx, x), append(bdy, dy), append(btorch, torch[2][1])
					continue
				}
				compare(t, res, a, lab, typ, p, d, dirs[d], float64(x), float64(ours[d]), float64(torch[d][0]), float64(torch[d][1]))
			}
		case "near_kink":
			fx, ftorch = append(fx, x), append(ftorch, torch[0][1])
			bx, bdy, btorch = append(bx, x, x), append(bdy, 1, dy), append(btorch, torch[1][1], torch[2][1])
		default:
			t.Fatalf("unknown point kind %q", p.Kind)
		}
	}

	oursY := make([]T, len(fx))
	k.fwd(oursY, fx)
	oursG := make([]T, len(bx))
	k.bwd(oursG, bdy, bx)

	act := kerneltest.FromSpec(a)
	for _, dir := range []string{kerneltest.Forward, kerneltest.Backward} {
		m := measured{name: c.Name, label: lab, typ: typ, dir: dir, order: order}
		var in, dy, ours, torch []T
		if dir == kerneltest.Forward {
			in, ours, torch = fx, oursY, ftorch
		} else {
			in, dy, ours, torch = bx, bdy, oursG, btorch
		}
		m.n = len(in)
		for i, x := range in {
			var exact T
			if dir == kerneltest.Forward {
				exact = exactT(fwdRef, append([]float64{float64(x)}, params...), ours[i], torch[i])
			} else {
				exact = exactT(bwdRef, append([]float64{float64(x), float64(dy[i])}, params...), ours[i], torch[i])
			}
			if u := testutil.ULP(torch[i], exact); u > m.torchULP {
				m.torchULP, m.torchX = u, float64(x)
				if dy != nil {
					m.torchDY = float64(dy[i])
				}
			}
			if u := testutil.ULP(ours[i], exact); u > m.oursULP {
				m.oursULP, m.oursX = u, float64(x)
			}
		}
		bar, _ := kerneltest.Bar[T](act, dir)
		if m.oursULP > bar {
			t.Errorf("%s %s %s %s: our max error %v ULP at x=%v is over the bar (%v ULP)", c.Name, typ, lab, dir, m.oursULP, m.oursX, bar)
		}
		res.add(m)
	}
}

// exactT is the exact value of f(args) rounded once to T. For float32 the
// fast float64 evaluation decides when its rounding is not in doubt (away
// from a float32 rounding boundary) and agrees with both results being
// judged; otherwise, and always for float64, the big.Float evaluation does.
func exactT[T float32 | float64](f *reference.Func, args []float64, ours, torch T) T {
	if testutil.Is32[T]() {
		v := f.Fast(args...)
		if !math.IsNaN(v) && !math.IsInf(v, 0) && !nearBoundary32(v) {
			w := T(float32(v))
			if testutil.ULP(ours, w) == 0 && testutil.ULP(torch, w) == 0 {
				return w
			}
		}
		return T(f.Float32(args...))
	}
	return T(f.Float64(args...))
}

// nearBoundary32 reports whether v is within 2^-20 float32 ULP of a
// midpoint between two adjacent float32 values (or of the overflow
// threshold), where the fast path's few float64 ULPs of error could change
// the float32 rounding.
func nearBoundary32(v float64) bool {
	a := math.Abs(v)
	if a >= math.MaxFloat32 {
		return math.Abs(a-(math.MaxFloat32+0x1p103)) < 0x1p104*0x1p-20
	}
	w := float32(a)
	if float64(w) == a {
		return false
	}
	toward := float32(math.MaxFloat32)
	if a < float64(w) {
		toward = 0
	}
	o := math.Nextafter32(w, toward)
	mid := (float64(w) + float64(o)) / 2
	ulp := math.Abs(float64(o) - float64(w))
	return math.Abs(a-mid) < ulp*0x1p-20
}

// exactProduct reports whether dy*f'(x) is a value of T, f'(x) given by the
// spec formula grad evaluated exactly: then every correct kernel gives the
// same bits for it and a difference is one of semantics (a sign of zero, a
// NaN), not of rounding. It is false where f'(x) itself is not a value of T
// (mish'(0) = 0.6) or the product must round.
func exactProduct[T float32 | float64](t *testing.T, grad string, args []float64, vars []string, consts map[string]string, dy T) bool {
	t.Helper()
	f, err := reference.CompileString(grad, vars, consts)
	require.NoError(t, err, "gradient %q", grad)
	nums := make([]reference.Num, len(args))
	for i, v := range args {
		nums[i] = reference.NumFloat64(v)
	}
	v := f.BigNum(256, nums...)
	if v.NaN || v.F.IsInf() || v.F.Sign() == 0 {
		return true
	}
	var g T
	if testutil.Is32[T]() {
		f32, acc := v.F.Float32()
		if acc != big.Exact {
			return false
		}
		g = T(f32)
	} else {
		f64, acc := v.F.Float64()
		if acc != big.Exact {
			return false
		}
		g = T(f64)
	}
	p := float64(dy) * float64(g)
	if testutil.Is32[T]() {
		// The float64 product of two float32 values is exact.
		return float64(float32(p)) == p
	}
	return math.FMA(float64(dy), float64(g), -p) == 0
}

// run1 is our forward, backward with dy = 1 and backward with dy at x.
func run1[T float32 | float64](k kernel[T], x, dy T) [3]T {
	var y, g1, g2 [1]T
	k.fwd(y[:], []T{x})
	k.bwd(g1[:], []T{1}, []T{x})
	k.bwd(g2[:], []T{dy}, []T{x})
	return [3]T{y[0], g1[0], g2[0]}
}

func mustDecode1[T float32 | float64](t *testing.T, s string) T {
	t.Helper()
	v, err := Decode1[T](s)
	require.NoError(t, err)
	return v
}

// compare checks one special value or kink gradient against PyTorch's
// scalar and vectorised results. Equal bits (any NaN matching any NaN) to
// both pass. Where PyTorch's two loops disagree with each other, matching
// either passes and is recorded. Anything else must be explained by one of
// the spec's deviations for the activation (see exemptions), or it fails.
func compare(t *testing.T, res *results, a *spec.Activation, lab, typ string, p Point, d int, dir string, x, ours, ts, tv float64) {
	t.Helper()
	okS, okV := sameBits(ours, ts), sameBits(ours, tv)
	if okS && okV {
		return
	}
	diff := difference{name: a.Name, label: lab, typ: typ, kind: p.Kind, src: p.Src, dir: dir, x: x, ours: ours, torchScalar: ts, torchVec: tv}
	if !sameBits(ts, tv) && (okS || okV) {
		// PyTorch disagrees with itself (its scalar and vectorised loops):
		// matching either is parity. Recorded, with the deviation that
		// says which one we chose if the spec has one.
		diff.torchSplit = true
		diff.deviation = explain(a, x, d, ours, ts, tv)
		res.diff(diff)
		return
	}
	if dev := explain(a, x, d, ours, ts, tv); dev != "" {
		diff.deviation = dev
		res.diff(diff)
		return
	}
	res.diff(diff)
	t.Errorf("differs from PyTorch, and no spec deviation explains it: %s", diff)
}
