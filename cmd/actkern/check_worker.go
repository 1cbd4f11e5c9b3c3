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
// header), then the raw payload the header announces (values in the
// machine's byte order).

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
	"unsafe"

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
	// A float32 sweep's inputs are the bit patterns XLo + i·XStride: with
	// XStride > 0 the worker makes them itself and the payload is ys alone.
	XLo     uint64 `json:"x_lo,omitempty"`
	XStride uint64 `json:"x_stride,omitempty"`
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

// dyCache holds the gradient arrays of compute, so that a sweep fills each
// once: a constant gradient's array is kept for every later call.
type dyCache[T float32 | float64] struct {
	byValue map[float64][]T
	fromX   []T
}

// get returns the gradients of spec sp for the inputs in (x, or y).
func (c *dyCache[T]) get(sp outSpec, in []T) []T {
	n := len(in)
	if sp.DYFromX {
		c.fromX = grow(c.fromX, n)
		for i := range c.fromX {
			c.fromX[i] = dyFor(in[i])
		}
		return c.fromX
	}
	dy := c.byValue[sp.DY]
	if len(dy) < n {
		if c.byValue == nil {
			c.byValue = map[float64][]T{}
		}
		dy = make([]T, n)
		for i := range dy {
			dy[i] = T(sp.DY)
		}
		c.byValue[sp.DY] = dy
	}
	return dy[:n]
}

// grow returns b with length n, reusing its array when it is large enough.
func grow[E any](b []E, n int) []E {
	if cap(b) < n {
		return make([]E, n)
	}
	return b[:n]
}

// compute fills outs[s] (len(xs) each) with the output of spec s; ys are the
// inputs of backward_from_output. dys keeps the gradient arrays (nil: made
// for this call).
func (k *kset[T]) compute(specs []outSpec, xs, ys []T, outs [][]T, dys *dyCache[T]) error {
	if dys == nil {
		dys = &dyCache[T]{}
	}
	for s, sp := range specs {
		switch sp.Dir {
		case kerneltest.Forward:
			k.forward(outs[s], xs)
		case kerneltest.Backward:
			k.backward(outs[s], dys.get(sp, xs), xs)
		case kerneltest.BackwardFromOutput:
			if k.fromOut == nil {
				return errors.New("no backward_from_output kernel at these parameters")
			}
			if len(ys) != len(xs) {
				return errors.New("backward_from_output needs y")
			}
			k.fromOut(outs[s], dys.get(sp, ys), ys)
		default:
			return fmt.Errorf("unknown direction %q", sp.Dir)
		}
	}
	return nil
}

// blockHashes hashes out in blocks of block values (see appendBlockHashes).
func blockHashes[T float32 | float64](out []T, block int) []uint64 {
	return appendBlockHashes(make([]uint64, 0, (len(out)+block-1)/block), out, block)
}

// appendBlockHashes appends the hash of each block of block values of out
// to dst. Any single differing value changes its block's hash: the values'
// bits, two float32s or one float64 to a 64-bit word, enter four
// independent lanes by h = (h ^ word)·odd, a bijection of h, and the lanes
// are combined by more such steps. Four lanes keep the multiplications out
// of each other's way (FNV-1a, one chain of them per value, cost as much as
// a fast kernel). NaNs hash by their bits, so a different NaN payload shows
// as a differing block, which the parent then compares value by value
// (where any NaN matches NaN).
func appendBlockHashes[T float32 | float64](dst []uint64, out []T, block int) []uint64 {
	switch o := any(out).(type) {
	case []float32:
		for lo := 0; lo < len(o); lo += block {
			dst = append(dst, hash32(o[lo:min(lo+block, len(o))]))
		}
	case []float64:
		for lo := 0; lo < len(o); lo += block {
			dst = append(dst, hash64(o[lo:min(lo+block, len(o))]))
		}
	}
	return dst
}

const (
	hashMul = 0x9e3779b97f4a7c15 // odd: multiplying by it is a bijection
	hashH0  = 0xcbf29ce484222325
	hashH1  = 0x84222325cbf29ce4
	hashH2  = 0x6a09e667f3bcc908
	hashH3  = 0xbb67ae8584caa73b
)

func hashLanes(h0, h1, h2, h3 uint64) uint64 {
	h := (h0 ^ h1) * hashMul
	h = (h ^ h2) * hashMul
	return (h ^ h3) * hashMul
}

