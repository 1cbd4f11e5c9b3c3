package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/actkern/actkern/generated/f32"
	"github.com/actkern/actkern/generated/f64"
)

// isaEnv is the variable the generated packages read at init to force a
// lower ISA level; -isa sets it for a fresh copy of this process, since a
// running one has already made its choice.
const isaEnv = "ACTKERN_ISA"

var isaLevels = []string{"generic", "avx2", "avx512"}

// paramFlags collects repeated -p name=value flags.
type paramFlags map[string]float64

func (p paramFlags) String() string { return "" }

func (p paramFlags) Set(s string) error {
	name, val, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	if _, dup := p[name]; dup {
		return fmt.Errorf("parameter %s given twice", name)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
	if err != nil {
		return fmt.Errorf("%s: %q is not a number", name, val)
	}
	p[name] = v
	return nil
}

// evalCmd applies one activation of the generated packages (or its
// derivative) to the raw little-endian values on standard input and writes
// the results, in the same format, to standard output. The whole input is
// read and checked, and the results computed, before anything is written.
func evalCmd(args []string, std stdio) error {
	fs := flagSet("eval", "-func name [-type f32|f64] [-derivative] [-p name=value]... [-isa generic|avx2|avx512] < in.bin > out.bin", std)
	name := fs.String("func", "", "the activation, by spec name (see actkern list); required")
	typ := fs.String("type", "f32", "element type of input and output: f32 (float32) or f64 (float64)")
	deriv := fs.Bool("derivative", false, "compute f'(x): the backward kernel with dy = 1")
	params := paramFlags{}
	fs.Var(params, "p", "set a parameter, as `name=value` (repeat for several); the others keep their defaults")
	isa := fs.String("isa", "", "run the kernels of this ISA level: generic, avx2 or avx512 (default: the best this CPU runs; "+isaEnv+" is honoured)")
	cols := fs.Int("cols", 0, "row length, for the row-wise and gated activations (softmax, glu, ...): required for them, refused for the others")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("need -func (actkern list shows the names)")
	}
	if *typ != "f32" && *typ != "f64" {
		return fmt.Errorf("-type %q: want f32 or f64", *typ)
	}
	if *isa != "" && !slices.Contains(isaLevels, *isa) {
		return fmt.Errorf("-isa %q: want one of %s", *isa, strings.Join(isaLevels, ", "))
	}
	// A row-wise or gated function takes -cols and no parameters; any
	// other name goes to New, which checks it and the parameters.
	var forward, backward func(x []byte) ([]byte, error)
	var size int
	var current string
	rowwise := slices.Contains(f32.RowwiseNames(), *name)
	switch {
	case rowwise && *deriv:
		return fmt.Errorf("-derivative: %s works on rows; its gradient takes dy per element, so use its Backward function from Go", *name)
	case rowwise && len(params) > 0:
		return fmt.Errorf("-p: %s has no parameters", *name)
	case rowwise && *cols <= 0:
		return fmt.Errorf("-cols: %s works on rows; give their length with -cols N (N > 0)", *name)
	case !rowwise && *cols != 0:
		return fmt.Errorf("-cols: %s is elementwise; -cols applies only to row-wise and gated activations (%s)", *name, strings.Join(f32.RowwiseNames(), ", "))
	}
	// checkRows is the shape rule of the row-wise functions, checked here
	// so that bad input is a message, not a panic.
	checkRows := func(n, rowLen int) error {
		if n%rowLen != 0 {
			return fmt.Errorf("-cols %d: the input's %d values are not whole rows of %d; nothing written", *cols, n, rowLen)
		}
		return nil
	}
	switch *typ {
	case "f32":
		size, current = 4, f32.ISA()
		if rowwise {
			r, _ := f32.NewRowwise(*name)
			forward = func(in []byte) ([]byte, error) {
				x := decode32(in)
				if err := checkRows(len(x), r.RowLen(*cols)); err != nil {
					return nil, err
				}
				dst := make([]float32, r.OutputLen(len(x), *cols))
				r.Forward(dst, x, *cols)
				return encode32(dst), nil
			}
			break
		}
		a, err := f32.New(*name, f32.Params(params))
		if err != nil {
			return err
		}
		forward = func(in []byte) ([]byte, error) {
			x := decode32(in)
			a.Forward(x, x)
			return encode32(x), nil
		}
		backward = func(in []byte) ([]byte, error) {
			x := decode32(in)
			dy := make([]float32, len(x))
			for i := range dy {
				dy[i] = 1
			}
			a.Backward(x, dy, x)
			return encode32(x), nil
		}
	case "f64":
		size, current = 8, f64.ISA()
		if rowwise {
			r, _ := f64.NewRowwise(*name)
			forward = func(in []byte) ([]byte, error) {
				x := decode64(in)
				if err := checkRows(len(x), r.RowLen(*cols)); err != nil {
					return nil, err
				}
				dst := make([]float64, r.OutputLen(len(x), *cols))
				r.Forward(dst, x, *cols)
				return encode64(dst), nil
			}
			break
		}
		a, err := f64.New(*name, f64.Params(params))
		if err != nil {
			return err
		}
		forward = func(in []byte) ([]byte, error) {
			x := decode64(in)
			a.Forward(x, x)
			return encode64(x), nil
		}
		backward = func(in []byte) ([]byte, error) {
			x := decode64(in)
			dy := make([]float64, len(x))
			for i := range dy {
				dy[i] = 1
			}
			a.Backward(x, dy, x)
			return encode64(x), nil
		}
	}
	if *isa != "" && *isa != current {
		if os.Getenv(isaEnv) == *isa {
			// This is the fresh process, and the dispatch still chose a
			// lower level: the CPU lacks the one asked for.
			return fmt.Errorf("-isa %s: this CPU does not run the %s kernels (the best it runs is %s)", *isa, *isa, current)
		}
		return reexec(*isa, append([]string{"eval"}, args...), std)
	}

	in, err := io.ReadAll(std.in)
	if err != nil {
		return fmt.Errorf("reading the input: %w", err)
	}
	if len(in)%size != 0 {
		return fmt.Errorf("the input has %d bytes, not a multiple of %d (the size of one %s value); nothing written", len(in), size, *typ)
	}
	compute := forward
	if *deriv {
		compute = backward
	}
	res, err := compute(in)
	if err != nil {
		return err
	}
	_, err = std.out.Write(res)
	return err
}

// reexec runs this program again with args and ACTKERN_ISA=isa, connected
// to the same input and outputs: the generated packages choose their
// kernels once, at init, from that variable.
func reexec(isa string, args []string, std stdio) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("-isa: cannot find this program to run it again with %s=%s: %w (set %s yourself instead)", isaEnv, isa, err, isaEnv)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), isaEnv+"="+isa)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = std.in, std.out, std.err
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return errReported
	}
	return err
}

func decode32(b []byte) []float32 {
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

func encode32(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func decode64(b []byte) []float64 {
	x := make([]float64, len(b)/8)
	for i := range x {
		x[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return x
}

func encode64(x []float64) []byte {
	b := make([]byte, 8*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return b
}
