package parity

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"

	"github.com/actkern/actkern/generated/f32"
	"github.com/actkern/actkern/internal/spec"
)

// renderDoc writes docs/PYTORCH.md: PyTorch's largest error beside ours for
// every activation, parameter set, precision and direction, then every
// special value or kink where our bits are not PyTorch's.
func renderDoc(sp *spec.Spec, r *results) []byte {
	var b bytes.Buffer
	var g Elementwise
	_ = Load[float32](dataDir, "elementwise", &g) // read before: it loaded in the test
	fmt.Fprintf(&b, "# actkern and PyTorch\n\n")
	fmt.Fprintf(&b, "Written by `go test ./internal/parity -run TestElementwise -args -parity.write`; do not edit.\n\n")
	fmt.Fprintf(&b, "PyTorch %s (Debian python3-torch, CPU capability %s, one thread), goldens from `make goldens`\n", g.Torch, g.CPUCapability)
	fmt.Fprintf(&b, "(scripts/torch_goldens.py). actkern kernels as dispatched on the machine that wrote this file (%s).\n\n", f32.ISA())
	fmt.Fprintf(&b, "Errors are in ULPs against the correctly rounded exact value (internal/reference, big.Float),\n")
	fmt.Fprintf(&b, "over the same inputs for both: %d random inputs (log-uniform magnitudes in [1e-7, 1e3] of both\n", inputsCount(g))
	fmt.Fprintf(&b, "signs, uniform in [-8, 8], ±MaxFloat, ±smallest normal and subnormal) plus kink points and their\n")
	fmt.Fprintf(&b, "neighbours. Backward is dx = dy*f'(x) with dy = 1 on half the inputs and uniform in [-2, 2] on the other half.\n")
	fmt.Fprintf(&b, "PyTorch's error is a figure, not a failure; ours is held to the accuracy bar (2 ULP) by the test.\n\n")

	rows := append([]measured(nil), r.rows...)
	sort.SliceStable(rows, func(i, j int) bool {
		a, c := rows[i], rows[j]
		if a.order != c.order {
			return a.order < c.order
		}
		if a.typ != c.typ {
			return a.typ < c.typ
		}
		return a.dir > c.dir // forward first
	})
	fmt.Fprintf(&b, "| activation | parameters | type | direction | PyTorch max ULP | where (x) | actkern max ULP | where (x) |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---:|---|---:|---|\n")
	for _, m := range rows {
		where := "—"
		if m.torchULP > 0 {
			where = gT(m.typ, m.torchX)
			if m.dir != "forward" {
				where += " (dy=" + gT(m.typ, m.torchDY) + ")"
			}
		}
		ours := "—"
		if m.oursULP > 0 {
			ours = gT(m.typ, m.oursX)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", m.name, m.label, m.typ, m.dir, ulpStr(m.torchULP), where, ulpStr(m.oursULP), ours)
	}

	fmt.Fprintf(&b, "\n## Special values and kink gradients that differ from PyTorch\n\n")
	fmt.Fprintf(&b, "Compared bit for bit (any NaN equals any NaN) with PyTorch's scalar loop (one element) and its\n")
	fmt.Fprintf(&b, "vectorised loop (64 copies). Each difference is explained by a deviation in spec/activations.yaml,\n")
	fmt.Fprintf(&b, "or is PyTorch disagreeing with itself, or fails the test.\n\n")
	diffs := append([]difference(nil), r.diffs...)
	sort.SliceStable(diffs, func(i, j int) bool { return diffs[i].String() < diffs[j].String() })
	fmt.Fprintf(&b, "| activation | type | parameters | x | direction | actkern | PyTorch (scalar / vectorised) | why |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|\n")
	for _, d := range diffs {
		why := d.deviation
		if d.torchSplit {
			why = "PyTorch's scalar and vectorised loops disagree; we match one. " + why
		}
		if why == "" {
			why = "**not explained by the spec**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s / %s | %s |\n", d.name, d.typ, d.label, d.src, d.dir, gT(d.typ, d.ours), gT(d.typ, d.torchScalar), gT(d.typ, d.torchVec), why)
	}
	return b.Bytes()
}

func inputsCount(g Elementwise) int { return len(g.X) / 8 }

func g64(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// gT prints v with the fewest digits that identify it in its own type.
func gT(typ string, v float64) string {
	if typ == "f32" {
		return strconv.FormatFloat(v, 'g', -1, 32)
	}
	return g64(v)
}

func ulpStr(u float64) string {
	if u > 1e6 {
		return fmt.Sprintf("%.3g", u)
	}
	return g64(u)
}
