package reference

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomValues are random arguments (wide ranges, random bit patterns) with
// the correctly rounded float64 and float32 results, checked offline
// against mpmath at 400 bits (4000 for sin/cos of huge arguments).
var randomValues = []struct {
	fn     string
	x, f64 uint64
	f32    uint32
}{
	{"exp", 0x407dd6c82bca00ab, 0x6afb6aff9f853b69, 0x7f800000},
	{"exp", 0xbf15b11fb9bd5290, 0x3fefff5278d8b884, 0x3f7ffa94},
	{"exp", 0xc010176e33400f90, 0x3f9254b8a87eaddf, 0x3c92a5c5},
	{"exp", 0x4036e69d20000000, 0x420070019b325d8f, 0x5003800d},
	{"exp", 0xc06fe90918ed4700, 0x28ea16f1d79fbcc6, 0x00000000},
	{"exp", 0x400de35d7beb017f, 0x4044f721087f62b5, 0x4227b908},
	{"exp", 0x1fba554ba8423aca, 0x3ff0000000000000, 0x3f800000},
	{"exp", 0x401038f0d21bd2e0, 0x404cdc2d8b95c66b, 0x4266e16c},
	{"exp", 0xbff79d773a6b20f4, 0x3fcd418caad63597, 0x3e6a0c65},
	{"exp", 0x4021c3f42161adf7, 0x40bc2661211feed1, 0x45e13309},
	{"exp", 0x401864f81191e566, 0x407bd3c326a80aef, 0x43de9e19},
	{"exp", 0x3e0de0107fe68876, 0x3ff00000003bc021, 0x3f800000},
	{"exp", 0xc0103bf5a0000000, 0x3f91b044ec69c8ff, 0x3c8d8227},
	{"exp", 0x40881b787395d204, 0x7ff0000000000000, 0x7f800000},
	{"exp", 0xc018dd1e40000000, 0x3f605cbd42c9631f, 0x3b02e5ea},
	{"exp", 0x3ab45b29f99fc170, 0x3ff0000000000000, 0x3f800000},
	{"expm1", 0xbfeaa817c92edda0, 0xbfe216a71abc19c1, 0xbf10b539},
	{"expm1", 0xbc732b5d11b0a8ee, 0xbc732b5d11b0a8ee, 0xa3995ae9},
	{"expm1", 0xc08142645d814144, 0xbff0000000000000, 0xbf800000},
	{"expm1", 0xbe2472d690105002, 0xbe2472d68fa7c6bf, 0xb12396b4},
	{"expm1", 0xc086c8552d78b560, 0xbff0000000000000, 0xbf800000},
	{"expm1", 0xc07161d0194007a5, 0xbff0000000000000, 0xbf800000},
	{"expm1", 0x2daa1047964c0658, 0x2daa1047964c0658, 0x00000000},
	{"expm1", 0x388b147addac304c, 0x388b147addac304c, 0x0458a3d7},
	{"expm1", 0xa8cedd1272de0751, 0xa8cedd1272de0751, 0x80000000},
	{"expm1", 0x3f9a89d486de0f0c, 0x3f9ae2a1a940cb47, 0x3cd7150d},
	{"expm1", 0xc01abd9dccaa70ea, 0xbfeff5c4076d914c, 0xbf7fae20},
	{"expm1", 0xc02520b9a0000000, 0xbfefffc9d3d2d485, 0xbf7ffe4f},
	{"expm1", 0x3ffedfc8cc9e89d0, 0x40178c486d929647, 0x40bc6243},
	{"expm1", 0x40872b35e8369c66, 0x7ff0000000000000, 0x7f800000},
	{"expm1", 0xc00774fc2668498b, 0xbfee4b7f9e7b13d8, 0xbf725bfd},
	{"expm1", 0x4033e42a40000000, 0x41b9f050d45a3347, 0x4dcf8287},
	{"log", 0x400628e9c4ea7684, 0x3ff04d2a30a223fa, 0x3f826952},
	{"log", 0x402f9b9380000000, 0x4006150026d8faca, 0x4030a801},
	{"log", 0x4006b444bba8ebe6, 0x3ff0b09135bf5d08, 0x3f85848a},
	{"log", 0x407e96a9c49e228c, 0x4018c5d9d3c5c0fc, 0x40c62ecf},
	{"log", 0x4086504e11dc1277, 0x401a48a389e2150a, 0x40d2451c},
	{"log", 0x7fea0108d30ec9b2, 0x40862c9a11a0d6de, 0x443164d1},
	{"log", 0x3f811c03c8b9b4b0, 0xc01323d42b909049, 0xc0991ea1},
	{"log", 0x4037d7a620000000, 0x40095f28d692e7dd, 0x404af947},
	{"log", 0x4082afa621814691, 0x401992f637bb0def, 0x40cc97b2},
	{"log", 0x40192803e943b948, 0x3ffd6bc8a22b94d5, 0x3feb5e45},
	{"log", 0x3dee0170c362f82c, 0xc0363ebc4d33d137, 0xc1b1f5e2},
	{"log", 0x4022fac939506b22, 0x40020072f64a5601, 0x40100398},
	{"log", 0x403a1071d3425bf4, 0x400a15a2a6aad858, 0x4050ad15},
	{"log", 0x4020f042a0000000, 0x4001176f6521a538, 0x4008bb7b},
	{"log", 0x403d876b20000000, 0x400b153df76fbde7, 0x4058a9f0},
	{"log", 0x403b1244e0000000, 0x400a6347a1a66cc9, 0x40531a3d},
	{"log1p", 0x401228cd13d9cfe2, 0x3ffb6436f8bad76a, 0x3fdb21b8},
	{"log1p", 0xbfe0653aad188878, 0xbfe6fb438f43217e, 0xbf37da1c},
	{"log1p", 0xbfc21abbb6540f14, 0xbfc3851c100bcb8e, 0xbe1c28e1},
	{"log1p", 0x4446ade03dc27177, 0x40481687a96ac2fb, 0x4240b43d},
	{"log1p", 0xbfd06882b90d71fe, 0xbfd2f55399044d64, 0xbe97aa9d},
	{"log1p", 0xbfca39089c9751fc, 0xbfcd57de5270a14e, 0xbe6abef3},
	{"log1p", 0x3e784e2a214f27c8, 0x3e784e2a0ed929bb, 0x33c27150},
	{"log1p", 0x3db82fe9cba28ea0, 0x3db82fe9cba16a1e, 0x2dc17f4e},
	{"log1p", 0x7917d7e8e6ff6802, 0x4083cf7bc8d5d310, 0x441e7bde},
	{"log1p", 0x5693ba00065dffe4, 0x406f641df4bbfd9c, 0x437b20f0},
	{"log1p", 0x3d2c65961bbf8324, 0x3d2c65961bbf825a, 0x29632cb1},
	{"log1p", 0xbfe01049460df0c7, 0xbfe64ee62a3a3f44, 0xbf327731},
	{"log1p", 0xbfe542ed5bdb3c36, 0xbff178663b598876, 0xbf8bc332},
	{"log1p", 0x5b83b4622623e149, 0x40731e2dc1d09d6b, 0x4398f16e},
	{"log1p", 0xbfe077f121f2c719, 0xbfe721ba567139c3, 0xbf390dd3},
	{"log1p", 0xb65ec60beb852835, 0xb65ec60beb852835, 0x80000000},
	{"tanh", 0xbd6159c5c8d81ba0, 0xbd6159c5c8d81ba0, 0xab0ace2e},
	{"tanh", 0x760ceb96a645c404, 0x3ff0000000000000, 0x3f800000},
	{"tanh", 0x408677cfdd329fb8, 0x3ff0000000000000, 0x3f800000},
	{"tanh", 0xb59a6b523a08df86, 0xb59a6b523a08df86, 0x80000000},
	{"tanh", 0x0a135a29a2bdd746, 0x0a135a29a2bdd746, 0x00000000},
	{"tanh", 0xbc7c1c7d2694d9d2, 0xbc7c1c7d2694d9d2, 0xa3e0e3e9},
	{"tanh", 0x4b7984f6c1dd6b22, 0x3ff0000000000000, 0x3f800000},
	{"tanh", 0x4032743220000000, 0x3feffffffffffffe, 0x3f800000},
	{"tanh", 0xbffdb21bca886e44, 0xbfee794b089c15ca, 0xbf73ca58},
	{"tanh", 0xc027375cde0f4aa0, 0xbfefffffffe9472d, 0xbf800000},
	{"tanh", 0x4020fefc60000000, 0x3fefffffd35f0e23, 0x3f7fffff},
	{"tanh", 0xa8947660634a9319, 0xa8947660634a9319, 0x80000000},
	{"tanh", 0xbb470fc9a6312fd8, 0xbb470fc9a6312fd8, 0x9a387e4d},
	{"tanh", 0x4023cb974f6d8533, 0x3feffffffd48b834, 0x3f800000},
	{"tanh", 0x4076e4f0d5a75711, 0x3ff0000000000000, 0x3f800000},
	{"tanh", 0x408301e0cdbf8ed9, 0x3ff0000000000000, 0x3f800000},
	{"erf", 0x4081063bad02fe09, 0x3ff0000000000000, 0x3f800000},
	{"erf", 0x22f235bb8579f1d0, 0x22f48c33abe5ecdb, 0x00000000},
	{"erf", 0x3f647f20ff6c7c64, 0x3f6720bd13958b0f, 0x3b3905e9},
	{"erf", 0x402182d500000000, 0x3ff0000000000000, 0x3f800000},
	{"erf", 0x9ee79edfe61be98b, 0x9eeaa72ad627b5cf, 0x80000000},
	{"erf", 0x3c0f7965846aec5d, 0x3c11c1e6324d031e, 0x208e0f32},
	{"erf", 0xc086bef8e187c19b, 0xbff0000000000000, 0xbf800000},
	{"erf", 0x3ffa6f8d0b680250, 0x3fef6096bc9d4f5f, 0x3f7b04b6},
	{"erf", 0x4071cb45f5637d38, 0x3ff0000000000000, 0x3f800000},
	{"erf", 0x3dfd86d2a0b263d0, 0x3e00a89bebdb4c5a, 0x300544df},
	{"erf", 0xbcc18589e4174dc6, 0xbcc3c5636af515e9, 0xa61e2b1b},
	{"erf", 0xf7b8d91aa6fcef92, 0xbff0000000000000, 0xbf800000},
	{"erf", 0x8b32d346a8a7bcea, 0x8b353df87c99f6cd, 0x80000000},
	{"erf", 0x373c82242ca8a446, 0x3740158909b4be49, 0x00000405},
	{"erf", 0x7861ea6e04de8e63, 0x3ff0000000000000, 0x3f800000},
	{"erf", 0xbfd0524118826ff8, 0xbfd2066986231b5c, 0xbe90334c},
	{"erfc", 0x40760d2258d9c9a2, 0x0000000000000000, 0x00000000},
	{"erfc", 0xc083235e859b6da5, 0x4000000000000000, 0x40000000},
	{"erfc", 0xa0c0ec578ed14144, 0x3ff0000000000000, 0x3f800000},
	{"erfc", 0x3c827b4f441d72dc, 0x3ff0000000000000, 0x3f800000},
	{"erfc", 0xd129523ea4519e6e, 0x4000000000000000, 0x40000000},
	{"erfc", 0x402f51a780000000, 0x29857d8f859b874e, 0x00000000},
	{"erfc", 0x401bfe78a0000000, 0x3b49d44500d68627, 0x1a4ea228},
	{"erfc", 0x40384f8720000000, 0x0a4e62507bf95344, 0x00000000},
	{"erfc", 0x74e6017d4c2afb13, 0x0000000000000000, 0x00000000},
	{"erfc", 0x400cd5a3063c0cbd, 0x3e971fecb83db658, 0x34b8ff66},
	{"erfc", 0x401eade8b908f6da, 0x3a64752fed438725, 0x1323a97f},
	{"erfc", 0xbcc5f06449bb0684, 0x3ff0000000000003, 0x3f800000},
	{"erfc", 0x408174c98cb973f9, 0x0000000000000000, 0x00000000},
	{"erfc", 0xbfff618316b78f12, 0x3fffe94c9e2e65a3, 0x3fff4a65},
	{"erfc", 0xbfdb2164045eb6f8, 0x3ff737f68631dce9, 0x3fb9bfb4},
	{"erfc", 0xbff609689999999a, 0x3fff2d4d6ab43142, 0x3ff96a6b},
	{"sin", 0x3e9c9a8490f5321a, 0x3e9c9a8490f53126, 0x34e4d425},
	{"sin", 0xc087145b99e67348, 0x3fd11949fd3f4b1c, 0x3e88ca50},
	{"sin", 0xc018e3e048eca598, 0x3faf08a640b81636, 0x3d784532},
	{"sin", 0x3f06dcacc945a522, 0x3f06dcacc92686eb, 0x3836e566},
	{"sin", 0x9245a92b61a1d83b, 0x9245a92b61a1d83b, 0x80000000},
	{"sin", 0xbc451e35aebbdd30, 0xbc451e35aebbdd30, 0xa228f1ad},
	{"sin", 0x407f685da2c49e7f, 0xbfc0d7aa56686d71, 0xbe06bd53},
	{"sin", 0x4083b3217e74686d, 0x3fec0d2dcf037395, 0x3f60696e},
	{"sin", 0x4080a24a32c72654, 0xbfef459cbe4aa9f5, 0xbf7a2ce6},
	{"sin", 0xc03b13cd40000000, 0xbfedca46449be195, 0xbf6e5232},
	{"sin", 0xbc8e7d6a1b95cfb8, 0xbc8e7d6a1b95cfb8, 0xa473eb51},
	{"sin", 0xef00efba0042280f, 0x3fea67ad036dcaff, 0x3f533d68},
	{"sin", 0x401c4924a7f5ef2f, 0x3fe6b113e66f9b46, 0x3f35889f},
	{"sin", 0x3c1e60581a3814f6, 0x3c1e60581a3814f6, 0x20f302c1},
	{"sin", 0xbf774306a2ffba24, 0xbf7742fe7120539e, 0xbbba17f4},
	{"sin", 0x2db97a92b956d8d5, 0x2db97a92b956d8d5, 0x00000000},
	{"cos", 0x3c557344ad454cde, 0x3ff0000000000000, 0x3f800000},
	{"cos", 0x40238a645681ec7a, 0xbfee1bda09d167bf, 0xbf70ded0},
	{"cos", 0xf07747ec7d8008bf, 0x3fedbab44194191b, 0x3f6dd5a2},
	{"cos", 0xc0394933c0000000, 0x3fefa00c460ee765, 0x3f7d0062},
	{"cos", 0x3c51b6eaa22c024e, 0x3ff0000000000000, 0x3f800000},
	{"cos", 0x40242c1980000000, 0xbfe940cf2f017189, 0xbf4a0679},
	{"cos", 0xc085d282b4c75a1f, 0x3fe461f2fd5f5dea, 0x3f230f98},
	{"cos", 0xbf380e8e12ea7d1e, 0x3fefffffdbd44891, 0x3f7fffff},
	{"cos", 0xc011b6430e60874c, 0xbfd1f507bcde1f7c, 0xbe8fa83e},
	{"cos", 0xc02297820750f6a3, 0xbfefbc137d6f87eb, 0xbf7de09c},
	{"cos", 0xc05b033349cb2f90, 0x3fd509a4c6c6853a, 0x3ea84d26},
	{"cos", 0x3fce63a860000000, 0x3fef1a348a6faf6e, 0x3f78d1a4},
	{"cos", 0xc034a81980000000, 0xbfcdf6cd17d4fc5e, 0xbe6fb669},
	{"cos", 0x5fe8e415e2ff409f, 0xbfe7423d65c050d6, 0xbf3a11eb},
	{"cos", 0xc0195add60000000, 0x3feff35d28409e5e, 0x3f7f9ae9},
	{"cos", 0xc0372ad760000000, 0xbfd89a9688768ea3, 0xbec4d4b4},
	{"sigmoid", 0xc037bc4e22c16e54, 0x3dcb093d73473bb3, 0x2e5849ec},
	{"sigmoid", 0x40813d31b16e3540, 0x3ff0000000000000, 0x3f800000},
	{"sigmoid", 0xc075ea92c6f3b4c8, 0x2051303330506095, 0x00000000},
	{"sigmoid", 0xc03a587000000000, 0x3d8fd015dc585ab9, 0x2c7e80af},
	{"sigmoid", 0xc0b9b79764f08440, 0x0000000000000000, 0x00000000},
	{"sigmoid", 0xbffa7f80c0000000, 0x3fc48421ee0a7daf, 0x3e24210f},
	{"sigmoid", 0xc013ce6660d4be0f, 0x3f7cc3d13c3f2298, 0x3be61e8a},
	{"sigmoid", 0x400a549d3b0a4753, 0x3feeda267b27c0e0, 0x3f76d134},
	{"sigmoid", 0xbdeb195861641420, 0x3fdffffffff27354, 0x3f000000},
	{"sigmoid", 0xc0069a83497375a8, 0x3faca761dfd9fddf, 0x3d653b0f},
	{"sigmoid", 0x0707c4b862c64680, 0x3fe0000000000000, 0x3f000000},
	{"sigmoid", 0xc106a09f7e14d61a, 0x0000000000000000, 0x00000000},
	{"sigmoid", 0xc0727e7e9abf3700, 0x25411ff071fd278e, 0x00000000},
	{"sigmoid", 0x4029da1600000000, 0x3feffffae539e1d3, 0x3f7fffd7},
	{"sigmoid", 0x4086397eeff49a78, 0x3ff0000000000000, 0x3f800000},
	{"sigmoid", 0x403cb87a60000000, 0x3feffffffffff42a, 0x3f800000},
	{"sqrt", 0x3c3ba910af08529a, 0x3e15098a48af0287, 0x30a84c52},
	{"sqrt", 0x3bae2d1c5d03cdba, 0x3dcf1321829fca92, 0x2e78990c},
	{"sqrt", 0x40680c9b76cdd4cd, 0x402bbdc154769337, 0x415dee0b},
	{"sqrt", 0x4039d49080000000, 0x40145454ce5015c6, 0x40a2a2a6},
	{"sqrt", 0x40232f2260000000, 0x4008c6def727ee15, 0x404636f8},
	{"sqrt", 0x4012b8e580000000, 0x40014ec493bc6e18, 0x400a7625},
	{"sqrt", 0x4015452f80000000, 0x400272a7f1bca18c, 0x40139540},
	{"sqrt", 0x401f61eed18521cc, 0x400668761c9aaed7, 0x403343b1},
	{"sqrt", 0x1c20223278002904, 0x2e06b8bfe0aa2b9b, 0x00000000},
	{"sqrt", 0x3be68a632867def0, 0x3deadb645016e2ad, 0x2f56db23},
	{"sqrt", 0x40d00b162fe75eb0, 0x4060058a2274a192, 0x43002c51},
	{"sqrt", 0x3b254c55223bc586, 0x3d8a1b39d3d7414e, 0x2c50d9cf},
	{"sqrt", 0x3ad12575889d990c, 0x3d6090310aa3e103, 0x2b048188},
	{"sqrt", 0x407a2abf93bfa9f0, 0x40347622eceb8ad4, 0x41a3b117},
	{"sqrt", 0x401fd04266b08d83, 0x40068fb71950459e, 0x40347db9},
	{"sqrt", 0x43033f0f5fd930a2, 0x4178d1259d8ca7f7, 0x4bc6892d},
}

