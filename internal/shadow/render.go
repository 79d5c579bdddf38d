package shadow

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func pct(r Rate) string {
	if r.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%% [%.1f–%.1f]", 100*r.Rate, 100*r.Low, 100*r.High)
}

// WriteTable writes the report for a terminal.
func WriteTable(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "Shadow comparisons %s to %s (volume over %.1f days)\n\n", r.From.Format("2006-01-02 15:04"), r.To.Format("2006-01-02 15:04"), r.Days)
	if len(r.Candidates) == 0 {
		fmt.Fprintln(w, "No comparisons in this period. Name shadow candidates on a model or route (docs/shadow.md).")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CANDIDATE\tHOSTING\tN\tERRORS\tAGREEMENT [95% CI]\tWIN OR TIE [95% CI]\tP50/P95 LIVE\tP50/P95 CAND\t$/1K LIVE\t$/1K CAND\t$/MONTH NOW\t$/MONTH PROMOTED")
	for _, c := range r.Candidates {
		wt := "-"
		if c.WinOrTie != nil {
			wt = fmt.Sprintf("%s (%d/%d/%d)", pct(*c.WinOrTie), c.Wins, c.Ties, c.Losses)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%d/%d ms\t%d/%d ms\t%.4f\t%.4f\t%.2f\t%.2f\n",
			c.Candidate, c.Hosting, c.Comparisons, c.Errors, pct(c.Agreement), wt,
			c.LiveLatency.P50, c.LiveLatency.P95, c.CandidateLatency.P50, c.CandidateLatency.P95,
			c.LivePer1000, c.CandidatePer1000, c.MonthlyLiveUSD, c.MonthlyIfPromUSD)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range r.Candidates {
		fmt.Fprintf(w, "\n%s: shadows %s (live: %s); monthly volume %.0f requests (from %s)\n", c.Candidate,
			strings.Join(c.Routes, ", "), strings.Join(c.Live, ", "), c.MonthlyRequests, c.VolumeSource)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  BY\tNAME\tN\tAGREEMENT [95% CI]")
		for _, s := range c.ByClass {
			fmt.Fprintf(tw, "  data class\t%s\t%d\t%s\n", s.Name, s.Agreement.N, pct(s.Agreement))
		}
		for _, s := range c.ByRoute {
			fmt.Fprintf(tw, "  route\t%s\t%d\t%s\n", s.Name, s.Agreement.N, pct(s.Agreement))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// bar is one bar of a chart, with an optional interval.
type bar struct {
	Label     string
	Value     float64
	Low, High float64
	Text      string
	Class     string
}

// chart draws horizontal bars scaled to max (1 when 0) as inline SVG.
func chart(title string, bars []bar, max float64, interval bool) template.HTML {
	if max <= 0 {
		max = 1
	}
	const left, width, rowH = 170, 380, 26
	h := 30 + rowH*len(bars)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="%s">`, left+width+120, h, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="0" y="16" class="t">%s</text>`, template.HTMLEscapeString(title))
	for i, br := range bars {
		y := 28 + i*rowH
		w := br.Value / max * width
		fmt.Fprintf(&b, `<text x="0" y="%d" class="l">%s</text>`, y+14, template.HTMLEscapeString(br.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="16" class="%s"/>`, left, y+2, w, br.Class)
		if interval {
			x1, x2 := left+br.Low/max*width, left+br.High/max*width
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="ci"/>`, x1, x2, y+10, y+10)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="ci"/><line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="ci"/>`, x1, x1, y+5, y+15, x2, x2, y+5, y+15)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="v">%s</text>`, float64(left)+w+6+boolf(interval)*(br.High-br.Value)/max*width, y+14, template.HTMLEscapeString(br.Text))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var htmlTmpl = template.Must(template.New("r").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fulcrum shadow report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:1rem 0}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:right}td:first-child,th:first-child{text-align:left}
svg .t{font-weight:600;font-size:13px}svg .l,svg .v{font-size:12px}svg .live{fill:#8a9bb0}svg .cand{fill:#2f7d5b}svg .ci{stroke:#222;stroke-width:1.2}
.note{color:#555;font-size:.9rem}
</style></head><body>
<h1>Shadow evaluation</h1>
<p class="note">Comparisons from {{.R.From.Format "2006-01-02 15:04"}} to {{.R.To.Format "2006-01-02 15:04"}} UTC; volume measured over {{printf "%.1f" .R.Days}} days and scaled to a month of 730 hours (30.4 days). Agreement: the candidate's answer passes the eval assertion against the live answer (a failed call does not agree). Intervals are 95% Wilson score intervals.</p>
{{if not .R.Candidates}}<p>No comparisons in this period.</p>{{else}}
<table><tr><th>Candidate</th><th>Hosting</th><th>N</th><th>Errors</th><th>Agreement [95% CI]</th><th>Win or tie [95% CI]</th><th>Latency p50/p95 live</th><th>candidate</th><th>$/1K live</th><th>$/1K candidate</th><th>$/month now</th><th>$/month if promoted</th></tr>
{{range .Rows}}<tr><td>{{.C.Candidate}}</td><td>{{.C.Hosting}}</td><td>{{.C.Comparisons}}</td><td>{{.C.Errors}}</td><td>{{.Agree}}</td><td>{{.Win}}</td><td>{{.C.LiveLatency.P50}}/{{.C.LiveLatency.P95}} ms</td><td>{{.C.CandidateLatency.P50}}/{{.C.CandidateLatency.P95}} ms</td><td>{{printf "%.4f" .C.LivePer1000}}</td><td>{{printf "%.4f" .C.CandidatePer1000}}</td><td>{{printf "%.2f" .C.MonthlyLiveUSD}}</td><td>{{printf "%.2f" .C.MonthlyIfPromUSD}}</td></tr>
{{end}}</table>
{{.Agreement}}
{{.Latency}}
{{.Cost}}
{{range .Rows}}<h2>{{.C.Candidate}}</h2><p class="note">Shadows {{range $i, $r := .C.Routes}}{{if $i}}, {{end}}{{$r}}{{end}}; monthly volume {{printf "%.0f" .C.MonthlyRequests}} requests (from {{.C.VolumeSource}}).</p>{{.Classes}}{{.Routes}}
{{end}}{{end}}
</body></html>
`))

// WriteHTML writes a self-contained page: tables and inline SVG charts,
// nothing loaded from the network.
func WriteHTML(w io.Writer, r *Report) error {
	type row struct {
		C               CandidateReport
		Agree, Win      string
		Classes, Routes template.HTML
	}
	var rows []row
	var agree, lat, cost []bar
	var maxLat, maxCost float64
	for _, c := range r.Candidates {
		rw := row{C: c, Agree: pct(c.Agreement), Win: "-"}
		if c.WinOrTie != nil {
			rw.Win = fmt.Sprintf("%s (%d/%d/%d)", pct(*c.WinOrTie), c.Wins, c.Ties, c.Losses)
		}
		var cl, rt []bar
		for _, s := range c.ByClass {
			cl = append(cl, bar{Label: s.Name, Value: s.Agreement.Rate, Low: s.Agreement.Low, High: s.Agreement.High, Text: pct(s.Agreement), Class: "cand"})
		}
		for _, s := range c.ByRoute {
			rt = append(rt, bar{Label: s.Name, Value: s.Agreement.Rate, Low: s.Agreement.Low, High: s.Agreement.High, Text: pct(s.Agreement), Class: "cand"})
		}
		rw.Classes = chart("Agreement by data class", cl, 1, true)
		rw.Routes = chart("Agreement by route", rt, 1, true)
		rows = append(rows, rw)
		agree = append(agree, bar{Label: c.Candidate, Value: c.Agreement.Rate, Low: c.Agreement.Low, High: c.Agreement.High, Text: pct(c.Agreement), Class: "cand"})
		lat = append(lat,
			bar{Label: c.Candidate + " live p95", Value: float64(c.LiveLatency.P95), Text: fmt.Sprintf("%d ms", c.LiveLatency.P95), Class: "live"},
			bar{Label: c.Candidate + " p95", Value: float64(c.CandidateLatency.P95), Text: fmt.Sprintf("%d ms", c.CandidateLatency.P95), Class: "cand"})
		cost = append(cost,
			bar{Label: c.Candidate + " live", Value: c.LivePer1000, Text: fmt.Sprintf("$%.4f", c.LivePer1000), Class: "live"},
			bar{Label: c.Candidate, Value: c.CandidatePer1000, Text: fmt.Sprintf("$%.4f", c.CandidatePer1000), Class: "cand"})
		maxLat = max(maxLat, float64(c.LiveLatency.P95), float64(c.CandidateLatency.P95))
		maxCost = max(maxCost, c.LivePer1000, c.CandidatePer1000)
	}
	return htmlTmpl.Execute(w, map[string]any{
		"R": r, "Rows": rows,
		"Agreement": chart("Agreement with the live answer (95% CI)", agree, 1, true),
		"Latency":   chart("Latency p95: live vs candidate", lat, maxLat, false),
		"Cost":      chart("Cost per 1,000 requests (USD): live vs candidate", cost, maxCost, false),
	})
}
