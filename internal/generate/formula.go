package generate

import (
	"fmt"
	"go/ast"
	"go/token"
	"math"
	"strconv"

	"github.com/dave/jennifer/jen"

	"github.com/actkern/actkern/internal/expr"
	"github.com/actkern/actkern/internal/spec"
)

// formulaEnv resolves the identifiers of a formula when it is translated to
// plain Go over package math (used for parameter rules and for the
// plain-Go benchmark baselines, never for the kernels themselves).
type formulaEnv struct {
	vars   map[string]jen.Code // x, y and the parameters: Go expressions of type float64
	consts map[string]float64  // entry constants, thresholds (this precision) and built-ins
}

// newFormulaEnv binds the named constants of activation a at precision prec
// ("f32" or "f64"); vars holds the variables.
func newFormulaEnv(a *spec.Activation, prec string, vars map[string]jen.Code) (*formulaEnv, error) {
	env := &formulaEnv{vars: vars, consts: map[string]float64{}}
	for name, s := range expr.Constants {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("built-in constant %s = %q: %v", name, s, err)
		}
		env.consts[name] = v
	}
	for _, c := range a.Constants {
		v, err := strconv.ParseFloat(c.Value, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: constant %s = %q: %v", c.Pos, c.Name, c.Value, err)
		}
		env.consts[c.Name] = v
	}
	for _, t := range a.Thresholds {
		if prec == "f32" {
			// The value a float32 kernel compares with.
			env.consts[t.Name] = float64(float32(t.F32))
		} else {
			env.consts[t.Name] = t.F64
		}
	}
	return env, nil
}

// floatCode is v as Go code of float64 value exactly v: Inf, NaN and -0
// have no constant form in Go, so they become calls.
func floatCode(v float64) *jen.Statement {
	switch {
	case math.IsNaN(v):
		return jen.Qual("math", "NaN").Call()
	case math.IsInf(v, 1):
		return jen.Qual("math", "Inf").Call(jen.Lit(1))
	case math.IsInf(v, -1):
		return jen.Qual("math", "Inf").Call(jen.Lit(-1))
	case v == 0 && math.Signbit(v):
		return jen.Qual("math", "Copysign").Call(jen.Lit(0.0), jen.Lit(-1.0))
	case v < 0:
		// Parenthesised so that a substituted negative constant cannot meet a
		// unary or binary minus as "--".
		return jen.Parens(jen.Lit(v))
	}
	return jen.Lit(v)
}

// mathFuncs maps the formula language's functions to package math.
var mathFuncs = map[string]string{
	"exp": "Exp", "expm1": "Expm1", "log": "Log", "log1p": "Log1p", "tanh": "Tanh",
	"erf": "Erf", "erfc": "Erfc", "sin": "Sin", "cos": "Cos", "sqrt": "Sqrt",
	"abs": "Abs", "min": "Min", "max": "Max", "fma": "FMA",
}

// translate renders f as a Go expression. The tree is re-printed node for
// node (parentheses included), so Go's precedence rules, which the formula
// was parsed with, give it the same meaning.
func (env *formulaEnv) translate(f *spec.Formula) (*jen.Statement, error) {
	if f == nil || f.Expr == nil {
		return nil, fmt.Errorf("empty formula")
	}
	c, err := env.tr(f.Expr)
	if err != nil {
		return nil, fmt.Errorf("%s: %q: %v", f.Pos, f.Src, err)
	}
	return c, nil
}

func (env *formulaEnv) tr(e ast.Expr) (*jen.Statement, error) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		in, err := env.tr(e.X)
		if err != nil {
			return nil, err
		}
		return jen.Parens(in), nil
	case *ast.BasicLit:
		if e.Kind != token.INT && e.Kind != token.FLOAT {
			return nil, fmt.Errorf("literal %s is not a number", e.Value)
		}
		v, err := strconv.ParseFloat(e.Value, 64)
		if err != nil {
			return nil, fmt.Errorf("literal %s: %v", e.Value, err)
		}
		return floatCode(v), nil
	case *ast.Ident:
		if c, ok := env.vars[e.Name]; ok {
			return jen.Add(c), nil
		}
		if v, ok := env.consts[e.Name]; ok {
			return floatCode(v), nil
		}
		if e.Name == "true" || e.Name == "false" {
			return jen.Id(e.Name), nil
		}
		return nil, fmt.Errorf("unknown name %s", e.Name)
	case *ast.UnaryExpr:
		in, err := env.tr(e.X)
		if err != nil {
			return nil, err
		}
		switch e.Op {
		case token.ADD:
			return in, nil
		case token.SUB, token.NOT:
			return jen.Op(e.Op.String()).Parens(in), nil
		}
		return nil, fmt.Errorf("unary operator %s", e.Op)
	case *ast.BinaryExpr:
		switch e.Op {
		case token.ADD, token.SUB, token.MUL, token.QUO,
			token.LSS, token.LEQ, token.GTR, token.GEQ, token.EQL, token.NEQ,
			token.LAND, token.LOR:
		default:
			return nil, fmt.Errorf("operator %s", e.Op)
		}
		l, err := env.tr(e.X)
		if err != nil {
			return nil, err
		}
		r, err := env.tr(e.Y)
		if err != nil {
			return nil, err
		}
		return jen.Add(l).Op(e.Op.String()).Add(r), nil
	case *ast.CallExpr:
		id, ok := e.Fun.(*ast.Ident)
		if !ok {
			return nil, fmt.Errorf("call of a non-name")
		}
		args := make([]jen.Code, len(e.Args))
		for i, a := range e.Args {
			c, err := env.tr(a)
			if err != nil {
				return nil, err
			}
			args[i] = c
		}
		if n, ok := expr.Functions[id.Name]; !ok || n != len(args) {
			return nil, fmt.Errorf("unknown function %s/%d", id.Name, len(args))
		}
		switch id.Name {
		case "sigmoid":
			return jen.Lit(1.0).Op("/").Parens(jen.Lit(1.0).Op("+").Qual("math", "Exp").Call(jen.Op("-").Parens(args[0]))), nil
		case "exp_err":
			// exp's rounding error: 0 in exact arithmetic, which is what a
			// plain loop over package math stands for.
			return jen.Lit(0.0), nil
		case "where":
			// A function literal called on the spot: only the chosen branch
			// is evaluated, as a hand-written if/else would, and the
			// compiler inlines it.
			return jen.Func().Params().Float64().Block(
				jen.If(args[0]).Block(jen.Return(args[1])),
				jen.Return(args[2]),
			).Call(), nil
		}
		fn, ok := mathFuncs[id.Name]
		if !ok {
			return nil, fmt.Errorf("no Go translation of %s", id.Name)
		}
		return jen.Qual("math", fn).Call(args...), nil
	}
	return nil, fmt.Errorf("unsupported expression %T", e)
}
