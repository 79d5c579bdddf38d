package eval

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
)

// WriteHTML writes a standalone report that opens offline: inline CSS, an
// inline SVG quality-vs-cost chart with the Pareto front, the per-model
// table and a per-case side-by-side table (rows where the models differ are
// highlighted, and a checkbox hides the others, with CSS only). The output
// is well-formed XHTML, so XML tools can read it too.
func WriteHTML(w io.Writer, r *Report) error {
	diff := differing(r)
	isDiff := make(map[int]bool, len(diff))
	for _, i := range diff {
		isDiff[i] = true
	}
	rows := make([]htmlRow, len(r.Cases))
	for i := range r.Cases {
		rows[i] = htmlRow{Case: &r.Cases[i], Diff: isDiff[i]}
	}
	data := struct {
		R     *Report
		Chart template.HTML
		Rows  []htmlRow
		NDiff int
	}{r, template.HTML(qualityCostSVG(r.Models)), rows, len(diff)}
	if err := htmlTmpl.Execute(w, data); err != nil {
		return fmt.Errorf("eval: write html: %w", err)
	}
	return nil
}

type htmlRow struct {
	Case *CaseResult
	Diff bool
}

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":    func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) },
	"acc":    accuracyCell,
	"usd":    fmtUSD,
	"ms":     fmtMs,
	"basis":  costBasis,
	"detail": resultDetail,
}).Parse(`<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>Eval: {{.R.Suite}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #1d2330; }
h1 { margin-bottom: 0.2em; }
.meta { color: #5a6272; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; }
th, td { border: 1px solid #d5d9e0; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #f1f3f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.diff { background: #fff6d9; }
.pass { color: #11723a; font-weight: 600; }
.fail { color: #b42318; font-weight: 600; }
pre { white-space: pre-wrap; max-height: 14em; overflow: auto; margin: 4px 0; font-size: 12px; background: #f7f8fa; padding: 4px; }
.small { font-size: 12px; color: #5a6272; }
body:has(#only-diff:checked) tr.same { display: none; }
svg text { font: 12px system-ui, sans-serif; fill: #1d2330; }
</style>
</head>
<body>
<h1>Eval: {{.R.Suite}}</h1>
{{if .R.Description}}<p>{{.R.Description}}</p>{{end}}
<p class="meta">{{len .R.Cases}} cases × {{len .R.Models}} models · run {{.R.StartedAt.Format "2006-01-02 15:04 UTC"}} in {{ms .R.DurationMs}} · {{.R.Calls}} upstream calls, {{.R.CacheHits}} answers from the cache</p>

<h2>Models</h2>
<table>
<thead><tr><th>Model</th><th>Accuracy</th><th>Passed</th><th>Errors</th><th>Cost</th><th>Cost / 1,000 cases</th><th>Latency p50</th><th>Latency p95</th><th>Tokens in / out</th><th>Cost basis</th></tr></thead>
<tbody>
{{range .R.Models}}<tr><td>{{.Model}}{{if .Pareto}} ★{{end}}</td><td class="num">{{acc .}}</td><td class="num">{{.Passed}} / {{.Cases}}</td><td class="num">{{.Errors}}</td><td class="num">{{usd .CostUSD .CostKnown}}</td><td class="num">{{usd .CostPer1000 .CostKnown}}</td><td class="num">{{ms .LatencyP50Ms}}</td><td class="num">{{ms .LatencyP95Ms}}</td><td class="num">{{.InputTokens}} / {{.OutputTokens}}</td><td class="small">{{basis .}}</td></tr>
{{end}}</tbody>
</table>
<p class="small">★ on the Pareto front: no other model is both at least as accurate and at most as costly.{{if .R.JudgeModel}} Judge: {{.R.JudgeModel}} (cost {{usd .R.JudgeCostUSD true}}, not included above).{{end}}</p>

<h2>Quality vs cost</h2>
{{.Chart}}

<h2>Cases</h2>
<p>{{.NDiff}} of {{len .R.Cases}} cases have different outcomes across models (highlighted).
<label><input type="checkbox" id="only-diff"/> show only those</label></p>
<table>
<thead><tr><th>Case</th><th>Input</th>{{range .R.Models}}<th>{{.Model}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr class="{{if .Diff}}diff{{else}}same{{end}}"><td>{{.Case.ID}}</td><td><pre>{{.Case.Input}}</pre></td>{{range .Case.Results}}<td>{{if .Pass}}<span class="pass">✓ pass</span>{{else}}<span class="fail">✗ fail</span>{{end}} <span class="small">{{detail .}}</span>{{if .Error}}{{else}}<pre>{{.Answer}}</pre><span class="small">{{ms .LatencyMs}} · {{.InputTokens}}/{{.OutputTokens}} tok{{if .CostKnown}} · {{usd .CostUSD true}}{{end}}{{if .Cached}} · cached{{end}}</span>{{end}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
<p class="small">Written by fulcrum eval.</p>
</body>
</html>
`))