func TestRandomValues(t *testing.T) {
	for _, c := range randomValues {
		f := MustCompile(c.fn+"(x)", []string{"x"}, nil)
		x := math.Float64frombits(c.x)
		assert.Equal(t, c.f64, math.Float64bits(f.Float64(x)), "%s(%g) float64", c.fn, x)
		assert.Equal(t, c.f32, math.Float32bits(f.Float32(x)), "%s(%g) float32", c.fn, x)
	}
}

func bits64(v float64) uint64 { return math.Float64bits(v) }

var (
	pinf = math.Inf(1)
	ninf = math.Inf(-1)
	nan  = math.NaN()
	nz   = math.Copysign(0, -1)
)

func TestSpecialValues(t *testing.T) {
	cases := []struct {
		src  string
		x    float64
		want float64
	}{
		{"exp(x)", ninf, 0}, {"exp(x)", pinf, pinf}, {"exp(x)", nan, nan}, {"exp(x)", nz, 1},
		{"exp(x)", -1e6, 0}, {"exp(x)", 1e6, pinf}, {"exp(x)", 1e300, pinf}, {"exp(x)", -1e300, 0},
		{"expm1(x)", ninf, -1}, {"expm1(x)", pinf, pinf}, {"expm1(x)", nz, nz}, {"expm1(x)", -1e300, -1},
		{"log(x)", 0, ninf}, {"log(x)", nz, ninf}, {"log(x)", -1, nan}, {"log(x)", ninf, nan},
		{"log(x)", pinf, pinf}, {"log(x)", 1, 0},
		{"log1p(x)", -1, ninf}, {"log1p(x)", -2, nan}, {"log1p(x)", pinf, pinf}, {"log1p(x)", nz, nz},
		{"tanh(x)", pinf, 1}, {"tanh(x)", ninf, -1}, {"tanh(x)", nz, nz}, {"tanh(x)", 1e300, 1},
		{"erf(x)", pinf, 1}, {"erf(x)", ninf, -1}, {"erf(x)", nz, nz}, {"erf(x)", -1e300, -1},
		{"erfc(x)", pinf, 0}, {"erfc(x)", ninf, 2}, {"erfc(x)", 0, 1}, {"erfc(x)", 1e300, 0},
		{"erfc(x)", -1e300, 2}, {"erfc(x)", 40000, 0},
		{"sigmoid(x)", ninf, 0}, {"sigmoid(x)", pinf, 1}, {"sigmoid(x)", 0, 0.5},
		{"sigmoid(x)", -1e300, 0}, {"sigmoid(x)", 1e300, 1},
		{"sin(x)", pinf, nan}, {"sin(x)", ninf, nan}, {"cos(x)", pinf, nan}, {"sin(x)", nz, nz},
		{"cos(x)", nz, 1},
		{"sqrt(x)", -1, nan}, {"sqrt(x)", nz, nz}, {"sqrt(x)", pinf, pinf}, {"sqrt(x)", ninf, nan},
		{"abs(x)", nz, 0}, {"abs(x)", ninf, pinf},
		{"x - x", pinf, nan}, {"x + x", nz, nz}, {"x - 0", nz, nz}, {"x + 0", nz, 0},
		{"x * 0", pinf, nan}, {"x * 0", -3, nz}, {"0 * x", -3, nz},
		{"1 / x", 0, pinf}, {"1 / x", nz, ninf}, {"-1 / x", 0, ninf}, {"x / 0", 0, nan},
		{"x / x", pinf, nan}, {"-x", 0, nz}, {"-0.0", 5, nz}, {"+x", nz, nz},
		{"min(x, 0)", nz, nz}, {"min(0, x)", nz, nz}, {"max(x, 0)", nz, 0}, {"max(0, x)", nz, 0},
		{"min(x, 1)", nan, nan}, {"max(1, x)", nan, nan},
		{"where(x > 0, 1, 2)", nan, 2}, {"where(x != x, 1, 2)", nan, 1},
		{"where(x == 0, 1, 2)", nz, 1}, {"where(!(x <= 0) || x >= 3, 1, 2)", nan, 1}, {"where(x <= 0 || x >= 3, 1, 2)", nan, 2},
		{"exp(x) * 0 + x", nan, nan}, {"inf - x", pinf, nan}, {"nan + 1", 0, nan},
	}
	for _, c := range cases {
		f := MustCompile(c.src, []string{"x"}, nil)
		for _, mode := range []string{"Float64", "Float32", "Fast"} {
			var got float64
			switch mode {
			case "Float64":
				got = f.Float64(c.x)
			case "Float32":
				got = float64(f.Float32(c.x))
			case "Fast":
				got = f.Fast(c.x)
			}
			if math.IsNaN(c.want) {
				assert.True(t, math.IsNaN(got), "%s at x=%g (%s): got %g, want NaN", c.src, c.x, mode, got)
				continue
			}
			assert.Equal(t, bits64(c.want), bits64(got), "%s at x=%g (%s): got %g, want %g", c.src, c.x, mode, got, c.want)
		}
	}
}

