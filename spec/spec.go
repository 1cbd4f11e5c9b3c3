// Package spec carries actkern's activation spec, activations.yaml, inside
// every program built from this module: `actkern list` and `actkern eval`
// describe the spec they were built with, and a user's spec that says
//
//	include: [actkern]
//
// starts from it (see package internal/spec) without a copy of the file.
// The YAML file beside this one is the source of truth; this package only
// embeds it.
package spec

import _ "embed"

// YAML is the content of activations.yaml as this module was built.
//
//go:embed activations.yaml
var YAML []byte

// File is the name the built-in spec goes by in error positions
// (file:line:col), so that a problem in it is not mistaken for one in the
// user's file.
const File = "github.com/actkern/actkern/spec/activations.yaml"
