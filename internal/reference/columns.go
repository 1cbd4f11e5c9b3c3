package reference

import "math"

// Column evaluation: a Program evaluated for a block of inputs at a time,
// node by node, each node's operation a loop over the block. The closure
// calls and memo checks of the per-point evaluation (Eval) are then paid
// once per block instead of once per point. Where the condition of a where
// is the same for the whole block (inputs in a sweep are consecutive bit
// patterns, so almost always) only that branch is evaluated, as Eval does;
// a mixed block evaluates both and selects, which computes the same values
// (the operations have no side effects). Results are Eval's, bit for bit.

// colBlock is the number of points evaluated together: enough to spread
// the per-node cost, few enough that a formula's columns stay in cache.
const colBlock = 64

type colEnv struct {
	n     int         // points in the current block
	args  [][]float64 // per variable
	cols  [][]float64 // per node: its storage
	res   [][]float64 // per node: its values for the block (its storage, or a branch's column for a where)
	conds [][]bool    // per condition node
	done  []uint32    // per node: the epoch its values were computed in
	epoch uint32
}

type (
	colFn     func(e *colEnv) []float64
	colCondFn func(e *colEnv) []bool
)

func (c *compiler) buildColumns(fast []fastFn) []colFn {
	num := make([]colFn, len(c.nodes))
	cond := make([]colCondFn, len(c.nodes))
	for i, nd := range c.nodes {
		a := nd.args
		// memo wraps the computation of node i's column.
		memo := func(compute func(e *colEnv, out []float64)) colFn {
			return func(e *colEnv) []float64 {
				if e.done[i] == e.epoch {
					return e.res[i]
				}
				out := e.cols[i][:e.n]
				compute(e, out)
				e.res[i], e.done[i] = out, e.epoch
				return out
			}
		}
		if nd.konst && nd.op <= opWhere {
			// A literal or a folded subexpression: a constant column.
			v := fast[i](nil)
			col := make([]float64, colBlock)
			for k := range col {
				col[k] = v
			}
			num[i] = func(e *colEnv) []float64 { return col[:e.n] }
			continue
		}
		switch nd.op {
		case opVar:
			vi := nd.vi
			num[i] = func(e *colEnv) []float64 { return e.args[vi][:e.n] }
		case opNeg:
			x := num[a[0]]
			num[i] = memo(func(e *colEnv, out []float64) {
				for k, v := range x(e)[:len(out)] {
					out[k] = -v
				}
			})
		case opAbs:
			x := num[a[0]]
			num[i] = memo(func(e *colEnv, out []float64) {
				for k, v := range x(e)[:len(out)] {
					out[k] = math.Abs(v)
				}
			})
		case opAdd, opSub, opMul, opQuo:
			num[i] = memo(c.colArith(nd.op, a[0], a[1], num, fast))
		case opMin, opMax:
			x, y, isMin := num[a[0]], num[a[1]], nd.op == opMin
			num[i] = memo(func(e *colEnv, out []float64) {
				u, v := x(e)[:len(out)], y(e)[:len(out)]
				for k := range out {
					if isMin {
						out[k] = min(u[k], v[k])
					} else {
						out[k] = max(u[k], v[k])
					}
				}
			})
		case opFMA:
			x, y, z := num[a[0]], num[a[1]], num[a[2]]
			num[i] = memo(func(e *colEnv, out []float64) {
				u, v, w := x(e)[:len(out)], y(e)[:len(out)], z(e)[:len(out)]
				for k := range out {
					out[k] = math.FMA(u[k], v[k], w[k])
				}
			})
		case opUnary:
			x, u := num[a[0]], fastUnaries[nd.fn]
			num[i] = memo(func(e *colEnv, out []float64) {
				for k, v := range x(e)[:len(out)] {
					out[k] = u(v)
				}
			})
		case opWhere:
			k, x, y := cond[a[0]], num[a[1]], num[a[2]]
			num[i] = func(e *colEnv) []float64 {
				if e.done[i] == e.epoch {
					return e.res[i]
				}
				c := k(e)
				all, none := true, true
				for _, b := range c {
					all = all && b
					none = none && !b
				}
				var out []float64
				switch {
				case all:
					out = x(e)
				case none:
					out = y(e)
				default:
					out = e.cols[i][:e.n]
					u, v := x(e)[:len(out)], y(e)[:len(out)]
					for j, b := range c[:len(out)] {
						if b {
							out[j] = u[j]
						} else {
							out[j] = v[j]
						}
					}
				}
				e.res[i], e.done[i] = out, e.epoch
				return out
			}
		case opCmp:
			x, y, op := num[a[0]], num[a[1]], nd.fn
			cond[i] = func(e *colEnv) []bool {
				out := e.conds[i][:e.n]
				if e.done[i] == e.epoch {
					return out
				}
				u, v := x(e)[:len(out)], y(e)[:len(out)]
				switch op {
				case "<":
					for k := range out {
						out[k] = u[k] < v[k]
					}
				case "<=":
					for k := range out {
						out[k] = u[k] <= v[k]
					}
				case ">":
					for k := range out {
						out[k] = u[k] > v[k]
					}
				case ">=":
					for k := range out {
						out[k] = u[k] >= v[k]
					}
				case "==":
					for k := range out {
						out[k] = u[k] == v[k]
					}
				default:
					for k := range out {
						out[k] = u[k] != v[k]
					}
				}
				e.done[i] = e.epoch
				return out
			}
		case opNot, opAnd, opOr:
			x := cond[a[0]]
			var y colCondFn
			if nd.op != opNot {
				y = cond[a[1]]
			}
			op := nd.op
			cond[i] = func(e *colEnv) []bool {
				out := e.conds[i][:e.n]
				if e.done[i] == e.epoch {
					return out
				}
				u := x(e)[:len(out)]
				switch op {
				case opNot:
					for k := range out {
						out[k] = !u[k]
					}
				case opAnd:
					// Both sides for every point: what the point-wise
					// evaluation skips has no effect on the result.
					v := y(e)[:len(out)]
					for k := range out {
						out[k] = u[k] && v[k]
					}
				default:
					v := y(e)[:len(out)]
					for k := range out {
						out[k] = u[k] || v[k]
					}
				}
				e.done[i] = e.epoch
				return out
			}
		}
	}
	return num
}