// Float32 rounds the exact value once: through float64 it would round twice.
func TestFloat32SingleRounding(t *testing.T) {
	// 1 + 2^-24 + 2^-60: just above the midpoint between 1 and 1+2^-23.
	// float64 rounds it to the midpoint 1+2^-24, and float32(that) ties to 1.
	f := MustCompile("x + c", []string{"x"}, map[string]string{
		"c": "5.9604644775390625867361737988403547205962240695953369140625e-8", // 2^-24 + 2^-60
	})
	require.Equal(t, float32(1+0x1p-23), f.Float32(1))
	require.Equal(t, float32(f.Float64(1)), float32(1), "the double rounding this test guards against")
	// An exact tie rounds to even.
	g := MustCompile("x + 0x1p-24", []string{"x"}, nil)
	require.Equal(t, float32(1), g.Float32(1))
	require.Equal(t, float32(1+0x1p-22), g.Float32(1+0x1p-23))

	// Subnormal range: x * 2^-149 rounds at the fixed ulp 2^-149.
	s := MustCompile("x * 0x1p-149", []string{"x"}, nil)
	for _, c := range []struct {
		x    float64
		want uint32
	}{
		{1.5, 2}, {2.5, 2}, {0.5, 0}, {0.5 + 0x1p-30, 1}, {-0.5, 0x80000000}, {1.25, 1},
		{0x1p23 - 0.5, 0x800000}, // rounds up to the smallest normal
		{0x1p23 - 0.75, 0x7fffff},
	} {
		assert.Equal(t, c.want, math.Float32bits(s.Float32(c.x)), "%g * 2^-149", c.x)
	}
	// Same for float64 at 2^-1074.
	d := MustCompile("x * 0x1p-1074", []string{"x"}, nil)
	assert.Equal(t, uint64(2), bits64(d.Float64(1.5)))
	assert.Equal(t, uint64(0), bits64(d.Float64(0.5)))
	assert.Equal(t, uint64(1), bits64(d.Float64(0.5+0x1p-40)))
	// Overflow of float32 only.
	o := MustCompile("x * 4", []string{"x"}, nil)
	assert.True(t, math.IsInf(float64(o.Float32(1e38)), 1))
	assert.Equal(t, 4e38, o.Float64(1e38))
	// exp(-740) is a float64 subnormal; erfc(27) too.
	assert.Equal(t, math.Exp(-740), MustCompile("exp(x)", []string{"x"}, nil).Float64(-740))
}

