// Package spec loads and validates spec/activations.yaml: the one source of
// truth for every activation. Loading either gives a fully checked *Spec or
// errors of the form file:line:col: message; nothing downstream re-checks.
package spec

import (
	"fmt"
	"go/ast"
)

// Pos is a place in a spec file, 1-based.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Formula is a parsed expression (a Go expression, see internal/expr).
//
// Src is the formula as written, which may name the entry's lets; Expr has
// every let replaced by its expression (parenthesized), so that nothing
// downstream knows lets exist. Nodes that came from a let carry the
// position of the let's name at the use, so errors about them still point
// inside Src. Expanded is Expr printed (one line, go/printer), for code
// that needs the formula as text without the lets (generated tests parse
// it back); it parses to a tree equal to Expr.
type Formula struct {
	Src      string
	Expr     ast.Expr
	Pos      Pos // position of the first character of Src
	Expanded string
	// Float32Lanes marks a formula written for float32 arithmetic (named
	// in its entry's float32: block's float32_lanes): its float32 kernels
	// compute in float32 lanes, twice as many per vector as float64 ones.
	// It is the block's formula, or the entry's own where the block gives
	// none; float64 kernels ignore the mark. The formula's own
	// compensations (exact sums, fma) keep it within 1 ULP; the tests and
	// the exhaustive sweep measure that, as for any kernel.
	Float32Lanes bool
}

// Spec is the whole file.
type Spec struct {
	File        string
	Activations []*Activation
}

// Activation is one entry of the spec.
type Activation struct {
	Pos    Pos
	Name   string // snake_case, unique: "leaky_relu"
	GoName string // exported Go identifier: "LeakyReLU"
	Kind   string // "elementwise", "rows", "gated" or "channel" (see Shape fields below)
	Doc    string // one line
	Torch  string // PyTorch equivalent: "torch.nn.LeakyReLU"

	Params     []Param
	Constants  []Constant  // named full-precision constants usable in this entry's formulas
	Thresholds []Threshold // named per-precision values usable in formulas
	// Lets (YAML let:, over x) and LetsOutput (let_output:, over y) are
	// the entry's named sub-expressions, in spec order. They are kept for
	// documentation: every Formula, theirs included, already has them
	// substituted.
	Lets, LetsOutput []Let

	Forward    Formula // f(x)
	Derivative Formula // f'(x)
	// DerivativeOutput is f' written in terms of y = f(x); nil if there is none.
	DerivativeOutput *Formula
	// OutputRequires is the condition on the parameters under which
	// DerivativeOutput is valid (nil: always).
	OutputRequires *Formula
	// Float32 (YAML float32:) holds formulas the float32 kernels evaluate
	// instead of Forward, Derivative or DerivativeOutput (nil: the same
	// one). They compute the same function, more cheaply: float32 kernels
	// run in float64 lanes, where the double-float corrections a float64
	// result needs are far below float32's resolution (or, for a formula
	// listed in float32_lanes, in float32 lanes: Formula.Float32Lanes).
	// The main formulas stay the definition the reference evaluates, so
	// the float32 tests measure these against it.
	Float32 KernelFormulas
	// Baseline (YAML baseline:) holds the forward and derivative the
	// benchmarks' plain-Go loop evaluates instead of the kernels' (nil: the
	// kernels' own, see PlainFormulas): f as a Go programmer would write it
	// over package math, where the kernels evaluate an approximation no one
	// would write by hand (gelu's float32 tail polynomial), which would
	// make the baseline, and so every speedup, something else.
	Baseline KernelFormulas

	Kinks      []Kink
	Special    []Special
	Deviations []string             // where we differ from PyTorch on purpose, and why
	TestParams []map[string]float64 // non-default parameter sets the tests also run
	// SpecializeDefaults (YAML specialize_defaults:) asks for a second set
	// of kernels with every parameter bound to its default, which the API
	// runs when a call passes the defaults: a constant folds where a
	// parameter cannot (elu's alpha = 1 drops the product that keeps
	// alpha*expm1(x) within 1 ULP for every alpha).
	SpecializeDefaults bool
	// Rows: the kind "rows" (softmax family). Reduce are the forward's
	// per-row reductions over x, in order; Forward is over x and them (and
	// RowOutput says it gives one value per row, as logsumexp). Backward is
	// dx, over y and dy (each per element; per row with RowOutput, where x
	// is per element too) and BackwardReduce's results.
	Reduce, BackwardReduce []Reduction
	Backward               *Formula
	RowOutput              bool
	SpecialRows            []SpecialRow

	// Gated (kind "gated", the GLU family): a row of 2·cols is a | b, and
	// the output is Gate(a)·b (GateOn "a") or a·Gate(b) (GateOn "b"), Gate
	// an elementwise entry without parameters.
	Gate   *Activation
	GateOn string

	// Channel (kind "channel", PReLU): Of is an elementwise entry whose
	// parameter ChannelParam takes each channel's weight;
	// DerivativeWeight is ∂Of/∂ChannelParam, over x and Of's parameters.
	Of               *Activation
	ChannelParam     string
	DerivativeWeight *Formula

	// Rare (YAML rare:) are conditions of where() calls in the entry's
	// formulas whose first branch few inputs take and which costs more
	// than the other: a far tail (|x| > 1e150) computed another way. The
	// kernels evaluate such a branch only in calls where some element
	// takes it (IsRare, vprog.SelectRare); the results are the same bits
	// either way.
	Rare []Formula

	// Gaps are kernels known to miss the 2-ULP bar, with the measured
	// figure the tests then hold them to. Each one is a defect on record,
	// listed in docs/ACCURACY.md, not a second bar.
	Gaps []Gap
}

