package expr

import "go/ast"

// Rename returns a copy of e in which every identifier from is replaced by
// to (positions kept), for formulas reused over another variable: a gate's
// f(x) applied to the half a of a gated row.
func Rename(e ast.Expr, from, to string) ast.Expr {
	switch e := e.(type) {
	case *ast.Ident:
		if e.Name == from {
			return &ast.Ident{NamePos: e.NamePos, Name: to}
		}
		return e
	case *ast.ParenExpr:
		return &ast.ParenExpr{Lparen: e.Lparen, X: Rename(e.X, from, to), Rparen: e.Rparen}
	case *ast.UnaryExpr:
		return &ast.UnaryExpr{OpPos: e.OpPos, Op: e.Op, X: Rename(e.X, from, to)}
	case *ast.BinaryExpr:
		return &ast.BinaryExpr{X: Rename(e.X, from, to), OpPos: e.OpPos, Op: e.Op, Y: Rename(e.Y, from, to)}
	case *ast.CallExpr:
		args := make([]ast.Expr, len(e.Args))
		for i, a := range e.Args {
			args[i] = Rename(a, from, to)
		}
		return &ast.CallExpr{Fun: e.Fun, Lparen: e.Lparen, Args: args, Rparen: e.Rparen}
	}
	return e
}