func TestFormulas(t *testing.T) {
	softplus := MustCompile("where(beta*x > threshold, x, log1p(exp(beta*x)) / beta)",
		[]string{"x", "beta", "threshold"}, nil)
	requireClose(t, "1.0634640055214862482218634031791522157171665314042", softplus.Big(DefaultPrec, bf(1), bf(2), bf(20)))
	requireClose(t, "0.40282655596550481899896561811418221050879725790108", softplus.Big(DefaultPrec, bf(-3), bf(0.5), bf(20)))
	assert.Equal(t, 30.0, softplus.Float64(30, 1, 20))
	assert.Equal(t, float32(30), softplus.Float32(30, 1, 20))

	selu := MustCompile("scale * where(x > 0, x, alpha * expm1(x))", []string{"x"}, map[string]string{
		"alpha": "1.6732632423543772848170429916717",
		"scale": "1.0507009873554804934193349852946",
	})
	requireClose(t, "-1.1113307378125627617986406624278255167052184083057", selu.Big(DefaultPrec, bf(-1)))
	requireClose(t, "2.1014019747109609868386699705892", selu.Big(DefaultPrec, bf(2)))

	gelu := MustCompile("0.5 * x * erfc(-x * sqrt1_2)", []string{"x"}, nil)
	requireClose(t, "-0.00039885901386633658663002091743592059540149164465545", gelu.Big(DefaultPrec, bf(-3.7)))

	relu6 := MustCompile("min(max(x, 0), 6)", []string{"x"}, nil)
	assert.Equal(t, 6.0, relu6.Float64(7))
	assert.Equal(t, 0.0, relu6.Float64(-7))
	assert.True(t, math.IsNaN(relu6.Float64(nan)))

	hardtanh := MustCompile("where(x < min_val, min_val, where(x > max_val, max_val, x))",
		[]string{"x", "min_val", "max_val"}, nil)
	assert.Equal(t, -1.0, hardtanh.Float64(-3, -1, 1))
	assert.Equal(t, 0.25, hardtanh.Float64(0.25, -1, 1))
	assert.True(t, math.IsNaN(hardtanh.Float64(nan, -1, 1)))

	// Constants: every name in expr.Constants, and inf/nan in extra ones.
	c := MustCompile("(big - big) + pi + e + ln2 + sqrt2 + sqrt1_2 + sqrt2_pi + inv_sqrtpi", nil,
		map[string]string{"big": "1e300"})
	sum := math.Pi + math.E + math.Ln2 + math.Sqrt2 + 1/math.Sqrt2 + math.Sqrt(2/math.Pi) + 1/math.Sqrt(math.Pi)
	assert.InDelta(t, sum, c.Float64(), 1e-14)
	assert.True(t, math.IsInf(MustCompile("-k", nil, map[string]string{"k": "inf"}).Float64(), -1))
	assert.True(t, math.IsInf(MustCompile("k", nil, map[string]string{"k": "-inf"}).Float64(), -1))
	assert.True(t, math.IsNaN(MustCompile("k*0", nil, map[string]string{"k": "nan"}).Float64()))
	// Decimal literals are exact decimals, not float64s: 0.1*3 - 0.3 = 0.
	assert.Equal(t, 0.0, MustCompile("0.1*3 - 0.3", nil, nil).Float64())
	// Arguments of Big may carry more bits than a float64 (x ± h).
	h := new(big.Float).SetPrec(300).SetMantExp(big.NewFloat(1), -150)
	xh := new(big.Float).SetPrec(300).Add(big.NewFloat(1), h)
	d := MustCompile("x - 1", []string{"x"}, nil).Big(DefaultPrec, xh)
	assert.Equal(t, 0, d.F.Cmp(h))
	// BigNum carries NaN.
	assert.True(t, MustCompile("x + 1", []string{"x"}, nil).BigNum(100, Num{NaN: true}).NaN)
}

