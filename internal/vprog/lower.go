package vprog

import (
	"fmt"
	"go/ast"
	"go/token"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/actkern/actkern/internal/expr"
	"github.com/actkern/actkern/internal/spec"
)

// Direction is which kernel of an activation a program computes.
type Direction int

const (
	Forward            Direction = iota // dst = f(x); inputs: x
	Backward                            // dx = dy·f'(x); inputs: x, dy
	BackwardFromOutput                  // dx = dy·g(y), g = f' in terms of y = f(x); inputs: y, dy
)

// Directions lists every direction, in emission order.
var Directions = []Direction{Forward, Backward, BackwardFromOutput}

// Suffix is the direction's part of a kernel or API name.
func (d Direction) Suffix() string {
	return [...]string{"", "Backward", "BackwardFromOutput"}[d]
}

func (d Direction) String() string {
	return [...]string{"forward", "backward", "backward-from-output"}[d]
}

// KernelName is the base name of a kernel: lowerCamel of the spec name plus
// the direction suffix ("leaky_relu", Backward → "leakyReluBackward").
func KernelName(specName string, d Direction) string {
	parts := strings.Split(specName, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "") + d.Suffix()
}

// Lower builds the vector program of one kernel: activation a, direction d,
// slices of type mem. Inputs are 1 (forward) or 2 (input 0: x or y, input 1:
// dy); Params are a's parameter names in spec order.
//
// Float32 kernels are computed in float64 lanes and rounded once when
// stored, unless the program rounds at most once on every path (piecewise
// linear functions such as relu or leaky_relu): then float32 lanes give the
// same bits at twice the width, and the program is rebuilt with F32 compute.
// A float32 formula the spec lists in float32_lanes is computed in float32
// lanes whatever it rounds: it was written for float32 arithmetic.
//
// Every program ends with the NaN rule: where the input (x or y) is NaN the
// result is that NaN, payload included; a NaN dy propagates through the
// final multiplication.
func Lower(a *spec.Activation, d Direction, mem Type) (*Program, error) {
	return lower(a, d, mem, false)
}

// LowerAtDefaults is Lower with every parameter bound to its default, as
// the element type holds it: the program of the kernels the API runs when
// a call passes the defaults (spec.Activation.SpecializeDefaults), where
// each parameter is a constant the lowering can fold (a product by 1 is
// no product). Its name is Lower's with "Defaults" appended, and it keeps
// the parameters in its signature, unread, so that it is called exactly
// as the general kernel is.
func LowerAtDefaults(a *spec.Activation, d Direction, mem Type) (*Program, error) {
	return lower(a, d, mem, true)
}

func lower(a *spec.Activation, d Direction, mem Type, atDefaults bool) (*Program, error) {
	if f := kernelFormula(a, d, mem); mem == F32 && f != nil && f.Float32Lanes {
		return lowerWith(a, d, mem, F32, atDefaults)
	}
	p, err := lowerWith(a, d, mem, F64, atDefaults)
	if err != nil || mem != F32 || !roundsOnce(p) {
		return p, err
	}
	return lowerWith(a, d, mem, F32, atDefaults)
}

func lowerWith(a *spec.Activation, d Direction, mem, compute Type, atDefaults bool) (p *Program, err error) {
	params := make([]string, len(a.Params))
	for i, prm := range a.Params {
		params[i] = prm.Name
	}
	var bound []float64 // the parameters' values when they are bound
	if atDefaults {
		bound = a.Defaults()
		if mem == F32 {
			for i, v := range bound {
				bound[i] = float64(float32(v))
			}
		}
	}
	inputs := 2
	formula, variable := kernelFormula(a, d, mem), "x"
	switch d {
	case Forward:
		inputs = 1
	case BackwardFromOutput:
		if formula == nil {
			return nil, fmt.Errorf("%s: %s has no derivative_output", a.Pos, a.Name)
		}
		variable = "y"
	}
	name := KernelName(a.Name, d)
	if atDefaults {
		name += "Defaults"
	}
	b := NewBuilder(name, mem, compute, inputs, params)
	l := &lowerer{b: b, a: a, mem: mem, inputs: map[string]int{variable: 0}, formula: formula, bound: bound}
	defer func() {
		// The builder panics on malformed programs; the loader should have
		// refused such a formula, so this is a bug worth a clear message.
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: lowering %s: %v", formula.Pos, name, r)
		}
	}()
	in := b.Input(0)
	r, err := l.value(formula.Expr)
	if err != nil {
		return nil, err
	}
	var scale []Value
	if d != Forward {
		scale = []Value{b.Input(1)}
	}
	r = l.scaled(scale, r)
	r = b.Select(b.IsNaN(in), in, r)
	return b.Finish(r), nil
}

