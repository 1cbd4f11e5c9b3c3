// Package generate turns a spec into the activation packages f32 and f64:
// for every activation, precision (float32, float64) and direction
// (forward, backward, backward from the output) it lowers the formula to a
// vector program and emits the pure-Go kernel, the public API, tests,
// benchmarks and documentation (and, through package asm, the amd64
// assembly).
//
// Two commands drive it: gen (`go run ./gen`, `go generate ./...`), which
// regenerates this repository's generated/, and `actkern generate`, which
// generates a user's own spec into the user's module. Both call Run.
package generate
