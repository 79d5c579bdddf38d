package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Charts are inline SVG written here: a few dozen lines of Go instead of a
// JavaScript chart library, readable without scripting, and testable as
// text (each bar carries a <title> with its exact value).

// hostingColours are fixed so a colour always means the same hosting.
var hostingColours = map[string]string{"self_hosted": "#2e8b57", "proprietary": "#4a6fd8"}

// series is one value per UTC day and stack (hosting) over the last n days.
type series struct {
	days   []string // "2006-01-02", oldest first
	stacks []string
	v      map[string]map[string]float64 // day -> stack -> value
}

func newSeries(now time.Time, n int) *series {
	s := &series{v: map[string]map[string]float64{}}
	for i := n - 1; i >= 0; i-- {
		s.days = append(s.days, now.UTC().AddDate(0, 0, -i).Format("2006-01-02"))
	}
	return s
}

func (s *series) add(day, stack string, v float64) {
	if s.v[day] == nil {
		s.v[day] = map[string]float64{}
	}
	if !contains(s.stacks, stack) {
		s.stacks = append(s.stacks, stack)
	}
	s.v[day][stack] += v
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func usdAxis(v float64) string { return usdf(v) }
func numAxis(v float64) string { return compact(v) }

// stackedBars draws one bar per day, stacked by hosting.
func stackedBars(s *series, unit string, label func(float64) string) template.HTML {
	const W, H, left, bottom, top = 720, 220, 64, 24, 12
	maxV := 0.0
	for _, d := range s.days {
		t := 0.0
		for _, v := range s.v[d] {
			t += v
		}
		maxV = math.Max(maxV, t)
	}
	if maxV == 0 {
		return template.HTML(`<p class="empty">No traffic in this period yet.</p>`)
	}
	maxV = niceCeil(maxV)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s per day by hosting">`, W, H, unit)
	plotH := float64(H - bottom - top)
	for i := 0; i <= 4; i++ {
		y := float64(top) + plotH*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="axis" text-anchor="end">%s</text>`,
			left, W, y, y, left-6, y+4, template.HTMLEscapeString(label(maxV*float64(4-i)/4)))
	}
	bw := float64(W-left) / float64(len(s.days))
	for i, d := range s.days {
		x := float64(left) + bw*float64(i) + bw*0.15
		y := float64(H - bottom)
		for _, st := range s.stacks {
			v := s.v[d][st]
			if v <= 0 {
				continue
			}
			h := plotH * v / maxV
			y -= h
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				x, y, bw*0.7, h, colour(st), d, template.HTMLEscapeString(st), template.HTMLEscapeString(label(v)))
		}
		if (len(s.days)-1-i)%2 == 0 { // label every other day, ending on today
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="axis" text-anchor="middle">%s</text>`, x+bw*0.35, H-6, d[5:])
		}
	}
	b.WriteString(`</svg><p class="legend">`)
	for _, st := range s.stacks {
		fmt.Fprintf(&b, `<span><i style="background:%s"></i>%s</span>`, colour(st), template.HTMLEscapeString(st))
	}
	b.WriteString(`</p>`)
	return template.HTML(b.String())
}

func colour(stack string) string {
	if c, ok := hostingColours[stack]; ok {
		return c
	}
	return "#999"
}

// hbars draws one horizontal bar per row.
func hbars(rows []countRow) template.HTML {
	if len(rows) == 0 {
		return template.HTML(`<p class="empty">Nothing recorded in this period.</p>`)
	}
	const W, rowH, left = 520, 22, 150
	maxC := rows[0].Count
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img">`, W, rowH*len(rows)+4)
	for i, r := range rows {
		w := float64(W-left-60) * float64(r.Count) / float64(max(maxC, 1))
		y := i*rowH + 2
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="axis" text-anchor="end">%s</text><rect x="%d" y="%d" width="%.1f" height="%d" fill="#4a6fd8"><title>%s: %d</title></rect><text x="%.1f" y="%d" class="axis">%d</text>`,
			left-6, y+15, template.HTMLEscapeString(r.Name), left, y+2, w, rowH-6, template.HTMLEscapeString(r.Name), r.Count, float64(left)+w+6, y+15, r.Count)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func usdf(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case v < 0.01:
		return fmt.Sprintf("$%.6f", v)
	case v < 100:
		return fmt.Sprintf("$%.4f", v)
	}
	return fmt.Sprintf("$%.2f", v)
}

func compact(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

var funcs = template.FuncMap{
	"usd":  func(nanos int64) string { return usdf(float64(nanos) / 1e9) },
	"usdf": usdf,
	"num":  func(v int64) string { return compact(float64(v)) },
	"pct":  func(v float64) string { return fmt.Sprintf("%.1f%%", v*100) },
	"ms":   func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) },
	// bucket is a percentile read from the rollups' latency histogram:
	// its bucket's upper bound, or above the last one (-1).
	"bucket": func(ms int64) string {
		if ms < 0 {
			return fmt.Sprintf("over %d ms", store.LatencyBoundsMS[len(store.LatencyBoundsMS)-1])
		}
		return fmt.Sprintf("at most %d ms", ms)
	},
	"width": func(v float64) template.CSS {
		return template.CSS(fmt.Sprintf("width:%.1f%%", v*100))
	},
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	"join": func(v []string) string { return strings.Join(v, ", ") },
}
