package main

import (
	"fmt"
	"strings"

	"github.com/actkern/actkern/internal/spec"
)

// elementwise returns the elementwise entries of s named in funcs (a
// comma-separated list; every one when funcs is empty), for the commands
// that measure, time or draw f(x): accuracy, bench and plot. A name of
// another kind is refused with where its figures are.
func elementwise(s *spec.Spec, funcs string) ([]*spec.Activation, error) {
	if funcs == "" {
		var acts []*spec.Activation
		for _, a := range s.Activations {
			if a.Kind == "elementwise" {
				acts = append(acts, a)
			}
		}
		return acts, nil
	}
	var acts []*spec.Activation
	for _, name := range strings.Split(funcs, ",") {
		a := s.Lookup(strings.TrimSpace(name))
		switch {
		case a == nil:
			var valid []string
			for _, a := range s.Activations {
				if a.Kind == "elementwise" {
					valid = append(valid, a.Name)
				}
			}
			return nil, fmt.Errorf("unknown activation %q (valid: %s)", name, strings.Join(valid, ", "))
		case a.Kind != "elementwise":
			return nil, fmt.Errorf("%s is a %s entry: this command takes elementwise ones (its own tests and benchmarks are go test -run 'Test%s$' -bench 'Benchmark%s' ./generated/...)", a.Name, a.Kind, a.GoName, a.GoName)
		}
		acts = append(acts, a)
	}
	return acts, nil
}
