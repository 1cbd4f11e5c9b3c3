package asm

import (
	"runtime"
	"sync"

	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/pass"
)

// forEach calls do(0) … do(n-1), side by side on as many goroutines as
// there are CPUs. The calls must not share mutable state.
func forEach(n int, do func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := range next {
				do(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// compile runs avo's compile passes (pass.Compile) on f. All of them but
// one work on one function at a time, so each function is compiled as a
// file of its own, side by side, which changes none of the output; the
// file-wide one, which includes textflag.h where a function needs it, then
// runs on f.
func compile(f *ir.File) error {
	fns := f.Functions()
	errs := make([]error, len(fns))
	forEach(len(fns), func(i int) {
		errs[i] = pass.Compile.Execute(&ir.File{Sections: []ir.Section{fns[i]}})
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return pass.IncludeTextFlagHeader(f)
}