// The built-in constants' digits agree with π, ln2, … computed here.
func TestBuiltinConstants(t *testing.T) {
	p := uint(200)
	pi := piConst(p)
	sqrtPi := newF(p).Sqrt(pi)
	want := map[string]*big.Float{
		"pi":         pi,
		"e":          expFinite(fromInt(1, p), p),
		"ln2":        ln2(p),
		"sqrt2":      newF(p).Sqrt(fromInt(2, p)),
		"sqrt1_2":    newF(p).Sqrt(big.NewFloat(0.5)),
		"sqrt2_pi":   newF(p).Sqrt(newF(p).Quo(fromInt(2, p), pi)),
		"inv_sqrtpi": newF(p).Quo(fromInt(1, p), sqrtPi),
	}
	for name, w := range want {
		got := MustCompile(name, nil, nil).Big(p)
		assert.Less(t, relErr(got.F, w), 1e-58, name)
	}
}

func bf(v float64) *big.Float { return big.NewFloat(v) }

func requireClose(t *testing.T, want string, got Num) {
	t.Helper()
	w, _, err := big.ParseFloat(want, 10, 300, big.ToNearestEven)
	require.NoError(t, err)
	require.False(t, got.NaN)
	require.Less(t, relErr(got.F, w), 1e-30, "got %s want %s", got, want)
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		src, msg string
		offset   int
	}{
		{"foo(x)", `unknown function "foo"`, 0},
		{"x + y", `unknown name "y"`, 4},
		{"exp(x, 1)", "exp takes 1 argument(s), got 2", 0},
		{"where(x > 0, 1)", "where takes 3 argument(s), got 2", 0},
		{"x % 2", "unsupported operator %", 2},
		{"x[0]", "indexing", 0},
		{`x + "a"`, `unsupported literal "a"`, 4},
		{"x + 'a'", "unsupported literal 'a'", 4},
		{"2i * x", "unsupported literal 2i", 0},
		{"x > 0", "comparison > outside the condition of where", 0},
		{"where(x, 1, 2)", "condition expected", 6},
		{"where(x > 0 && x, 1, 2)", "condition expected", 15},
		{"!x", "operator ! outside", 0},
		{"x.y", "selector", 0},
		{"math.Exp(x)", "plain name", 0},
		{"exp", "function exp used as a value", 0},
		{"x << 1", "unsupported operator <<", 2},
		{"010 * x", "legacy octal", 0},
		{"exp(x...)", "unsupported syntax: ...", 5},
		{"func() {}", "unsupported syntax", 0},
	}
	for _, c := range cases {
		_, err := CompileString(c.src, []string{"x"}, nil)
		require.Error(t, err, c.src)
		assert.Contains(t, err.Error(), c.msg, c.src)
		var ce *Error
		if assert.ErrorAs(t, err, &ce, c.src) {
			assert.Equal(t, c.offset, ce.Offset(), "%s: %v", c.src, err)
			assert.True(t, strings.HasPrefix(err.Error(), "offset "), err.Error())
		}
	}
	_, err := CompileString("x", []string{"x"}, map[string]string{"k": "zz"})
	assert.ErrorContains(t, err, "constant k")
	_, err = CompileString("x", []string{"x", "x"}, nil)
	assert.ErrorContains(t, err, "twice")
	// Accepted syntax: hex floats, underscores, 0o octal, unary plus.
	f, err := CompileString("+0x1p-2 + 1_000 + 0o10 + (x)", []string{"x"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 1008.25, f.Float64(0))
}

