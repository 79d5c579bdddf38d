package cli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/advise"
	"github.com/fulcrumhq/fulcrum/internal/app"
	"github.com/fulcrumhq/fulcrum/internal/eval"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/meter"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

func adviseCmd(e *env) *cobra.Command {
	var (
		profile, cfgPath, format, out string
		evals                         []string
		usageDays                     int
		measured                      bool
	)
	cmd := &cobra.Command{
		Use:   "advise --profile org.yaml",
		Short: "Compare the total cost of ownership of proprietary, self-hosted and hybrid set-ups",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := advise.CheckFormat(format); err != nil {
				// Before anything runs, and before --out creates a file.
				return err
			}
			if measured && usageDays <= 0 {
				// Run would read 30 days of usage and the shadow evidence
				// none (from days in the future).
				return fmt.Errorf("advise: --days must be positive, not %d", usageDays)
			}
			p, err := advise.LoadProfile(profile)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(e, cfgPath)
			if err != nil {
				return err
			}
			opts := advise.Options{Profile: p, UsageDays: usageDays, Aliases: map[string]string{}}
			for _, m := range cfg.Models {
				if m.Upstream != "" {
					opts.Aliases[m.Name] = m.Upstream
				}
			}
			if opts.Price, err = app.PriceFunc(cfg); err != nil {
				return err
			}
			if cat, err := meter.Embedded(); err == nil {
				opts.FineTuned = fineTunedLookup(cat)
			}
			for _, f := range evals {
				r, err := eval.ReadJSONFile(f)
				if err != nil {
					return err
				}
				opts.Evals = append(opts.Evals, r)
			}
			if measured {
				st, err := open.Existing(cmd.Context(), cfg.Storage.URL, app.NewLogger(cfg.Logging, e.stderr))
				if err != nil {
					return err
				}
				defer st.Close()
				opts.Usage = storeUsage{st: st, now: time.Now}
				// Shadow comparisons are eval evidence measured on live
				// traffic (docs/shadow.md).
				if rep, err := shadowEvidence(cmd.Context(), st, usageDays); err != nil {
					return err
				} else if rep != nil {
					opts.Evals = append(opts.Evals, rep)
				}
			}
			rep, err := advise.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if rep.InputTokens+rep.OutputTokens == 0 {
				// Every API costs $0 on no traffic: the cheapest is whichever
				// is listed first, which is no advice.
				if measured {
					return fmt.Errorf("advise: no volume to compare at: the store holds no usage in the last %d days; give the expected monthly tokens", usageDays)
				}
				// Where the profile's own errors point: file:line.
				return fmt.Errorf("advise: %s: workload: no volume to compare at: the profile's workload.input_tokens_per_month and output_tokens_per_month are 0; give the expected monthly tokens",
					p.Pos("workload.input_tokens_per_month"))
			}
			w := e.stdout
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			if err := advise.Write(w, rep, format); err != nil {
				return err
			}
			if len(rep.UnmatchedEvals) > 0 && (format != "table" || out != "") {
				// The table prints the warning among its notes; JSON, HTML
				// or a file would keep it from whoever ran the command.
				fmt.Fprintf(e.stderr, "advise: warning: %s\n", advise.UnmatchedWarning(rep.UnmatchedEvals))
			}
			if rep.Recommendation.Candidate == "" {
				// The report says why; a script must not take it for advice.
				return errors.New("advise: no candidate is eligible: every one is ruled out (the report says by what)")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "", "organisation profile (YAML), see examples/profiles/")
	f.StringVarP(&cfgPath, "config", "c", "", "gateway config: prices and, with --measured, the store to read usage from")
	f.StringSliceVar(&evals, "eval", nil, "results.json files from `fulcrum eval` to compare quality")
	f.BoolVar(&measured, "measured", false, "use the usage measured by the gateway (from the store) instead of the profile's volumes, and its shadow comparisons as eval evidence")
	f.IntVar(&usageDays, "days", 30, "with --measured: how many days of usage to read")
	f.StringVar(&format, "format", "table", "table, md, json or html")
	f.StringVarP(&out, "out", "o", "", "write the report to this file instead of standard output")
	cmd.MarkFlagRequired("profile")
	return cmd
}

// shadowModelPrefix starts the model of every shadow call's usage record
// (internal/shadow records candidate and judge calls as "shadow:<name>",
// docs/shadow.md): their tokens are not client traffic.
const shadowModelPrefix = "shadow:"

// storeUsage reads measured usage for advise from the store's summaries,
// which read the rollups for all but a range's partial edges: it answers
// in milliseconds over a year of traffic and still counts the months
// whose raw rows were pruned (docs/advise.md, "Measured usage").
type storeUsage struct {
	st  store.Store
	now func() time.Time
}

func (s storeUsage) MonthlyUsage(ctx context.Context, days int) (*advise.MeasuredUsage, error) {
	// The last days days to the minute, up to now, as `fulcrum usage
	// --since 30d` reads them: the start from the minute rollups (or,
	// where those and the raw rows were pruned, from its whole hour's
	// rollup), the current minute from the second rollups and at most a
	// second of raw rows.
	now := s.now().UTC()
	from := now.Truncate(time.Minute).AddDate(0, 0, -days)
	gs, err := s.st.UsageSummary(ctx, store.UsageFilter{From: from}, []store.GroupBy{store.ByModel, store.ByAction})
	if err != nil {
		return nil, err
	}
	// A store younger than the range holds fewer days: scaled to a
	// month over days it would understate the volume (3 days of traffic
	// read as 30 days' worth).
	if first, ok, err := oldestRecord(ctx, s.st, "", time.Time{}); err != nil {
		return nil, err
	} else if ok && first.After(from) {
		days = max(1, int(math.Ceil(now.Sub(first).Hours()/24)))
	}
	// The rollups count attempts, not distinct requests: a retried or
	// fallen-back request counts once per attempt, in Requests, in
	// PrivateRequests and in the peak alike, so the ratios advise takes
	// (output tokens per request, the private share) stay consistent.
	m := &advise.MeasuredUsage{Days: days}
	for _, g := range gs {
		if strings.HasPrefix(g.Keys[0], shadowModelPrefix) {
			continue // a shadow call (internal/shadow), not client traffic
		}
		m.InputTokens += g.InputTokens
		m.OutputTokens += g.OutputTokens
		m.Requests += g.Requests
		if g.Keys[1] == "self_hosted_only" {
			m.PrivateRequests += g.Requests
		}
	}
	if b, ok := s.st.(store.Busiest); ok {
		if m.PeakRPS, err = peakRate(ctx, s.st, b, from); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// peakBuckets is how many of the busiest hours (or days) peakRate looks
// for the busiest minute (or hour) in.
const peakBuckets = 24

// peakRate is the busiest minute's attempts a second among the
// peakBuckets busiest hours starting in [from, now) where the minute
// rollups are kept, and before that (they were pruned) the busiest hour's
// among the peakBuckets busiest days, whichever is higher. Reading every
// minute of 30 days costs 43,200 buckets times the combinations active in
// each: 24 combinations active every minute took 0.3-0.6 s on SQLite and
// 0.6 s on PostgreSQL, this way 37 ms on SQLite. A burst in an hour (or
// day) quieter than the 24 busiest is missed. The minute rollups' part is
// chosen apart, so that busier hours whose minutes were pruned do not
// hide the kept minutes.
func peakRate(ctx context.Context, st store.Store, b store.Busiest, from time.Time) (float64, error) {
	var minuteCut time.Time
	if m, ok := st.(store.Marks); ok {
		var err error
		if minuteCut, err = m.PrunedBefore(ctx, store.KindRollupMinute); err != nil {
			return 0, err
		}
	}
	var peak float64
	// top reads the busiest finer bucket in each of the busiest coarse
	// buckets starting in [a, z).
	top := func(coarse, fine string, a, z time.Time) error {
		bs, err := b.Busiest(ctx, coarse, a, z, shadowModelPrefix, peakBuckets)
		if err != nil {
			return err
		}
		for _, c := range bs {
			peak = max(peak, float64(c.Attempts)/store.GrainWidth(coarse).Seconds())
			f, err := b.Busiest(ctx, fine, c.Start, c.Start.Add(store.GrainWidth(coarse)), shadowModelPrefix, 1)
			if err != nil {
				return err
			}
			if len(f) > 0 {
				peak = max(peak, float64(f[0].Attempts)/store.GrainWidth(fine).Seconds())
			}
		}
		return nil
	}
	if err := top(store.GrainHour, store.GrainMinute, laterOf(from, minuteCut), time.Time{}); err != nil {
		return 0, err
	}
	if from.Before(minuteCut) {
		if err := top(store.GrainDay, store.GrainHour, from, minuteCut); err != nil {
			return 0, err
		}
	}
	return peak, nil
}

func laterOf(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// fineTunedLookup finds an API model's hosted fine-tuned prices in the
// catalogue: an entry "ft:MODEL" or "ft:MODEL-YYYY-MM-DD" (the newest).
func fineTunedLookup(cat *meter.Catalogue) func(string) (float64, float64, string, bool) {
	dated := regexp.MustCompile(`^-\d{4}-\d{2}-\d{2}$`)
	return func(model string) (float64, float64, string, bool) {
		var best *meter.Entry
		for _, e := range cat.List() {
			rest, ok := strings.CutPrefix(e.Model, "ft:"+model)
			if !ok || (rest != "" && !dated.MatchString(rest)) {
				continue
			}
			if best == nil || e.Model > best.Model {
				e := e
				best = &e
			}
		}
		if best == nil {
			return 0, 0, "", false
		}
		in := meter.Cost(llm.Usage{InputTokens: 1_000_000}, best.Price).USD()
		out := meter.Cost(llm.Usage{OutputTokens: 1_000_000}, best.Price).USD()
		return in, out, best.Model, true
	}
}
