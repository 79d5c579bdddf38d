package eval

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes a summary: the per-model table, the Pareto front
// and the cases where the models' outcomes differ (the first 25).
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Eval: %s\n\n", r.Suite)
	if r.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(r.Description))
	}
	fmt.Fprintf(&b, "%d cases × %d models, run %s in %s; %d upstream calls, %d answers from the cache.\n\n",
		len(r.Cases), len(r.Models), r.StartedAt.Format("2006-01-02 15:04 UTC"), fmtMs(r.DurationMs), r.Calls, r.CacheHits)
	b.WriteString("| Model | Accuracy | Passed | Errors | Cost | Cost / 1,000 cases | Latency p50 | Latency p95 | Tokens in / out | Cost basis |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, m := range r.Models {
		fmt.Fprintf(&b, "| %s%s | %s | %d / %d | %d | %s | %s | %s | %s | %d / %d | %s |\n",
			mdEscape(m.Model), paretoMark(m.Pareto), accuracyCell(m), m.Passed, m.Cases, m.Errors,
			fmtUSD(m.CostUSD, m.CostKnown), fmtUSD(m.CostPer1000, m.CostKnown), fmtMs(m.LatencyP50Ms), fmtMs(m.LatencyP95Ms),
			m.InputTokens, m.OutputTokens, mdEscape(costBasis(m)))
	}
	if r.JudgeModel != "" {
		fmt.Fprintf(&b, "\nJudge: %s (cost $%.4f, not included above).\n", mdEscape(r.JudgeModel), r.JudgeCostUSD)
	}
	if front := paretoFront(r.Models); len(front) > 0 {
		fmt.Fprintf(&b, "\n★ Pareto front (no other model is both more accurate and cheaper): %s.\n", mdEscape(strings.Join(front, ", ")))
	}
	diff := differing(r)
	fmt.Fprintf(&b, "\n## Where the models differ\n\n%d of %d cases have different outcomes.\n", len(diff), len(r.Cases))
	if len(diff) > 0 && len(r.Models) > 1 {
		b.WriteString("\n| Case |")
		for _, m := range r.Models {
			fmt.Fprintf(&b, " %s |", mdEscape(m.Model))
		}
		b.WriteString("\n|---|")
		b.WriteString(strings.Repeat("---|", len(r.Models)))
		b.WriteString("\n")
		for i, ci := range diff {
			if i == 25 {
				fmt.Fprintf(&b, "\n…and %d more (see the JSON or HTML report).\n", len(diff)-25)
				break
			}
			c := &r.Cases[ci]
			fmt.Fprintf(&b, "| %s |", mdEscape(c.ID))
			for _, res := range c.Results {
				fmt.Fprintf(&b, " %s %s |", passMark(res.Pass), mdEscape(resultDetail(&res)))
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// differing lists the indexes of cases whose pass/fail outcome is not the
// same for every model.
func differing(r *Report) []int {
	var out []int
	for i, c := range r.Cases {
		for _, res := range c.Results[1:] {
			if res.Pass != c.Results[0].Pass {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

func paretoFront(ms []ModelSummary) []string {
	var out []string
	for _, m := range ms {
		if m.Pareto {
			out = append(out, m.Model)
		}
	}
	return out
}

// resultDetail is a short account of a result: the error, or the first
// failing assertion's detail, or the first assertion's.
func resultDetail(r *Result) string {
	if r.Error != "" {
		return "error: " + clip(r.Error, 60)
	}
	for _, a := range r.Assertions {
		if !a.Pass {
			return a.Type + ": " + clip(a.Detail, 60)
		}
	}
	if len(r.Assertions) > 0 {
		return r.Assertions[0].Type + ": " + clip(r.Assertions[0].Detail, 60)
	}
	return ""
}

func costBasis(m ModelSummary) string {
	if !m.CostKnown {
		return "no price"
	}
	return m.CostNote
}

func paretoMark(p bool) string {
	if p {
		return " ★"
	}
	return ""
}

func passMark(p bool) string {
	if p {
		return "✓"
	}
	return "✗"
}

func fmtUSD(v float64, known bool) string {
	switch {
	case !known:
		return "n/a"
	case v == 0:
		return "$0"
	case v < 0.01:
		return fmt.Sprintf("$%.5f", v)
	case v < 100:
		return fmt.Sprintf("$%.2f", v)
	default:
		return fmt.Sprintf("$%.0f", v)
	}
}

func fmtMs(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.2f ms", v)
	case v < 1000:
		return fmt.Sprintf("%.0f ms", v)
	default:
		return fmt.Sprintf("%.1f s", v/1000)
	}
}

var mdEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;")

func mdEscape(s string) string { return mdEscaper.Replace(s) }

// accuracyCell is a model's accuracy as the reports show it. A failed call
// is not an answer: a model whose every call failed has no accuracy (it
// read "0.0%", a measurement of nothing), and one with some failed calls
// shows its accuracy over the answered cases too. Accuracy in results.json
// stays passed ÷ cases.
func accuracyCell(m ModelSummary) string {
	what, none := "answered", "n/a (every call failed)"
	if m.JudgeErrors > 0 {
		what, none = "scored", "n/a (no case scored)"
	}
	switch scored := m.Cases - m.Errors; {
	case m.Cases > 0 && scored <= 0:
		return none
	case m.Errors > 0:
		return fmt.Sprintf("%.1f%% (%.1f%% of %d %s)", 100*m.Accuracy, 100*float64(m.Passed)/float64(scored), scored, what)
	}
	return fmt.Sprintf("%.1f%%", 100*m.Accuracy)
}
