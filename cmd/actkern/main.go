// Command actkern is the project's command line. Subcommands:
//
//	actkern accuracy [-n N] [-func a,b] [-out docs/ACCURACY.md]
//	    measure every kernel (activation × precision × direction × parameter
//	    set) against the exact reference and write the max-ULP table.
//
//	actkern bench [-func a,b] [-n sizes] [-count K] [-benchtime D] [-out docs/BENCHMARKS.md] [-raw docs/bench/raw.txt] [-from raw.txt]
//	    run every kernel's benchmark at every ISA level beside the plain-Go
//	    loop and copy(), keep the raw output and write the table of medians.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "accuracy":
		err = accuracy(os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "actkern:", err)
		os.Exit(2)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: actkern accuracy [-n N] [-func names] [-spec file] [-out file]")
	fmt.Fprintln(os.Stderr, "       actkern bench [-func names] [-n sizes] [-count K] [-benchtime D] [-spec file] [-out file] [-raw file] [-from file]")
	os.Exit(2)
}

// newFlags is a flag set that reports errors with exit status 2.
func newFlags(name string) *flag.FlagSet {
	return flag.NewFlagSet("actkern "+name, flag.ExitOnError)
}
