package parity

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/actkern/actkern/internal/testutil"
)

// Header is what every golden file starts with: who wrote it and with which
// PyTorch, so a change of PyTorch version shows up in the diff.
type Header struct {
	Generator     string `json:"generator"`
	Torch         string `json:"torch"`
	CPUCapability string `json:"cpu_capability"`
	Type          string `json:"type"` // "f32" or "f64"
}

// Elementwise is elementwise_<type>.json: PyTorch on every elementwise
// activation of the spec, at its defaults and every test parameter set.
type Elementwise struct {
	Header
	X  string `json:"x"`  // the random inputs, shared by every case
	DY string `json:"dy"` // their gradients: 1 at even indices, random at odd ones
	// Cases are in spec order, each parameter set after its defaults.
	Cases []ElementwiseCase `json:"cases"`
}

// ElementwiseCase is one activation at one parameter set.
type ElementwiseCase struct {
	Name   string             `json:"name"`
	Torch  string             `json:"torch"`  // the spec's PyTorch counterpart
	Params map[string]float64 `json:"params"` // every parameter, as handed to PyTorch
	Set    map[string]float64 `json:"set"`    // the test_params entry (empty: defaults)
	Points []Point            `json:"points"`
	Random struct {
		Y string `json:"y"` // forward on Elementwise.X
		G string `json:"g"` // gradient with Elementwise.DY
	} `json:"random"`
}

// Point is a special value, a kink or a kink's neighbour. PyTorch is run
// on it twice: alone (its scalar loop) and as 64 copies (its vectorised
// loop), because the two can differ.
type Point struct {
	Kind string `json:"kind"` // "special", "kink" or "near_kink"
	Src  string `json:"src"`  // the spec's formula for x ("-inf", "threshold/beta", "lambd+1" for a neighbour)
	X    string `json:"x"`
	DY   string `json:"dy"` // the non-unit gradient of G2
	Y    string `json:"y"`  // forward, scalar path
	G1   string `json:"g1"` // gradient with dy = 1, scalar path
	G2   string `json:"g2"` // gradient with DY, scalar path
	YV   string `json:"y_vec"`
	G1V  string `json:"g1_vec"`
	G2V  string `json:"g2_vec"`
}

// Rows is rows_<type>.json: softmax, log_softmax, softmin and logsumexp.
type Rows struct {
	Header
	Shapes []struct {
		Cols  int    `json:"cols"`
		X     string `json:"x"`
		DY    string `json:"dy"`     // one per element
		DYRow string `json:"dy_row"` // one per row (logsumexp)
		Funcs map[string]struct {
			Y  string `json:"y"`
			DX string `json:"dx"`
		} `json:"funcs"`
	} `json:"shapes"`
}

// PReLU is prelu_<type>.json.
type PReLU struct {
	Header
	Cases []struct {
		Layout  string `json:"layout"` // "NCHW" or "NHWC"
		Inner   int    `json:"inner"`
		Weight  string `json:"weight"`
		X       string `json:"x"`
		DY      string `json:"dy"`
		Y       string `json:"y"`
		DX      string `json:"dx"`
		DWeight string `json:"dweight"`
	} `json:"cases"`
}

// Gated is gated_<type>.json: GLU, SwiGLU, GeGLU, GeGLU-tanh and ReGLU on
// rows of 2*cols (a | b).
type Gated struct {
	Header
	Shapes []struct {
		Cols  int    `json:"cols"`
		X     string `json:"x"`
		DY    string `json:"dy"`
		Funcs map[string]struct {
			Y  string `json:"y"`
			DX string `json:"dx"`
		} `json:"funcs"`
	} `json:"shapes"`
}

// TypeName is "f32" or "f64", the suffix of T's golden files.
func TypeName[T float32 | float64]() string {
	if testutil.Is32[T]() {
		return "f32"
	}
	return "f64"
}

// Load reads testdata/<family>_<type>.json from dir into v and checks that
// it holds values of the type T.
func Load[T float32 | float64](dir, family string, v interface{ header() *Header }) error {
	path := filepath.Join(dir, family+"_"+TypeName[T]()+".json")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if h := v.header(); h.Type != TypeName[T]() {
		return fmt.Errorf("%s: type %q, want %q", path, h.Type, TypeName[T]())
	}
	return nil
}

func (h *Header) header() *Header { return h }

// Decode turns a string of fixed-width hex bit patterns (8 digits per
// float32, 16 per float64, most significant first) into values.
func Decode[T float32 | float64](s string) ([]T, error) {
	w := 16
	if testutil.Is32[T]() {
		w = 8
	}
	if len(s)%w != 0 {
		return nil, fmt.Errorf("hex array of %d digits is not a multiple of %d", len(s), w)
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(s)/w)
	for i := range out {
		var b uint64
		for _, c := range raw[i*w/2 : (i+1)*w/2] {
			b = b<<8 | uint64(c)
		}
		out[i] = testutil.FromBits[T](b)
	}
	return out, nil
}

// Decode1 decodes a single value.
func Decode1[T float32 | float64](s string) (T, error) {
	v, err := Decode[T](s)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("%d values where one was expected", len(v))
	}
	return v[0], nil
}
