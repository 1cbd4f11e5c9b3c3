package main

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/actkern/actkern/generated/f64"
	"github.com/actkern/actkern/internal/reference"
	"github.com/actkern/actkern/internal/spec"
)

// Picture size and resolution: 6×4 inches reads well both full size and as
// a 240-pixel gallery thumbnail; 120 dpi gives a 720×480 PNG.
const (
	plotWidth  = 6 * vg.Inch
	plotHeight = 4 * vg.Inch
	plotDPI    = 120
	// plotSamples is the number of x values over the whole range; segments
	// between kinks share them in proportion to their length.
	plotSamples = 1200
)

var (
	colorF     = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // blue
	colorDeriv = color.RGBA{R: 0xd6, G: 0x5f, B: 0x00, A: 0xff} // orange
)

// plot draws f and f' of every selected activation, as computed by the
// float64 kernels at the default parameters, into <out>/<name>.svg and
// <name>.png, and writes the gallery page <out>/README.md. Every picture is
// rendered in memory first, so bad input (an unknown name, a spec entry the
// generated package lacks) writes nothing.
func plot(args []string) error {
	fs := newFlags("plot")
	funcs := fs.String("func", "", "comma-separated activation names (default: all)")
	specPath := fs.String("spec", "spec/activations.yaml", "the spec generated/f64 was generated from")
	out := fs.String("out", "docs/plots", "directory for <name>.svg, <name>.png and the README.md gallery")
	fs.Parse(args)
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	s, err := spec.Load(*specPath)
	if err != nil {
		return err
	}
	acts, err := selectKinds(s, *funcs)
	if err != nil {
		return err
	}
	type files struct {
		name     string
		svg, png []byte
	}
	var rendered []files
	for _, a := range acts {
		svg, png, err := renderActivation(a)
		if err != nil {
			return fmt.Errorf("%s: %w", a.Name, err)
		}
		rendered = append(rendered, files{a.Name, svg, png})
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, r := range rendered {
		base := filepath.Join(*out, r.name)
		if err := os.WriteFile(base+".svg", r.svg, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(base+".png", r.png, 0o644); err != nil {
			return err
		}
	}
	// The gallery lists every spec activation whose picture is in the
	// directory, plotted now or earlier, so that plotting a few with -func
	// keeps the page whole.
	var shown []*spec.Activation
	every, _ := selectKinds(s, "")
	for _, a := range every {
		if _, err := os.Stat(filepath.Join(*out, a.Name+".svg")); err == nil {
			shown = append(shown, a)
		}
	}
	return os.WriteFile(filepath.Join(*out, "README.md"), gallery(shown), 0o644)
}

// renderActivation draws one activation and returns its SVG and PNG.
func renderActivation(a *spec.Activation) (svg, png []byte, err error) {
	eval, shape, note, err := evaluator(a)
	if err != nil {
		return nil, nil, err
	}
	kinks, err := visibleKinks(shape, eval)
	if err != nil {
		return nil, nil, err
	}
	lo, hi := plotRange(kinks, eval)

	p := gplot.New()
	p.Title.Text = a.GoName + "  —  " + a.Torch
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.Title.Padding = vg.Points(6)
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.X.Tick.Label.Font,
		&p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		f.Variant = "Sans"
	}
	p.X.Tick.Marker = gplot.TickerFunc(ticks)
	p.Y.Tick.Marker = gplot.TickerFunc(ticks)
	p.X.Label.Text = note
	p.X.Min, p.X.Max = lo, hi
	p.Add(plotter.NewGrid())

	// Split the range at the kinks inside it and draw each piece as its own
	// line, ending one ulp short of the kink: a jump then shows as a jump,
	// not as a steep line, and each end is the one-sided limit.
	cuts := []float64{lo}
	for _, k := range kinks {
		if k > lo && k < hi {
			cuts = append(cuts, k)
		}
	}
	cuts = append(cuts, hi)
	styleF := draw.LineStyle{Color: colorF, Width: vg.Points(2)}
	styleD := draw.LineStyle{Color: colorDeriv, Width: vg.Points(1.6), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
	ymin, ymax := math.Inf(1), math.Inf(-1)
	var all []plotter.XY // every drawn point, for placing the legend
	var legendF, legendD *plotter.Line
	for i := 0; i+1 < len(cuts); i++ {
		xs := segment(cuts[i], cuts[i+1], i > 0, i+2 < len(cuts), lo, hi)
		f, d := eval(xs)
		ptsF := make(plotter.XYs, len(xs))
		ptsD := make(plotter.XYs, len(xs))
		for j, x := range xs {
			if !finite(f[j]) || !finite(d[j]) {
				return nil, nil, fmt.Errorf("f(%g) = %g, f'(%g) = %g: not finite inside the plotted range", x, f[j], x, d[j])
			}
			ptsF[j] = plotter.XY{X: x, Y: f[j]}
			ptsD[j] = plotter.XY{X: x, Y: d[j]}
			ymin = min(ymin, f[j], d[j])
			ymax = max(ymax, f[j], d[j])
		}
		all = append(append(all, ptsF...), ptsD...)
		lf, err := plotter.NewLine(ptsF)
		if err != nil {
			return nil, nil, err
		}
		ld, err := plotter.NewLine(ptsD)
		if err != nil {
			return nil, nil, err
		}
		lf.LineStyle, ld.LineStyle = styleF, styleD
		p.Add(lf, ld)
		legendF, legendD = lf, ld
	}
	// A dot marks the value the kernel returns exactly at a kink, so the
	// picture shows which side's convention (PyTorch's) it follows.
	var dotsF, dotsD plotter.XYs
	if len(cuts) > 2 {
		inner := cuts[1 : len(cuts)-1]
		f, d := eval(inner)
		for j, k := range inner {
			dotsF = append(dotsF, plotter.XY{X: k, Y: f[j]})
			dotsD = append(dotsD, plotter.XY{X: k, Y: d[j]})
		}
		for _, dots := range []struct {
			pts plotter.XYs
			c   color.Color
		}{{dotsF, colorF}, {dotsD, colorDeriv}} {
			sc, err := plotter.NewScatter(dots.pts)
			if err != nil {
				return nil, nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: dots.c, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
			p.Add(sc)
		}
	}
	// Five percent headroom keeps the curves off the frame (a flat f' = 1
	// would otherwise sit on it); a flat function still gets a visible span.
	pad := 0.05 * max(ymax-ymin, 1e-3*max(1, math.Abs(ymax)))
	p.Y.Min, p.Y.Max = ymin-pad, ymax+pad
	p.Legend.Add("f", legendF)
	p.Legend.Add("f'", legendD)
	p.Legend.Top, p.Legend.Left = legendCorner(all, lo, hi, p.Y.Min, p.Y.Max)
	p.Legend.XOffs, p.Legend.YOffs = legendOffsets(p.Legend.Top, p.Legend.Left)
	p.Legend.ThumbnailWidth = vg.Points(28)

	sc := vgsvg.New(plotWidth, plotHeight)
	p.Draw(draw.New(sc))
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, err
	}
	ic := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseDPI(plotDPI))}
	p.Draw(draw.New(ic))
	var pb bytes.Buffer
	if _, err := ic.WriteTo(&pb); err != nil {
		return nil, nil, err
	}
	return sb.Bytes(), pb.Bytes(), nil
}

