package generate

import (
	"errors"
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

// Options says what Run generates and where.
type Options struct {
	// Spec is the spec file. Its include: entries are resolved relative to
	// it (see package internal/spec).
	Spec string
	// Out is the directory that receives the packages f32/ and f64/.
	Out string
	// Import is the import path of Out, e.g.
	// "github.com/actkern/actkern/generated"; the generated examples import
	// the packages through it. Empty: derived from the go.mod enclosing Out.
	Import string
	// Log receives the file list (Verbose) and the kernel table (Summary);
	// nil discards them.
	Log io.Writer
	// Verbose lists every file written or removed.
	Verbose bool
	// Summary lists every kernel: package, name, compute type, lane ops.
	Summary bool
}

// Result says what Run did.
type Result struct {
	Activations                 int // activations in the spec, includes resolved
	Files                       int // files generated
	Written, Unchanged, Removed []string
}

// String is the one-line report the generator prints.
func (r *Result) String() string {
	return fmt.Sprintf("%d activations, %d files: %d written, %d unchanged, %d removed",
		r.Activations, r.Files, len(r.Written), len(r.Unchanged), len(r.Removed))
}

// Run loads the spec and generates its packages into o.Out. Everything is
// produced in memory first: a spec that fails anywhere writes nothing (the
// error of a spec with problems is a spec.ErrorList, one file:line:col:
// message per problem). Then only files whose content changed are
// rewritten, and generated files no longer produced are removed; files
// without the generated-code line are never touched.
func Run(o Options) (*Result, error) {
	if o.Spec == "" || o.Out == "" {
		return nil, errors.New("generate: need a spec file and an output directory")
	}
	importBase := o.Import
	if importBase == "" {
		var err error
		if importBase, err = ImportPathOf(o.Out); err != nil {
			return nil, fmt.Errorf("import path of %s: %w", o.Out, err)
		}
	}
	s, err := spec.Load(o.Spec)
	if err != nil {
		return nil, err
	}
	g := &generator{lower: vprog.Lower, asm: asm.Generate, importBase: importBase}
	files, err := g.generate(s)
	if err != nil {
		return nil, err
	}
	wr, err := writeFiles(o.Out, files)
	if err != nil {
		return nil, err
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	if o.Verbose {
		for _, n := range wr.Written {
			fmt.Fprintln(log, "wrote", n)
		}
		for _, n := range wr.Removed {
			fmt.Fprintln(log, "removed", n)
		}
	}
	if o.Summary {
		printSummary(log, g.programs)
	}
	return &Result{
		Activations: len(s.Activations),
		Files:       len(files),
		Written:     wr.Written,
		Unchanged:   wr.Unchanged,
		Removed:     wr.Removed,
	}, nil
}

var moduleLine = regexp.MustCompile(`(?m)^module\s+("?)([^\s"]+)("?)\s*$`)

// FindModule returns the directory of the nearest go.mod at or above dir,
// and the module path it declares.
func FindModule(dir string) (root, module string, err error) {
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

// ImportPathOf is the import path of directory dir (which need not exist
// yet) in its enclosing module.
func ImportPathOf(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
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
	root, module, err := FindModule(probe)
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