// kernelFormula is the formula the kernel of direction d computes over
// slices of type mem (float32 kernels may have formulas of their own); nil
// for BackwardFromOutput when there is none.
func kernelFormula(a *spec.Activation, d Direction, mem Type) *spec.Formula {
	kf := a.Kernels(mem == F32)
	switch d {
	case Forward:
		return kf.Forward
	case BackwardFromOutput:
		return kf.DerivativeOutput
	}
	return kf.Derivative
}

type lowerer struct {
	b   *Builder
	a   *spec.Activation
	mem Type
	// inputs maps the formula's per-element names to input numbers;
	// scalars maps per-call scalar names (a row's reductions) to their
	// parameter numbers; both take precedence over the entry's parameters
	// (a channel's weight, bound to an input, replaces its parameter).
	inputs, scalars map[string]int
	formula         *spec.Formula
	// bound are the parameters' values when the program binds them
	// (LowerAtDefaults): each is then a constant, not a Param.
	bound []float64
	// read records the inputs the formula uses (for LowerFormula's NaN
	// rule).
	read map[string]bool
}

func (l *lowerer) errorf(at ast.Node, format string, args ...any) error {
	pos := l.formula.Pos
	pos.Col += int(at.Pos()) - 1 // go/parser positions are 1-based offsets into Src
	return fmt.Errorf("%s: %s", pos, fmt.Sprintf(format, args...))
}

// value lowers a float-valued expression.
func (l *lowerer) value(e ast.Expr) (Value, error) {
	b := l.b
	switch e := e.(type) {
	case *ast.ParenExpr:
		return l.value(e.X)
	case *ast.BasicLit:
		if e.Kind != token.INT && e.Kind != token.FLOAT {
			return 0, l.errorf(e, "not a number: %s", e.Value)
		}
		v, err := strconv.ParseFloat(e.Value, 64)
		if err != nil {
			return 0, l.errorf(e, "bad number %s: %v", e.Value, err)
		}
		return b.Const(v), nil
	case *ast.Ident:
		return l.ident(e)
	case *ast.UnaryExpr:
		x, err := l.value(e.X)
		if err != nil {
			return 0, err
		}
		switch e.Op {
		case token.SUB:
			return b.Neg(x), nil
		case token.ADD:
			return x, nil
		}
	case *ast.BinaryExpr:
		if v, ok, err := l.lanes32Product(e); ok || err != nil {
			return v, err
		}
		x, y, err := l.operands(e)
		if err != nil {
			return 0, err
		}
		switch e.Op {
		case token.ADD:
			return b.Add(x, y), nil
		case token.SUB:
			return b.Sub(x, y), nil
		case token.MUL:
			return b.Mul(x, y), nil
		case token.QUO:
			return b.Div(x, y), nil
		}
	case *ast.CallExpr:
		return l.call(e)
	}
	return 0, l.errorf(e, "cannot lower %T here", e)
}

// operands lowers both sides of an arithmetic operation or comparison.
func (l *lowerer) operands(e *ast.BinaryExpr) (x, y Value, err error) {
	if x, err = l.value(e.X); err != nil {
		return 0, 0, err
	}
	y, err = l.value(e.Y)
	return x, y, err
}

