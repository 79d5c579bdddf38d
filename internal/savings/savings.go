// Package savings is the ledger of what self-hosting pays and saves: per
// self-hosted provider, the GPU hours paid for (from its configured rent),
// how busy those GPUs were, the tokens they served, the effective price per
// million tokens, what the same tokens would have cost on the reference API
// model, the savings to date and the months left to pay back a set-up cost.
//
// Compute is the one formula (a pure function of the rent, the period and
// what was served); Ledger keeps it live inside the gateway from each
// upstream attempt, Load reads the same figures from the store for
// `fulcrum savings`. Money is integer nanodollars (USD × 1e9) throughout;
// ratios (utilisation, months) are float64.
package savings

import (
	"math"
	"math/big"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// Month is the month every monthly figure is projected over: 730 hours,
// the average month (8,760 hours / 12), as `fulcrum advise` prices GPU
// rent (advise.HoursPerMonth) and `fulcrum usage` projects its break-even.
// A 30-day month (720 h) would state monthly savings 1.4% lower than the
// advisor's for the same rent.
const Month = 730 * time.Hour

// Provider is the cost side of one self-hosted provider, from its config
// (providers[].cost).
type Provider struct {
	Name string
	// GPUHourlyUSD × GPUs is the rent per hour. Zero when the provider is
	// priced per token instead (PerMillionUSD).
	GPUHourlyUSD float64
	GPUs         int
	// PerMillionUSD, when set, is a fixed price per million output tokens:
	// the provider is then paid by what it serves, not by the hour, and
	// what was paid is what the records say it cost.
	PerMillionUSD float64
	// SetupUSD is a one-off set-up cost to pay back from the savings.
	SetupUSD float64
	// ReferenceModel names the API model the tokens are compared with.
	ReferenceModel string
}

// hourlyNanos is the rent of all the provider's GPUs per hour, in nanodollars.
func (p *Provider) hourlyNanos() int64 {
	return int64(math.Round(p.GPUHourlyUSD*1e9)) * int64(max(p.GPUs, 1))
}

// Served is what a provider did in a period.
type Served struct {
	// Requests counts upstream attempts (failed ones included: they held
	// the GPUs too) made to answer clients; EvaluationRequests the shadow
	// and judge calls, whose time is in Busy but whose tokens and
	// reference cost are not in the other fields (they replaced no API
	// call: the client's answer was paid for where it was served).
	Requests           int64
	EvaluationRequests int64
	InputTokens        int64
	OutputTokens       int64
	// Busy is the time at least one request was in flight on the
	// provider (overlapping requests count once), measured over
	// [BusyFrom, period end). BusyFrom is the period's start unless the
	// raw records of its beginning were pruned.
	Busy     time.Duration
	BusyFrom time.Time
	// RecordedNanos is what the usage records say the tokens cost (the
	// throughput model, or the fixed per-token price).
	RecordedNanos int64
	// ReferenceNanos is what the same usage would have cost on the
	// reference model (0 when no reference price is known).
	ReferenceNanos int64
}

// Line is one provider's ledger over a period.
type Line struct {
	Provider string    `json:"provider"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// Billing is "gpu_hours" (rent by the hour) or "per_token" (a fixed
	// per_million_usd price: no GPU hours to report).
	Billing string `json:"billing"`
	GPUs    int    `json:"gpus,omitempty"`
	// GPUHours is GPUs × the period's hours.
	GPUHours float64 `json:"gpu_hours"`
	// PaidNanos is the rent over the period (gpu_hourly_usd × gpus ×
	// hours, floored to the nanodollar), or for per_token billing what the
	// records cost.
	PaidNanos int64  `json:"paid_nanos"`
	Paid      string `json:"paid_usd"`
	// Utilisation is Busy over the time it was measured, in [0, 1].
	Utilisation float64 `json:"utilisation"`
	BusySeconds float64 `json:"busy_seconds"`
	// EngineUtilisation is, in the gateway's live ledger of a provider
	// with capacity.metrics_url, the share of the time since the gateway
	// started that the engine itself reported requests running
	// (vllm:num_requests_running > 0, sampled every metrics_interval): it
	// counts work sent by anything, not only this gateway.
	// EngineObservedSeconds is the time those samples cover.
	EngineUtilisation     *float64 `json:"engine_utilisation,omitempty"`
	EngineObservedSeconds float64  `json:"engine_observed_seconds,omitempty"`
	Requests              int64    `json:"requests"`
	// EvaluationRequests are shadow and judge calls: busy time only.
	EvaluationRequests int64 `json:"evaluation_requests,omitempty"`
	InputTokens        int64 `json:"input_tokens"`
	// OutputTokens and Tokens (input + output) served.
	OutputTokens int64 `json:"output_tokens"`
	Tokens       int64 `json:"tokens"`
	// PerMillionNanos is PaidNanos per million tokens served (input and
	// output), PerMillionOutputNanos per million output tokens; 0 when no
	// tokens were served.
	PerMillionNanos       int64  `json:"per_million_tokens_nanos"`
	PerMillion            string `json:"per_million_tokens_usd"`
	PerMillionOutputNanos int64  `json:"per_million_output_tokens_nanos"`
	ReferenceModel        string `json:"reference_model,omitempty"`
	// ReferenceNanos is what the same tokens would have cost on the
	// reference model; ReferenceKnown is false when no record had a
	// reference price (savings are then not meaningful).
	ReferenceNanos int64  `json:"reference_nanos"`
	Reference      string `json:"reference_usd"`
	ReferenceKnown bool   `json:"reference_known"`
	// SavingsNanos is ReferenceNanos − PaidNanos (negative: self-hosting
	// cost more than the API would have).
	SavingsNanos int64  `json:"savings_nanos"`
	Savings      string `json:"savings_usd"`
	// MonthlySavingsNanos is the savings rate projected to a Month (730 h):
	// SavingsNanos × 30 days ÷ the period.
	MonthlySavingsNanos int64 `json:"monthly_savings_nanos"`
	// SetupNanos is the configured set-up cost. PaybackMonths is set-up ÷
	// monthly savings (the months from the period's start to pay it back)
	// and PaybackRemainingMonths what is left of that; both are nil when
	// there is no set-up cost or the savings rate is not positive (never
	// pays back at this rate: PaysBack false).
	SetupNanos             int64    `json:"setup_nanos,omitempty"`
	PaybackMonths          *float64 `json:"payback_months,omitempty"`
	PaybackRemainingMonths *float64 `json:"payback_remaining_months,omitempty"`
	PaysBack               bool     `json:"pays_back"`
}

// Billing kinds.
const (
	BillingGPUHours = "gpu_hours"
	BillingPerToken = "per_token"
)

// Compute is the ledger of provider p over [from, to) given what it
// served. It is a pure function: the formulas are in the field comments of
// Line and in docs/hybrid.md.
func Compute(p Provider, from, to time.Time, s Served) Line {
	l := Line{Provider: p.Name, From: from.UTC(), To: to.UTC(), ReferenceModel: p.ReferenceModel,
		Requests: s.Requests, EvaluationRequests: s.EvaluationRequests, InputTokens: s.InputTokens, OutputTokens: s.OutputTokens,
		Tokens: s.InputTokens + s.OutputTokens, ReferenceNanos: s.ReferenceNanos, ReferenceKnown: s.ReferenceNanos > 0}
	period := max(to.Sub(from), 0)
	if p.PerMillionUSD > 0 || p.GPUHourlyUSD <= 0 {
		l.Billing = BillingPerToken
		l.PaidNanos = s.RecordedNanos
	} else {
		l.Billing = BillingGPUHours
		l.GPUs = max(p.GPUs, 1)
		l.GPUHours = float64(l.GPUs) * period.Hours()
		l.PaidNanos = mulDiv(p.hourlyNanos(), period.Microseconds(), int64(time.Hour/time.Microsecond))
	}
	busyFrom := s.BusyFrom
	if busyFrom.IsZero() || busyFrom.Before(from) {
		busyFrom = from
	}
	if span := to.Sub(busyFrom); span > 0 {
		l.Utilisation = min(float64(s.Busy)/float64(span), 1)
	}
	l.BusySeconds = s.Busy.Seconds()
	if l.Tokens > 0 {
		l.PerMillionNanos = mulDiv(l.PaidNanos, 1_000_000, l.Tokens)
	}
	if l.OutputTokens > 0 {
		l.PerMillionOutputNanos = mulDiv(l.PaidNanos, 1_000_000, l.OutputTokens)
	}
	l.SavingsNanos = l.ReferenceNanos - l.PaidNanos
	if period > 0 {
		l.MonthlySavingsNanos = mulDiv(l.SavingsNanos, int64(Month/time.Microsecond), period.Microseconds())
	}
	l.SetupNanos = int64(math.Round(p.SetupUSD * 1e9))
	if l.MonthlySavingsNanos > 0 {
		l.PaysBack = true
		if l.SetupNanos > 0 {
			total := float64(l.SetupNanos) / float64(l.MonthlySavingsNanos)
			left := max(float64(l.SetupNanos-l.SavingsNanos), 0) / float64(l.MonthlySavingsNanos)
			l.PaybackMonths, l.PaybackRemainingMonths = &total, &left
		}
	}
	l.Paid, l.PerMillion, l.Reference, l.Savings = USD(l.PaidNanos), USD(l.PerMillionNanos), USD(l.ReferenceNanos), USD(l.SavingsNanos)
	return l
}

// mulDiv is a × b ÷ c, truncated toward zero, without overflow in between.
func mulDiv(a, b, c int64) int64 {
	if c == 0 {
		return 0
	}
	v := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	return v.Quo(v, big.NewInt(c)).Int64()
}

// USD formats nanodollars as dollars for reports: to the cent from a
// dollar up, to four decimals below (to the nanodollar when that would
// show nothing): "1234.56", "-0.50", "0.0042", "0.000000123". JSON reports
// carry the exact nanodollars beside it.
func USD(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	var s string
	switch {
	case n >= 1e9 || n == 0:
		cents := (n + 5_000_000) / 10_000_000 // rounded half up to the cent
		s = big.NewInt(cents/100).String() + "." + pad2(cents%100)
	case n >= 50_000:
		s = trimZeros(new(big.Rat).SetFrac64((n+50_000)/100_000, 10_000).FloatString(4))
	default:
		s = trimZeros(new(big.Rat).SetFrac64(n, 1e9).FloatString(9))
	}
	if neg && s != "0.00" {
		s = "-" + s
	}
	return s
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + big.NewInt(n).String()
	}
	return big.NewInt(n).String()
}

func trimZeros(s string) string {
	for len(s) > 4 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	return s
}

// FromConfig lists the providers the ledger keeps: every provider with a
// cost model (providers[].cost), in config order.
func FromConfig(cfg *config.Config) []Provider {
	var out []Provider
	for i := range cfg.Providers {
		pc := &cfg.Providers[i]
		c := pc.Cost
		if c == nil || (c.GPUHourlyUSD <= 0 && c.PerMillionUSD <= 0) {
			continue
		}
		out = append(out, Provider{Name: pc.Name, GPUHourlyUSD: c.GPUHourlyUSD, GPUs: c.GPUs,
			PerMillionUSD: c.PerMillionUSD, SetupUSD: c.SetupUSD, ReferenceModel: c.ReferenceModel})
	}
	return out
}
