// Package report turns the load generator's JSON lines into the Markdown
// tables of docs/benchmarks.md: the median over repetitions of every
// figure, throughput as a share of the direct run, latency added over the
// direct run at the same open-loop rate, and the targets checked as
// ratios to direct.
package report

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/fulcrumhq/fulcrum/bench/internal/loadgen"
)

// Scenario and target names that run.sh uses and the targets table reads.
const (
	Direct       = "direct"
	RefProxy     = "refproxy"
	Fulcrum      = "fulcrum"
	FulcrumOff   = "fulcrum-off"
	Portkey      = "portkey"
	Closed32     = "closed32"
	Open500      = "open500"
	Streams1000  = "streams1000"
	openPrefix   = "open"
	closedPrefix = "closed"
	// streamsPrefix names the many-concurrent-streams runs (streams1000,
	// or fewer streams in short mode).
	streamsPrefix = "streams"
)

// Read decodes JSON lines; blank lines are skipped.
func Read(r io.Reader) ([]loadgen.Record, error) {
	var recs []loadgen.Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec loadgen.Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("report: line %d: %w", n, err)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return recs, nil
}

// Key identifies one cell: what ran against what.
type Key struct {
	Target   string
	Scenario string
	Stream   bool
}

// Cell is the median over repetitions of each figure of one Key (each
// figure's median on its own, peak RSS included), with errors summed.
type Cell struct {
	Reps                int
	Mode                string
	Conns               int
	Rate                float64
	RPS                 float64
	P50, P90, P99, P999 float64 // ms
	TTFT50, TTFT99      float64 // ms, streams only
	CPUPerReqUS         float64 // 0 when not measured
	RSSPeakMB           float64 // 0 when not measured
	RSSAnonPeakMB       float64 // peak anonymous RSS; 0 when not measured
	RSSFileMB           float64 // file-backed RSS at the end of the run
	Requests, Errors    int64
}

// Aggregate groups records by Key and takes medians.
func Aggregate(recs []loadgen.Record) map[Key]Cell {
	groups := map[Key][]loadgen.Record{}
	for _, r := range recs {
		k := Key{r.Target, r.Scenario, r.Stream}
		groups[k] = append(groups[k], r)
	}
	cells := make(map[Key]Cell, len(groups))
	for k, rs := range groups {
		med := func(f func(loadgen.Record) float64) float64 {
			vs := make([]float64, len(rs))
			for i, r := range rs {
				vs[i] = f(r)
			}
			return Median(vs)
		}
		c := Cell{
			Reps: len(rs), Mode: rs[0].Mode, Conns: rs[0].Conns, Rate: rs[0].Rate,
			RPS:           med(func(r loadgen.Record) float64 { return r.RPS }),
			P50:           med(func(r loadgen.Record) float64 { return r.Latency.P50 }),
			P90:           med(func(r loadgen.Record) float64 { return r.Latency.P90 }),
			P99:           med(func(r loadgen.Record) float64 { return r.Latency.P99 }),
			P999:          med(func(r loadgen.Record) float64 { return r.Latency.P999 }),
			CPUPerReqUS:   med(func(r loadgen.Record) float64 { return r.CPUPerReqUS }),
			RSSPeakMB:     med(func(r loadgen.Record) float64 { return float64(r.RSSPeakKB) / 1024 }),
			RSSAnonPeakMB: med(func(r loadgen.Record) float64 { return float64(r.RSSAnonPeakKB) / 1024 }),
			RSSFileMB:     med(func(r loadgen.Record) float64 { return float64(r.RSSFileKB) / 1024 }),
		}
		if k.Stream {
			c.TTFT50 = med(func(r loadgen.Record) float64 { return ttft(r).P50 })
			c.TTFT99 = med(func(r loadgen.Record) float64 { return ttft(r).P99 })
		}
		for _, r := range rs {
			c.Requests += r.Requests
			c.Errors += r.ErrorsAll
		}
		cells[k] = c
	}
	return cells
}

func ttft(r loadgen.Record) loadgen.Quantiles {
	if r.TTFT == nil {
		return loadgen.Quantiles{}
	}
	return *r.TTFT
}

// Median of vs (the mean of the middle two for an even count); 0 if empty.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// targetOrder lists known targets first, then the rest by name.
func targetOrder(cells map[Key]Cell) []string {
	rank := map[string]int{Direct: 0, RefProxy: 1, Fulcrum: 2, FulcrumOff: 3, Portkey: 4}
	seen := map[string]bool{}
	var ts []string
	for k := range cells {
		if !seen[k.Target] {
			seen[k.Target] = true
			ts = append(ts, k.Target)
		}
	}
	slices.SortFunc(ts, func(a, b string) int {
		ra, oka := rank[a]
		rb, okb := rank[b]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		return cmp.Compare(a, b)
	})
	return ts
}

// scenarios returns the scenario names with the given prefix, closed loops
// by connections and open loops by rate.
func scenarios(cells map[Key]Cell, prefix string) []string {
	seen := map[string]Cell{}
	for k, c := range cells {
		if strings.HasPrefix(k.Scenario, prefix) {
			seen[k.Scenario] = c
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		ca, cb := seen[a], seen[b]
		return cmp.Or(cmp.Compare(ca.Conns, cb.Conns), cmp.Compare(ca.Rate, cb.Rate), cmp.Compare(a, b))
	})
	return names
}
