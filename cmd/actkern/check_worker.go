package main

// The kernels of one ISA level per process: the generated packages choose
// their level once, at init, from ACTKERN_ISA, so `actkern check` runs the
// generic kernels itself and asks one child process per other level
// (`actkern check -worker`, started with ACTKERN_ISA set) for theirs. A
// child answers requests on its standard input with kernel outputs or, to
// keep the pipes nearly idle while the backends agree, with one hash per
// block of outputs: the parent compares the hashes with its own and asks
// for the outputs of the blocks that differ.
//
// Frames: a little-endian uint32 length, that many bytes of JSON (the
// header), then the raw little-endian payload the header announces.

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"strings"

	"github.com/actkern/actkern/generated/f32"
	"github.com/actkern/actkern/generated/f64"
	"github.com/actkern/actkern/internal/testutil"
	"github.com/actkern/actkern/kerneltest"
)

// outSpec is one output array of a request: direction dir at gradient DY
// (backward directions), or, with DYFromX, at a gradient chosen from
// dySet by the input's bits (the float64 sweep gives each input one dy).
type outSpec struct {
	Dir     string  `json:"dir"`
	DY      float64 `json:"dy,omitempty"`
	DYFromX bool    `json:"dy_from_x,omitempty"`
}

type workRequest struct {
	Op     string             `json:"op"` // "hash" or "eval"
	Type   string             `json:"type"`
	Func   string             `json:"func"`
	Params map[string]float64 `json:"params,omitempty"`
	Out    []outSpec          `json:"out"`
	N      int                `json:"n"`     // inputs; the payload is xs, then ys if HasY
	HasY   bool               `json:"has_y"` // ys (for backward_from_output) follow xs
	Block  int                `json:"block,omitempty"`
}

type workResponse struct {
	Err string `json:"err,omitempty"`
	ISA string `json:"isa,omitempty"` // the hello frame: the level this process runs
}

// dySet is the fixed set of gradients the backward kernels are swept with.
var dySet = []float64{1, -1, 0.75, 3.5, 1e-3}

// dyFor is the gradient the float64 sweep pairs with input v: a hash of
// its bits picks one of dySet, so parent and worker agree without sending
// it, and every dy meets every binade.
func dyFor[T float32 | float64](v T) T {
	return T(dySet[splitmix(testutil.Bits(v))%uint64(len(dySet))])
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// kset is one activation's kernels at bound parameters, in precision T.
type kset[T float32 | float64] struct {
	forward  func(dst, x []T)
	backward func(dx, dy, x []T)
	fromOut  func(dx, dy, y []T) // nil when unavailable
}

func bindKernels[T float32 | float64](name string, params map[string]float64) (*kset[T], error) {
	var k any
	if testutil.Is32[T]() {
		a, err := f32.New(name, f32.Params(params))
		if err != nil {
			return nil, err
		}
		ks := &kset[float32]{forward: a.Forward, backward: a.Backward}
		if a.HasBackwardFromOutput() {
			ks.fromOut = a.BackwardFromOutput
		}
		k = ks
	} else {
		a, err := f64.New(name, f64.Params(params))
		if err != nil {
			return nil, err
		}
		ks := &kset[float64]{forward: a.Forward, backward: a.Backward}
		if a.HasBackwardFromOutput() {
			ks.fromOut = a.BackwardFromOutput
		}
		k = ks
	}
	return k.(*kset[T]), nil
}

// compute fills outs[s] (len(xs) each) with the output of spec s; ys are the
// inputs of backward_from_output.
func (k *kset[T]) compute(specs []outSpec, xs, ys []T, outs [][]T) error {
	var dy []T
	for s, sp := range specs {
		if sp.Dir != kerneltest.Forward {
			if dy == nil {
				dy = make([]T, len(xs))
			}
			in := xs
			if sp.Dir == kerneltest.BackwardFromOutput {
				in = ys
			}
			for i := range dy {
				if sp.DYFromX {
					dy[i] = dyFor(in[i])
				} else {
					dy[i] = T(sp.DY)
				}
			}
		}
		switch sp.Dir {
		case kerneltest.Forward:
			k.forward(outs[s], xs)
		case kerneltest.Backward:
			k.backward(outs[s], dy, xs)
		case kerneltest.BackwardFromOutput:
			if k.fromOut == nil {
				return errors.New("no backward_from_output kernel at these parameters")
			}
			if len(ys) != len(xs) {
				return errors.New("backward_from_output needs y")
			}
			k.fromOut(outs[s], dy, ys)
		default:
			return fmt.Errorf("unknown direction %q", sp.Dir)
		}
	}
	return nil
}

// blockHashes hashes out in blocks of block values: FNV-1a over the values'
// bits, so any single differing value changes its block's hash (each step
// is a bijection of the state). NaNs hash by their bits, so a different
// NaN payload shows as a differing block, which the parent then compares
// value by value (where any NaN matches NaN).
func blockHashes[T float32 | float64](out []T, block int) []uint64 {
	hs := make([]uint64, 0, (len(out)+block-1)/block)
	for lo := 0; lo < len(out); lo += block {
		h := uint64(0xcbf29ce484222325)
		for _, v := range out[lo:min(lo+block, len(out))] {
			h = (h ^ testutil.Bits(v)) * 0x100000001b3
		}
		hs = append(hs, h)
	}
	return hs
}

func floatSize[T float32 | float64]() int {
	if testutil.Is32[T]() {
		return 4
	}
	return 8
}

func appendFloats[T float32 | float64](b []byte, xs []T) []byte {
	if testutil.Is32[T]() {
		for _, x := range xs {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(x)))
		}
		return b
	}
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(x)))
	}
	return b
}

