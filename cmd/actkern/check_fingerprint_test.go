package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/spec"
	builtin "github.com/actkern/actkern/spec"
)

// TestGoCode: comments leave a Go file's hash alone; code and build
// constraints do not.
func TestGoCode(t *testing.T) {
	code := func(src string) string {
		b, err := goCode([]byte(src))
		require.NoError(t, err)
		return string(b)
	}
	const base = "//go:build amd64\n\n// Package p does x.\npackage p\n\n// F is f.\nfunc F() int { return 1 }\n"
	assert.Equal(t, code(base), code(strings.Replace(base, "does x", "does y, reworded", 1)))
	assert.Equal(t, code(base), code(strings.Replace(base, "// F is f.\n", "", 1)+"// trailing\n"))
	assert.NotEqual(t, code(base), code(strings.Replace(base, "return 1", "return 2", 1)))
	assert.NotEqual(t, code(base), code(strings.Replace(base, "amd64", "!amd64", 1)))
	_, err := goCode([]byte("package p\nfunc {"))
	assert.Error(t, err)
}

// TestDispatchLines: each kernel variable's assignments are its
// activation's lines of the dispatch file; the rest is shared.
func TestDispatchLines(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "generated", "f64")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write("a_generic.go", "package f64\n\nfunc aGeneric() {}\n\nfunc aBackwardGeneric() {}\n")
	write("ab_generic.go", "package f64\n\nfunc abGeneric() {}\n")
	write(dispatch, `package f64

func useISA(name string) bool {
	switch name {
	case "avx2":
		aImpl = aAVX2
		aStreamImpl = aAVX2Stream
		aBackwardImpl = aBackwardAVX2
		abImpl = abAVX2
		softmaxImpl = softmaxAVX2
	}
	return true
}
`)
	f := &fingerprinter{root: root, entries: map[string][]byte{"a": nil, "ab": nil}, dispatch: map[string]map[string][]byte{}}
	m, err := f.dispatchLines("f64")
	require.NoError(t, err)
	assert.Equal(t, "\t\taImpl = aAVX2\n\t\taStreamImpl = aAVX2Stream\n\t\taBackwardImpl = aBackwardAVX2\n", string(m["a"]))
	assert.Equal(t, "\t\tabImpl = abAVX2\n", string(m["ab"]))
	assert.Contains(t, string(m[""]), "softmaxImpl = softmaxAVX2", "a kernel no activation's entry owns is shared")
	assert.Contains(t, string(m[""]), "func useISA")
	assert.NotContains(t, string(m[""]), "aAVX2")
}

// TestParseAsm: a function's text carries the constants it reads, not
// their offsets in the pool, and nothing of the pool's size.
func TestParseAsm(t *testing.T) {
	const a = `#include "textflag.h"

TEXT ·fooAVX2(SB), NOSPLIT, $0-48
	VMULPD      actkernconst<>+0(SB), Y0, Y0
	RET

TEXT ·barAVX2(SB), NOSPLIT, $0-48
	VADDPD      actkernconst<>+8(SB), Y0, Y0
	RET

DATA actkernconst<>+0(SB)/8, $0x3ff0000000000000
DATA actkernconst<>+8(SB)/8, $0x4000000000000000
GLOBL actkernconst<>(SB), RODATA|NOPTR, $16
`
	// The same functions with the pool in the other order and grown.
	const b = `#include "textflag.h"

TEXT ·fooAVX2(SB), NOSPLIT, $0-48
	VMULPD      actkernconst<>+8(SB), Y0, Y0
	RET

TEXT ·barAVX2(SB), NOSPLIT, $0-48
	VADDPD      actkernconst<>+0(SB), Y0, Y0
	RET

DATA actkernconst<>+0(SB)/8, $0x4000000000000000
DATA actkernconst<>+8(SB)/8, $0x3ff0000000000000
DATA actkernconst<>+16(SB)/8, $0x4008000000000000
GLOBL actkernconst<>(SB), RODATA|NOPTR, $24
`
	fa, fb := parseAsm([]byte(a)), parseAsm([]byte(b))
	require.Len(t, fa, 2)
	assert.Contains(t, string(fa["fooAVX2"]), "0x3ff0000000000000")
	assert.NotContains(t, string(fa["barAVX2"]), "GLOBL")
	// A Y register reads 32 bytes: foo reads 1.0 and what follows it in
	// the pool, 2.0 in a, 3.0 in b.
	assert.NotEqual(t, string(fa["fooAVX2"]), string(fb["fooAVX2"]))
	assert.Contains(t, string(fb["barAVX2"]), "; 0x4000000000000000 0x3ff0000000000000 0x4008000000000000")
	assert.NotContains(t, string(fa["fooAVX2"]), "+0(SB)", "offsets are left out")
	// A broadcast reads its 8 bytes only, wherever they are.
	bcst := func(off, other string) string {
		return "TEXT ·bazAVX512(SB), NOSPLIT, $0-48\n\tVMULPD.BCST actkernconst<>+" + off + "(SB), Z0, Z0\n" +
			"DATA actkernconst<>+0(SB)/8, $" + other + "\nDATA actkernconst<>+8(SB)/8, $0x3ff0000000000000\n"
	}
	assert.Equal(t, parseAsm([]byte(bcst("8", "0x1"))), parseAsm([]byte(bcst("8", "0x2"))))
	fc := parseAsm([]byte(a[:len(a)-len("GLOBL actkernconst<>(SB), RODATA|NOPTR, $16\n")] + "GLOBL actkernconst<>(SB), RODATA|NOPTR, $64\n"))
	assert.Equal(t, fa, fc, "the pool's size is no function's")
}