// The continued fraction for erfc converges within cfTerms: the result with
// cfTerms terms agrees to the precision with a computation using twice as
// many terms at twice the precision, over the whole range it serves.
func TestErfcContinuedFraction(t *testing.T) {
	for _, prec := range []uint{100, 250, 600} {
		for x := float64(cfStart); x < 60; x *= 1.07 {
			xb := bf(x)
			got := erfcCF(xb, prec)
			want := erfcCFTerms(xb, 2*prec, 2*cfTerms(x, prec+guard+8))
			assert.Less(t, relErr(got, want), math.Ldexp(1, -int(prec)+1), "erfc(%g) at %d bits", x, prec)
		}
	}
}

// erfcCFTerms is the plain continued fraction with n terms, all at prec bits.
func erfcCFTerms(x *big.Float, prec uint, n int) *big.Float {
	t := newF(prec).Set(x)
	for i := n; i >= 1; i-- {
		a := newF(prec).SetFloat64(float64(i) / 2)
		t.Quo(a, t)
		t.Add(t, x)
	}
	y := newF(2*prec).Mul(x, x)
	e := expFinite(y.Neg(y), prec)
	e.Quo(e, t)
	return e.Mul(e, invSqrtPi(prec))
}

// Big at two precisions agrees to the lower one: catches any step that
// silently loses bits (a guard too small, a reduction with too short a π).
func TestPrecisionConsistency(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, fn := range []string{"exp", "expm1", "log", "log1p", "tanh", "erf", "erfc", "sin", "cos", "sigmoid"} {
		f := MustCompile(fn+"(x)", []string{"x"}, nil)
		for i := 0; i < 150; i++ {
			x := randArg(r, i)
			if fn == "log" {
				x = math.Abs(x)
			}
			if fn == "log1p" && x <= -1 {
				x = -r.Float64()
			}
			lo, hi := f.Big(120, bf(x)), f.Big(500, bf(x))
			if hi.NaN || hi.F.IsInf() || hi.F.Sign() == 0 {
				assert.Equal(t, hi.String(), lo.String(), "%s(%g)", fn, x)
				continue
			}
			assert.Less(t, relErr(lo.F, hi.F), math.Ldexp(1, -119), "%s(%g)", fn, x)
		}
	}
}