func (l *lowerer) ident(e *ast.Ident) (Value, error) {
	b := l.b
	if i, ok := l.inputs[e.Name]; ok {
		if l.read != nil {
			l.read[e.Name] = true
		}
		return b.Input(i), nil
	}
	if i, ok := l.scalars[e.Name]; ok {
		return b.Param(i), nil
	}
	for i, p := range l.a.Params {
		if p.Name == e.Name {
			if l.bound != nil {
				return b.Const(l.bound[i]), nil
			}
			return b.Param(i), nil
		}
	}
	for _, c := range l.a.Constants {
		if c.Name == e.Name {
			return l.decimal(e, c.Value)
		}
	}
	for _, t := range l.a.Thresholds {
		if t.Name == e.Name {
			if l.mem == F32 {
				return b.Const(float64(float32(t.F32))), nil
			}
			return b.Const(t.F64), nil
		}
	}
	if s, ok := expr.Constants[e.Name]; ok {
		return l.decimal(e, s)
	}
	return 0, l.errorf(e, "unknown name %s", e.Name)
}

// decimal is a constant given as a decimal string, rounded once to float64
// (and, for F32 compute, by Const to float32).
func (l *lowerer) decimal(at ast.Node, s string) (Value, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(v, 0) {
		return 0, l.errorf(at, "bad constant %q: %v", s, err)
	}
	return l.b.Const(v), nil
}

func (l *lowerer) call(e *ast.CallExpr) (Value, error) {
	b := l.b
	fn, ok := e.Fun.(*ast.Ident)
	if !ok {
		return 0, l.errorf(e, "call of a non-function")
	}
	if want, known := expr.Functions[fn.Name]; !known || want != len(e.Args) {
		return 0, l.errorf(e, "%s: unknown function or wrong number of arguments", fn.Name)
	}
	if fn.Name == "where" {
		m, err := l.mask(e.Args[0])
		if err != nil {
			return 0, err
		}
		rare := l.a != nil && l.a.IsRare(e.Args[0])
		var x, y Value
		if rare {
			// The usual branch first: the usual program (rare.go) then
			// computes in the order it would without the rare branch,
			// which the kernels' register allocation follows.
			if y, err = l.value(e.Args[2]); err == nil {
				x, err = l.value(e.Args[1])
			}
		} else if x, err = l.value(e.Args[1]); err == nil {
			y, err = l.value(e.Args[2])
		}
		if err != nil {
			return 0, err
		}
		if rare {
			return b.SelectRare(m, x, y), nil // the spec's rare: (see rare.go)
		}
		return b.Select(m, x, y), nil
	}
	if _, prim := primitives[fn.Name]; prim && b.Compute() != F64 {
		// A float32_lanes formula (roundsOnce never passes a primitive).
		return l.lanes32Call(e, fn.Name, factor{hi: b.Const(1)})
	}
	if fn.Name == "sin" || fn.Name == "cos" {
		if v, ok, err := l.trigOfProduct(fn.Name, e.Args[0]); ok || err != nil {
			return v, err
		}
	}
	if fn.Name == "log1p" && l.mem == F32 {
		if v, ok, err := l.log1pOfExpNeg(e.Args[0]); ok || err != nil {
			return v, err
		}
	}
	args, err := l.args(e)
	if err != nil {
		return 0, err
	}
	switch fn.Name {
	case "abs":
		return b.Abs(args[0]), nil
	case "sqrt":
		return b.Sqrt(args[0]), nil
	case "fma":
		return b.FMA(args[0], args[1], args[2]), nil
	case "min", "max":
		return l.minMax(fn.Name, e.Args, args), nil
	}
	prim, ok := primitives[fn.Name]
	if !ok {
		return 0, l.errorf(e, "no lowering for %s", fn.Name)
	}
	return prim(b, args, l.mem), nil
}

