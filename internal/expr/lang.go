// Package expr is the formula language of the spec: Go expressions (parsed
// by go/parser) over x, y, the parameters, named constants and the fixed
// set of functions below. Everything that reads a formula (the loader, the
// reference, the lowering) takes its vocabulary from these tables.
package expr

// Functions maps each function of the language to its number of arguments.
//
// erfc is there beside erf because GELU's negative side needs 1+erf(z) for
// z ≪ 0, which cancels catastrophically unless written erfc(-z).
//
// fma(a, b, c) is a*b + c rounded once in kernels and exact in the
// reference. It is there for error-free product transforms: in a kernel
// fma(a, b, -(a*b)) is exactly the rounding error of a*b, so a formula can
// carry a double-float correction term without Veltkamp splitting (which
// costs ~17 operations and breaks if anything contracts it into an FMA);
// in the reference the same term is exactly 0, so the mathematics it
// checks is unchanged.
//
// exp_err(x) is the same idea for exp: in a kernel, exp(x) minus the
// rounded exp(x) it computes (what a double-float exp carries as its low
// part; 0 where that result is not a normal number), and exactly 0 in the
// reference. log1p(exp(t)) passes exp's relative rounding error on times
// e^t/((1 + e^t)·log1p(e^t)), at most 1: exp_err(t)/(1 + exp(t)) is the
// term that removes it.
var Functions = map[string]int{
	"exp":     1,
	"exp_err": 1,
	"expm1":   1,
	"log":     1,
	"log1p":   1,
	"tanh":    1,
	"erf":     1,
	"erfc":    1,
	"sin":     1,
	"cos":     1,
	"sqrt":    1,
	"abs":     1,
	"sigmoid": 1,
	"min":     2,
	"max":     2,
	"where":   3, // where(cond, a, b): a where cond holds, else b
	"fma":     3, // fma(a, b, c): a*b + c with one rounding
}

// Constants are the built-in named constants, as decimal strings with more
// digits than any evaluation uses (the reference works at ≥ 150 bits).
var Constants = map[string]string{
	"pi":         "3.14159265358979323846264338327950288419716939937510582097494459",
	"e":          "2.71828182845904523536028747135266249775724709369995957496696763",
	"ln2":        "0.693147180559945309417232121458176568075500134360255254120680009",
	"sqrt2":      "1.41421356237309504880168872420969807856967187537694807317667974",
	"sqrt1_2":    "0.707106781186547524400844362104849039284835937688474036588339869",
	"sqrt2_pi":   "0.797884560802865355879892119868763736951717262329869315331851660", // sqrt(2/pi)
	"inv_sqrtpi": "0.564189583547756286948079451560772585844050629328998856844085722", // 1/sqrt(pi)
	"inf":        "+Inf",
	"nan":        "NaN",
}

// Comparison and logic operators allowed inside the first argument of where.
var (
	Comparisons = []string{"<", "<=", ">", ">=", "==", "!="}
	Logic       = []string{"&&", "||", "!"}
)
