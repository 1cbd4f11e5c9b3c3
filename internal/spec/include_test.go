package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	builtin "github.com/actkern/actkern/spec"
)

// The two entries of valid, as separate list items.
var (
	softplusEntry = valid[len("activations:\n"):strings.Index(valid, "  - name: elu\n")]
	eluEntry      = valid[strings.Index(valid, "  - name: elu\n"):]
)

// writeSpecs writes name → content into a temporary directory and returns it.
func writeSpecs(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

// loadErrors loads path, which must fail, and returns its errors as strings.
func loadErrors(t *testing.T, path string) []string {
	t.Helper()
	s, err := Load(path)
	require.Error(t, err)
	assert.Nil(t, s)
	var list ErrorList
	require.ErrorAs(t, err, &list, "%v", err)
	var out []string
	for _, e := range list {
		out = append(out, e.Error())
	}
	return out
}

func TestIncludeFile(t *testing.T) {
	dir := writeSpecs(t, map[string]string{
		"common/base.yaml": "activations:\n" + softplusEntry,
		"my.yaml":          "include: [common/base.yaml]\nactivations:\n" + eluEntry,
		"only.yaml":        "include:\n  - my.yaml\n",
	})
	s, err := Load(filepath.Join(dir, "my.yaml"))
	require.NoError(t, err)
	require.Len(t, s.Activations, 2)
	// Included activations come first and keep their own file.
	assert.Equal(t, "softplus", s.Activations[0].Name)
	assert.Equal(t, Pos{filepath.Join(dir, "common", "base.yaml"), 2, 5}, s.Activations[0].Pos)
	assert.Equal(t, "elu", s.Activations[1].Name)
	assert.Equal(t, filepath.Join(dir, "my.yaml"), s.Activations[1].Pos.File)
	assert.Equal(t, filepath.Join(dir, "my.yaml"), s.File)

	// A spec of includes alone needs no activations:, and nested includes
	// resolve relative to the file that names them.
	s, err = Load(filepath.Join(dir, "only.yaml"))
	require.NoError(t, err)
	require.Len(t, s.Activations, 2)
	assert.Equal(t, []string{"softplus", "elu"}, []string{s.Activations[0].Name, s.Activations[1].Name})
}

func TestIncludeRefusals(t *testing.T) {
	brokenSoftplus := strings.Replace(softplusEntry, "log1p(exp(beta*x))", "log1p(exp(beta*x)", 1)
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // each "FILE:line:col: message", FILE standing for the directory
	}{
		{"duplicate name across files", map[string]string{
			"base.yaml": "activations:\n" + softplusEntry,
			"my.yaml":   "include: [base.yaml]\nactivations:\n" + strings.Replace(eluEntry, "name: elu\n    go_name: ELU", "name: softplus\n    go_name: ELU", 1),
		}, []string{"DIR/my.yaml:3:11: duplicate name softplus (first at DIR/base.yaml:2:5)"}},
		{"duplicate go_name across files", map[string]string{
			"base.yaml": "activations:\n" + softplusEntry,
			"my.yaml":   "include: [base.yaml]\nactivations:\n" + strings.Replace(eluEntry, "go_name: ELU", "go_name: Softplus", 1),
		}, []string{"DIR/my.yaml:4:14: duplicate go_name Softplus (first at DIR/base.yaml:2:5)"}},
		{"go_name clash across files", map[string]string{
			"base.yaml": "activations:\n" + softplusEntry,
			"my.yaml":   "include: [base.yaml]\nactivations:\n" + strings.Replace(eluEntry, "go_name: ELU", "go_name: SoftplusBackward", 1),
		}, []string{"DIR/my.yaml:4:14: go_name SoftplusBackward clashes with SoftplusBackward generated for softplus (DIR/base.yaml:2:5)"}},
		{"duplicate between two included files", map[string]string{
			"a.yaml":  "activations:\n" + softplusEntry,
			"b.yaml":  "activations:\n" + softplusEntry,
			"my.yaml": "include: [a.yaml, b.yaml]\n",
		}, []string{
			"DIR/b.yaml:2:5: duplicate name softplus (first at DIR/a.yaml:2:5)",
			"DIR/b.yaml:2:5: duplicate go_name Softplus in softplus (first at DIR/a.yaml:2:5)",
		}},
		{"error inside an included file", map[string]string{
			"base.yaml": "activations:\n" + brokenSoftplus,
			"my.yaml":   "include: [base.yaml]\nactivations:\n" + eluEntry,
		}, []string{"DIR/base.yaml:9:"}},
		{"missing file", map[string]string{
			"my.yaml": "activations:\n" + eluEntry + "include:\n  - nothere.yaml\n",
		}, []string{"DIR/my.yaml:26:5: include nothere.yaml: open DIR/nothere.yaml: no such file or directory"}},
		{"cycle", map[string]string{
			"a.yaml": "include: [b.yaml]\nactivations:\n" + softplusEntry,
			"b.yaml": "include: [a.yaml]\nactivations:\n" + eluEntry,
		}, []string{"DIR/b.yaml:1:11: include a.yaml: include cycle (the file is already being loaded)"}},
		{"included twice", map[string]string{
			"base.yaml": "activations:\n" + softplusEntry,
			"my.yaml":   "include: [base.yaml, ./base.yaml]\n",
		}, []string{"DIR/my.yaml:1:22: include ./base.yaml: already included at DIR/my.yaml:1:11"}},
		{"not a file name", map[string]string{
			"my.yaml": "include: [{file: a.yaml}]\nactivations:\n" + eluEntry,
		}, []string{"DIR/my.yaml:1:11: include: expected a file name or actkern, got a mapping"}},
		{"no activations and no include", map[string]string{
			"my.yaml": "activations: []\n",
		}, []string{"DIR/my.yaml:1:14: activations: empty list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeSpecs(t, tc.files)
			first := "my.yaml"
			if tc.files[first] == "" {
				first = "a.yaml"
			}
			got := loadErrors(t, filepath.Join(dir, first))
			require.Len(t, got, len(tc.want), "%q", got)
			for i, want := range tc.want {
				want = strings.ReplaceAll(want, "DIR/", dir+string(filepath.Separator))
				assert.True(t, strings.HasPrefix(got[i], want), "got  %q\nwant %q...", got[i], want)
			}
		})
	}
}

