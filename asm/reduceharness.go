package asm

// reduceHarness is emitted once into a package's simd_amd64_test.go when it
// has reduction kernels: the types and checks the reduction tests share.
// kerneltest has the elementwise ones; these adapt its guard-page and
// NaN-payload tests and add an agreement test over chained calls.
const reduceHarness = `
// reduceKernel is a reduction kernel adapted to one shape: the accumulator,
// the input slices and the parameters in declaration order.
type reduceKernel[T float32 | float64] func(acc *[16]float64, in [][]T, params []T)

// reduceImpl is one assembly implementation of a reduction kernel.
type reduceImpl[T float32 | float64] struct {
	ISA       string
	Available bool
	Run       reduceKernel[T]
}

// reduceCase is what the generated tests know about one reduction kernel.
type reduceCase[T float32 | float64] struct {
	Name   string
	Inputs int
	// MaxLen is 3×(elements per unrolled iteration)+1: calls of every
	// length up to it meet every path (unrolled loop, one-step loop,
	// whole-vector and masked tail).
	MaxLen     int
	Max        bool // a max reduction; otherwise a sum
	ParamSets  [][]T
	Thresholds []float64
	Generic    reduceKernel[T]
	Impls      []reduceImpl[T]
}

func (c reduceCase[T]) paramSets() [][]T {
	if len(c.ParamSets) == 0 {
		return [][]T{nil}
	}
	return c.ParamSets
}

// reduceStartAcc is an accumulator to start a chain of calls from, as a
// caller continuing a row would pass: per lane zeros of either sign,
// ordinary values with a compensation far below them, and, with wild, the
// max's identity -Inf, infinities and NaNs. Lanes 8-15 of a max are
// arbitrary: the kernel must leave them alone.
func reduceStartAcc(r *rand.Rand, wild bool) [16]float64 {
	var a [16]float64
	for k := 0; k < 8; k++ {
		s := r.NormFloat64() * math.Ldexp(1, r.IntN(41)-20)
		a[k], a[8+k] = s, s*0x1p-60*r.NormFloat64()
		switch r.IntN(16) {
		case 0:
			a[k], a[8+k] = 0, 0
		case 1:
			a[k], a[8+k] = math.Copysign(0, -1), math.Copysign(0, -1)
		case 2:
			if wild {
				a[k] = math.Inf(-1)
			}
		case 3:
			if wild {
				a[k] = math.Inf(1)
			}
		case 4:
			if wild {
				a[k] = math.Float64frombits(0x7ff8000000000000 | r.Uint64()&0xfffffffffffff)
			}
		}
	}
	return a
}

// reduceDiff returns the first lane of got that differs from want, or -1.
// Lanes must hold the same bits; NaNs may differ in the quiet bit (a
// conversion may quiet a signalling NaN), and in payload and sign where
// manyNaNs(lane) says the lane met more than one NaN: NaN inputs, or the
// default NaN of Inf - Inf inside the compensated sum. Which of two NaNs
// survives is the order of an addition's operands, which the Go compiler
// is free to swap.
func reduceDiff(got, want *[16]float64, manyNaNs func(lane int) bool) int {
	for i := range got {
		g, w := math.Float64bits(got[i]), math.Float64bits(want[i])
		if g == w || got[i] != got[i] && want[i] != want[i] && (g|1<<51 == w|1<<51 || manyNaNs(i)) {
			continue
		}
		return i
	}
	return -1
}

// anyNaNs is reduceDiff's rule for inputs full of NaNs and infinities.
func anyNaNs(int) bool { return true }

// nanWithoutNaNInputs reports whether lane of the generic kernel's
// accumulator is NaN even when the call's NaN inputs are replaced by 0: then
// the lane met a NaN besides the input's (an infinity's Inf - Inf), and the
// payloads may differ.
func (c reduceCase[T]) nanWithoutNaNInputs(start [16]float64, in [][]T, p []T, lane int) bool {
	clean := make([][]T, len(in))
	for k := range in {
		clean[k] = make([]T, len(in[k]))
		for i, v := range in[k] {
			if v == v {
				clean[k][i] = v
			}
		}
	}
	c.Generic(&start, clean, p)
	return start[lane] != start[lane]
}

// reduceTameInputs are n finite values of moderate size (|x| up to a few
// hundred, exponents spread over 13 binades) and their negations in
// places, so that long chains stay finite and the compensations do real
// work.
func reduceTameInputs[T float32 | float64](n int, seed uint64) []T {
	r := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	vs := make([]T, n)
	for i := range vs {
		vs[i] = T(r.NormFloat64() * math.Ldexp(1, r.IntN(13)-6))
		if i >= 8 && r.IntN(8) == 0 {
			vs[i] = -vs[i-8] // cancels a term of the same lane
		}
	}
	return vs
}

// reduceAgreement runs every available SIMD implementation beside the
// generic kernel over n elements of each input set (kerneltest's agreement
// inputs: special values, thresholds' neighbours, random bit patterns; and
// tame finite values), cut into chains of one to four calls, each chain
// from a fresh non-trivial accumulator and each call of a length 0…MaxLen
// in turn (every 16th a longer one), and requires the same accumulator
// bits after every chain (NaN payloads aside: the inputs hold many NaNs;
// the NaN-payload test checks payloads).
func reduceAgreement[T float32 | float64](t *testing.T, c reduceCase[T], n int) {
	t.Helper()
	for pool := 0; pool < 2; pool++ {
		in := make([][]T, c.Inputs)
		for k := range in {
			if pool == 0 {
				in[k] = kerneltest.AgreementInputs[T](n, k, c.Thresholds, 1)
			} else {
				in[k] = reduceTameInputs[T](n, uint64(k))
			}
		}
		for _, ps := range c.paramSets() {
			r := rand.New(rand.NewPCG(uint64(pool), 0x9e3779b97f4a7c15))
			bad, chains := 0, 0
			for lo, step := 0, 0; lo < n; chains++ {
				start := reduceStartAcc(r, pool == 0)
				want := start
				gots := make([][16]float64, len(c.Impls))
				for i := range gots {
					gots[i] = start
				}
				first := lo
				var lens []int
				for calls := 1 + r.IntN(4); calls > 0 && lo < n; calls-- {
					l := step % (c.MaxLen + 1)
					if step%16 == 15 {
						l = c.MaxLen + r.IntN(4096)
					}
					step++
					hi := min(n, lo+l)
					sub := make([][]T, len(in))
					for k := range in {
						sub[k] = in[k][lo:hi]
					}
					c.Generic(&want, sub, ps)
					for i, im := range c.Impls {
						if im.Available {
							im.Run(&gots[i], sub, ps)
						}
					}
					lens = append(lens, hi-lo)
					lo = hi
				}
				for i, im := range c.Impls {
					if !im.Available {
						continue
					}
					if l := reduceDiff(&gots[i], &want, anyNaNs); l >= 0 {
						if bad < 10 {
							t.Errorf("%s/%s params %v: chain of calls of lengths %v from element %d (input set %d), start acc %v: lane %d: got %v (%#x), generic %v (%#x)",
								c.Name, im.ISA, ps, lens, first, pool, start, l, gots[i][l], math.Float64bits(gots[i][l]), want[l], math.Float64bits(want[l]))
						}
						bad++
					}
				}
			}
			if bad > 0 {
				t.Errorf("%s params %v input set %d: %d of %d chains differ from the generic kernel", c.Name, ps, pool, bad, chains)
			}
		}
	}
	for _, im := range c.Impls {
		if !im.Available {
			t.Logf("%s/%s: CPU lacks it, not run", c.Name, im.ISA)
		}
	}
}

// asSIMD adapts a reduction case to kerneltest's elementwise harness, for
// its guard-page test (inputs ending at a PROT_NONE page, every length
// 0…MaxLen and alignment; faults and stray writes caught) and its NaN-payload
// test (a NaN at every position of every input). Each SIMD run folds its
// inputs into a fixed finite accumulator and compares the result with the
// generic kernel's on the same inputs itself, reporting through t; both
// adapters then zero dst, so the harness's own comparison of dst holds and
// the accumulator comparison is the test.
//
// With strictNaN (the NaN-payload test), a NaN result must carry the NaN
// input's payload unless the lane is NaN without it too.
func (c reduceCase[T]) asSIMD(t *testing.T, strictNaN bool) kerneltest.SIMDCase[T] {
	start := reduceStartAcc(rand.New(rand.NewPCG(3, 5)), false)
	bad := 0
	sc := kerneltest.SIMDCase[T]{Name: c.Name, Inputs: c.Inputs, MaxLen: c.MaxLen, ParamSets: c.ParamSets,
		Thresholds: c.Thresholds, Generic: func(d []T, in [][]T, p []T) { clear(d) }}
	for _, im := range c.Impls {
		sc.Impls = append(sc.Impls, kerneltest.SIMDImpl[T]{ISA: im.ISA, Available: im.Available, Run: func(d []T, in [][]T, p []T) {
			got, want := start, start
			im.Run(&got, in, p)
			c.Generic(&want, in, p)
			manyNaNs := anyNaNs
			if strictNaN {
				manyNaNs = func(lane int) bool { return c.nanWithoutNaNInputs(start, in, p, lane) }
			}
			if l := reduceDiff(&got, &want, manyNaNs); l >= 0 {
				if bad < 10 {
					t.Errorf("%s/%s params %v: %d elements: lane %d: got %v (%#x), generic %v (%#x); in[0] %v",
						c.Name, im.ISA, p, len(in[0]), l, got[l], math.Float64bits(got[l]), want[l], math.Float64bits(want[l]), in[0])
				}
				bad++
			}
			clear(d)
		}})
	}
	return sc
}
`
