package main

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/spec"
	builtin "github.com/actkern/actkern/spec"
)

// TestSplitHelpers: plain functions leave the shared part, with what they
// name; methods, init and other declarations stay, as does the build
// constraint.
func TestSplitHelpers(t *testing.T) {
	src := `//go:build !purego

// Package p is shared.
package p

var table = [2]float64{1, 2}

type box struct{}

// twice doubles.
func twice(a float64) float64 { return half(a) * 4 }

func half(a float64) float64 { return a / 2 }

func (box) get() float64 { return table[0] }

func init() { table[1] = half(table[1]) }
`
	rest, funcs, err := splitHelpers([]byte(src))
	require.NoError(t, err)
	assert.Equal(t, []string{"half", "twice"}, slices.Sorted(maps.Keys(funcs)))
	assert.Contains(t, string(rest), "//go:build !purego\n")
	assert.Contains(t, string(rest), "var table")
	assert.Contains(t, string(rest), "func (box) get()")
	assert.Contains(t, string(rest), "func init()")
	assert.NotContains(t, string(rest), "func twice")
	assert.NotContains(t, string(rest), "doubles", "comments are not code")
	assert.Contains(t, funcs["twice"].refs, "half")

	assert.Equal(t, map[string]bool{"twice": true, "half": true}, helperClosure(funcs, []string{"x", "twice"}),
		"a helper brings the helpers it calls")
	assert.Equal(t, map[string]bool{"half": true}, helperClosure(funcs, identifiers(rest)),
		"init's call is found in the shared part")
}

// TestHelpersInFingerprints, on the real sources: a float32 helper only
// the float32-lanes kernels call (fma32Slow, for their fma) is in
// hardswish's fingerprint, not in the shared part, and changing it
// restales hardswish's jobs and not those of kernels that do not call it
// (relu, and tanh, whose float32 kernels run in float64 lanes).
func TestHelpersInFingerprints(t *testing.T) {
	s, err := spec.Parse(builtin.File, builtin.YAML)
	require.NoError(t, err)
	f, err := newFingerprinter(builtin.YAML, s)
	require.NoError(t, err)
	before := map[string]string{}
	for _, name := range []string{"hardswish", "relu", "tanh"} {
		before[name], err = f.job(name, "f32")
		require.NoError(t, err)
	}
	fma, ok := f.helpers["f32"]["fma32Slow"]
	require.True(t, ok, "helpers.go has fma32Slow")
	assert.False(t, f.sharedHelpers["f32"]["fma32Slow"], "no shared code calls fma32Slow")

	f.helpers["f32"]["fma32Slow"] = helperFunc{code: append([]byte("// changed\n"), fma.code...), refs: fma.refs}
	clear(f.jobs)
	for name, fp := range before {
		after, err := f.job(name, "f32")
		require.NoError(t, err)
		if name == "hardswish" {
			assert.NotEqual(t, fp, after, "hardswish calls fma32Slow")
		} else {
			assert.Equal(t, fp, after, "%s does not call fma32Slow", name)
		}
	}
}
