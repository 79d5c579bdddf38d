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

// reading is the goal text of a row that explains the goals around it and
// is not a goal itself: it gets no mark.
const reading = "(reading)"

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

// peakOf is the largest (median) figure f over the target's runs other
// than the many-streams ones.
func peakOf(f func(Cell) float64) func(map[Key]Cell, string) (float64, bool) {
	return func(cells map[Key]Cell, t string) (float64, bool) {
		var peak float64
		for k, c := range cells {
			if k.Target == t && !strings.HasPrefix(k.Scenario, streamsPrefix) {
				peak = max(peak, f(c))
			}
		}
		return peak, peak > 0
	}
}

// streamsAnonOfProxy is the 1,000-streams peak anonymous RSS minus
// refproxy's.
func streamsAnonOfProxy(cells map[Key]Cell, t string) (float64, bool) {
	c, ok1 := cells[Key{t, Streams1000, true}]
	p, ok2 := cells[Key{RefProxy, Streams1000, true}]
	if !ok1 || !ok2 || c.RSSAnonPeakMB == 0 || p.RSSAnonPeakMB == 0 {
		return 0, false
	}
	return c.RSSAnonPeakMB - p.RSSAnonPeakMB, true
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

// Issue 16's targets are set against the bare proxy (refproxy) of the
// same run rather than against direct.

// ofProxy is a target's closed-loop throughput as a share of refproxy's.
func ofProxy(stream bool) func(map[Key]Cell, string) (float64, bool) {
	return func(cells map[Key]Cell, t string) (float64, bool) {
		c, ok1 := cells[Key{t, Closed32, stream}]
		p, ok2 := cells[Key{RefProxy, Closed32, stream}]
		if !ok1 || !ok2 || p.RPS == 0 {
			return 0, false
		}
		return 100 * c.RPS / p.RPS, true
	}
}

// cpuOfProxy is a target's CPU per request in the closed loop over
// refproxy's: the figure that decides throughput on a dedicated core, and
// the one a shared machine disturbs least.
func cpuOfProxy(stream bool) func(map[Key]Cell, string) (float64, bool) {
	return func(cells map[Key]Cell, t string) (float64, bool) {
		c, ok1 := cells[Key{t, Closed32, stream}]
		p, ok2 := cells[Key{RefProxy, Closed32, stream}]
		if !ok1 || !ok2 || p.CPUPerReqUS == 0 || c.CPUPerReqUS == 0 {
			return 0, false
		}
		return c.CPUPerReqUS / p.CPUPerReqUS, true
	}
}

// p50OverProxy is a target's p50 at 500 req/s (non-streaming) minus
// refproxy's: the latency it adds beyond a do-nothing proxy.
func p50OverProxy(cells map[Key]Cell, t string) (float64, bool) {
	c, ok1 := cells[Key{t, Open500, false}]
	p, ok2 := cells[Key{RefProxy, Open500, false}]
	if !ok1 || !ok2 {
		return 0, false
	}
	return c.P50 - p.P50, true
}

// streamsRSSOfProxy is the 1,000-streams peak RSS minus refproxy's.
func streamsRSSOfProxy(cells map[Key]Cell, t string) (float64, bool) {
	c, ok1 := streamsRSS(cells, t)
	p, ok2 := streamsRSS(cells, RefProxy)
	if !ok1 || !ok2 {
		return 0, false
	}
	return c - p, true
}

var proxyGoals = []goal{
	{"non-streaming throughput, closed loop 32 conns, % of refproxy", "≥ 85%", true, 85, "%.0f%%", ofProxy(false)},
	{"streaming throughput, closed loop 32 conns, % of refproxy", "≥ 85%", true, 85, "%.0f%%", ofProxy(true)},
	{"CPU per request, non-streaming, ÷ refproxy's (≥ 85% throughput on a dedicated core)", "≤ 1.18×", false, 1 / 0.85, "%.2f×", cpuOfProxy(false)},
	{"CPU per request, streaming, ÷ refproxy's", "≤ 1.18×", false, 1 / 0.85, "%.2f×", cpuOfProxy(true)},
	{"p50 at 500 req/s (non-streaming) minus refproxy's", "≤ 0.050 ms", false, 0.05, "%+.3f ms", p50OverProxy},
	{"peak RSS, 32 connections and open loops", "≤ 40 MB", false, 40, "%.1f MB", peakRSS},
	{"peak RSS, 1,000 concurrent streams, minus refproxy's", "≤ 0 MB", false, 0, "%+.1f MB", streamsRSSOfProxy},
	{"of which: peak anonymous RSS (heap, stacks, buffers), 32 connections and open loops", reading, false, 0, "%.1f MB", peakOf(func(c Cell) float64 { return c.RSSAnonPeakMB })},
	{"of which: file-backed RSS (the executable's mapped pages), same runs", reading, false, 0, "%.1f MB", peakOf(func(c Cell) float64 { return c.RSSFileMB })},
	{"peak anonymous RSS, 1,000 concurrent streams, minus refproxy's", reading, false, 0, "%+.1f MB", streamsAnonOfProxy},
}

// writeTargets writes the issues' targets for every gateway target, with
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
	writeGoals(w, "### Targets (issue 6), as ratios to direct in this run", goals, ts, cells)
	if _, ok := cells[Key{RefProxy, Closed32, false}]; !ok {
		return
	}
	var gw []string
	for _, t := range ts {
		if t != RefProxy {
			gw = append(gw, t)
		}
	}
	if len(gw) > 0 {
		writeGoals(w, "### Targets (issue 16), against the bare proxy in this run", proxyGoals, gw, cells)
	}
}

func writeGoals(w io.Writer, title string, goals []goal, ts []string, cells map[Key]Cell) {
	fmt.Fprintln(w, title)
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
			if t == Fulcrum && g.goal != reading {
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
