package kerneltest

import (
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/actkern/actkern/internal/testutil"
)

// randomParamSets returns up to n parameter sets drawn at random, besides
// the defaults and the spec's test_params: each parameter a magnitude from
// paramPool (the extremes of T included) with either sign. A spec lists a
// few sets it thought of; float64 CELU gave NaN for every alpha < 0 while
// its sets were all positive. The draw is seeded by the activation's name,
// so a failing set is named in the test and comes back every run. Sets
// the kernels reject (a parameter that breaks its rule panics) are
// dropped, as are sets already listed.
func randomParamSets[T float32 | float64](a Activation, k Kernels[T], n int) []map[string]float64 {
	if len(a.Params) == 0 {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(a.Name))
	r := rand.New(rand.NewPCG(h.Sum64(), 7))
	pool := paramPool[T]()
	var sets []map[string]float64
	for try := 0; try < 4*n && len(sets) < n; try++ {
		set := map[string]float64{}
		for _, p := range a.Params {
			v := pool[r.IntN(len(pool))]
			if r.IntN(2) == 0 {
				v = -v
			}
			set[p.Name] = v
		}
		listed := func(s map[string]float64) bool { return maps.Equal(s, set) }
		if slices.ContainsFunc(sets, listed) || slices.ContainsFunc(a.TestParams, listed) || !accepts(a, k, set) {
			continue
		}
		sets = append(sets, set)
	}
	return sets
}

// paramPool holds the magnitudes random parameters take: small integers
// and fractions, and values near the ends of T's range.
func paramPool[T float32 | float64]() []float64 {
	if testutil.Is32[T]() {
		return []float64{0, 0.3, 1, 2, 7.5, 100, 1e10, 1e30, 1e-30}
	}
	return []float64{0, 0.3, 1, 2, 7.5, 100, 1e10, 1e300, 1e-300}
}

// accepts reports whether the forward kernel runs at parameter set set
// rather than panicking on a parameter that breaks its rule.
func accepts[T float32 | float64](a Activation, k Kernels[T], set map[string]float64) (ok bool) {
	p := make([]T, len(a.Params))
	for i, ap := range a.Params {
		p[i] = T(set[ap.Name])
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	k.Forward(make([]T, 1), make([]T, 1), p)
	return true
}