// args lowers the arguments of a call.
func (l *lowerer) args(e *ast.CallExpr) ([]Value, error) {
	args := make([]Value, len(e.Args))
	for i, a := range e.Args {
		v, err := l.value(a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	return args, nil
}

// lanes32Call lowers scale·name(args) in a float32_lanes formula, where
// only the primitives written for float32 arithmetic may run; scale is the
// constant 1 for a call that is no factor of a product.
func (l *lowerer) lanes32Call(e *ast.CallExpr, name string, scale factor) (Value, error) {
	prim, ok := lanes32Primitives[name]
	if !ok {
		have := slices.Sorted(maps.Keys(lanes32Primitives))
		return 0, l.errorf(e, "%s runs in float64 lanes only: a formula in float32_lanes may use + - * /, fma, sqrt, abs, min, max, where and %s", name, strings.Join(have, ", "))
	}
	args, err := l.args(e)
	if err != nil {
		return 0, err
	}
	v, err := prim(l.b, scale, args)
	if err != nil {
		return 0, l.errorf(e, "%s in float32 lanes: %v", name, err)
	}
	return v, nil
}

// lanes32Product lowers two kinds of product in float32 lanes as one
// rounding, rules of the formula language there, not of one activation:
//
//   - a*f(z) and f(z)*a, f a primitive written for float32 lanes, is one
//     call that returns the product rounded once (see lanes32Primitive):
//     rounded after f's own rounding, as a plain product would be,
//     alpha*expm1(x) reached 2 ULP;
//   - c*a and a*c, c a constant (a number or a named constant) that
//     float32 does not represent, is fma(hi, a, lo*a) (see factor), and a
//     constant factor of a call above is passed as hi + lo alike.
//
// ok is false for any other expression.
func (l *lowerer) lanes32Product(e *ast.BinaryExpr) (v Value, ok bool, err error) {
	if l.b.Compute() != F32 || e.Op != token.MUL {
		return 0, false, nil
	}
	sides := [2][2]ast.Expr{{e.X, e.Y}, {e.Y, e.X}}
	for _, side := range sides {
		call, isCall := unparen(side[1]).(*ast.CallExpr)
		if !isCall {
			continue
		}
		fn, isIdent := call.Fun.(*ast.Ident)
		if !isIdent || lanes32Primitives[fn.Name] == nil {
			continue
		}
		scale, err := l.factor(side[0])
		if err != nil {
			return 0, true, err
		}
		v, err := l.lanes32Call(call, fn.Name, scale)
		return v, true, err
	}
	for _, side := range sides {
		if c, isConst := l.constant(side[0]); isConst {
			if f := constFactor(l.b, c); f.hasLo {
				a, err := l.value(side[1])
				return f.times(l.b, a), true, err
			}
		}
	}
	return 0, false, nil
}

// factor lowers e as a product's factor in float32 lanes (see factor).
func (l *lowerer) factor(e ast.Expr) (factor, error) {
	if c, isConst := l.constant(e); isConst {
		return constFactor(l.b, c), nil
	}
	v, err := l.value(e)
	return factor{hi: v}, err
}

// constant is the float64 value of e when e is a number or names a
// constant (of the entry or of the formula language) that no input or
// parameter shadows, or is the negation of one.
func (l *lowerer) constant(e ast.Expr) (float64, bool) {
	var s string
	switch e := unparen(e).(type) {
	case *ast.UnaryExpr:
		c, ok := l.constant(e.X)
		if e.Op == token.SUB {
			c = -c
		}
		return c, ok && (e.Op == token.SUB || e.Op == token.ADD)
	case *ast.BasicLit:
		if e.Kind != token.INT && e.Kind != token.FLOAT {
			return 0, false
		}
		s = e.Value
	case *ast.Ident:
		if _, ok := l.inputs[e.Name]; ok {
			return 0, false
		}
		if _, ok := l.scalars[e.Name]; ok {
			return 0, false
		}
		if i := slices.IndexFunc(l.a.Params, func(p spec.Param) bool { return p.Name == e.Name }); i >= 0 {
			if l.bound != nil {
				return l.bound[i], true
			}
			return 0, false
		}
		if slices.ContainsFunc(l.a.Thresholds, func(t spec.Threshold) bool { return t.Name == e.Name }) {
			return 0, false // float32's own value (see ident)
		}
		for _, c := range l.a.Constants {
			if c.Name == e.Name {
				s = c.Value
			}
		}
		if s == "" {
			s = expr.Constants[e.Name]
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, s != "" && (err == nil || math.IsInf(v, 0))
}

// trigOfProduct lowers sin(a*b) and cos(a*b) (parentheses allowed) with
// the product kept exact, as the double-double p + e, p = fl(a·b),
// e = fma(a, b, -p). This is a general rule, not a special case for one
// activation: sin and cos amplify any rounding of their argument near their
// zeros (sin(p) for p = fl(w0·x) huge is off by |w0·x - p|/|sin|, without
// bound), so the argument is not rounded when it is a product. Where p
// overflows, e is ±Inf or NaN and the result NaN, as sin(±Inf). ok is false
// when the argument is not a product.
func (l *lowerer) trigOfProduct(name string, arg ast.Expr) (v Value, ok bool, err error) {
	m, isMul := unparen(arg).(*ast.BinaryExpr)
	if !isMul || m.Op != token.MUL {
		return 0, false, nil
	}
	x, y, err := l.operands(m)
	if err != nil {
		return 0, true, err
	}
	b := l.b
	if b.Compute() != F64 {
		panic("primitive in an F32-compute program") // see call
	}
	p := b.Mul(x, y)
	offset := 0.0
	if name == "cos" {
		offset = 1 // cos x = sin(x + π/2)
	}
	if l.float32Exact(x) && l.float32Exact(y) {
		// Two float32 values multiply exactly in float64 (48 significant
		// bits, exponents far inside float64's): e would be 0, and one
		// reduction does instead of two.
		return trigLower(b, p, l.mem, offset), true, nil
	}
	e := b.FMA(x, y, b.Neg(p))
	return trigLowerDD(b, p, e, l.mem, offset), true, nil
}

// log1pOfExpNeg lowers log1p(exp(-abs(a))) for a float32 target, the
// smooth half of softplus and logsigmoid. The argument is then in [0, 1],
// where log1p needs no reduction and no special cases: one polynomial
// (log1pUnit). Like trigOfProduct this is a rule of the formula language,
// not of one activation: any formula that writes log1p of the exponential
// of minus an absolute value gets it. ok is false for any other argument.
func (l *lowerer) log1pOfExpNeg(arg ast.Expr) (v Value, ok bool, err error) {
	exp, isCall := unparen(arg).(*ast.CallExpr)
	if !isCall || len(exp.Args) != 1 {
		return 0, false, nil
	}
	if fn, isIdent := exp.Fun.(*ast.Ident); !isIdent || fn.Name != "exp" {
		return 0, false, nil
	}
	neg, isUnary := unparen(exp.Args[0]).(*ast.UnaryExpr)
	if !isUnary || neg.Op != token.SUB {
		return 0, false, nil
	}
	abs, isCall := unparen(neg.X).(*ast.CallExpr)
	if !isCall {
		return 0, false, nil
	}
	if fn, isIdent := abs.Fun.(*ast.Ident); !isIdent || fn.Name != "abs" {
		return 0, false, nil
	}
	e, err := l.value(exp)
	if err != nil {
		return 0, true, err
	}
	return log1pUnit(l.b, e), true, nil
}

// unparen is e without its enclosing parentheses.
func unparen(e ast.Expr) ast.Expr {
	for {
		par, isPar := e.(*ast.ParenExpr)
		if !isPar {
			return e
		}
		e = par.X
	}
}

// float32Exact reports whether v, in a float32 kernel's float64 lanes, is
// known to hold a float32 value: an input element, a parameter (both
// converted from float32) or a constant that float32 represents.
func (l *lowerer) float32Exact(v Value) bool {
	if l.mem != F32 {
		return false
	}
	in := l.b.p.Instrs[v]
	switch in.Op {
	case OpInput, OpParam:
		return true
	case OpConst:
		return float64(float32(in.Imm)) == in.Imm
	}
	return false
}

// minMax lowers the formula's min and max, which propagate NaN from either
// operand. x86 MIN/MAX pass their second operand through when either is NaN,
// so a constant goes first; when neither operand is constant a NaN in the
// first is re-selected explicitly.
func (l *lowerer) minMax(name string, exprs []ast.Expr, v []Value) Value {
	b := l.b
	op := b.Min
	if name == "max" {
		op = b.Max
	}
	x, y := v[0], v[1]
	if b.Uniform(y) {
		x, y = y, x
	}
	r := op(x, y)
	if !b.Uniform(x) {
		r = b.Select(b.IsNaN(x), x, r)
	}
	return r
}

// mask lowers the condition of a where.
func (l *lowerer) mask(e ast.Expr) (Value, error) {
	b := l.b
	switch e := e.(type) {
	case *ast.ParenExpr:
		return l.mask(e.X)
	case *ast.UnaryExpr:
		if e.Op == token.NOT {
			m, err := l.mask(e.X)
			if err != nil {
				return 0, err
			}
			return b.Not(m), nil
		}
	case *ast.BinaryExpr:
		switch e.Op {
		case token.LAND, token.LOR:
			x, err := l.mask(e.X)
			if err != nil {
				return 0, err
			}
			y, err := l.mask(e.Y)
			if err != nil {
				return 0, err
			}
			if e.Op == token.LAND {
				return b.And(x, y), nil
			}
			return b.Or(x, y), nil
		}
		x, y, err := l.operands(e)
		if err != nil {
			return 0, err
		}
		switch e.Op {
		case token.LSS:
			return b.LT(x, y), nil
		case token.LEQ:
			return b.LE(x, y), nil
		case token.GTR:
			return b.GT(x, y), nil
		case token.GEQ:
			return b.GE(x, y), nil
		case token.EQL:
			return b.EQ(x, y), nil
		case token.NEQ:
			return b.Not(b.EQ(x, y)), nil // true when either is NaN, as IEEE !=
		}
	}
	return 0, l.errorf(e, "not a condition")
}

// roundsOnce reports whether computing p in float32 lanes gives the same
// bits as computing it in float64 and rounding the result to float32. That
// holds when every rounded value (a float32 constant that is not exact, or
// the result of + - * / sqrt) is only moved, never used again in arithmetic or
// a comparison: one IEEE operation on float32 operands, computed in float64
// and rounded to float32, is correctly rounded (53 ≥ 2·24+2), and moving a
// value through min, max, abs, neg or select commutes with rounding.
func roundsOnce(p *Program) bool {
	rounded := make([]bool, len(p.Instrs))
	for i, in := range p.Instrs {
		args := in.Args[:in.Op.Arity()]
		anyRounded := false
		for _, a := range args {
			anyRounded = anyRounded || rounded[a]
		}
		switch in.Op {
		case OpInput, OpParam:
		case OpConst:
			rounded[i] = float64(float32(in.Imm)) != in.Imm && in.Imm == in.Imm
		case OpAdd, OpSub, OpMul, OpDiv, OpSqrt:
			if anyRounded {
				return false
			}
			rounded[i] = true
		case OpNeg, OpAbs, OpNegAbs, OpCopySign, OpParityNeg, OpMin, OpMax:
			rounded[i] = anyRounded
		case OpSelect:
			rounded[i] = rounded[args[1]] || rounded[args[2]]
		case OpLT, OpLE, OpEQ, OpIsNaN:
			if anyRounded {
				return false
			}
		case OpAnd, OpOr, OpAndNot, OpNot:
		default:
			return false
		}
	}
	return true
}
