package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/savings"
)

func init() { extraCommands = append(extraCommands, savingsCmd) }

func savingsCmd(e *env) *cobra.Command {
	var (
		cfgPath, since, until, provider string
		asJSON                          bool
	)
	cmd := &cobra.Command{
		Use:   "savings",
		Short: "The savings ledger: what each self-hosted provider paid, served and saved",
		Long: `The savings ledger of every self-hosted provider with a cost model
(providers[].cost), read from the usage records:

  GPU HOURS   gpus × the period's hours
  PAID $      the rent over the period (gpu_hourly_usd × gpus × hours), or, for
              a provider priced per token (per_million_usd), what its records cost
  BUSY        share of the period with at least one request in flight on it
  TOKENS      input + output tokens served; $/M TOKENS = paid ÷ tokens × 1e6
  REFERENCE $ what the same tokens would have cost on cost.reference_model
  SAVINGS $   reference − paid (negative: self-hosting cost more)
  /MONTH $    savings projected to a 730-hour month at the period's rate
  PAYBACK     cost.setup_usd ÷ monthly savings, in months from the period's
              start, and what is left of it; "never" when savings are not positive

The period runs from --since (default: the provider's first record) to --until
(default: now). A running gateway keeps the same ledger live: GET
/admin/savings and the fulcrum_savings_* metrics. See docs/hybrid.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			from, to, err := timeRange(since, until, now)
			if err != nil {
				return err
			}
			if to.IsZero() || to.After(now) {
				to = now
			}
			st, cfg, err := recordsStore(cmd.Context(), e, cfgPath)
			if err != nil {
				return err
			}
			defer st.Close()
			var lines []savings.Line
			known := false
			for _, p := range savings.FromConfig(cfg) {
				if provider != "" && p.Name != provider {
					continue
				}
				known = true
				s, start, ok, err := savings.Load(cmd.Context(), st, p.Name, from, to)
				if err != nil {
					return err
				}
				if !ok || !start.Before(to) {
					continue // no records yet
				}
				lines = append(lines, savings.Compute(p, start, to, s))
			}
			if provider != "" && !known {
				return fmt.Errorf("--provider %q: no provider of that name has a cost model (providers[].cost)", provider)
			}
			if asJSON {
				return writeSavingsJSON(e.stdout, lines)
			}
			return writeSavingsTable(e.stdout, lines)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&cfgPath, "config", "c", "", "config file with the providers' cost models and the storage (default: embedded defaults)")
	fl.StringVar(&since, "since", "", "from this time, inclusive: 24h, 7d, 2026-11-01 or RFC 3339 (default: each provider's first record)")
	fl.StringVar(&until, "until", "", "up to this time, exclusive (default: now)")
	fl.StringVar(&provider, "provider", "", "only this provider")
	fl.BoolVar(&asJSON, "json", false, "print JSON (every figure, money also in exact nanodollars)")
	return cmd
}

func writeSavingsJSON(w io.Writer, lines []savings.Line) error {
	if lines == nil {
		lines = []savings.Line{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Object    string         `json:"object"`
		Providers []savings.Line `json:"providers"`
	}{"savings", lines})
}

func writeSavingsTable(w io.Writer, lines []savings.Line) error {
	if len(lines) == 0 {
		_, err := fmt.Fprintln(w, "No self-hosted provider with a cost model has usage records in the period.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprint(tw, strings.Join(cells, "\t")+"\t\n") }
	row("PROVIDER", "FROM", "DAYS", "GPU HOURS", "PAID $", "BUSY", "REQUESTS", "TOKENS", "$/M TOKENS", "REFERENCE", "REFERENCE $", "SAVINGS $", "/MONTH $", "PAYBACK")
	for _, l := range lines {
		gpuHours, perM, ref := "-", "-", "-"
		if l.Billing == savings.BillingGPUHours {
			gpuHours = fmt.Sprintf("%.1f", l.GPUHours)
		}
		if l.Tokens > 0 {
			perM = l.PerMillion
		}
		if l.ReferenceKnown {
			ref = l.Reference
		}
		refModel := l.ReferenceModel
		if refModel == "" {
			refModel = "-"
		}
		row(l.Provider, l.From.Format("2006-01-02 15:04"), fmt.Sprintf("%.1f", l.To.Sub(l.From).Hours()/24), gpuHours, l.Paid,
			fmt.Sprintf("%.1f%%", 100*l.Utilisation), fmt.Sprint(l.Requests), fmt.Sprint(l.Tokens), perM, refModel, ref,
			l.Savings, savings.USD(l.MonthlySavingsNanos), payback(l))
	}
	return tw.Flush()
}

// payback renders the months to pay back the set-up cost.
func payback(l savings.Line) string {
	switch {
	case l.SetupNanos == 0:
		return "-"
	case !l.PaysBack:
		return "never"
	case *l.PaybackRemainingMonths == 0:
		return fmt.Sprintf("paid back (%.1f mo)", *l.PaybackMonths)
	}
	return fmt.Sprintf("%.1f mo (%.1f left)", *l.PaybackMonths, *l.PaybackRemainingMonths)
}
