// Command flight reads execution traces written by the gateway's flight
// recorder (diagnostics.flight_recorder, docs/diagnostics.md) and says what
// the slow requests in each were made of: for every "http request" region
// longer than -slow, the time its goroutine spent running, runnable
// (waiting for a CPU), in system calls and blocked, and, while it waited
// for the upstream's answer, what the goroutine that delivered the answer
// was doing (still waiting on the network: the upstream was late; runnable:
// the gateway had no CPU for it). It also prints stop-the-world pauses and
// how often slow requests overlapped a GC mark phase against how much of
// the trace the mark phases cover.
//
//	cd bench/flight && go run . -slow 15ms ../results/soak-*.flight/*.trace
//
// It is a module of its own (golang.org/x/exp/trace parses the traces).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	slow := flag.Duration("slow", 15*time.Millisecond, "requests longer than this are dissected")
	detail := flag.Int("detail", 3, "show this many slowest requests of each trace one by one")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: flight [-slow 15ms] [-detail 3] FILE.trace...")
		os.Exit(2)
	}
	for _, path := range flag.Args() {
		if err := run(os.Stdout, path, *slow, *detail); err != nil {
			fmt.Fprintf(os.Stderr, "flight: %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

func run(w io.Writer, path string, slow time.Duration, detail int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	a, err := Analyse(f, slow)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "== %s\n", path)
	a.Write(w, detail)
	return nil
}