// evaluator returns f and f' of a along one input as its float64 kernels
// compute them, the elementwise entry whose kinks and thresholds shape the
// picture, and the x axis label. An elementwise entry is drawn at its
// defaults. A row-wise entry is drawn on rows [x, 0] (its first output,
// and its gradient with respect to x), a gated one on rows [x | 1] (the
// gate's half at x, the other half 1): both through NewRowwise, Forward and
// Backward. A channel entry is its elementwise entry with the channel's
// weight 0.25 (what PReLU computes with a single weight).
func evaluator(a *spec.Activation) (eval func([]float64) (f, d []float64), shape *spec.Activation, note string, err error) {
	switch a.Kind {
	case "rows", "gated":
		r, err := f64.NewRowwise(a.Name)
		if err != nil {
			return nil, nil, "", fmt.Errorf("not in generated/f64 (regenerate it from this spec): %w", err)
		}
		cols, other, note, shape := 2, 0.0, "x      (the row [x, 0])", a
		if a.Kind == "gated" {
			cols, other, shape = 1, 1.0, a.Gate
			note = "a      (b = 1)"
			if a.GateOn == "b" {
				note = "b      (a = 1)"
			}
		}
		return rowEval(r, cols, other, a.Kind == "gated" && a.GateOn == "b"), shape, note, nil
	case "channel":
		act, err := f64.New(a.Of.Name, f64.Params{a.ChannelParam: 0.25})
		if err != nil {
			return nil, nil, "", fmt.Errorf("not in generated/f64 (regenerate it from this spec): %w", err)
		}
		return kernelEval(act), a.Of, "x      (weight = 0.25)", nil
	}
	act, err := f64.New(a.Name, nil)
	if err != nil {
		return nil, nil, "", fmt.Errorf("not in generated/f64 (regenerate it from this spec): %w", err)
	}
	return kernelEval(act), a, "x" + paramNote(a), nil
}

