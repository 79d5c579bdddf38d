package report

import (
	"fmt"
	"io"
	"strconv"
)

func kind(stream bool) string {
	if stream {
		return "streaming"
	}
	return "non-streaming"
}

func ms(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// signed formats an added latency in ms with its sign.
func signed(v float64) string { return fmt.Sprintf("%+.3f", v) }

func opt(v float64, format string) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf(format, v)
}

// Write renders every table for cells.
func Write(w io.Writer, cells map[Key]Cell) {
	targets := targetOrder(cells)
	for _, sc := range scenarios(cells, closedPrefix) {
		writeClosed(w, cells, targets, sc)
	}
	for _, sc := range scenarios(cells, openPrefix) {
		writeOpen(w, cells, targets, sc)
	}
	for _, sc := range scenarios(cells, streamsPrefix) {
		writeStreams(w, cells, targets, sc)
	}
	writeTargets(w, cells)
}

func writeClosed(w io.Writer, cells map[Key]Cell, targets []string, sc string) {
	var conns int
	for k, c := range cells {
		if k.Scenario == sc {
			conns = c.Conns
		}
	}
	fmt.Fprintf(w, "### Closed loop, %d connections (`%s`)\n\n", conns, sc)
	fmt.Fprintln(w, "| target | kind | req/s | % of direct | p50 ms | p99 ms | p99.9 ms | TTFT p50 ms | added TTFT p50 ms | CPU µs/req | peak RSS MB | errors | reps |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, stream := range []bool{false, true} {
		d, hasD := cells[Key{Direct, sc, stream}]
		for _, t := range targets {
			c, ok := cells[Key{t, sc, stream}]
			if !ok {
				continue
			}
			share, addTTFT := "—", "—"
			if hasD && d.RPS > 0 {
				share = fmt.Sprintf("%.0f%%", 100*c.RPS/d.RPS)
			}
			ttft := "—"
			if stream {
				ttft = ms(c.TTFT50)
				if hasD && t != Direct {
					addTTFT = signed(c.TTFT50 - d.TTFT50)
				}
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d |\n",
				t, kind(stream), c.RPS, share, ms(c.P50), ms(c.P99), ms(c.P999), ttft, addTTFT,
				opt(c.CPUPerReqUS, "%.1f"), opt(c.RSSPeakMB, "%.1f"), c.Errors, c.Reps)
		}
	}
	fmt.Fprintln(w)
}

func writeOpen(w io.Writer, cells map[Key]Cell, targets []string, sc string) {
	var rate float64
	for k, c := range cells {
		if k.Scenario == sc {
			rate = c.Rate
		}
	}
	fmt.Fprintf(w, "### Open loop, %s requests/s (`%s`)\n\n", strconv.FormatFloat(rate, 'f', -1, 64), sc)
	fmt.Fprintln(w, "| target | kind | achieved req/s | p50 ms | p99 ms | p99.9 ms | added p50 ms | added p99 ms | TTFT p50 ms | added TTFT p50 ms | added TTFT p99 ms | CPU µs/req | errors | reps |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, stream := range []bool{false, true} {
		d, hasD := cells[Key{Direct, sc, stream}]
		for _, t := range targets {
			c, ok := cells[Key{t, sc, stream}]
			if !ok {
				continue
			}
			add50, add99, ttft, addT50, addT99 := "—", "—", "—", "—", "—"
			if hasD && t != Direct {
				add50, add99 = signed(c.P50-d.P50), signed(c.P99-d.P99)
			}
			if stream {
				ttft = ms(c.TTFT50)
				if hasD && t != Direct {
					addT50, addT99 = signed(c.TTFT50-d.TTFT50), signed(c.TTFT99-d.TTFT99)
				}
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d |\n",
				t, kind(stream), c.RPS, ms(c.P50), ms(c.P99), ms(c.P999), add50, add99, ttft, addT50, addT99,
				opt(c.CPUPerReqUS, "%.1f"), c.Errors, c.Reps)
		}
	}
	fmt.Fprintln(w)
}

func writeStreams(w io.Writer, cells map[Key]Cell, targets []string, sc string) {
	var conns int
	for k, c := range cells {
		if k.Scenario == sc {
			conns = c.Conns
		}
	}
	fmt.Fprintf(w, "### %d concurrent streams (`%s`)\n\n", conns, sc)
	fmt.Fprintln(w, "| target | streams/s | full stream p50 ms | p99 ms | TTFT p50 ms | CPU µs/stream | peak RSS MB | errors | reps |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, t := range targets {
		c, ok := cells[Key{t, sc, true}]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s | %s | %d | %d |\n",
			t, c.RPS, ms(c.P50), ms(c.P99), ms(c.TTFT50), opt(c.CPUPerReqUS, "%.1f"), opt(c.RSSPeakMB, "%.1f"), c.Errors, c.Reps)
	}
	fmt.Fprintln(w)
}
