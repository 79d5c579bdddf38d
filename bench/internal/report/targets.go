package report

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// A goal is one of the targets, computed for one target name.
type goal struct {
	name    string
	goal    string
	atLeast bool    // met when value >= limit, else when value <= limit
	limit   float64 //
	format  string
	value   func(cells map[Key]Cell, target string) (float64, bool)
}

func share(sc string, stream bool) func(map[Key]Cell, string) (float64, bool) {
	return func(cells map[Key]Cell, t string) (float64, bool) {
		c, ok1 := cells[Key{t, sc, stream}]
		d, ok2 := cells[Key{Direct, sc, stream}]
		if !ok1 || !ok2 || d.RPS == 0 {
			return 0, false
		}
		return 100 * c.RPS / d.RPS, true
	}
}

func added(sc string, p99 bool) func(map[Key]Cell, string) (float64, bool) {
	return func(cells map[Key]Cell, t string) (float64, bool) {
		c, ok1 := cells[Key{t, sc, false}]
		d, ok2 := cells[Key{Direct, sc, false}]
		if !ok1 || !ok2 {
			return 0, false
		}
		if p99 {
			return c.P99 - d.P99, true
		}
		return c.P50 - d.P50, true
	}
}

// peakRSS is the largest (median) VmHWM over the target's runs other than
// the many-streams ones (those run against a fresh process of their own).
func peakRSS(cells map[Key]Cell, t string) (float64, bool) {
	var peak float64
	for k, c := range cells {
		if k.Target == t && !strings.HasPrefix(k.Scenario, streamsPrefix) {
			peak = max(peak, c.RSSPeakMB)
		}
	}
	return peak, peak > 0
}

// streamsRSS is the VmHWM of the Streams1000 run; a short-mode run with
// fewer streams does not count against the 1,000-stream target.
func streamsRSS(cells map[Key]Cell, t string) (float64, bool) {
	c, ok := cells[Key{t, Streams1000, true}]
	return c.RSSPeakMB, ok && c.RSSPeakMB > 0
}

func featuresOnOff(stream bool) func(map[Key]Cell, string) (float64, bool) {
	return func(cells map[Key]Cell, t string) (float64, bool) {
		if t != Fulcrum {
			return 0, false
		}
		on, ok1 := cells[Key{Fulcrum, Closed32, stream}]
		off, ok2 := cells[Key{FulcrumOff, Closed32, stream}]
		if !ok1 || !ok2 || off.RPS == 0 {
			return 0, false
		}
		return 100 * on.RPS / off.RPS, true
	}
}

var goals = []goal{
	{"non-streaming throughput, closed loop 32 conns, % of direct", "≥ 40%", true, 40, "%.0f%%", share(Closed32, false)},
	{"streaming throughput, closed loop 32 conns, % of direct", "≥ 85%", true, 85, "%.0f%%", share(Closed32, true)},
	{"added p50 latency at 500 req/s (non-streaming)", "≤ 0.150 ms", false, 0.15, "%+.3f ms", added(Open500, false)},
	{"added p99 latency at 500 req/s (non-streaming)", "≤ 1.000 ms", false, 1, "%+.3f ms", added(Open500, true)},
	{"peak RSS, 32 connections and open loops", "≤ 40 MB", false, 40, "%.1f MB", peakRSS},
	{"peak RSS, 1,000 concurrent streams", "≤ 100 MB", false, 100, "%.1f MB", streamsRSS},
	{"throughput features on ÷ off, non-streaming", "≥ 85%", true, 85, "%.0f%%", featuresOnOff(false)},
	{"throughput features on ÷ off, streaming", "≥ 85%", true, 85, "%.0f%%", featuresOnOff(true)},
}

// writeTargets writes the targets for every gateway target, with
// a mark for Fulcrum (default features), the one they are set for.
func writeTargets(w io.Writer, cells map[Key]Cell) {
	var ts []string
	for _, t := range targetOrder(cells) {
		if t != Direct {
			ts = append(ts, t)
		}
	}
	if len(ts) == 0 {
		return
	}
	fmt.Fprintln(w, "### Targets (issue 6), as ratios to direct in this run")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| target | goal for fulcrum |")
	for _, t := range ts {
		fmt.Fprintf(w, " %s |", t)
	}
	fmt.Fprint(w, "\n|---|---|")
	for range ts {
		fmt.Fprint(w, "--:|")
	}
	fmt.Fprintln(w)
	for _, g := range goals {
		fmt.Fprintf(w, "| %s | %s |", g.name, g.goal)
		for _, t := range ts {
			v, ok := g.value(cells, t)
			if !ok {
				fmt.Fprint(w, " — |")
				continue
			}
			s := fmt.Sprintf(g.format, v)
			if t == Fulcrum {
				if g.met(v) {
					s += " ✅"
				} else {
					s += " ❌"
				}
			}
			fmt.Fprintf(w, " %s |", s)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func (g goal) met(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	if g.atLeast {
		return v >= g.limit
	}
	return v <= g.limit
}