// KernelFormulas are the three formulas an elementwise kernel evaluates.
type KernelFormulas struct {
	Forward, Derivative, DerivativeOutput *Formula
}

// Kernels returns the formulas the kernels of one precision evaluate: the
// main ones, or for float32 those Float32 replaces. DerivativeOutput is nil
// when the entry has none.
func (a *Activation) Kernels(float32 bool) KernelFormulas {
	k := KernelFormulas{&a.Forward, &a.Derivative, a.DerivativeOutput}
	if !float32 {
		return k
	}
	if a.Float32.Forward != nil {
		k.Forward = a.Float32.Forward
	}
	if a.Float32.Derivative != nil {
		k.Derivative = a.Float32.Derivative
	}
	if a.Float32.DerivativeOutput != nil {
		k.DerivativeOutput = a.Float32.DerivativeOutput
	}
	return k
}

// PlainFormulas returns the forward and derivative of the benchmarks'
// plain-Go baseline for one precision: Baseline's where the spec has them,
// else those Kernels gives.
func (a *Activation) PlainFormulas(float32 bool) KernelFormulas {
	k := a.Kernels(float32)
	if a.Baseline.Forward != nil {
		k.Forward = a.Baseline.Forward
	}
	if a.Baseline.Derivative != nil {
		k.Derivative = a.Baseline.Derivative
	}
	return k
}

// Param is a scalar parameter of the activation.
type Param struct {
	Pos     Pos
	Name    string
	Default float64
	Require *Formula // validity rule over the parameters, nil if any value is valid
	Doc     string
}

// Constant is a named constant, given as a decimal string so that the
// reference can use every digit.
type Constant struct {
	Pos   Pos
	Name  string
	Value string
	Doc   string
}

// Let is a named sub-expression of one entry.
type Let struct {
	Pos     Pos // the let's mapping
	Name    string
	Formula Formula // Src as written; Expr with earlier lets substituted
	// Var is the variable the let depends on, directly or through earlier
	// lets: "x", "y", or "" when it depends on the parameters only (and
	// may then be used in every formula).
	Var string
	Doc string
}

// Threshold is a stability threshold: a value per precision where the
// formula switches branch (e.g. where exp would overflow).
type Threshold struct {
	Pos      Pos
	Name     string
	F32, F64 float64
	What     string
}

// Kink is a point where f' jumps, with the gradient PyTorch takes there.
type Kink struct {
	Pos      Pos
	At       Formula // usually a number or a parameter expression such as "lambd"
	Gradient Formula // f' taken at the kink (may use parameters)
	Why      string
}

// Reduction is one per-row value: Name = op over the row of Of (op "max"
// or "sum"). A sum is computed in double-double precision; Lo, if not
// empty, names its low part for formulas that need more than one
// precision's worth of the sum (log(s) near s = 1).
type Reduction struct {
	Pos  Pos
	Name string
	Op   string
	Of   Formula
	Lo   string
}

// SpecialRow is one row of a rows entry's special-value table: the output
// for a row of special values (formulas over the parameters; "nan" etc.).
type SpecialRow struct {
	Pos     Pos
	X       []Formula
	Forward []Formula
}

// Special is one row of the special-value table. Values are formulas over
// the parameters (so "inf", "-0.0", "nan", "alpha" are all allowed).
type Special struct {
	Pos      Pos
	X        Formula
	Forward  Formula
	Backward Formula // f'(x) (the backward kernel with dy = 1)
}

// Gap is a kernel (element type and direction, every parameter set) that
// misses the accuracy bar: MaxULP is its measured maximum error and Why the
// reason and the fix it needs.
type Gap struct {
	Pos       Pos
	Type      string // "f32" or "f64"
	Direction string // "forward", "backward" or "backward_from_output"
	MaxULP    float64
	Why       string
}
