package main

// The performance bars of the speed issue (issue 3), checked against one
// bench run: the report's "Bars" section, so that what is met and what is
// missed reads from the same run as the figures.

import (
	"fmt"
	"go/ast"
	"strings"

	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/kerneltest"
)

// speedupBars are the float32 forward speedups over plaingo at n = 4096
// the best level must reach: 0.8 times the ratio of the best C kernel to
// the plain Go loop that the speed issue measured (the bar is that ratio, not a
// time, because the machines are shared and noisy). Every other
// transcendental activation must reach otherSpeedupBar.
var speedupBars = map[string]float64{
	"sigmoid": 0.8 * 40, "tanh": 0.8 * 151, "gelu": 0.8 * 156, "silu": 0.8 * 39,
	"elu": 0.8 * 112, "softplus": 0.8 * 33, "logsigmoid": 0.8 * 32, "mish": 0.8 * 118,
	"sin": 0.8 * 173,
}

// The other bars: time ratios a kernel must stay within.
const (
	otherSpeedupBar = 20.0 // every other transcendental activation
	copyBar         = 1.5  // piecewise forward ÷ copy(), n = 4096
	bigCopyBar      = 1.15 // every forward ÷ copy() at the largest n
	backwardBar     = 2.0  // backward ÷ forward, n = 4096
	avx2Bar         = 2.2  // AVX2 ÷ AVX-512, forward, n = 4096
	f64Bar          = 2.5  // float64 ÷ float32, best level, forward, n = 4096
)

// transcendental reports whether a forward formula calls a function beyond
// the piecewise and algebraic ones (where, min, max, abs, fma, sqrt).
func transcendental(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if fn, ok := c.Fun.(*ast.Ident); ok {
				switch fn.Name {
				case "where", "min", "max", "abs", "fma", "sqrt":
				default:
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// barCell formats a measured ratio against its bar: the figure, and ✓ or ✗
// (for a speedup, more is better; for a time ratio, less).
func barCell(v, bar float64, speedup bool) string {
	met := v <= bar
	if speedup {
		met = v >= bar
	}
	mark := "✗"
	if met {
		mark = "✓"
	}
	if speedup {
		return fmt.Sprintf("%.1f× / %.0f× %s", v, bar, mark)
	}
	return fmt.Sprintf("%.2f %s", v, mark)
}

// bars writes the "Bars" section: one row per elementwise activation, one
// column per bar that applies to it, each cell the measured figure and
// whether it meets the bar. It needs the float32 package at n = 4096; the
// levels it compares are the best one measured and, for the AVX2 column,
// avx2 against avx512.
func (r *benchReport) bars(b *strings.Builder, s *spec.Spec) {
	const n = 4096
	best := ""
	for _, l := range r.isas {
		if l != kerneltest.Plain && l != "generic" {
			best = l
			break
		}
	}
	if best == "" {
		return
	}
	secs := func(bench, pkg, isa string, n int) (float64, bool) {
		sec, _, ok := r.get(benchKey{bench, pkg, isa, n})
		return sec, ok
	}
	copySec, copyOK := secs("Copy", "f32", "", n)
	big := r.sizes[len(r.sizes)-1]
	bigCopy, bigOK := secs("Copy", "f32", "", big)
	bigOK = bigOK && big > n
	fmt.Fprintf(b, "\n## Bars\n\n"+
		"The bars actkern holds its float32 kernels to, set from the best C\n"+
		"kernels measured beside a plain Go loop on a machine of this kind, and\n"+
		"checked here against this run at the best level measured (%s): ✓ met,\n"+
		"✗ missed, – no bar or no figure.\n\n"+
		"- speedup: the forward kernel over plaingo at n = %d, against 0.8 × the\n"+
		"  best C kernel's ratio for the functions the issue measured, and %.0f× for\n"+
		"  every other transcendental activation;\n"+
		"- ÷ copy(): a piecewise forward kernel (linear, or quadratic as\n"+
		"  hardswish) at n = %d, at most %.1f;\n"+
		"- ÷ copy() at n = %d: every forward kernel, at most %.2f;\n"+
		"- backward ÷ forward at n = %d, at most %.0f;\n"+
		"- AVX2 ÷ AVX-512, forward at n = %d, at most %.1f;\n"+
		"- float64 ÷ float32, forward at n = %d, at most %.1f.\n\n",
		best, n, otherSpeedupBar, n, copyBar, big, bigCopyBar, n, backwardBar, n, avx2Bar, n, f64Bar)
	b.WriteString("| activation | speedup | ÷ copy() | ÷ copy(), n = " + fmt.Sprint(big) + " | backward ÷ forward | AVX2 ÷ AVX-512 | float64 ÷ float32 |\n|---|---|---|---|---|---|---|\n")
	every, _ := elementwise(s, "")
	for _, a := range every {
		fwd, ok := secs(a.GoName, "f32", best, n)
		if !ok {
			continue
		}
		cells := make([]string, 6)
		for i := range cells {
			cells[i] = "–"
		}
		bar, listed := speedupBars[a.Name]
		if !listed && transcendental(a.Forward.Expr) {
			bar, listed = otherSpeedupBar, true
		}
		if plain, ok := secs(a.GoName, "f32", kerneltest.Plain, n); ok && listed {
			cells[0] = barCell(plain/fwd, bar, true)
		}
		if copyOK && xDegree(a.Forward.Expr) <= 2 {
			cells[1] = barCell(fwd/copySec, copyBar, false)
		}
		if sec, ok := secs(a.GoName, "f32", best, big); ok && bigOK {
			cells[2] = barCell(sec/bigCopy, bigCopyBar, false)
		}
		if sec, ok := secs(a.GoName+"Backward", "f32", best, n); ok {
			cells[3] = barCell(sec/fwd, backwardBar, false)
		}
		s2, ok2 := secs(a.GoName, "f32", "avx2", n)
		s5, ok5 := secs(a.GoName, "f32", "avx512", n)
		if ok2 && ok5 {
			cells[4] = barCell(s2/s5, avx2Bar, false)
		}
		if sec, ok := secs(a.GoName, "f64", best, n); ok {
			cells[5] = barCell(sec/fwd, f64Bar, false)
		}
		fmt.Fprintf(b, "| %s | %s |\n", a.Name, strings.Join(cells, " | "))
	}
}
