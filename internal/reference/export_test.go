package reference

// CompileUnshared compiles src without sharing subexpressions or folding
// constants: the plain tree evaluation the shared one must agree with.
func CompileUnshared(src string, vars []string, consts map[string]string) (*Func, error) {
	e, err := parseExpr(src)
	if err != nil {
		return nil, err
	}
	return compile(e, vars, consts, false)
}
