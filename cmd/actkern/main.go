// Command actkern generates, describes, runs and measures actkern's
// activation kernels.
//
// Install nothing: run it from the module, at the version you want,
//
//	go run github.com/actkern/actkern/cmd/actkern@latest <command> [flags]
//
// Commands:
//
//	actkern generate -spec my.yaml -out ./act [-pkg example.com/me/proj/act] [-v]
//	    generate the packages act/f32 and act/f64 (kernels for every
//	    backend, dispatch, tests, fuzz targets, benchmarks) from your spec,
//	    which may start from ours with `include: [actkern]`.
//
//	actkern list [-spec file]
//	    every activation: name, Go name, kind, parameters and defaults,
//	    PyTorch name, whether it has an output-form derivative.
//
//	actkern eval -func name [-type f32|f64] [-derivative] [-p name=value]... [-cols N] [-isa generic|avx2|avx512] < in.bin > out.bin
//	    apply one activation (or its derivative) to raw little-endian values;
//	    row-wise and gated ones (softmax, glu, ...) take their row length -cols.
//
//	actkern check [-func a,b] [-type f32,f64] [-dir forward,...] [-isa generic,avx2,avx512|best] [-range lo:hi] [-sample N] [-n N] [-out docs/ACCURACY.md]
//	    the exhaustive sweep: every float32 input (or a -range or -sample of
//	    them) and 10^7 float64 inputs of every elementwise kernel on every
//	    backend, against the correctly rounded value; agreement between
//	    backends; special values. Ctrl-C writes what was found so far.
//
//	actkern accuracy [-n N] [-func a,b] [-out docs/ACCURACY.md]
//	    measure every kernel (activation × precision × direction × parameter
//	    set) against the exact reference and write the max-ULP table.
//
//	actkern bench [-func a,b] [-n sizes] [-count K] [-benchtime D] [-out docs/BENCHMARKS.md] [-raw docs/bench/raw.txt] [-from raw.txt]
//	    run every kernel's benchmark at every ISA level beside the plain-Go
//	    loop and copy(), keep the raw output and write the table of medians.
//
//	actkern plot [-func a,b] [-out docs/plots]
//	    draw f and f' of every activation.
//
// Run `actkern <command> -h` for a command's flags. The exit status is 0 on
// success and 2 on any error, with the message on standard error; a command
// that fails writes nothing to its output.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/actkern/actkern/internal/spec"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// stdio is what a command reads and writes instead of the process's own
// files, so that tests run commands in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// commands taking stdio; accuracy, bench and plot (which write files and
// exit on a flag error themselves) are dispatched separately.
var commands = map[string]func(args []string, std stdio) error{
	"generate": generateCmd,
	"list":     listCmd,
	"eval":     evalCmd,
	"check":    checkCmd,
}

// run runs the command line args (without the program name) and returns
// the exit status.
func run(args []string, in io.Reader, out, errOut io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(errOut, usageText)
		return 2
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(errOut, usageText)
		return 0
	}
	name, rest := args[0], args[1:]
	var err error
	if cmd, ok := commands[name]; ok {
		err = cmd(rest, stdio{in, out, errOut})
	} else {
		switch name {
		case "accuracy":
			err = accuracy(rest)
		case "bench":
			err = bench(rest)
		case "plot":
			err = plot(rest)
		default:
			fmt.Fprintf(errOut, "actkern: unknown command %q\n\n%s", name, usageText)
			return 2
		}
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0 // -h: the usage is printed, as the user asked
	}
	if err != nil {
		if !errors.Is(err, errReported) {
			msg := err.Error()
			var list spec.ErrorList
			if !errors.As(err, &list) && !strings.HasPrefix(msg, "actkern") {
				// A spec's errors stay file:line:col: message, one per
				// line, for editors to jump to; others get the command.
				msg = "actkern " + name + ": " + msg
			}
			fmt.Fprintln(errOut, msg)
		}
		return 2
	}
	return 0
}

// errReported is returned by a command that has written its own message
// (a flag error, which the flag package prints with the usage).
var errReported = errors.New("error already reported")

const usageText = `usage: actkern <command> [flags]

  generate -spec my.yaml -out dir [-pkg import/path] [-v]
                      generate packages dir/f32 and dir/f64 from a spec
  list [-spec file]   list the activations
  eval -func name [-type f32|f64] [-derivative] [-p name=value]... [-cols N] [-isa generic|avx2|avx512] < in.bin > out.bin
                      apply an activation to raw little-endian values
  check [-func names] [-type f32,f64] [-dir dirs] [-isa levels] [-range lo:hi] [-sample N] [-n N] [-out file]
                      sweep every float32 input (and 10^7 float64 ones) of every kernel and backend
  accuracy [-n N] [-func names] [-spec file] [-out file]
                      measure every kernel's max error in ULPs
  bench [-func names] [-n sizes] [-count K] [-benchtime D] [-spec file] [-out file] [-raw file] [-from file]
                      benchmark every kernel and backend
  plot [-func names] [-spec file] [-out dir]
                      draw f and f' of every activation

Run actkern <command> -h for a command's flags.
`

// newFlags is a flag set that reports errors with exit status 2 (for the
// commands that do not take stdio).
func newFlags(name string) *flag.FlagSet {
	return flag.NewFlagSet("actkern "+name, flag.ExitOnError)
}

// flagSet is a flag set for the stdio commands: errors go to std.err with
// the usage, and parse returns errReported so that run exits with 2.
func flagSet(name, usage string, std stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("actkern "+name, flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() {
		fmt.Fprintf(std.err, "usage: actkern %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, refusing positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errReported
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}
