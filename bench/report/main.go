// Command report reads the load generator's JSON lines and prints the
// Markdown tables of docs/benchmarks.md (medians over repetitions, ratios
// to the direct run, the targets).
//
//	report runs.jsonl [more.jsonl ...]
package main

import (
	"fmt"
	"os"

	"github.com/fulcrumhq/fulcrum/bench/internal/loadgen"
	"github.com/fulcrumhq/fulcrum/bench/internal/report"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: report FILE.jsonl ...")
		os.Exit(2)
	}
	var recs []loadgen.Record
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		rs, err := report.Read(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", name+":", err)
			os.Exit(1)
		}
		recs = append(recs, rs...)
	}
	report.Write(os.Stdout, report.Aggregate(recs))
}
