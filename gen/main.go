// Command gen generates the activation kernels of actkern from the spec:
// for every activation, precision (float32, float64) and direction
// (forward, backward, backward from the output) it lowers the formula to a
// vector program and emits the pure-Go kernel, the public API, tests,
// benchmarks and documentation (and, through package asm, the amd64
// assembly) into <out>/f32 and <out>/f64.
//
// Everything is produced in memory first: a spec that fails anywhere writes
// nothing. Then only files whose content changed are rewritten, and
// generated files that are no longer produced are removed.
//
// Usage, from the repository root or from gen/:
//
//	go run ./gen [-spec spec/activations.yaml] [-out generated]
//
// Without flags the spec and output directories are found from the module
// root (the nearest directory above the working directory with a go.mod).
package main

//go:generate go run . -spec ../spec/activations.yaml -out ../generated -summary

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"text/tabwriter"

	"github.com/actkern/actkern/asm"
	"github.com/actkern/actkern/internal/spec"
	"github.com/actkern/actkern/internal/vprog"
)

func main() {
	// A flag set of our own: package avo/build, which asm imports, registers
	// its own flags (-out among them) on flag.CommandLine at init.
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	specPath := fs.String("spec", "", "spec file (default: <module root>/spec/activations.yaml)")
	outDir := fs.String("out", "", "directory that receives f32/ and f64/ (default: <module root>/generated)")
	importBase := fs.String("import", "", "import path of the -out directory (default: derived from the enclosing go.mod)")
	verbose := fs.Bool("v", false, "list every file written or removed")
	summary := fs.Bool("summary", false, "list every kernel: package, name, compute type, instruction count")
	fs.Parse(os.Args[1:])
	if fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "gen: unexpected arguments:", fs.Args())
		fs.Usage()
		os.Exit(2)
	}
	if err := run(*specPath, *outDir, *importBase, *verbose, *summary); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(specPath, outDir, importBase string, verbose, summary bool) error {
	if specPath == "" || outDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		root, _, err := findModule(wd)
		if err != nil {
			return fmt.Errorf("cannot find the module root for the default paths (give -spec and -out): %w", err)
		}
		if specPath == "" {
			specPath = filepath.Join(root, "spec", "activations.yaml")
		}
		if outDir == "" {
			outDir = filepath.Join(root, "generated")
		}
	}
	if importBase == "" {
		abs, err := filepath.Abs(outDir)
		if err != nil {
			return err
		}
		importBase, err = importPathOf(abs)
		if err != nil {
			return fmt.Errorf("import path of %s (give -import): %w", outDir, err)
		}
	}
	s, err := spec.Load(specPath)
	if err != nil {
		return err
	}
	g := &generator{lower: vprog.Lower, asm: asm.Generate, importBase: importBase}
	files, err := g.generate(s)
	if err != nil {
		return err
	}
	res, err := writeFiles(outDir, files)
	if err != nil {
		return err
	}
	if verbose {
		for _, n := range res.Written {
			fmt.Println("wrote", n)
		}
		for _, n := range res.Removed {
			fmt.Println("removed", n)
		}
	}
	if summary {
		printSummary(os.Stdout, g.programs)
	}
	fmt.Printf("gen: %d activations, %d files: %d written, %d unchanged, %d removed\n",
		len(s.Activations), len(files), len(res.Written), len(res.Unchanged), len(res.Removed))
	return nil
}

var moduleLine = regexp.MustCompile(`(?m)^module\s+("?)([^\s"]+)("?)\s*$`)

// findModule returns the directory of the nearest go.mod at or above dir,
// and the module path it declares.
func findModule(dir string) (root, module string, err error) {
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			m := moduleLine.FindSubmatch(b)
			if m == nil {
				return "", "", fmt.Errorf("%s: no module line", filepath.Join(d, "go.mod"))
			}
			return d, string(m[2]), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", "", err
		}
		if filepath.Dir(d) == d {
			return "", "", fmt.Errorf("no go.mod at or above %s", dir)
		}
	}
}

// importPathOf is the import path of directory dir (which need not exist
// yet) in its enclosing module.
func importPathOf(dir string) (string, error) {
	probe := dir
	for {
		if _, err := os.Stat(probe); err == nil {
			break
		}
		if filepath.Dir(probe) == probe {
			break
		}
		probe = filepath.Dir(probe)
	}
	root, module, err := findModule(probe)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return "", err
	}
	if rel == "." {
		return module, nil
	}
	return module + "/" + filepath.ToSlash(rel), nil
}

// printSummary lists the kernels: what `make generate` shows a newcomer.
func printSummary(w io.Writer, progs []*vprog.Program) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "package\tkernel\tcompute\tlane ops\tbackends")
	for _, p := range progs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\tgeneric, avx2, avx512\n", p.Mem, p.Name, p.Compute, len(p.Instrs))
	}
	tw.Flush()
}
