package spec

import "go/ast"

// Rare branches (YAML rare:). A kernel evaluates every branch of every
// where() on every element; a branch for a far tail (softsign' past |x| =
// 1e150, computed as (1/|x|)/|x| because the square overflows) then costs
// every element. The entry names such a branch by its condition, written
// as in the formula (lets allowed):
//
//	rare: ["a > 1e150"]
//	derivative: "where(a > 1e150, (1/a)/a, fma(-r, rel, r))"
//
// and the kernels compute it only in calls where some element takes it
// (vprog.SelectRare). The condition must be that of a where() in one of
// the entry's formulas, and the branch it names is where()'s first.

// IsRare reports whether cond, the condition of a where() in one of a's
// formulas (lets expanded), is one of the entry's rare conditions.
func (a *Activation) IsRare(cond ast.Expr) bool {
	for i := range a.Rare {
		if sameExpr(ast.Unparen(cond), ast.Unparen(a.Rare[i].Expr)) {
			return true
		}
	}
	return false
}

// checkRare refuses a rare condition that is the condition of no where()
// in the entry's formulas or lets: it would mark nothing, and the reader
// would believe some branch is skipped.
func (l *loader) checkRare(a *Activation) {
	var fs []*Formula
	for _, f := range a.formulasAndLets() {
		if !a.isRareFormula(f) {
			fs = append(fs, f)
		}
	}
	for i := range a.Rare {
		r := &a.Rare[i]
		found := false
		for _, f := range fs {
			ast.Inspect(f.Expr, func(n ast.Node) bool {
				c, ok := n.(*ast.CallExpr)
				if ok && len(c.Args) == 3 && sameExpr(c.Fun, ast.NewIdent("where")) && sameExpr(ast.Unparen(c.Args[0]), ast.Unparen(r.Expr)) {
					found = true
				}
				return !found
			})
			if found {
				break
			}
		}
		if !found {
			l.errs.add(r.Pos, "rare: %s is the condition of no where() in the entry's formulas", r.Src)
		}
	}
}

func (a *Activation) isRareFormula(f *Formula) bool {
	for i := range a.Rare {
		if f == &a.Rare[i] {
			return true
		}
	}
	return false
}
