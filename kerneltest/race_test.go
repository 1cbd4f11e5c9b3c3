//go:build race

package kerneltest

// raceEnabled: -race turns on checkptr, which aborts the process on the
// deliberate out-of-bounds slice of TestOutOfBoundsRead before the guard
// page can catch it.
const raceEnabled = true