func decodeFloats[T float32 | float64](b []byte, xs []T) {
	if testutil.Is32[T]() {
		for i := range xs {
			xs[i] = T(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
		return
	}
	for i := range xs {
		xs[i] = T(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
	}
}

func writeFrame(w *bufio.Writer, header any, payload []byte) error {
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(h)))
	w.Write(n[:])
	w.Write(h)
	w.Write(payload)
	return w.Flush()
}

func readHeader(r *bufio.Reader, header any) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	h := make([]byte, binary.LittleEndian.Uint32(n[:]))
	if _, err := io.ReadFull(r, h); err != nil {
		return err
	}
	return json.Unmarshal(h, header)
}

// serveWorker is `actkern check -worker`: it says which level it runs, then
// answers requests until its input closes. SIGINT is the parent's to
// handle (a Ctrl-C reaches the whole process group): a worker keeps
// answering so that the parent can finish its partial report.
func serveWorker(in io.Reader, out io.Writer) error {
	signal.Ignore(os.Interrupt)
	r, w := bufio.NewReaderSize(in, 1<<20), bufio.NewWriterSize(out, 1<<20)
	if f32.ISA() != f64.ISA() {
		return writeFrame(w, workResponse{Err: "the f32 and f64 packages chose different levels: " + f32.ISA() + ", " + f64.ISA()}, nil)
	}
	if err := writeFrame(w, workResponse{ISA: f32.ISA()}, nil); err != nil {
		return err
	}
	bound := map[string]any{}
	for {
		var req workRequest
		if err := readHeader(r, &req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		var payload []byte
		var err error
		if req.Type == "f64" {
			payload, err = serveRequest[float64](r, &req, bound)
		} else {
			payload, err = serveRequest[float32](r, &req, bound)
		}
		resp := workResponse{}
		if err != nil {
			resp.Err, payload = err.Error(), nil
		}
		if err := writeFrame(w, resp, payload); err != nil {
			return err
		}
	}
}

func serveRequest[T float32 | float64](r *bufio.Reader, req *workRequest, bound map[string]any) ([]byte, error) {
	size := floatSize[T]()
	nIn := req.N
	if req.HasY {
		nIn *= 2
	}
	raw := make([]byte, nIn*size)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, err
	}
	key := fmt.Sprint(req.Type, " ", req.Func, " ", req.Params)
	k, ok := bound[key].(*kset[T])
	if !ok {
		var err error
		if k, err = bindKernels[T](req.Func, req.Params); err != nil {
			return nil, err
		}
		bound[key] = k
	}
	xs := make([]T, req.N)
	decodeFloats(raw, xs)
	var ys []T
	if req.HasY {
		ys = make([]T, req.N)
		decodeFloats(raw[req.N*size:], ys)
	}
	outs := make([][]T, len(req.Out))
	for s := range outs {
		outs[s] = make([]T, req.N)
	}
	if err := k.compute(req.Out, xs, ys, outs); err != nil {
		return nil, err
	}
	var payload []byte
	switch req.Op {
	case "hash":
		if req.Block <= 0 {
			return nil, errors.New("hash: block must be positive")
		}
		for _, o := range outs {
			for _, h := range blockHashes(o, req.Block) {
				payload = binary.LittleEndian.AppendUint64(payload, h)
			}
		}
	case "eval":
		payload = make([]byte, 0, len(outs)*req.N*size)
		for _, o := range outs {
			payload = appendFloats(payload, o)
		}
	default:
		return nil, fmt.Errorf("unknown op %q", req.Op)
	}
	return payload, nil
}

