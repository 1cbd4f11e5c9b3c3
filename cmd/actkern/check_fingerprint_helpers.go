package main

// Helpers in fingerprints. The generated packages' shared Go files
// (helpers.go, rare.go, stream.go, …) are mostly small functions that
// only some kernels call: fma32Slow is called by float32 kernels that run
// in float32 lanes, getExp64 by those whose primitives take exponents
// apart. Hashing those files whole into every job's fingerprint made a new
// helper restale every job of its precision, hours of sweep for jobs that
// never call it. So each plain function of a shared file is hashed into
// the jobs whose own code names it, directly or through other helpers;
// the rest of the file (types, variables, methods, init functions) and the
// helpers that rest names stay shared by all.

import (
	"bytes"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
)

// helperFunc is a plain function of a shared file: its declaration as code
// (no comments) and the identifiers that code names.
type helperFunc struct {
	code []byte
	refs []string
}

// identifier matches Go identifiers, and some words that are not (in
// string literals, after a dot): a name it finds that is not a helper's
// costs nothing, and a helper's name is always found.
var identifier = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// identifiers lists the distinct identifiers in code.
func identifiers(code []byte) []string {
	var names []string
	for _, m := range identifier.FindAll(code, -1) {
		names = append(names, string(m))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// splitHelpers parses a shared Go file into its plain functions (no
// receiver, not init), by name, and the rest as code, after the file's
// build constraint (a comment that decides what is compiled).
func splitHelpers(src []byte) (rest []byte, funcs map[string]helperFunc, err error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, err
	}
	funcs = map[string]helperFunc{}
	kept := file.Decls[:0:0]
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Name.Name == "init" {
			kept = append(kept, d)
			continue
		}
		var buf bytes.Buffer
		if err := format.Node(&buf, fset, fn); err != nil {
			return nil, nil, err
		}
		funcs[fn.Name.Name] = helperFunc{code: buf.Bytes(), refs: identifiers(buf.Bytes())}
	}
	file.Decls = kept
	var buf bytes.Buffer
	for line := range bytes.Lines(src) {
		if bytes.HasPrefix(line, []byte("//go:build ")) {
			buf.Write(line)
		}
	}
	if err := format.Node(&buf, fset, file); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), funcs, nil
}

// helperClosure is the set of helpers that code naming roots runs: those
// roots name and, transitively, those the helpers name.
func helperClosure(helpers map[string]helperFunc, roots []string) map[string]bool {
	seen := map[string]bool{}
	var visit func(names []string)
	visit = func(names []string) {
		for _, n := range names {
			if h, ok := helpers[n]; ok && !seen[n] {
				seen[n] = true
				visit(h.refs)
			}
		}
	}
	visit(roots)
	return seen
}