// rowEval evaluates a row-wise or gated function along one input: each x
// makes a row of two elements, x and other (other first if xSecond), and
// f is the row's first output, f' the gradient of that output with respect
// to x (Backward with dy = 1 for it, 0 for the rest).
func rowEval(r *f64.Rowwise, cols int, other float64, xSecond bool) func(xs []float64) (f, d []float64) {
	return func(xs []float64) (f, d []float64) {
		n := len(xs)
		x := make([]float64, 0, 2*n)
		for _, v := range xs {
			if xSecond {
				x = append(x, other, v)
			} else {
				x = append(x, v, other)
			}
		}
		outRow := r.OutputLen(2, cols) // outputs per row
		y := make([]float64, r.OutputLen(len(x), cols))
		r.Forward(y, x, cols)
		dy := make([]float64, len(y))
		for i := 0; i < len(dy); i += outRow {
			dy[i] = 1
		}
		dx := make([]float64, len(x))
		r.Backward(dx, dy, x, cols)
		f, d = make([]float64, n), make([]float64, n)
		at := 0
		if xSecond {
			at = 1
		}
		for i := range n {
			f[i], d[i] = y[i*outRow], dx[2*i+at]
		}
		return f, d
	}
}

// kernelEval returns f and f' at xs as the kernels compute them: Forward,
// and Backward with dy = 1.
func kernelEval(act *f64.Activation) func(xs []float64) (f, d []float64) {
	return func(xs []float64) (f, d []float64) {
		f = make([]float64, len(xs))
		d = make([]float64, len(xs))
		act.Forward(f, xs)
		dy := make([]float64, len(xs))
		for i := range dy {
			dy[i] = 1
		}
		act.Backward(d, dy, xs)
		return f, d
	}
}