// worker is the parent's end of one child process.
type worker struct {
	isa string
	cmd *exec.Cmd
	in  io.WriteCloser
	w   *bufio.Writer
	r   *bufio.Reader
}

// errUnavailable: the CPU does not run the level asked for.
type errUnavailable struct{ isa, best string }

func (e errUnavailable) Error() string {
	return fmt.Sprintf("this CPU does not run the %s kernels (the best it runs is %s)", e.isa, e.best)
}

// startWorker starts `actkern check -worker` at level isa.
func startWorker(isa string) (*worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find this program to run the %s kernels in a child process: %w", isa, err)
	}
	cmd := exec.Command(exe, "check", "-worker")
	cmd.Env = append(os.Environ(), isaEnv+"="+isa, checkChildEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the %s worker: %w", isa, err)
	}
	wk := &worker{isa: isa, cmd: cmd, in: in, w: bufio.NewWriterSize(in, 1<<20), r: bufio.NewReaderSize(out, 1<<20)}
	var hello workResponse
	if err := readHeader(wk.r, &hello); err != nil {
		wk.close()
		return nil, fmt.Errorf("the %s worker did not answer: %w", isa, err)
	}
	if hello.Err != "" {
		wk.close()
		return nil, fmt.Errorf("the %s worker: %s", isa, hello.Err)
	}
	if hello.ISA != isa {
		wk.close()
		return nil, errUnavailable{isa, hello.ISA}
	}
	return wk, nil
}

func (w *worker) close() {
	w.in.Close()
	w.cmd.Wait()
}

// call sends one request with its inputs and returns the payload of the
// answer, which holds want bytes.
func workerCall[T float32 | float64](w *worker, req *workRequest, xs, ys []T, want int) ([]byte, error) {
	req.N, req.HasY = len(xs), ys != nil
	size := floatSize[T]()
	payload := make([]byte, 0, (len(xs)+len(ys))*size)
	payload = appendFloats(payload, xs)
	payload = appendFloats(payload, ys)
	if err := writeFrame(w.w, req, payload); err != nil {
		return nil, fmt.Errorf("%s worker: %w", w.isa, err)
	}
	var resp workResponse
	if err := readHeader(w.r, &resp); err != nil {
		return nil, fmt.Errorf("%s worker: %w", w.isa, err)
	}
	if resp.Err != "" {
		return nil, fmt.Errorf("%s worker: %s", w.isa, resp.Err)
	}
	b := make([]byte, want)
	if _, err := io.ReadFull(w.r, b); err != nil {
		return nil, fmt.Errorf("%s worker: %w", w.isa, err)
	}
	return b, nil
}

// hashes asks for the block hashes of every output spec.
func workerHashes[T float32 | float64](w *worker, req workRequest, xs, ys []T, block int) ([][]uint64, error) {
	req.Op, req.Block = "hash", block
	nb := (len(xs) + block - 1) / block
	b, err := workerCall(w, &req, xs, ys, 8*nb*len(req.Out))
	if err != nil {
		return nil, err
	}
	hs := make([][]uint64, len(req.Out))
	for s := range hs {
		hs[s] = make([]uint64, nb)
		for i := range hs[s] {
			hs[s][i] = binary.LittleEndian.Uint64(b[8*(s*nb+i):])
		}
	}
	return hs, nil
}

// outputs asks for the outputs of every output spec.
func workerOutputs[T float32 | float64](w *worker, req workRequest, xs, ys []T) ([][]T, error) {
	req.Op = "eval"
	size := floatSize[T]()
	b, err := workerCall(w, &req, xs, ys, len(req.Out)*len(xs)*size)
	if err != nil {
		return nil, err
	}
	outs := make([][]T, len(req.Out))
	for s := range outs {
		outs[s] = make([]T, len(xs))
		decodeFloats(b[s*len(xs)*size:], outs[s])
	}
	return outs, nil
}

// describeISAs lists levels for messages.
func describeISAs(l []string) string { return strings.Join(l, ", ") }