func hash32(v []float32) uint64 {
	h0, h1, h2, h3 := uint64(hashH0), uint64(hashH1), uint64(hashH2), uint64(hashH3)
	// The values two at a time, as the 64-bit words they occupy: loading
	// words instead of assembling them from float32 bits doubles the speed
	// (parent and workers are one program on one machine, so they agree).
	w := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(v))), len(v)/2)
	i := 0
	for ; i+4 <= len(w); i += 4 {
		x := w[i : i+4 : i+4]
		h0 = (h0 ^ x[0]) * hashMul
		h1 = (h1 ^ x[1]) * hashMul
		h2 = (h2 ^ x[2]) * hashMul
		h3 = (h3 ^ x[3]) * hashMul
	}
	for k := 2 * i; k < len(v); k++ {
		h0 = (h0 ^ uint64(math.Float32bits(v[k]))) * hashMul
	}
	return hashLanes(h0, h1, h2, h3)
}

func hash64(v []float64) uint64 {
	h0, h1, h2, h3 := uint64(hashH0), uint64(hashH1), uint64(hashH2), uint64(hashH3)
	i := 0
	for ; i+4 <= len(v); i += 4 {
		w := v[i : i+4 : i+4]
		h0 = (h0 ^ math.Float64bits(w[0])) * hashMul
		h1 = (h1 ^ math.Float64bits(w[1])) * hashMul
		h2 = (h2 ^ math.Float64bits(w[2])) * hashMul
		h3 = (h3 ^ math.Float64bits(w[3])) * hashMul
	}
	for ; i < len(v); i++ {
		h0 = (h0 ^ math.Float64bits(v[i])) * hashMul
	}
	return hashLanes(h0, h1, h2, h3)
}

func floatSize[T float32 | float64]() int {
	if testutil.Is32[T]() {
		return 4
	}
	return 8
}

// floatBytes is the memory of xs as bytes. The payloads are the values in
// this machine's byte order: parent and workers are one program on one
// machine, so a copy is the whole encoding.
func floatBytes[T float32 | float64](xs []T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(xs))), len(xs)*floatSize[T]())
}

func appendFloats[T float32 | float64](b []byte, xs []T) []byte {
	return append(b, floatBytes(xs)...)
}