// TestJobFingerprints: on the real sources, every assembly function
// belongs to exactly one activation, each elementwise activation owns some
// (on amd64), and the jobs' fingerprints are all different.
func TestJobFingerprints(t *testing.T) {
	s, err := spec.Parse(builtin.File, builtin.YAML)
	require.NoError(t, err)
	f, err := newFingerprinter(builtin.YAML, s)
	require.NoError(t, err)
	seen := map[string]string{}
	for _, typ := range []string{"f32", "f64"} {
		funcs, err := f.asmFuncs(typ)
		require.NoError(t, err)
		owner := map[string]string{}
		for _, a := range s.Activations {
			generic, err := os.ReadFile(filepath.Join(f.root, "generated", typ, a.Name+"_generic.go"))
			if err != nil {
				continue
			}
			own := ownAsm(generic, funcs)
			if a.Kind == "elementwise" && len(funcs) > 0 {
				assert.NotEmpty(t, own, "%s %s owns no assembly", a.Name, typ)
			}
			for _, fn := range own {
				assert.Empty(t, owner[fn], "%s is %s's and %s's", fn, owner[fn], a.Name)
				owner[fn] = a.Name
			}
			if a.Kind != "elementwise" {
				continue
			}
			fp, err := f.job(a.Name, typ)
			require.NoError(t, err)
			assert.Empty(t, seen[fp], "%s %s has the fingerprint of %s", a.Name, typ, seen[fp])
			seen[fp] = a.Name + " " + typ
			again, err := f.job(a.Name, typ)
			require.NoError(t, err)
			assert.Equal(t, fp, again)
		}
		for fn := range funcs {
			assert.NotEmpty(t, owner[fn], "%s: no activation owns %s", typ, fn)
		}
	}
}

// TestFingerprintsIgnoreHeaderComments checks that rewording the comment
// at the top of the spec leaves every job's fingerprint as it was, and
// that a change to the header's YAML does not.
func TestFingerprintsIgnoreHeaderComments(t *testing.T) {
	fp := func(text []byte) string {
		s, err := spec.Parse(builtin.File, text)
		require.NoError(t, err)
		f, err := newFingerprinter(text, s)
		require.NoError(t, err)
		j, err := f.job(s.Activations[0].Name, "f32")
		require.NoError(t, err)
		return j
	}
	require.True(t, bytes.HasPrefix(builtin.YAML, []byte("#")), "the spec starts with a comment")
	base := fp(builtin.YAML)
	reworded := append([]byte("# a reworded header line\n"), builtin.YAML...)
	assert.Equal(t, base, fp(reworded), "a comment line in the header")
	changed := append([]byte("include: []\n"), builtin.YAML...)
	assert.NotEqual(t, base, fp(changed), "a YAML line in the header")
}
