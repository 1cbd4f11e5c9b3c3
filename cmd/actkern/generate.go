package main

import (
	"fmt"

	"github.com/actkern/actkern/internal/generate"
)

// generateCmd generates a user's spec into the user's module: -out gets
// the packages f32 and f64, exactly as this repository's generated/ does.
func generateCmd(args []string, std stdio) error {
	fs := flagSet("generate", "-spec my.yaml -out dir [-pkg import/path] [-v]", std)
	specPath := fs.String("spec", "", "the spec file (required); `include: [actkern]` in it starts from actkern's own spec")
	out := fs.String("out", "", "the directory that receives the packages f32/ and f64/ (required; created if missing)")
	pkg := fs.String("pkg", "", "import path of the -out directory (default: derived from the go.mod that encloses it)")
	verbose := fs.Bool("v", false, "list every file written or removed")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *specPath == "" || *out == "" {
		return fmt.Errorf("need -spec and -out (e.g. actkern generate -spec act.yaml -out ./act)")
	}
	derived, derr := generate.ImportPathOf(*out)
	switch {
	case *pkg == "" && derr != nil:
		return fmt.Errorf("cannot derive the import path of %s: %v; run inside your module (after go mod init) or give -pkg", *out, derr)
	case *pkg == "":
		*pkg = derived
	case derr == nil && *pkg != derived:
		// The generated examples import the packages by this path: a
		// wrong one would only show up as a failing go test.
		return fmt.Errorf("-pkg %s does not match %s, the import path of %s in its module; leave -pkg out", *pkg, derived, *out)
	}
	res, err := generate.Run(generate.Options{
		Spec: *specPath, Out: *out, Import: *pkg,
		Log: std.out, Verbose: *verbose,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(std.out, "actkern generate: %s/f32 and %s/f64: %s\n", *pkg, *pkg, res)
	return nil
}
