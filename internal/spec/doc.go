// The spec file (spec/activations.yaml) lists activations under the key
// activations (and, in a user's spec, the files it builds on under include).
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
//	    let:                       # optional; named sub-expressions, in order
//	      - {name: bx, formula: "beta*x", doc: "..."}
//	                               #   formula over x, the names above and
//	                               #   earlier lets; doc optional, one line
//	    let_output:                # optional; the same over y, for
//	      - {name: ey, formula: "-expm1(-beta*y)"}  # derivative_output
//	    forward: where(beta*x > threshold, x, log1p(exp(beta*x)) / beta)
//	                               # required; f over x
//	    derivative: where(beta*x > threshold, 1, sigmoid(beta*x))
//	                               # required; f' over x
//	    derivative_output: ...     # optional; f' over y = f(x) (x not in scope)
//	    output_requires: "..."     # optional, only with derivative_output:
//	                               #   condition over the parameters under which
//	                               #   derivative_output is valid
//	    float32:                   # optional, elementwise only; formulas the
//	      forward: ...             #   float32 kernels evaluate instead (any of
//	                               #   forward, derivative, derivative_output):
//	                               #   the same function without the corrections
//	                               #   only a float64 result needs; checked
//	                               #   against the main formula to 1 float32 ULP
//	    baseline:                  # optional, elementwise only; f and f' as a
//	      forward: ...             #   Go programmer would write them over package
//	                               #   math (forward, derivative), for the
//	                               #   benchmarks' plain-Go loop where the kernels'
//	                               #   formulas are approximations; checked as
//	                               #   float32: is
//	    rare: ["abs(x) > 1e150"]   # optional; conditions of where() calls in
//	                               #   these formulas (lets allowed) whose first
//	                               #   branch, a costly far tail, the kernels
//	                               #   run only from the first element that
//	                               #   needs it (same bits; see rare.go)
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
// Includes. A spec may start from other spec files:
//
//	include:                     # optional; loaded in order, before this file
//	  - actkern                  #   actkern's own spec, as embedded in the
//	                             #   actkern module that runs (package
//	                             #   github.com/actkern/actkern/spec)
//	  - common/extra.yaml        #   a file, relative to this one
//	activations:                 # required without include:, optional with it
//	  - name: squareplus ...
//
// The included files' activations come first, in include order, then this
// file's; an included file may include others. Each included file is
// loaded and checked on its own, so its problems carry its own path (the
// built-in spec's path is github.com/actkern/actkern/spec/activations.yaml).
// Across files, a name or go_name given twice, or a go_name equal to
// another's go_name + Backward or BackwardFromOutput, is refused at the
// later entry, naming the earlier one's file:line:col. A missing file, a
// file included twice and an include cycle are refused at the include
// entry. To include a file named actkern, write ./actkern.
//
// Names. Parameters, constants and thresholds share one snake_case
// namespace per entry, and may not shadow x, y, the kernels' arguments
// (dst, dx, dy), a function, a built-in constant, or a Go keyword or
// predeclared identifier (generated code declares them as Go names).
//
// Functions. Besides the usual ones (see expr.Functions), fma(a, b, c) is
// a*b + c with a single rounding in kernels and exact in the reference.
// Its use is error-free product transforms: in a kernel
// fma(beta, x, -(beta*x)) is exactly the rounding error of beta*x, so a
// formula can carry a double-float correction without Veltkamp splitting;
// in the reference the same term is exactly 0, so the numeric checks see
// the plain mathematics. For example softplus keeps log1p(exp(u)) accurate
// where u = beta*x has rounded, using sigmoid(u) ≈ d/du log1p(exp(u)):
//
//	forward: (max(u, 0) + log1p(exp(-abs(u))) + sigmoid(u)*fma(beta, x, -u)) / beta
//
// Scopes. forward and derivative see x; derivative_output sees y; every
// formula sees the parameters, constants, thresholds and built-in
// constants. Threshold names stand for their f64 value when the loader
// evaluates formulas, and for the value of each precision in kernels
// (Activation.Consts).
//
// Lets. let: and let_output: name sub-expressions that formulas would
// otherwise repeat (a correction term written out three times is one that
// gets fixed in one place and not the others):
//
//	let:
//	  - {name: inv_beta, formula: "1/beta"}         # no variable: usable anywhere
//	  - {name: u, formula: "beta*x"}                # over x
//	  - {name: err, formula: "fma(beta, x, -u)"}    # may use earlier lets
//	let_output:
//	  - {name: ey, formula: "-expm1(-beta*y)"}      # over y
//	forward: where(u > threshold, x, (max(u, 0) + log1p(exp(-abs(u))) + sigmoid(u)*err) * inv_beta)
//	derivative: where(u > threshold, 1, sigmoid(u))
//	derivative_output: where(beta*y > threshold, 1, ey)
//	special:
//	  - {x: "-inf", forward: "0*inv_beta", backward: "0"}
//
// A let's formula sees the parameters, constants, thresholds, built-in
// constants, its list's variable (x for let, y for let_output) and the
// lets before it (let_output comes after let). A let depends on x or y if
// its formula uses the variable or a let that depends on it, and may be
// used only by formulas that have that variable: a let over x is refused
// in derivative_output, require rules, output_requires, kinks and special
// cells ("let u depends on x, which is not available in this formula");
// a let over no variable may be used by every formula. A let may not use
// itself or a later let ("unknown name v (lets may only use earlier
// lets)"), so there are no cycles. Let names share the entry's namespace
// (the rules of Names above apply; two lets of the same name are refused),
// and a let that no formula uses, directly or through lets that are used,
// is refused ("let t is never used").
//
// Lets do not survive loading: every Formula's Expr has each use of a let
// replaced by a copy of the let's expression in parentheses, so u*u
// becomes (beta*x)*(beta*x) and the reference, the lowering and the
// generator never see let names (sharing the repeated work is the
// lowering's common-subexpression elimination). Formula.Src keeps the text
// as written; Formula.Expanded is the expression after substitution,
// printed on one line by go/printer, and parses back to the same tree. The
// nodes copied from a let carry the position of the let's name at the use,
// so errors about them point at that name. The numeric checks run on the
// substituted formulas. Activation.Lets and LetsOutput keep the lets for
// documentation.
//
// accuracy_gaps (optional) puts on record a kernel that misses the 2-ULP
// bar: {type: f32|f64, direction: forward|backward|backward_from_output,
// max_ulp: the measured maximum (> 2), why: the reason and the fix it
// needs}. The generated tests then hold that kernel to max_ulp instead and
// log the gap every run; docs/ACCURACY.md lists every gap. It exists so
// that a known defect is visible and cannot grow, never to make a new
// kernel pass.
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
