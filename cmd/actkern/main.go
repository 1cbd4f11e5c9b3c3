// Command actkern is the project's command line. Subcommands:
//
//	actkern accuracy [-n N] [-func a,b] [-out docs/ACCURACY.md]
//	    measure every kernel (activation × precision × direction × parameter
//	    set) against the exact reference and write the max-ULP table.
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
	os.Exit(2)
}

// newFlags is a flag set that reports errors with exit status 2.
func newFlags(name string) *flag.FlagSet {
	return flag.NewFlagSet("actkern "+name, flag.ExitOnError)
}
