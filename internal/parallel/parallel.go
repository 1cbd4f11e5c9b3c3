// Package parallel runs independent calls side by side, one goroutine per
// CPU.
package parallel

import (
	"runtime"
	"sync"
)

// ForEach calls do(0) … do(n-1), each once, on as many goroutines as there
// are CPUs (GOMAXPROCS), and returns when all have returned. The calls must
// not share mutable state.
func ForEach(n int, do func(i int)) {
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