// visibleKinks returns, sorted, the points among the spec's kinks (at the
// default parameters) and thresholds where f or f' visibly jumps. A kink
// that only switches between two formulas that meet (softplus's linear
// branch at beta*x = 20, where f' jumps by 2e-9; elu's at alpha = 1) is no
// feature of the shape and must not stretch the range.
func visibleKinks(a *spec.Activation, eval func([]float64) (f, d []float64)) ([]float64, error) {
	var cands []float64
	for _, k := range a.Kinks {
		fn, err := reference.Compile(k.At.Expr, a.ParamNames(), a.Consts("f64"))
		if err != nil {
			return nil, fmt.Errorf("kink at %s: %v", k.At.Src, err)
		}
		cands = append(cands, fn.Float64(a.Defaults()...))
	}
	for _, t := range a.Thresholds {
		cands = append(cands, t.F64)
	}
	var out []float64
	for _, k := range cands {
		if !finite(k) || slices.Contains(out, k) {
			continue
		}
		f, d := eval([]float64{math.Nextafter(k, math.Inf(-1)), math.Nextafter(k, math.Inf(1))})
		// 1e-3 of the local size is far below a pixel (the y span is at
		// least that size) and far above rounding.
		jumps := func(l, r float64) bool {
			return math.Abs(l-r) > 1e-3*max(1, math.Abs(l), math.Abs(r))
		}
		if jumps(f[0], f[1]) || jumps(d[0], d[1]) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, nil
}

// plotRange chooses the x range. A periodic function (f' changes sign at
// regular intervals) gets two periods each side of 0, however its
// parameters scale it. Otherwise the range holds [-4, 4] (where the smooth
// activations bend and saturate) and every visible kink, with a quarter of
// that span added on each side so the behaviour beyond the outermost kink
// shows: [-6, 6] for a function without far kinks, [-6.5, 8.5] for relu6.
func plotRange(kinks []float64, eval func([]float64) (f, d []float64)) (lo, hi float64) {
	if p, ok := period(eval); ok {
		return -p, p
	}
	lo, hi = -4, 4
	for _, k := range kinks {
		lo, hi = min(lo, k), max(hi, k)
	}
	pad := (hi - lo) / 4
	return lo - pad, hi + pad
}

// period detects a function whose derivative oscillates: f' sampled over
// [-64, 64] changes sign at least 8 times. The period is twice the mean
// spacing of those sign changes, each located by bisection on the kernel.
func period(eval func([]float64) (f, d []float64)) (float64, bool) {
	const n, span = 4097, 64.0
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = -span + 2*span*float64(i)/(n-1)
	}
	_, d := eval(xs)
	var zeros []float64
	for i := 0; i+1 < n; i++ {
		if d[i]*d[i+1] >= 0 {
			continue
		}
		a, b, da := xs[i], xs[i+1], d[i]
		for range 60 {
			m := (a + b) / 2
			_, dm := eval([]float64{m})
			if (dm[0] < 0) == (da < 0) {
				a, da = m, dm[0]
			} else {
				b = m
			}
		}
		zeros = append(zeros, (a+b)/2)
	}
	if len(zeros) < 8 {
		return 0, false
	}
	return 2 * (zeros[len(zeros)-1] - zeros[0]) / float64(len(zeros)-1), true
}

// segment returns the sample points of [a, b], which gets its share of
// plotSamples. An end that is a kink (openA, openB) is replaced by the
// float64 next to it inside the segment, so the line ends at the one-sided
// limit.
func segment(a, b float64, openA, openB bool, lo, hi float64) []float64 {
	n := max(2, int(math.Round(plotSamples*(b-a)/(hi-lo))))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = a + (b-a)*float64(i)/float64(n-1)
	}
	xs[n-1] = b
	if openA {
		xs[0] = math.Nextafter(a, b)
	}
	if openB {
		xs[n-1] = math.Nextafter(b, a)
	}
	return xs
}

// legendCorner picks the corner of the data area whose legend-sized box
// (a fifth of the width, a sixth of the height) covers the fewest drawn
// points, preferring top left, top right, bottom right, bottom left.
func legendCorner(pts []plotter.XY, xlo, xhi, ylo, yhi float64) (top, left bool) {
	w, h := (xhi-xlo)/5, (yhi-ylo)/6
	best := -1
	for _, c := range []struct{ top, left bool }{{true, true}, {true, false}, {false, false}, {false, true}} {
		x0, y0 := xhi-w, ylo
		if c.left {
			x0 = xlo
		}
		if c.top {
			y0 = yhi - h
		}
		count := 0
		for _, p := range pts {
			if p.X >= x0 && p.X <= x0+w && p.Y >= y0 && p.Y <= y0+h {
				count++
			}
		}
		if best < 0 || count < best {
			best, top, left = count, c.top, c.left
		}
	}
	return top, left
}

