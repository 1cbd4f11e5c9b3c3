package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/actkern/actkern/internal/spec"
	builtin "github.com/actkern/actkern/spec"
)

// listCmd prints a table of the activations of a spec: by default the one
// built into this binary, which generated/f32 and generated/f64 implement.
func listCmd(args []string, std stdio) error {
	fs := flagSet("list", "[-spec file]", std)
	specPath := fs.String("spec", "", "list this spec file (default: actkern's own, built into this binary)")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := loadSpec(*specPath)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tGO NAME\tKIND\tPARAMETERS\tPYTORCH\tOUTPUT-FORM DERIVATIVE")
	for _, a := range s.Activations {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.GoName, a.Kind, paramList(a), a.Torch, outputForm(a))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = std.out.Write(b.Bytes())
	return err
}

// loadSpec loads the spec file at path, or the built-in spec if path is "".
func loadSpec(path string) (*spec.Spec, error) {
	if path == "" {
		return spec.Parse(builtin.File, builtin.YAML)
	}
	return spec.Load(path)
}

// paramList is "beta=1, threshold=20", or "-" for none. Row-wise and gated
// entries take cols; a channel entry takes a weight per channel.
func paramList(a *spec.Activation) string {
	switch a.Kind {
	case "rows", "gated":
		return "cols"
	case "channel":
		return "weight[C] (" + a.Of.Name + "'s " + a.ChannelParam + "), inner"
	}
	if len(a.Params) == 0 {
		return "-"
	}
	var parts []string
	for _, p := range a.Params {
		parts = append(parts, p.Name+"="+strconv.FormatFloat(p.Default, 'g', -1, 64))
	}
	return strings.Join(parts, ", ")
}

// outputForm says whether BackwardFromOutput exists: "yes", "if <rule>"
// (the parameters must satisfy output_requires) or "no". Row-wise
// backward always works from the output (softmax's dx needs y, not x).
func outputForm(a *spec.Activation) string {
	switch {
	case a.Kind == "rows" && !a.RowOutput:
		return "always (dx from y)"
	case a.Kind != "elementwise":
		return "-"
	case a.DerivativeOutput == nil:
		return "no"
	case a.OutputRequires != nil:
		return "if " + strings.Join(strings.Fields(a.OutputRequires.Src), " ")
	default:
		return "yes"
	}
}
