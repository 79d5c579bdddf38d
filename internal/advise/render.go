package advise

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Formats Write accepts.
const (
	FormatTable    = "table"
	FormatMarkdown = "md"
	FormatJSON     = "json"
	FormatHTML     = "html"
)

// CheckFormat reports whether Write knows format.
func CheckFormat(format string) error {
	switch format {
	case FormatTable, "", FormatMarkdown, "markdown", FormatJSON, FormatHTML:
		return nil
	}
	return fmt.Errorf("advise: unknown format %q (want table, md, json or html)", format)
}

// Write renders the report in format: table (terminal), md, json or html.
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case FormatTable, "":
		return WriteTable(w, r)
	case FormatMarkdown, "markdown":
		return WriteMarkdown(w, r)
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatHTML:
		return WriteHTML(w, r)
	}
	return CheckFormat(format)
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("advise: write json: %w", err)
	}
	return nil
}

// WriteTable writes aligned plain-text tables for a terminal.
func WriteTable(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "TCO advice: %s (%d months, volumes from %s)\n\n", r.Profile, r.HorizonMonths, r.VolumeSource)
	fmt.Fprintf(&b, "RECOMMENDATION: %s\n\n", r.Recommendation.Summary)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tself-hosted share\tmonth 1\tmonth "+fmt.Sprint(r.HorizonMonths)+"\ttotal\tGPUs (start)\tutilisation\tfeasible\t")
	for _, s := range r.Scenarios {
		if len(s.Months) == 0 {
			fmt.Fprintf(tw, "%s\t%.0f%%\t-\t-\t-\t-\t-\t%s\t\n", s.Name, 100*s.SelfHostedShare, feasibleText(s))
			continue
		}
		f := s.Months[0]
		fmt.Fprintf(tw, "%s\t%.0f%%\t$%s\t$%s\t$%s\t%d\t%s\t%s\t\n", s.Name, 100*s.SelfHostedShare, money(s.FirstMonthUSD),
			money(s.LastMonthUSD), money(s.TotalUSD), f.GPUs, utilText(f), feasibleText(s))
	}
	tw.Flush()
	b.WriteString("\nCandidates (every option costed; * chosen):\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  candidate\tmonth 1\ttotal\tstatus")
	for _, c := range r.Candidates {
		fmt.Fprintf(tw, "%s %s\t$%s\t$%s\t%s\n", map[bool]string{true: "*", false: " "}[c.Chosen], c.Name, money(c.FirstMonthUSD), money(c.TotalUSD), candidateStatus(c))
	}
	tw.Flush()
	b.WriteString("\n")
	b.WriteString(breakEvenText(r))
	b.WriteString("\n\nCriteria (in the order applied):\n")
	for _, c := range r.Criteria {
		mark := " "
		if c.Decisive {
			mark = "*"
		}
		fmt.Fprintf(&b, " %s %-19s favours %-12s %s\n", mark, c.Name, c.Favours, c.Finding)
	}
	b.WriteString("   (* decided the recommendation)\n\nSensitivity (total over the horizon):\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "change\tproprietary\tself_hosted\thybrid\tcheapest\t")
	for _, s := range r.Sensitivity {
		fmt.Fprintf(tw, "%s ×%.1f\t%s\t%s\t%s\t%s\t\n", s.Variable, s.Factor, totalText(s, ScenarioProprietary),
			totalText(s, ScenarioSelfHosted), totalText(s, ScenarioHybrid), s.Cheapest)
	}
	tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nNote: %s", n)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the report as Markdown.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# TCO advice: %s\n\n**Recommendation:** %s\n\n", r.Profile, r.Recommendation.Summary)
	fmt.Fprintf(&b, "Workload (%s): %s input and %s output tokens a month, peak %.0f output tokens/s, %.0f%% private.\n\n",
		r.VolumeSource, tokens(r.InputTokens), tokens(r.OutputTokens), r.PeakOutputTokensPerSecond, 100*r.PrivateShare)
	b.WriteString("## Scenarios\n\n| Scenario | Self-hosted share | Month 1 | Month " + fmt.Sprint(r.HorizonMonths) + " | Total | GPUs (start) | Utilisation | Feasible |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, s := range r.Scenarios {
		if len(s.Months) == 0 {
			fmt.Fprintf(&b, "| %s | %.0f%% | – | – | – | – | – | %s |\n", s.Name, 100*s.SelfHostedShare, feasibleText(s))
			continue
		}
		f := s.Months[0]
		fmt.Fprintf(&b, "| %s | %.0f%% | $%s | $%s | $%s | %d | %s | %s |\n", s.Name, 100*s.SelfHostedShare, money(s.FirstMonthUSD),
			money(s.LastMonthUSD), money(s.TotalUSD), f.GPUs, utilText(f), feasibleText(s))
	}
	b.WriteString("\n## Prices\n\n| Proprietary | Input $/M | Output $/M | Blended (3:1) $/M | Allowed |\n|---|---:|---:|---:|---|\n")
	for _, a := range r.Proprietary {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.3f | %s |\n", a.Model, a.InputPerMillion, a.OutputPerMillion, a.BlendedPerMillion, allowedText(a))
	}
	b.WriteString("\n| Open model | GPU | $/GPU-h | GPUs/replica | Output tok/s | $/M at 100% | $/M as used | Replica $/month |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, o := range r.Open {
		fmt.Fprintf(&b, "| %s | %s | %.2f | %d | %.0f | %.3f | %s | %s |\n", o.Model, o.GPU, o.GPUHourlyUSD, o.GPUsPerReplica,
			o.OutputTokensPerSecond, o.PerMillionFull, actualText(o), money(o.ReplicaMonthlyUSD))
	}
	b.WriteString("\n## Candidates\n\n| Candidate | Self-hosted share | Month 1 | Total | Accuracy | Status |\n|---|---:|---:|---:|---|---|\n")
	for _, c := range r.Candidates {
		var acc []string
		for _, s := range c.Scores {
			acc = append(acc, fmt.Sprintf("%s %.1f%%", s.Model, 100*s.Accuracy))
		}
		fmt.Fprintf(&b, "| %s%s | %.0f%% | $%s | $%s | %s | %s |\n", c.Name, map[bool]string{true: " **(chosen)**"}[c.Chosen], 100*c.SelfHostedShare,
			money(c.FirstMonthUSD), money(c.TotalUSD), orList(acc, "–"), strings.ReplaceAll(candidateStatus(c), "|", `\|`))
	}
	if r.RunnerUp != nil {
		fmt.Fprintf(&b, "\n**Runner-up:** %s, %s.\n", r.RunnerUp.Candidate, r.RunnerUp.Flip)
	}
	fmt.Fprintf(&b, "\n## Break-even\n\n%s\n", breakEvenText(r))
	b.WriteString("\n## Criteria\n\n| Criterion | Favours | Finding | Decisive |\n|---|---|---|---|\n")
	for _, c := range r.Criteria {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Name, c.Favours, strings.ReplaceAll(c.Finding, "|", `\|`), map[bool]string{true: "yes"}[c.Decisive])
	}
	b.WriteString("\n## Sensitivity (total over the horizon)\n\n| Change | Proprietary | Self-hosted | Hybrid | Cheapest |\n|---|---:|---:|---:|---|\n")
	for _, s := range r.Sensitivity {
		fmt.Fprintf(&b, "| %s ×%.1f | %s | %s | %s | %s |\n", s.Variable, s.Factor, totalText(s, ScenarioProprietary),
			totalText(s, ScenarioSelfHosted), totalText(s, ScenarioHybrid), s.Cheapest)
	}
	if len(r.Quality) > 0 {
		b.WriteString("\n## Quality (from evals)\n\n| Suite | Model | Accuracy | Cases |\n|---|---|---:|---:|\n")
		for _, q := range r.Quality {
			fmt.Fprintf(&b, "| %s | %s | %.1f%% | %d |\n", q.Suite, q.Model, 100*q.Accuracy, q.Cases)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n> %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// breakEvenClaim says where self-hosting is no dearer, replica steps
// included.
func breakEvenClaim(be BreakEven) string {
	from := fmt.Sprintf("from %s tokens a month", preciseTokens(be.TokensPerMonth))
	if be.TokensPerMonth == 0 {
		// The API's fixed costs (hosted training) alone exceed
		// self-hosting's: "from 0 tokens a month" read as a volume.
		from = "at any volume"
	}
	s := fmt.Sprintf("self-hosting all traffic on %s costs no more a month than %s %s", be.OpenModel, be.APIModel, from)
	gaps := be.ForGoodTokensPerMonth > 0
	switch {
	case be.UntilTokensPerMonth > 0 && gaps:
		s += fmt.Sprintf(" up to %s, not throughout: each replica added costs more than the tokens it carries, so in places the API is cheaper", preciseTokens(be.UntilTokensPerMonth))
	case be.UntilTokensPerMonth > 0:
		s += fmt.Sprintf(" up to %s: beyond, each replica added costs more than the tokens it carries", preciseTokens(be.UntilTokensPerMonth))
	case gaps:
		s += fmt.Sprintf(" at first, and at every volume from %s (in between, a replica added for more traffic makes it dearer again in places)", preciseTokens(be.ForGoodTokensPerMonth))
	}
	if len(be.RuledOut) > 0 {
		s += " (on cost alone: " + strings.Join(be.RuledOut, "; ") + ")"
	}
	return s
}

func breakEvenText(r *Report) string {
	be := r.BreakEven
	if !be.Found {
		return "Break-even: none (" + be.Note + ")."
	}
	s := "Break-even: " + breakEvenClaim(be) + fmt.Sprintf(" (now %s; input:output mix and peak rate as today).", tokens(be.CurrentTokensPerMonth))
	if be.PaybackMonth > 0 {
		s += fmt.Sprintf(" Including set-up, self-hosting costs no more in total from month %d.", be.PaybackMonth)
	} else {
		s += fmt.Sprintf(" Including set-up, it is not cheaper in total within %d months.", r.HorizonMonths)
	}
	return s
}

func candidateStatus(c *Candidate) string {
	if len(c.Exclusions) == 0 {
		if c.OverBudgetMonths > 0 {
			return fmt.Sprintf("eligible (over budget %d months)", c.OverBudgetMonths)
		}
		return "eligible"
	}
	var parts []string
	for _, e := range c.Exclusions {
		parts = append(parts, e.Criterion+": "+e.Reason)
	}
	return "out — " + strings.Join(parts, "; ")
}

func feasibleText(s Scenario) string {
	if s.Feasible {
		if s.OverBudgetMonths > 0 {
			return fmt.Sprintf("yes (over budget %d months)", s.OverBudgetMonths)
		}
		return "yes"
	}
	return "no: " + s.Why
}

func utilText(m Month) string {
	if m.GPUs == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*m.Utilisation)
}

func allowedText(a APIPrice) string {
	if a.Allowed {
		return "yes"
	}
	return "no: " + a.Why
}

func actualText(o OpenPrice) string {
	if o.ActualUtilisation == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f (%.1f%% busy)", o.PerMillionActual, 100*o.ActualUtilisation)
}

func totalText(s Sensitivity, name string) string {
	v, ok := s.Totals[name]
	if !ok {
		return "-"
	}
	return "$" + money(v)
}