// colArith is the column of x op y, with a constant operand read once.
func (c *compiler) colArith(op opKind, i, j int, num []colFn, fast []fastFn) func(e *colEnv, out []float64) {
	x, y := num[i], num[j]
	if k, ok := c.constant(j, fast); ok {
		return func(e *colEnv, out []float64) {
			u := x(e)[:len(out)]
			switch op {
			case opAdd:
				for n := range out {
					out[n] = u[n] + k
				}
			case opSub:
				for n := range out {
					out[n] = u[n] - k
				}
			case opMul:
				for n := range out {
					out[n] = float64(u[n] * k)
				}
			default:
				for n := range out {
					out[n] = u[n] / k
				}
			}
		}
	}
	if k, ok := c.constant(i, fast); ok {
		return func(e *colEnv, out []float64) {
			v := y(e)[:len(out)]
			switch op {
			case opAdd:
				for n := range out {
					out[n] = k + v[n]
				}
			case opSub:
				for n := range out {
					out[n] = k - v[n]
				}
			case opMul:
				for n := range out {
					out[n] = float64(k * v[n])
				}
			default:
				for n := range out {
					out[n] = k / v[n]
				}
			}
		}
	}
	return func(e *colEnv, out []float64) {
		u, v := x(e)[:len(out)], y(e)[:len(out)]
		switch op {
		case opAdd:
			for n := range out {
				out[n] = u[n] + v[n]
			}
		case opSub:
			for n := range out {
				out[n] = u[n] - v[n]
			}
		case opMul:
			// float64(·): no fused multiply-add, as in the fast path.
			for n := range out {
				out[n] = float64(u[n] * v[n])
			}
		default:
			for n := range out {
				out[n] = u[n] / v[n]
			}
		}
	}
}

// EvalColumns sets outs[k][i] to formula k at xs[i] (a program of one
// variable), as Eval would, a block of points at a time.
func (v *ProgramEval) EvalColumns(xs []float64, outs [][]float64) {
	if v.p.nvars != 1 || len(outs) != len(v.p.cols) {
		panic("reference: EvalColumns wants a program of one variable and an output per formula")
	}
	e := v.ce
	if e == nil {
		n := len(v.p.isCond)
		e = &colEnv{args: make([][]float64, 1), cols: make([][]float64, n), res: make([][]float64, n), conds: make([][]bool, n), done: make([]uint32, n)}
		for i, isCond := range v.p.isCond {
			if isCond {
				e.conds[i] = make([]bool, colBlock)
			} else {
				e.cols[i] = make([]float64, colBlock)
			}
		}
		v.ce = e
	}
	for lo := 0; lo < len(xs); lo += colBlock {
		hi := min(lo+colBlock, len(xs))
		e.n, e.args[0] = hi-lo, xs[lo:hi]
		e.epoch++
		if e.epoch == 0 {
			clear(e.done)
			e.epoch = 1
		}
		for k, r := range v.p.cols {
			copy(outs[k][lo:hi], r(e))
		}
	}
	e.args[0] = nil
}
