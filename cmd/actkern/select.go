package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/actkern/actkern/internal/spec"
)

// elementwise returns the elementwise entries of s named in funcs (a
// comma-separated list; every one when funcs is empty), for the commands
// that measure or time f(x) alone: accuracy and bench. A name of another
// kind is refused with where its figures are.
func elementwise(s *spec.Spec, funcs string) ([]*spec.Activation, error) {
	return selectKinds(s, funcs, "elementwise")
}

// selectKinds returns the entries of s of the given kinds (every kind if
// none is given) named in funcs, or all of them when funcs is empty.
func selectKinds(s *spec.Spec, funcs string, kinds ...string) ([]*spec.Activation, error) {
	ok := func(a *spec.Activation) bool { return len(kinds) == 0 || slices.Contains(kinds, a.Kind) }
	var acts []*spec.Activation
	if funcs == "" {
		for _, a := range s.Activations {
			if ok(a) {
				acts = append(acts, a)
			}
		}
		return acts, nil
	}
	for _, name := range strings.Split(funcs, ",") {
		a := s.Lookup(strings.TrimSpace(name))
		switch {
		case a == nil:
			var valid []string
			for _, a := range s.Activations {
				if ok(a) {
					valid = append(valid, a.Name)
				}
			}
			return nil, fmt.Errorf("unknown activation %q (valid: %s)", name, strings.Join(valid, ", "))
		case !ok(a):
			return nil, fmt.Errorf("%s is a %s entry: this command takes elementwise ones (its own tests and benchmarks are go test -run 'Test%s$' -bench 'Benchmark%s' ./generated/...)", a.Name, a.Kind, a.GoName, a.GoName)
		}
		acts = append(acts, a)
	}
	return acts, nil
}
