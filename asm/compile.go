package asm

import (
	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/pass"

	"github.com/actkern/actkern/internal/parallel"
)

// compile runs avo's compile passes (pass.Compile) on f. All of them but
// one work on one function at a time, so each function is compiled as a
// file of its own, side by side, which changes none of the output; the
// file-wide one, which includes textflag.h where a function needs it, then
// runs on f.
func compile(f *ir.File) error {
	fns := f.Functions()
	errs := make([]error, len(fns))
	parallel.ForEach(len(fns), func(i int) {
		errs[i] = pass.Compile.Execute(&ir.File{Sections: []ir.Section{fns[i]}})
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return pass.IncludeTextFlagHeader(f)
}