// legendOffsets moves the legend a little inside the frame.
func legendOffsets(top, left bool) (x, y vg.Length) {
	x, y = vg.Points(6), vg.Points(6)
	if !left {
		x = -x
	}
	if top {
		y = -y
	}
	return x, y
}

// paramNote is the parameters at their defaults, for the x-axis label.
func paramNote(a *spec.Activation) string {
	if len(a.Params) == 0 {
		return ""
	}
	var parts []string
	for _, p := range a.Params {
		parts = append(parts, p.Name+" = "+strconv.FormatFloat(p.Default, 'g', -1, 64))
	}
	return "      (" + strings.Join(parts, ", ") + ")"
}

// ticks marks about eight steps of 1, 2 or 5 times a power of ten across
// [lo, hi], labelled, with four unlabelled minor ticks per step: gonum's
// default gives as few as three labels, too sparse a grid to read values
// from.
func ticks(lo, hi float64) []gplot.Tick {
	raw := (hi - lo) / 8
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * pow
	for _, m := range []float64{1, 2, 5} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	var out []gplot.Tick
	for i := math.Ceil(lo / step * 5); i <= math.Floor(hi/step*5); i++ {
		// Integer multiples of the minor step, so that 0 is exactly 0 and
		// labels carry no rounding noise.
		v := i * step / 5
		t := gplot.Tick{Value: v}
		if math.Mod(i, 5) == 0 {
			t.Label = strconv.FormatFloat(v, 'g', 6, 64)
		}
		out = append(out, t)
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// galleryColumns is the number of thumbnails per row of the gallery.
const galleryColumns = 4

// gallery is the Markdown page showing every picture as a thumbnail that
// links to the full-size SVG.
func gallery(acts []*spec.Activation) []byte {
	var b bytes.Buffer
	b.WriteString(`# Activation plots

<!-- Generated by "go run ./cmd/actkern plot"; do not edit. -->

Each picture shows f (solid blue) and f' (dashed orange) of one activation
at its default parameters, both computed by this repository's float64
kernels (` + "`f64.New(name, nil)`" + `, then ` + "`Forward`" + ` and ` + "`Backward`" + ` with dy = 1);
the title gives the Go name and the PyTorch equivalent. The functions of a
row are drawn along one input: a row-wise one (softmax, …) on the row
[x, 0], its first output and that output's gradient with respect to x; a
gated one on the halves a = x, b = 1 (b = x, a = 1 where the gate is on
b); PReLU with the weight 0.25. They go through ` + "`f64.NewRowwise(name)`" + `
(and PReLU through its elementwise entry, leaky_relu with that slope).
Where f or f' jumps,
the line stops one float64 short of the jump on each side, and a dot marks
the value the kernel returns exactly there (PyTorch's convention).

The x range holds [-4, 4] and every kink where f or f' visibly jumps, plus a
quarter of that span on each side; a periodic function (sin) gets two
periods each side of 0. Click a picture for the full-size SVG; a PNG of the
same name sits beside it.

<table>
`)
	for i, a := range acts {
		if i%galleryColumns == 0 {
			b.WriteString("<tr>\n")
		}
		fmt.Fprintf(&b, "<td align=\"center\"><a href=\"%[1]s.svg\"><img src=\"%[1]s.png\" width=\"240\" alt=\"%[1]s: f and f'\"></a><br><code>%[1]s</code></td>\n", a.Name)
		if i%galleryColumns == galleryColumns-1 || i == len(acts)-1 {
			b.WriteString("</tr>\n")
		}
	}
	b.WriteString("</table>\n")
	return b.Bytes()
}
