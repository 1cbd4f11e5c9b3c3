package generate

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// generatedLine is Go's convention for marking generated files
// (https://go.dev/s/generatedcode); avo's assembly follows it too.
var generatedLine = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)

// isGenerated reports whether the file at path carries the generated-code
// line before its package clause (or within its first lines for non-Go files).
func isGenerated(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan() && n < 50; n++ {
		line := sc.Text()
		if generatedLine.MatchString(line) {
			return true, nil
		}
		if strings.HasPrefix(line, "package ") {
			break
		}
	}
	return false, sc.Err()
}

// writeResult says what writeFiles did, for the log.
type writeResult struct {
	Written, Unchanged, Removed []string
}

// writeFiles makes outDir/<pkg> hold exactly files (paths relative to
// outDir) for every package directory named in files: a file is rewritten
// only if its content changed (so timestamps, and builds, stay put), and a
// generated file no longer produced is removed. Files without the
// generated-code line are never touched. Each file is replaced atomically
// (write to a temporary file, then rename).
func writeFiles(outDir string, files map[string][]byte) (writeResult, error) {
	var res writeResult
	names := make([]string, 0, len(files))
	dirs := map[string]bool{}
	for n := range files {
		names = append(names, n)
		dirs[filepath.Dir(filepath.FromSlash(n))] = true
	}
	sort.Strings(names)
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(outDir, d), 0o755); err != nil {
			return res, err
		}
	}
	for _, n := range names {
		p := filepath.Join(outDir, filepath.FromSlash(n))
		old, err := os.ReadFile(p)
		if err == nil && bytes.Equal(old, files[n]) {
			res.Unchanged = append(res.Unchanged, n)
			continue
		}
		if err == nil {
			gen, err := isGenerated(p)
			if err != nil {
				return res, err
			}
			if !gen {
				return res, fmt.Errorf("%s exists and is not a generated file: refusing to overwrite it", p)
			}
		}
		if err := writeAtomic(p, files[n]); err != nil {
			return res, err
		}
		res.Written = append(res.Written, n)
	}
	sortedDirs := make([]string, 0, len(dirs))
	for d := range dirs {
		sortedDirs = append(sortedDirs, d)
	}
	sort.Strings(sortedDirs)
	for _, d := range sortedDirs {
		entries, err := os.ReadDir(filepath.Join(outDir, d))
		if err != nil {
			return res, err
		}
		for _, e := range entries {
			rel := filepath.ToSlash(filepath.Join(d, e.Name()))
			if !e.Type().IsRegular() || files[rel] != nil {
				continue
			}
			p := filepath.Join(outDir, d, e.Name())
			gen, err := isGenerated(p)
			if err != nil {
				return res, err
			}
			if gen {
				if err := os.Remove(p); err != nil {
					return res, err
				}
				res.Removed = append(res.Removed, rel)
			}
		}
	}
	return res, nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".actkern-gen-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}