func randArg(r *rand.Rand, i int) float64 {
	for {
		var x float64
		switch i % 4 {
		case 0:
			x = (r.Float64()*2 - 1) * 12
		case 1:
			x = (r.Float64()*2 - 1) * 800
		case 2:
			x = math.Ldexp(r.Float64()*2-1, r.IntN(140)-120)
		default:
			x = math.Float64frombits(r.Uint64())
		}
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return x
		}
	}
}

// Fast is package math in float64: measured against the correctly rounded
// value, it stays within a few ulps (logged), and Func is safe for
// concurrent use (run with -race).
func TestFastAgainstBig(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 500
	}
	// Bounds: math's functions are within 1 ulp, except math.Erfc, seen 2
	// ulp off (e.g. erfc(6.094437845819465), confirmed with mpmath);
	// sigmoid composes three roundings (exp, add, divide).
	bound := map[string]float64{"erfc": 2, "sigmoid": 3}
	fns := []string{"exp", "expm1", "log", "log1p", "tanh", "erf", "erfc", "sin", "cos", "sqrt", "sigmoid"}
	var wg sync.WaitGroup
	results := make([]float64, len(fns))
	for k, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := MustCompile(fn+"(x)", []string{"x"}, nil)
			r := rand.New(rand.NewPCG(uint64(k), 9))
			worst := 0.0
			for i := range n {
				x := randArg(r, i%3) // finite, moderate and tiny: math's domain of accuracy
				if fn == "log" || fn == "sqrt" {
					x = math.Abs(x)
				}
				if fn == "log1p" && x <= -1 {
					x = -r.Float64()
				}
				worst = max(worst, ulpDiff(f.Fast(x), f.Float64(x)))
			}
			results[k] = worst
		}()
	}
	wg.Wait()
	for k, fn := range fns {
		t.Logf("Fast %-8s max error %.0f ulp over %d points", fn, results[k], n)
		b, ok := bound[fn]
		if !ok {
			b = 1
		}
		assert.LessOrEqual(t, results[k], b, fn)
	}
}

// ulpDiff is |got-want| in ulps of want (the float64 spacing at want,
// subnormal spacing below).
func ulpDiff(got, want float64) float64 {
	if math.IsNaN(got) || math.IsNaN(want) {
		if math.IsNaN(got) && math.IsNaN(want) {
			return 0
		}
		return math.Inf(1)
	}
	if got == want {
		return 0
	}
	if math.IsInf(got, 0) || math.IsInf(want, 0) {
		return math.Inf(1)
	}
	_, e := math.Frexp(want)
	ulp := math.Ldexp(1, max(e-53, -1074))
	return math.Abs(got-want) / ulp
}
