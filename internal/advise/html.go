package advise

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteHTML writes a standalone report (inline CSS and SVG, no external
// resources, well-formed XHTML) with the cost-vs-volume chart marking the
// break-even point, and the Markdown report's tables.
func WriteHTML(w io.Writer, r *Report) error {
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		return err
	}
	data := struct {
		R      *Report
		Chart  template.HTML
		Tables template.HTML
	}{r, template.HTML(costVolumeSVG(r)), template.HTML(markdownTablesHTML(md.String()))}
	if err := adviseTmpl.Execute(w, data); err != nil {
		return fmt.Errorf("advise: write html: %w", err)
	}
	return nil
}

var adviseTmpl = template.Must(template.New("advise").Parse(`<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<title>TCO advice: {{.R.Profile}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #1d2330; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #d5d9e0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f1f3f6; }
.rec { background: #eef4ff; border-left: 4px solid #2f6fdd; padding: 0.6em 1em; }
blockquote { color: #5a6272; }
svg text { font: 12px system-ui, sans-serif; fill: #1d2330; }
</style>
</head>
<body>
<h1>TCO advice: {{.R.Profile}}</h1>
<p class="rec"><strong>Recommendation:</strong> {{.R.Recommendation.Summary}}</p>
<h2>Monthly cost against volume</h2>
{{.Chart}}
{{.Tables}}
<p>Generated {{.R.GeneratedAt.Format "2006-01-02 15:04 UTC"}} by fulcrum advise.</p>
</body>
</html>
`))

// costVolumeSVG plots the monthly cost of all traffic on the API and all on
// the open model against the monthly token volume, marks the break-even
// and the current volume.
func costVolumeSVG(r *Report) string {
	const w, h, left, right, top, bottom = 720.0, 380.0, 80.0, 24.0, 20.0, 50.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="monthly cost against monthly token volume">`, w, h, w, h)
	if len(r.Curve) < 2 {
		b.WriteString(`<text x="20" y="40">Not enough candidates to draw the cost curves.</text></svg>`)
		return b.String()
	}
	maxX := r.Curve[len(r.Curve)-1].TokensPerMonth
	maxY := 0.0
	for _, p := range r.Curve {
		maxY = math.Max(maxY, math.Max(p.ProprietaryUSD, p.SelfHostedUSD))
	}
	maxY = niceCeil(maxY)
	pw, ph := w-left-right, h-top-bottom
	x := func(v float64) float64 { return left + v/maxX*pw }
	y := func(v float64) float64 { return top + (1-v/maxY)*ph }
	for i := 0; i <= 4; i++ {
		vy, vx := maxY*float64(i)/4, maxX*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e3e6eb"/><text x="%.1f" y="%.1f" text-anchor="end">$%s</text>`,
			left, y(vy), left+pw, y(vy), left-6, y(vy)+4, money(vy))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x(vx), top+ph+16, tokens(vx))
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#8a93a3"/>`, left, top, pw, ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">tokens per month (input + output)</text>`, left+pw/2, h-10)
	line := func(color, label string, get func(CurvePoint) float64, ly float64) {
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="`, color)
		for _, p := range r.Curve {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(p.TokensPerMonth), y(get(p)))
		}
		fmt.Fprintf(&b, `"/><rect x="%.1f" y="%.1f" width="14" height="4" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`,
			left+12, ly-4, color, left+30, ly, template.HTMLEscapeString(label))
	}
	if r.Curve[len(r.Curve)-1].ProprietaryUSD > 0 {
		line("#d9480f", "all on the API", func(p CurvePoint) float64 { return p.ProprietaryUSD }, top+16)
	}
	if r.Curve[len(r.Curve)-1].SelfHostedUSD > 0 {
		line("#2f6fdd", "all self-hosted", func(p CurvePoint) float64 { return p.SelfHostedUSD }, top+32)
	}
	cur := r.BreakEven.CurrentTokensPerMonth
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#5a6272" stroke-dasharray="3 3"/><text x="%.1f" y="%.1f">now</text>`,
		x(cur), top, x(cur), top+ph, x(cur)+4, top+ph-6)
	if be := r.BreakEven; be.Found && be.TokensPerMonth <= maxX {
		usd := be.TokensPerMonth / 1e6 * apiPerMillion(r)
		fmt.Fprintf(&b, `<circle id="break-even" cx="%.1f" cy="%.1f" r="6" fill="#11723a"/><text x="%.1f" y="%.1f">break-even %s tokens, $%s a month</text>`,
			x(be.TokensPerMonth), y(usd), x(be.TokensPerMonth)+8, y(usd)+18, tokens(be.TokensPerMonth), money(usd))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// apiPerMillion is the API's price per million tokens at the workload's
// input:output mix.
func apiPerMillion(r *Report) float64 {
	for _, a := range r.Proprietary {
		if a.Allowed {
			t := r.InputTokens + r.OutputTokens
			return (r.InputTokens*a.InputPerMillion + r.OutputTokens*a.OutputPerMillion) / t
		}
	}
	return 0
}

// markdownTablesHTML turns the Markdown report's headings, tables and
// paragraphs (all this package writes) into XHTML, escaping all text.
func markdownTablesHTML(md string) string {
	var b strings.Builder
	inTable := false
	esc := template.HTMLEscapeString
	for _, line := range strings.Split(md, "\n") {
		t := strings.TrimSpace(line)
		isRow := strings.HasPrefix(t, "|")
		if inTable && !isRow {
			b.WriteString("</tbody></table>\n")
			inTable = false
		}
		switch {
		case t == "" || strings.HasPrefix(t, "# ") || strings.HasPrefix(t, "**Recommendation:**"):
		case strings.HasPrefix(t, "## "):
			fmt.Fprintf(&b, "<h2>%s</h2>\n", esc(t[3:]))
		case strings.HasPrefix(t, "> "):
			fmt.Fprintf(&b, "<blockquote>%s</blockquote>\n", esc(t[2:]))
		case isRow && strings.HasPrefix(t, "|---"):
		case isRow:
			cells := splitRow(t)
			if !inTable {
				b.WriteString("<table><thead><tr>")
				for _, c := range cells {
					fmt.Fprintf(&b, "<th>%s</th>", esc(c))
				}
				b.WriteString("</tr></thead><tbody>\n")
				inTable = true
				continue
			}
			b.WriteString("<tr>")
			for _, c := range cells {
				fmt.Fprintf(&b, "<td>%s</td>", esc(c))
			}
			b.WriteString("</tr>\n")
		default:
			fmt.Fprintf(&b, "<p>%s</p>\n", esc(t))
		}
	}
	if inTable {
		b.WriteString("</tbody></table>\n")
	}
	return b.String()
}

func splitRow(t string) []string {
	t = strings.TrimSuffix(strings.TrimPrefix(t, "|"), "|")
	t = strings.ReplaceAll(t, `\|`, "\x00")
	parts := strings.Split(t, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(strings.ReplaceAll(parts[i], "\x00", "|"))
	}
	return parts
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