// qualityCostSVG draws accuracy against cost per 1,000 cases, one point per
// priced model, and joins the Pareto front. The cost axis is logarithmic
// when the costs span more than a factor of 20.
func qualityCostSVG(ms []ModelSummary) string {
	const w, h, left, right, top, bottom = 640.0, 360.0, 64.0, 24.0, 20.0, 48.0
	var pts []ModelSummary
	for _, m := range ms {
		if m.CostKnown {
			pts = append(pts, m)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="accuracy versus cost per 1,000 cases">`, w, h, w, h)
	if len(pts) == 0 {
		b.WriteString(`<text x="20" y="40">No model has a known cost: give prices or self-hosted cost models to draw this chart.</text></svg>`)
		return b.String()
	}
	lo, hi := math.Inf(1), 0.0
	for _, p := range pts {
		lo, hi = math.Min(lo, p.CostPer1000), math.Max(hi, p.CostPer1000)
	}
	logScale := lo > 0 && hi/lo > 20
	var x func(float64) float64
	pw, ph := w-left-right, h-top-bottom
	if logScale {
		l0, l1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		x = func(v float64) float64 { return left + (math.Log10(v)-l0)/(l1-l0)*pw }
		for e := l0; e <= l1; e++ {
			xv := x(math.Pow(10, e))
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e3e6eb"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`,
				xv, top, xv, top+ph, xv, top+ph+16, template.HTMLEscapeString(fmtUSD(math.Pow(10, e), true)))
		}
	} else {
		maxX := niceCeil(hi * 1.1)
		x = func(v float64) float64 { return left + v/maxX*pw }
		for i := 0; i <= 4; i++ {
			v := maxX * float64(i) / 4
			xv := x(v)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e3e6eb"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`,
				xv, top, xv, top+ph, xv, top+ph+16, template.HTMLEscapeString(fmtUSD(v, true)))
		}
	}
	y := func(acc float64) float64 { return top + (1-acc)*ph }
	for i := 0; i <= 4; i++ {
		a := float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e3e6eb"/><text x="%.1f" y="%.1f" text-anchor="end">%.0f%%</text>`,
			left, y(a), left+pw, y(a), left-6, y(a)+4, 100*a)
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#8a93a3"/>`, left, top, pw, ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">cost per 1,000 cases (USD%s)</text>`, left+pw/2, h-8, map[bool]string{true: ", log scale"}[logScale])
	fmt.Fprintf(&b, `<text x="14" y="%.1f" transform="rotate(-90 14 %.1f)" text-anchor="middle">accuracy</text>`, top+ph/2, top+ph/2)
	front := make([]ModelSummary, 0, len(pts))
	for _, p := range pts {
		if p.Pareto {
			front = append(front, p)
		}
	}
	sort.Slice(front, func(i, j int) bool { return front[i].CostPer1000 < front[j].CostPer1000 })
	if len(front) > 1 {
		b.WriteString(`<polyline fill="none" stroke="#2f6fdd" stroke-width="2" stroke-dasharray="6 4" points="`)
		for _, p := range front {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(p.CostPer1000), y(p.Accuracy))
		}
		b.WriteString(`"/>`)
	}
	for _, p := range pts {
		fill := "#8a93a3"
		if p.Pareto {
			fill = "#2f6fdd"
		}
		cx, cy := x(p.CostPer1000), y(p.Accuracy)
		anchor, dx := "start", 8.0
		if cx > left+pw*0.7 {
			anchor, dx = "end", -8
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="6" fill="%s"><title>%s</title></circle><text x="%.1f" y="%.1f" text-anchor="%s">%s (%.1f%%, %s)</text>`,
			cx, cy, fill, template.HTMLEscapeString(p.Model), cx+dx, cy-8, anchor,
			template.HTMLEscapeString(p.Model), 100*p.Accuracy, template.HTMLEscapeString(fmtUSD(p.CostPer1000, true)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
