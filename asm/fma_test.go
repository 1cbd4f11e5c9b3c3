package asm

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actkern/actkern/internal/vprog"
)

// loopOf returns the instructions of function name's main loop in an
// assembly file: from its "loop:" label to the jump back.
func loopOf(t *testing.T, asm, name string) []string {
	t.Helper()
	start := strings.Index(asm, "// func "+name+"(")
	require.GreaterOrEqual(t, start, 0, "no function %s", name)
	body := asm[start:]
	body = body[strings.Index(body, "\nloop:\n")+len("\nloop:\n"):]
	body = body[:strings.Index(body, "JMP")]
	return strings.Split(strings.TrimSpace(body), "\n")
}

// TestFMAPlacementAvoidsCopies: each FMA below has a placement (see
// fmaForm) that needs no copy and no load, where the 213 form with the
// program's operand order would copy a register or load a constant first.
func TestFMAPlacementAvoidsCopies(t *testing.T) {
	b := vprog.NewBuilder("fmaPlace", vprog.F64, vprog.F64, 1, nil)
	x := b.Input(0)
	sq := b.Mul(x, x)
	// The addend dies, x lives on: 231 accumulates into sq's register.
	y := b.FMA(x, b.Const(0.75), sq)
	// A computed factor that dies and a constant factor: 132 reads the
	// constant from memory; the addend x lives on.
	n := b.Round(b.Mul(y, b.Const(1.5)), vprog.RoundNearestEven)
	r := b.FMA(b.Neg(n), b.Const(0.6931471805599453), x)
	// Horner: t = r is read by every step and must not be copied.
	p := b.Horner(r, 1, 0.5, 1.0/6, 1.0/24, 1.0/120)
	out := b.Finish(b.Mul(p, x))

	files, err := Generate("fmaplace", []Kernel{{Program: out}})
	require.NoError(t, err)
	asm := string(files["kernels_amd64.s"])
	copyRe := regexp.MustCompile(`^\s*VMOVAP[SD]\s+[XYZ]\d+, [XYZ]\d+$`)
	constRe := regexp.MustCompile(`^\s*VMOVUP[SD]\s+\w+<>\+\d+\(SB\), [XYZ]\d+$`)
	for _, name := range []string{"fmaPlaceAVX2", "fmaPlaceAVX512"} {
		loop := loopOf(t, asm, name)
		var copies, loads []string
		fmas := 0
		for _, l := range loop {
			switch {
			case copyRe.MatchString(l):
				copies = append(copies, l)
			case constRe.MatchString(l):
				loads = append(loads, l)
			case strings.Contains(l, "VFMADD"):
				fmas++
			}
		}
		// Only Horner's first step reads two constants (c4 times r plus
		// c3): one of them is copied or loaded into the destination, once
		// per vector. Nothing else needs a copy or a load.
		assert.LessOrEqual(t, len(copies)+len(loads), fmas/6, "%s: copies %v, constant loads %v", name, copies, loads)
	}
}
