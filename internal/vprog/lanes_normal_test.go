package vprog

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/spec"
)

// TestFloat32LanesStayNormal: a float32 kernel's lanes (float64 ones, or
// float32 ones for a float32_lanes formula) hold no subnormal value at
// arguments of large magnitude, where exp and erfc underflow (exp32MinArg,
// erfc32MaxArg): an x86 core takes tens of cycles for each operation with
// a subnormal operand or result, and every float32 result there is 0 or
// saturated anyway. Checked on the values
// each float32 program computes (run, the semantics of every backend) for
// every elementwise activation, forward and backward at the dy values of
// actkern check.
func TestFloat32LanesStayNormal(t *testing.T) {
	s, err := spec.Load("../../spec/activations.yaml")
	require.NoError(t, err)
	xs := []float64{720, 740, 800, 1000, 1e5, 3e38, math.Inf(1)}
	dys := []float64{1, -1, 0.75, 3.5, 1e-3}
	for _, a := range s.Activations {
		if a.Kind != "elementwise" {
			continue
		}
		defaults := map[string]float64{}
		for _, p := range a.Params {
			defaults[p.Name] = float64(float32(p.Default))
		}
		for _, d := range []Direction{Forward, Backward} {
			p, err := Lower(a, d, F32)
			require.NoError(t, err)
			params := make([]float64, len(p.Params))
			for i, name := range p.Params {
				params[i] = defaults[name]
			}
			for _, ax := range xs {
				for _, x := range []float64{ax, -ax} {
					for _, dy := range dys {
						in := []float64{x, float64(float32(dy))}[:p.Inputs]
						vals, _ := p.run(in, params)
						for i, v := range vals {
							if why := underflow(p.Instrs[i], vals, v, p.Compute); why != "" {
								t.Errorf("%s %s (float32) at x = %v, dy = %v: instruction %d (%s) %s",
									a.Name, d, x, dy, i, p.Instrs[i].Op, why)
								break
							}
						}
						if d == Forward {
							break
						}
					}
				}
			}
		}
	}
}

// underflow says how instruction in, whose result is v in lanes of the
// compute type, meets the subnormal range ("" if it does not): a
// subnormal result, or a product, quotient or power-of-two scaling of
// nonzero finite operands that rounds to 0 (which costs the same as a
// subnormal result).
func underflow(in Instr, vals []float64, v float64, compute Type) string {
	smallest := 0x1p-1022
	if compute == F32 {
		smallest = 0x1p-126
	}
	if v != 0 && math.Abs(v) < smallest {
		return "is subnormal"
	}
	if v != 0 {
		return ""
	}
	nonzero := func(k int) bool {
		a := vals[in.Args[k]]
		return a != 0 && !math.IsInf(a, 0) && !math.IsNaN(a)
	}
	switch in.Op {
	case OpMul, OpDiv:
		if nonzero(0) && nonzero(1) {
			return "underflows to 0"
		}
	case OpLdexp:
		// LdexpFlush's 2^-1023 is +0: a product by an exact zero.
		flushed := in.Imm == LdexpFlush && vals[in.Args[1]] == -1023
		if nonzero(0) && !flushed {
			return "underflows to 0"
		}
	}
	return ""
}