func decodeFloats[T float32 | float64](b []byte, xs []T) {
	copy(floatBytes(xs), b)
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
	st32, st64 := &serveState[float32]{}, &serveState[float64]{}
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
			payload, err = st64.serve(r, &req, bound)
		} else {
			payload, err = st32.serve(r, &req, bound)
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

// serveState is a worker's buffers for one precision, kept from request to
// request: a sweep sends thousands of requests of the same size.
type serveState[T float32 | float64] struct {
	raw, payload []byte
	xs, ys       []T
	outs         [][]T
	hashes       []uint64
	dys          dyCache[T]
}

func (st *serveState[T]) serve(r *bufio.Reader, req *workRequest, bound map[string]any) ([]byte, error) {
	size := floatSize[T]()
	gen := req.XStride > 0
	if gen && !testutil.Is32[T]() {
		return nil, errors.New("x_stride: only float32 inputs are bit patterns")
	}
	nIn := 0
	if !gen {
		nIn += req.N
	}
	if req.HasY {
		nIn += req.N
	}
	st.raw = grow(st.raw, nIn*size)
	if _, err := io.ReadFull(r, st.raw); err != nil {
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
	st.xs = grow(st.xs, req.N)
	raw := st.raw
	if gen {
		b, step := uint32(req.XLo), uint32(req.XStride)
		for i := range st.xs {
			st.xs[i] = T(math.Float32frombits(b))
			b += step
		}
	} else {
		decodeFloats(raw, st.xs)
		raw = raw[req.N*size:]
	}
	var ys []T
	if req.HasY {
		st.ys = grow(st.ys, req.N)
		ys = st.ys
		decodeFloats(raw, ys)
	}
	st.outs = grow(st.outs, len(req.Out))
	for s := range st.outs {
		st.outs[s] = grow(st.outs[s], req.N)
	}
	if err := k.compute(req.Out, st.xs, ys, st.outs, &st.dys); err != nil {
		return nil, err
	}
	payload := st.payload[:0]
	switch req.Op {
	case "hash":
		if req.Block <= 0 {
			return nil, errors.New("hash: block must be positive")
		}
		for _, o := range st.outs {
			st.hashes = appendBlockHashes(st.hashes[:0], o, req.Block)
			for _, h := range st.hashes {
				payload = binary.LittleEndian.AppendUint64(payload, h)
			}
		}
	case "eval":
		for _, o := range st.outs {
			payload = appendFloats(payload, o)
		}
	default:
		return nil, fmt.Errorf("unknown op %q", req.Op)
	}
	st.payload = payload
	return payload, nil
}

// worker is the parent's end of one child process.
type worker struct {
	isa string
	cmd *exec.Cmd
	in  io.WriteCloser
	w   *bufio.Writer
	r   *bufio.Reader
	buf []byte // the last answer's payload
	// A request in flight: its payload, and the result of writing it.
	out     []byte
	sent    chan error
	pending bool
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
	w.in.Close() // a request in flight fails, and its goroutine ends
	w.cmd.Wait()
}

// workerSend sends one request with its inputs; workerRecv reads the
// answer. A parent may send to several workers before reading any answer, so
// that they compute while it does.
func workerSend[T float32 | float64](w *worker, req *workRequest, xs, ys []T) error {
	if err := w.wait(); err != nil {
		return err
	}
	req.N, req.HasY = len(xs), ys != nil
	w.out = appendFloats(appendFloats(w.out[:0], xs), ys)
	if err := writeFrame(w.w, req, w.out); err != nil {
		return fmt.Errorf("%s worker: %w", w.isa, err)
	}
	return nil
}

// workerSendAsync is workerSend on a goroutine of its own: a pipe holds 64
// KB, so a larger request blocks its writer until the worker, which may be
// waiting for a CPU, has read it, and the caller has better things to do
// meanwhile. xs and ys are copied before it returns; the next workerSend or
// workerRecv waits for the request to be written.
func workerSendAsync[T float32 | float64](w *worker, req workRequest, xs, ys []T) error {
	if err := w.wait(); err != nil {
		return err
	}
	req.N, req.HasY = len(xs), ys != nil
	w.out = w.out[:0]
	if req.XStride == 0 {
		w.out = appendFloats(w.out, xs)
	}
	w.out = appendFloats(w.out, ys)
	if w.sent == nil {
		w.sent = make(chan error, 1)
	}
	go func() { w.sent <- writeFrame(w.w, req, w.out) }()
	w.pending = true
	return nil
}

// wait waits for the request in flight, if any, to be written.
func (w *worker) wait() error {
	if !w.pending {
		return nil
	}
	w.pending = false
	if err := <-w.sent; err != nil {
		return fmt.Errorf("%s worker: %w", w.isa, err)
	}
	return nil
}

// workerRecv reads an answer whose payload holds want bytes; the slice it
// returns is valid until the next call.
func workerRecv(w *worker, want int) ([]byte, error) {
	if err := w.wait(); err != nil {
		return nil, err
	}
	var resp workResponse
	if err := readHeader(w.r, &resp); err != nil {
		return nil, fmt.Errorf("%s worker: %w", w.isa, err)
	}
	if resp.Err != "" {
		return nil, fmt.Errorf("%s worker: %s", w.isa, resp.Err)
	}
	w.buf = grow(w.buf, want)
	if _, err := io.ReadFull(w.r, w.buf); err != nil {
		return nil, fmt.Errorf("%s worker: %w", w.isa, err)
	}
	return w.buf, nil
}

// sendHashes asks for the block hashes of every output spec; recvHashes
// reads them into hs (one slice per spec, reused).
func sendHashes[T float32 | float64](w *worker, req workRequest, xs, ys []T, block int) error {
	req.Op, req.Block = "hash", block
	return workerSendAsync(w, req, xs, ys)
}

func recvHashes(w *worker, specs, n, block int, hs [][]uint64) ([][]uint64, error) {
	nb := (n + block - 1) / block
	b, err := workerRecv(w, 8*nb*specs)
	if err != nil {
		return nil, err
	}
	hs = grow(hs, specs)
	for s := range hs {
		hs[s] = grow(hs[s], nb)
		for i := range hs[s] {
			hs[s][i] = binary.LittleEndian.Uint64(b[8*(s*nb+i):])
		}
	}
	return hs, nil
}

// workerHashes asks for the block hashes of every output spec and waits.
func workerHashes[T float32 | float64](w *worker, req workRequest, xs, ys []T, block int) ([][]uint64, error) {
	if err := sendHashes(w, req, xs, ys, block); err != nil {
		return nil, err
	}
	return recvHashes(w, len(req.Out), len(xs), block, nil)
}

// workerOutputs asks for the outputs of every output spec.
func workerOutputs[T float32 | float64](w *worker, req workRequest, xs, ys []T) ([][]T, error) {
	req.Op = "eval"
	size := floatSize[T]()
	if err := workerSend(w, &req, xs, ys); err != nil {
		return nil, err
	}
	b, err := workerRecv(w, len(req.Out)*len(xs)*size)
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
