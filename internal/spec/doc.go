// The spec file (spec/activations.yaml) lists activations under one key.
// Every formula is a Go expression over the vocabulary of internal/expr:
// the functions in expr.Functions, the built-in constants in
// expr.Constants, and the names an entry declares. Comparisons and && || !
// appear only as the first argument of where (and in require rules, which
// are conditions).
//
//	activations:
//	  - name: softplus             # required; snake_case [a-z][a-z0-9_]*, unique
//	    go_name: Softplus          # required; exported Go identifier, unique;
//	                               #   not New, ISA, Params, nor another entry's
//	                               #   go_name + Backward / BackwardFromOutput
//	    kind: elementwise          # optional; the default and only kind so far
//	    doc: Smooth ReLU ...       # required; one line
//	    torch: torch.nn.Softplus   # required; the PyTorch equivalent
//	    params:                    # optional; scalar arguments, in this order
//	      - name: beta             #   required
//	        default: 1             #   required; a finite number
//	        require: "beta > 0"    #   optional; condition over the parameters,
//	                               #   must hold at the defaults and test sets
//	        doc: "..."             #   optional; one line
//	    constants:                 # optional; full-precision named constants
//	      - {name: alpha, value: "1.6732632423543772848170429916717", doc: "..."}
//	                               #   value: a decimal number (quote it to be
//	                               #   sure YAML keeps every digit as written)
//	    thresholds:                # optional; named per-precision values
//	      - {name: exp_big, f32: 88.72283, f64: 709.782712893384, what: "..."}
//	    forward: where(beta*x > threshold, x, log1p(exp(beta*x)) / beta)
//	                               # required; f over x
//	    derivative: where(beta*x > threshold, 1, sigmoid(beta*x))
//	                               # required; f' over x
//	    derivative_output: ...     # optional; f' over y = f(x) (x not in scope)
//	    output_requires: "..."     # optional, only with derivative_output:
//	                               #   condition over the parameters under which
//	                               #   derivative_output is valid
//	    kinks:                     # optional; where f' jumps
//	      - {at: "0", gradient: "0", why: "PyTorch takes relu'(0) = 0"}
//	                               #   at, gradient: formulas over the parameters
//	    special:                   # required, non-empty; special-value table
//	      - {x: "-inf", forward: "0", backward: "0"}
//	                               #   formulas over the parameters; backward is
//	                               #   f'(x), i.e. the backward kernel with dy = 1
//	    deviations:                # optional; one-line strings: where and why we
//	      - "..."                  #   differ from PyTorch
//	    test_params:               # optional; non-default parameter sets that the
//	      - {beta: 2, threshold: 10}  # checks and generated tests also run
//
// Names. Parameters, constants and thresholds share one snake_case
// namespace per entry, and may not shadow x, y, the kernels' arguments
// (dst, dx, dy), a function, a built-in constant, or a Go keyword or
// predeclared identifier (generated code declares them as Go names).
//
// Scopes. forward and derivative see x; derivative_output sees y; every
// formula sees the parameters, constants, thresholds and built-in
// constants. Threshold names stand for their f64 value when the loader
// evaluates formulas, and for the value of each precision in kernels
// (Activation.Consts).
//
// Numeric checks, run on every entry that is otherwise valid, at the
// defaults and at each test_params set:
//   - each require rule holds;
//   - derivative agrees with a central difference of forward (200-bit
//     big.Float, h = 2^-60·max(1,|x|)) to 1e-12 relative, at 253 fixed
//     points in ±[1e-3, 30] plus 0 and ±45.5 … ±1e4, skipping points within
//     1e-6 relative of a kink or a threshold, points where a value is not
//     finite, and points where the one-sided differences disagree (a
//     where() switching branch inside [x-h, x+h]);
//   - derivative_output(forward(x)) agrees with derivative(x) at the same
//     points, for the sets where output_requires holds.
//
// Errors. Every problem is reported, each as file:line:col: message at
// the place to edit (the key of an unknown field, the entry's mapping for
// a missing field, the offending token inside a formula), sorted by
// position. Columns count characters, as the YAML library does. A spec
// with any error yields no *Spec at all.
package spec
