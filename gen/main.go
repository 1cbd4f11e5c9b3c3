// Command gen regenerates this repository's activation packages,
// generated/f32 and generated/f64, from spec/activations.yaml (the work is
// done by package internal/generate, which `actkern generate` shares).
//
// Everything is produced in memory first: a spec that fails anywhere writes
// nothing. Then only files whose content changed are rewritten, and
// generated files that are no longer produced are removed.
//
// Usage, from the repository root or from gen/:
//
//	go run ./gen [-spec spec/activations.yaml] [-out generated] [-import path] [-v] [-summary]
//
// Without flags the spec and output directories are found from the module
// root (the nearest directory above the working directory with a go.mod).
package main

//go:generate go run . -spec ../spec/activations.yaml -out ../generated -summary

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/actkern/actkern/internal/generate"
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
		root, _, err := generate.FindModule(wd)
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
	res, err := generate.Run(generate.Options{
		Spec: specPath, Out: outDir, Import: importBase,
		Log: os.Stdout, Verbose: verbose, Summary: summary,
	})
	if err != nil {
		return err
	}
	fmt.Println("gen:", res)
	return nil
}
