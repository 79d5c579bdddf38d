package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/savings"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// rentLine is what one self-hosted provider that bills by GPU time cost
// over the report's period, and how much of that time it served.
type rentLine struct {
	Provider string    `json:"provider"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	GPUs     int       `json:"gpus"`
	// RentNanos is gpu_hourly_usd × gpus × the period's hours.
	RentNanos int64  `json:"rent_nanos"`
	Rent      string `json:"rent_usd"`
	// Requests, OutputTokens and BusyMS are the provider's, in the period,
	// whatever the report's key, team or model filters.
	Requests     int64 `json:"requests"`
	OutputTokens int64 `json:"output_tokens"`
	BusyMS       int64 `json:"busy_ms"`
	// Busy is BusyMS over the period, at most 1: attempts in flight at once
	// count once each, so it overstates the share of time with any work.
	Busy float64 `json:"busy"`
	// PerMillionNanos is the rent per million output tokens served.
	PerMillionNanos int64 `json:"per_million_output_nanos,omitempty"`
	// RecordedNanos is what the records say (the throughput model).
	RecordedNanos int64 `json:"recorded_nanos"`
	// ReferenceNanos is what the tokens would have cost on the reference
	// model; BreakEvenTokens the monthly output tokens above which the
	// rent costs less than the reference model would (0 when unknown).
	ReferenceNanos  int64 `json:"reference_nanos"`
	BreakEvenTokens int64 `json:"break_even_output_tokens_per_month,omitempty"`
}

// amortise replaces, in rows, the recorded cost of every self-hosted
// provider that bills by GPU time (cost.gpu_hourly_usd, no
// per_million_usd) with its rent over the report's period, shared among
// the rows by output tokens: the provider's rent × the row's output tokens
// on it ÷ all its output tokens in the period (floored to the nanodollar).
// Idle time is paid for by the period's tokens as a whole, never by the
// first ones after an idle spell, and a period's self-hosted cost is the
// rent paid in it. The period is --since to --until (default now); without
// --since it starts at the provider's oldest record (oldestRecord).
//
// A provider with rent but no output tokens in the period (idle all of it)
// still paid that rent: when the report is not narrowed to what a key,
// team, model, user or tag spent (which idle GPUs are not), it gets a row
// of its own, "(idle) PROVIDER", so the total is what was paid.
func amortise(ctx context.Context, st store.Store, cfg *config.Config, f store.UsageFilter, by []store.GroupBy,
	rows []usageRow, now time.Time) ([]rentLine, []usageRow, error) {
	if f.Hosting == "proprietary" {
		return nil, rows, nil
	}
	whole := f.KeyID == "" && f.Team == "" && f.Model == "" && f.EndUser == "" && len(f.Tags) == 0
	var out []rentLine
	for i := range cfg.Providers {
		pc := &cfg.Providers[i]
		c := pc.Cost
		if c == nil || c.PerMillionUSD != 0 || c.GPUHourlyUSD <= 0 || (f.Provider != "" && f.Provider != pc.Name) {
			continue
		}
		gpus := max(c.GPUs, 1)
		// The provider's own traffic in the period, whatever the report's
		// other filters: it pays the rent.
		all := store.UsageFilter{From: f.From, To: f.To, Provider: pc.Name}
		from, to := f.From, f.To
		if to.IsZero() || to.After(now) {
			to = now
		}
		if from.IsZero() {
			first, ok, err := oldestRecord(ctx, st, pc.Name, f.To)
			if err != nil {
				return nil, rows, err
			}
			if !ok {
				continue
			}
			from = first
		}
		if !from.Before(to) {
			continue
		}
		tot, err := st.UsageSummary(ctx, all, nil)
		if err != nil {
			return nil, rows, err
		}
		line := rentLine{Provider: pc.Name, From: from, To: to, GPUs: gpus}
		if len(tot) > 0 {
			line.Requests, line.OutputTokens, line.BusyMS = tot[0].Requests, tot[0].OutputTokens, tot[0].LatencyMSSum
			line.RecordedNanos, line.ReferenceNanos = tot[0].CostNanos, tot[0].ReferenceCostNanos
		}
		period := to.Sub(from)
		// rent = round(hourly × 1e9) × gpus × µs / 3.6e9, in big integers.
		rent := new(big.Int).Mul(big.NewInt(int64(math.Round(c.GPUHourlyUSD*1e9))), big.NewInt(int64(gpus)))
		rent.Mul(rent, big.NewInt(period.Microseconds()))
		rent.Quo(rent, big.NewInt(3_600_000_000))
		line.RentNanos = rent.Int64()
		line.Rent = dollars(line.RentNanos)
		line.Busy = min(float64(line.BusyMS)/float64(period.Milliseconds()), 1)
		if line.OutputTokens > 0 {
			line.PerMillionNanos = mulDiv(line.RentNanos, 1_000_000, line.OutputTokens)
			if line.ReferenceNanos > 0 {
				// Rent for a month (730 h, as advise and savings use) ÷
				// the reference price per output token.
				month := mulDiv(line.RentNanos, int64(savings.Month/time.Microsecond), period.Microseconds())
				line.BreakEvenTokens = mulDiv(month, line.OutputTokens, line.ReferenceNanos)
			}
		}
		out = append(out, line)
		if line.OutputTokens == 0 {
			// Idle all period: no tokens to carry the rent, which was paid.
			if whole && line.RentNanos > 0 {
				row := usageRow{UsageGroup: store.UsageGroup{Keys: make([]string, len(by)), CostNanos: line.RentNanos}, SelfCostNanos: line.RentNanos}
				for i, g := range by {
					row.Keys[i] = "-"
					switch {
					case g == store.ByHosting:
						row.Keys[i] = "self_hosted"
					case g == store.ByProvider || i == 0:
						row.Keys[i] = "(idle) " + pc.Name
					}
				}
				rows = append(rows, row)
			}
			continue
		}
		pf := f
		pf.Provider = pc.Name
		groups, err := st.UsageSummary(ctx, pf, by)
		if err != nil {
			return nil, rows, err
		}
		for gi := range groups {
			g := &groups[gi]
			for ri := range rows {
				if !equalKeys(rows[ri].Keys, g.Keys) {
					continue
				}
				share := mulDiv(line.RentNanos, g.OutputTokens, line.OutputTokens)
				rows[ri].CostNanos += share - g.CostNanos
				rows[ri].SelfCostNanos += share - g.CostNanos
				break
			}
		}
	}
	return out, rows, nil
}

// oldestRecord returns when a provider's oldest record before to (zero: no
// bound) was made: its raw row's time, or, where raw rows were pruned,
// 00:00 UTC of the first day the rollups hold for it. The summary the
// rent is shared by reads those rollups, so a rent charged from the
// oldest raw row kept would have spread the retention's rent over every
// month's tokens.
func oldestRecord(ctx context.Context, st store.Store, provider string, to time.Time) (time.Time, bool, error) {
	if m, ok := st.(store.Marks); ok {
		cut, err := m.PrunedBefore(ctx, store.KindUsage)
		if err != nil {
			return time.Time{}, false, err
		}
		if !cut.IsZero() {
			if !to.IsZero() && to.Before(cut) {
				cut = to
			}
			days, err := st.UsageSummary(ctx, store.UsageFilter{Provider: provider, To: cut}, []store.GroupBy{store.ByDay})
			if err != nil {
				return time.Time{}, false, err
			}
			for _, d := range days { // oldest first
				if d.Requests > 0 {
					day, err := time.Parse(time.DateOnly, d.Keys[0])
					return day, err == nil, err
				}
			}
		}
	}
	first, err := st.Usage(ctx, store.UsageFilter{Provider: provider, To: to, Limit: 1})
	if err != nil || len(first) == 0 {
		return time.Time{}, false, err
	}
	return first[0].Time, true, nil
}

// mulDiv is a × b ÷ c, floored, without overflow in between.
func mulDiv(a, b, c int64) int64 {
	v := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	return v.Quo(v, big.NewInt(c)).Int64()
}

func writeRentTable(w io.Writer, lines []rentLine) error {
	if len(lines) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w)
	line := func(cells ...string) { fmt.Fprint(tw, strings.Join(cells, "\t")+"\t\n") }
	line("SELF-HOSTED", "FROM", "HOURS", "GPUS", "RENT $", "REQUESTS", "OUTPUT", "$/M OUTPUT", "BUSY", "RECORDED $", "BREAK-EVEN OUTPUT/MONTH")
	for _, l := range lines {
		perM, be := "-", "-"
		if l.OutputTokens > 0 {
			perM = dollars(l.PerMillionNanos)
		}
		if l.BreakEvenTokens > 0 {
			be = fmt.Sprintf("%d", l.BreakEvenTokens)
		}
		line(l.Provider, l.From.UTC().Format(time.RFC3339), fmt.Sprintf("%.1f", l.To.Sub(l.From).Hours()), fmt.Sprint(l.GPUs),
			l.Rent, fmt.Sprint(l.Requests), fmt.Sprint(l.OutputTokens), perM, fmt.Sprintf("%.1f%%", 100*l.Busy),
			dollars(l.RecordedNanos), be)
	}
	return tw.Flush()
}
