// Package scratchmod makes throw-away Go modules for tests that do what a
// user of actkern does: generate packages into a module of their own and
// build and test them there. It is for tests only.
package scratchmod

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// RepoRoot is the root of the actkern module: the nearest directory at or
// above the working directory (a test's package directory) with a go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test's directory")
		dir = parent
	}
}

// New makes a module named module in a temporary directory that requires
// actkern and replaces it with this repository, so generated code builds
// and tests there exactly as a user's would against a release. It copies
// the repository's go.sum, so that Tidy needs only the module cache.
func New(t testing.TB, module string) string {
	t.Helper()
	root := RepoRoot(t)
	dir := t.TempDir()
	gomod := "module " + module + "\n\ngo 1.26\n\nrequire github.com/actkern/actkern v0.0.0\n\nreplace github.com/actkern/actkern => " + filepath.ToSlash(root) + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))
	return dir
}

// Tidy completes the module's requirements, from the module cache only.
func Tidy(t testing.TB, dir string) {
	t.Helper()
	Go(t, dir, []string{"GOFLAGS=-mod=mod", "GOPROXY=off"}, "mod", "tidy")
}

// Go runs the go command in dir with env added to the environment, and
// fails the test with its output if it fails.
func Go(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s in %s:\n%s", strings.Join(args, " "), dir, out)
	return string(out)
}