func TestIncludeBuiltin(t *testing.T) {
	ours, err := Parse(builtin.File, builtin.YAML)
	require.NoError(t, err, "the embedded spec must load")
	require.NotEmpty(t, ours.Activations)

	dir := writeSpecs(t, map[string]string{
		"my.yaml": "include: [actkern]\nactivations:\n" + strings.Replace(strings.Replace(softplusEntry,
			"name: softplus", "name: my_softplus", 1), "go_name: Softplus", "go_name: MySoftplus", 1),
	})
	s, err := Load(filepath.Join(dir, "my.yaml"))
	require.NoError(t, err)
	require.Len(t, s.Activations, len(ours.Activations)+1)
	for i, a := range ours.Activations {
		assert.Equal(t, a.Name, s.Activations[i].Name)
		assert.Equal(t, builtin.File, s.Activations[i].Pos.File)
	}
	assert.Equal(t, "my_softplus", s.Activations[len(ours.Activations)].Name)

	// An entry of the user's that repeats one of ours names both places.
	clash := ours.Activations[0]
	dir = writeSpecs(t, map[string]string{
		"my.yaml": "include: [actkern]\nactivations:\n" + strings.Replace(strings.Replace(softplusEntry,
			"name: softplus", "name: "+clash.Name, 1), "go_name: Softplus", "go_name: MySoftplus", 1),
	})
	got := loadErrors(t, filepath.Join(dir, "my.yaml"))
	require.Len(t, got, 1, "%q", got)
	assert.Equal(t, filepath.Join(dir, "my.yaml")+":3:11: duplicate name "+clash.Name+" (first at "+clash.Pos.String()+")", got[0])
}
