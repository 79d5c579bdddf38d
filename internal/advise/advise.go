package advise

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/eval"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// PriceFunc prices usage of a proprietary model at catalogue prices; ok is
// false when the catalogue has no price. The CLI wires the metering
// catalogue here.
type PriceFunc func(model string, u llm.Usage) (usd float64, ok bool)

// MeasuredUsage is what the gateway recorded over the last Days days.
type MeasuredUsage struct {
	Days         int
	InputTokens  int64
	OutputTokens int64
	Requests     int64
	// PrivateRequests were kept on self-hosted models by data policy
	// (from the audit log).
	PrivateRequests int64
	// PeakRPS is the busiest second's request rate, when known.
	PeakRPS float64
}

// UsageSource reads measured usage from the store.
type UsageSource interface {
	MonthlyUsage(ctx context.Context, days int) (*MeasuredUsage, error)
}

// Options configure Run. Only Profile is required.
type Options struct {
	Profile *Profile
	// Price fills in proprietary prices the profile leaves at zero.
	Price PriceFunc
	// Usage, when set, replaces the profile's volumes with the last
	// UsageDays days of measured traffic (default 30).
	Usage     UsageSource
	UsageDays int
	// Evals are `fulcrum eval` reports whose accuracies are compared.
	Evals []*eval.Report
	// Now stamps the report. Default time.Now.
	Now func() time.Time
}

// Scenario names.
const (
	ScenarioProprietary = "proprietary"
	ScenarioSelfHosted  = "self_hosted"
	ScenarioHybrid      = "hybrid"
)

// Report is the advice: inputs, costs, break-even, sensitivity, quality,
// the criterion-by-criterion assessment and the recommendation.
type Report struct {
	Profile       string    `json:"profile"`
	GeneratedAt   time.Time `json:"generated_at"`
	HorizonMonths int       `json:"horizon_months"`
	// VolumeSource says where the volumes came from ("profile" or
	// "measured over N days").
	VolumeSource              string  `json:"volume_source"`
	InputTokens               float64 `json:"input_tokens_per_month"`
	OutputTokens              float64 `json:"output_tokens_per_month"`
	PeakOutputTokensPerSecond float64 `json:"peak_output_tokens_per_second"`
	PrivateShare              float64 `json:"private_share"`

	Proprietary []APIPrice     `json:"proprietary"`
	Open        []OpenPrice    `json:"open"`
	Scenarios   []Scenario     `json:"scenarios"`
	BreakEven   BreakEven      `json:"break_even"`
	Sensitivity []Sensitivity  `json:"sensitivity"`
	Quality     []QualityScore `json:"quality,omitempty"`
	// QualityGapPP is the first proprietary minus the first open
	// candidate's accuracy, in percentage points, when evals cover both.
	QualityGapPP   *float64       `json:"quality_gap_pp,omitempty"`
	Criteria       []Criterion    `json:"criteria"`
	Recommendation Recommendation `json:"recommendation"`
	// Curve is cost against monthly volume, for the chart.
	Curve []CurvePoint `json:"curve"`
	Notes []string     `json:"notes,omitempty"`
}

// APIPrice is a proprietary candidate's prices.
type APIPrice struct {
	Model            string  `json:"model"`
	InputPerMillion  float64 `json:"input_per_million"`
	OutputPerMillion float64 `json:"output_per_million"`
	// BlendedPerMillion is for a 3:1 input:output mix.
	BlendedPerMillion float64 `json:"blended_per_million"`
	Region            string  `json:"region,omitempty"`
	// Allowed is false when compliance excludes the model.
	Allowed bool   `json:"allowed"`
	Why     string `json:"why,omitempty"`
}

// OpenPrice is an open candidate's serving cost.
type OpenPrice struct {
	Model                 string  `json:"model"`
	GPU                   string  `json:"gpu,omitempty"`
	GPUHourlyUSD          float64 `json:"gpu_hourly_usd"`
	GPUsPerReplica        int     `json:"gpus_per_replica"`
	OutputTokensPerSecond float64 `json:"output_tokens_per_second"`
	Source                string  `json:"source,omitempty"`
	// PerMillionFull is $ per million output tokens at 100% utilisation;
	// PerMillionActual at the utilisation the self-hosted scenario reaches
	// in its first month.
	PerMillionFull    float64 `json:"per_million_full"`
	PerMillionActual  float64 `json:"per_million_actual"`
	ActualUtilisation float64 `json:"actual_utilisation"`
	ReplicaMonthlyUSD float64 `json:"replica_monthly_usd"`
}

// Scenario is one way of serving the workload over the horizon.
type Scenario struct {
	Name string `json:"name"`
	// SelfHostedShare is the share of traffic on the open model.
	SelfHostedShare float64 `json:"self_hosted_share"`
	// Feasible is false when a hard constraint rules the scenario out;
	// Why says which.
	Feasible bool    `json:"feasible"`
	Why      string  `json:"why,omitempty"`
	Months   []Month `json:"months"`
	TotalUSD float64 `json:"total_usd"`
	// FirstMonthUSD excludes set-up.
	FirstMonthUSD    float64 `json:"first_month_usd"`
	LastMonthUSD     float64 `json:"last_month_usd"`
	OverBudgetMonths int     `json:"over_budget_months"`
}

// BreakEven is where self-hosting everything starts to cost less per month
// than the API.
type BreakEven struct {
	Found bool `json:"found"`
	// TokensPerMonth is the total monthly volume at the workload's mix.
	TokensPerMonth float64 `json:"tokens_per_month"`
	// CurrentTokensPerMonth is the workload's volume now.
	CurrentTokensPerMonth float64 `json:"current_tokens_per_month"`
	// PaybackMonth is the first month whose cumulative self-hosted cost is
	// at most the cumulative API cost (set-up included); 0 when none in the
	// horizon.
	PaybackMonth int    `json:"payback_month"`
	Note         string `json:"note,omitempty"`
}

// Sensitivity is the horizon total of every scenario with one input
// scaled.
type Sensitivity struct {
	Variable string             `json:"variable"`
	Factor   float64            `json:"factor"`
	Totals   map[string]float64 `json:"totals"`
	// Cheapest is the cheapest feasible scenario under this change.
	Cheapest string `json:"cheapest"`
}

// QualityScore is one model's accuracy in one eval report.
type QualityScore struct {
	Suite    string  `json:"suite"`
	Model    string  `json:"model"`
	Accuracy float64 `json:"accuracy"`
	Cases    int     `json:"cases"`
}

// Criterion is the assessment along one decision criterion.
type Criterion struct {
	Name    string `json:"name"`
	Finding string `json:"finding"`
	// Favours is proprietary, self_hosted, hybrid or neutral.
	Favours string `json:"favours"`
	// Decisive is true when the criterion decided the recommendation.
	Decisive bool `json:"decisive"`
}

// Recommendation is the advice and the reasons for it.
type Recommendation struct {
	Scenario  string   `json:"scenario"`
	Summary   string   `json:"summary"`
	DecidedBy []string `json:"decided_by"`
}

// CurvePoint is the monthly cost of all traffic at one volume.
type CurvePoint struct {
	TokensPerMonth float64 `json:"tokens_per_month"`
	ProprietaryUSD float64 `json:"proprietary_usd"`
	SelfHostedUSD  float64 `json:"self_hosted_usd"`
}

// Run builds the advice for a profile.
func Run(ctx context.Context, opts Options) (*Report, error) {
	p := opts.Profile
	if p == nil {
		return nil, errors.New("advise: no profile")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Report{Profile: p.Name, GeneratedAt: opts.Now().UTC(), HorizonMonths: p.HorizonMonths, VolumeSource: "profile"}
	in, out := p.Workload.InputTokensPerMonth, p.Workload.OutputTokensPerMonth
	peak := p.Workload.PeakRPS * p.Workload.OutputTokensPerRequest
	r.PrivateShare = p.Data.PrivateShare
	if opts.Usage != nil {
		days := opts.UsageDays
		if days <= 0 {
			days = 30
		}
		mu, err := opts.Usage.MonthlyUsage(ctx, days)
		if err != nil {
			return nil, fmt.Errorf("advise: measured usage: %w", err)
		}
		if mu != nil && mu.Days > 0 && mu.OutputTokens > 0 {
			scale := HoursPerMonth / (24 * float64(mu.Days))
			in, out = float64(mu.InputTokens)*scale, float64(mu.OutputTokens)*scale
			r.VolumeSource = fmt.Sprintf("measured over %d days", mu.Days)
			if mu.PeakRPS > 0 && mu.Requests > 0 {
				peak = mu.PeakRPS * float64(mu.OutputTokens) / float64(mu.Requests)
			}
			if mu.Requests > 0 {
				if s := float64(mu.PrivateRequests) / float64(mu.Requests); s > r.PrivateShare {
					r.PrivateShare = s
					r.Notes = append(r.Notes, fmt.Sprintf("The audit log shows %.0f%% of requests kept private, more than the profile's %.0f%%: the higher share is used.", 100*s, 100*p.Data.PrivateShare))
				}
			}
		}
	}
	if peak == 0 {
		peak = out / SecondsPerMonth
		r.Notes = append(r.Notes, "No peak given: GPUs are sized for the average rate.")
	}
	r.InputTokens, r.OutputTokens, r.PeakOutputTokensPerSecond = in, out, peak

	if err := r.priceCandidates(p, opts.Price); err != nil {
		return nil, err
	}
	base := r.costModel(p, peak/math.Max(out, 1))
	r.scenarios(p, base, in, out)
	r.breakEven(base, in, out)
	r.sensitivity(p, base, in, out)
	r.curve(base, in, out)
	r.quality(p, opts.Evals)
	r.assess(p)
	return r, nil
}

// priceCandidates resolves API prices and serving costs.
func (r *Report) priceCandidates(p *Profile, price PriceFunc) error {
	for i, c := range p.Candidates.Proprietary {
		in, out := c.InputPerMillion, c.OutputPerMillion
		if in == 0 && out == 0 {
			if price == nil {
				return fmt.Errorf("advise: candidates.proprietary[%d] (%s): no prices given and no catalogue", i, c.Model)
			}
			pi, ok1 := price(c.Model, llm.Usage{InputTokens: 1_000_000})
			po, ok2 := price(c.Model, llm.Usage{OutputTokens: 1_000_000})
			if !ok1 || !ok2 {
				return fmt.Errorf("advise: candidates.proprietary[%d]: the catalogue has no price for %q; give input_per_million and output_per_million", i, c.Model)
			}
			in, out = pi, po
		}
		ap := APIPrice{Model: c.Model, InputPerMillion: in, OutputPerMillion: out, BlendedPerMillion: Blended(in, out), Region: c.Region, Allowed: true}
		if res := p.Compliance.Residency; res != "" && c.Region != res {
			ap.Allowed = false
			ap.Why = fmt.Sprintf("data must stay in %q; the API processes it in %q", res, orUnknown(c.Region))
		}
		r.Proprietary = append(r.Proprietary, ap)
	}
	for _, c := range p.Candidates.Open {
		r.Open = append(r.Open, OpenPrice{
			Model: c.Model, GPU: c.GPU, GPUHourlyUSD: c.GPUHourlyUSD, GPUsPerReplica: c.GPUsPerReplica,
			OutputTokensPerSecond: c.OutputTokensPerSecond, Source: c.Source,
			PerMillionFull:    SelfHostedPerMillion(c.GPUHourlyUSD, c.GPUsPerReplica, c.OutputTokensPerSecond, 1),
			ReplicaMonthlyUSD: GPUMonthlyUSD(c.GPUHourlyUSD, c.GPUsPerReplica),
		})
	}
	return nil
}

// costModel uses the first allowed proprietary candidate and the first
// open one.
func (r *Report) costModel(p *Profile, peakRatio float64) *costModel {
	m := &costModel{
		staff: *p.SelfHosting.StaffFTE * p.Expertise.StaffCostUSDMonth, other: p.SelfHosting.OtherFixedUSDMonth,
		setup: p.SelfHosting.SetupUSD, util: p.SelfHosting.TargetUtilisation, minRep: p.SelfHosting.MinReplicas,
		peakRatio: peakRatio,
	}
	for _, a := range r.Proprietary {
		if a.Allowed {
			m.pin, m.pout, m.hasAPI = a.InputPerMillion, a.OutputPerMillion, true
			break
		}
	}
	if len(p.Candidates.Open) > 0 {
		m.open, m.hasOpen = p.Candidates.Open[0], true
		m.gpuHourly = m.open.GPUHourlyUSD
	}
	return m
}

func (r *Report) scenarios(p *Profile, m *costModel, in, out float64) {
	hybridShare := r.PrivateShare + p.Hybrid.RoutedShare*(1-r.PrivateShare)
	defs := []struct {
		name  string
		share float64
	}{{ScenarioProprietary, 0}, {ScenarioSelfHosted, 1}, {ScenarioHybrid, hybridShare}}
	for _, d := range defs {
		s := Scenario{Name: d.name, SelfHostedShare: d.share, Feasible: true}
		switch {
		case d.share < 1 && !m.hasAPI:
			s.Feasible, s.Why = false, "no allowed proprietary candidate"
			if len(p.Candidates.Proprietary) > 0 {
				s.Why = "compliance excludes every proprietary candidate (" + r.Proprietary[0].Why + ")"
			}
		case d.share > 0 && !m.hasOpen:
			s.Feasible, s.Why = false, "no open candidate"
		case d.name == ScenarioProprietary && r.PrivateShare > 0:
			s.Feasible, s.Why = false, fmt.Sprintf("%.0f%% of traffic carries sensitive data that must stay self-hosted", 100*r.PrivateShare)
		case d.name == ScenarioHybrid && (d.share <= 0 || d.share >= 1):
			s.Feasible, s.Why = false, "no traffic to split: the hybrid is the same as a pure scenario"
		}
		split := d.share > 0 && d.share < 1
		computable := (d.name != ScenarioHybrid && d.share == 0 && m.hasAPI) ||
			(d.name != ScenarioHybrid && d.share == 1 && m.hasOpen) || (split && m.hasAPI && m.hasOpen)
		if computable {
			s.Months = m.project(in, out, p.Workload.GrowthPerMonth, d.share, p.HorizonMonths)
		}
		if n := len(s.Months); n > 0 {
			s.TotalUSD = s.Months[n-1].CumulativeUSD
			s.FirstMonthUSD = s.Months[0].TotalUSD - s.Months[0].SetupUSD
			s.LastMonthUSD = s.Months[n-1].TotalUSD
			for _, mo := range s.Months {
				if lim := p.Budget.MonthlyLimitUSD; lim > 0 && mo.TotalUSD-mo.SetupUSD > lim {
					s.OverBudgetMonths++
				}
			}
		}
		r.Scenarios = append(r.Scenarios, s)
	}
	if sh := r.Scenario(ScenarioSelfHosted); len(sh.Months) > 0 && len(r.Open) > 0 {
		first := sh.Months[0]
		r.Open[0].ActualUtilisation = first.Utilisation
		r.Open[0].PerMillionActual = SelfHostedPerMillion(m.gpuHourly, m.open.GPUsPerReplica, m.open.OutputTokensPerSecond, first.Utilisation)
	}
}

// Scenario returns the named scenario (never nil for the three names).
func (r *Report) Scenario(name string) *Scenario {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i]
		}
	}
	return &Scenario{Name: name}
}

func (r *Report) breakEven(m *costModel, in, out float64) {
	b := BreakEven{CurrentTokensPerMonth: in + out}
	b.TokensPerMonth, b.Found = m.breakEven(in / (in + out))
	switch {
	case !m.hasAPI || !m.hasOpen:
		b.Note = "needs both an allowed proprietary and an open candidate"
	case !b.Found:
		b.Note = "the API stays cheaper at any volume: a replica costs more than the tokens it can carry at API prices"
	}
	prop, self := r.Scenario(ScenarioProprietary), r.Scenario(ScenarioSelfHosted)
	for i := range min(len(prop.Months), len(self.Months)) {
		if self.Months[i].CumulativeUSD <= prop.Months[i].CumulativeUSD {
			b.PaybackMonth = i + 1
			break
		}
	}
	r.BreakEven = b
}

// sensitivity recomputes the horizon totals with volume, GPU price and
// utilisation at 50% and 150%.
func (r *Report) sensitivity(p *Profile, base *costModel, in, out float64) {
	for _, v := range []string{"volume", "gpu_price", "utilisation"} {
		for _, f := range []float64{0.5, 1.5} {
			m := *base
			vin, vout := in, out
			switch v {
			case "volume":
				vin, vout = in*f, out*f
			case "gpu_price":
				m.gpuHourly *= f
			case "utilisation":
				m.util = math.Min(1, m.util*f)
			}
			s := Sensitivity{Variable: v, Factor: f, Totals: map[string]float64{}}
			best := math.Inf(1)
			for _, sc := range r.Scenarios {
				if len(sc.Months) == 0 {
					continue
				}
				months := m.project(vin, vout, p.Workload.GrowthPerMonth, sc.SelfHostedShare, p.HorizonMonths)
				total := months[len(months)-1].CumulativeUSD
				s.Totals[sc.Name] = total
				if sc.Feasible && total < best {
					best, s.Cheapest = total, sc.Name
				}
			}
			r.Sensitivity = append(r.Sensitivity, s)
		}
	}
}

// curve samples the monthly cost of all traffic on the API and all on the
// open model, from zero to twice the larger of the volume and the
// break-even.
func (r *Report) curve(m *costModel, in, out float64) {
	if !m.hasAPI && !m.hasOpen {
		return
	}
	total := in + out
	top := 2 * total
	if r.BreakEven.Found {
		top = math.Max(top, 2*r.BreakEven.TokensPerMonth)
	}
	const n = 60
	for i := 0; i <= n; i++ {
		v := top * float64(i) / n
		k := v / math.Max(total, 1)
		pt := CurvePoint{TokensPerMonth: v}
		if m.hasAPI {
			pt.ProprietaryUSD = m.month(in*k, out*k, 0).TotalUSD
		}
		if m.hasOpen {
			pt.SelfHostedUSD = m.month(in*k, out*k, 1).TotalUSD
		}
		r.Curve = append(r.Curve, pt)
	}
}

func (r *Report) quality(p *Profile, evals []*eval.Report) {
	for _, e := range evals {
		for _, m := range e.Models {
			r.Quality = append(r.Quality, QualityScore{Suite: e.Suite, Model: m.Model, Accuracy: m.Accuracy, Cases: m.Cases})
		}
	}
	if len(p.Candidates.Proprietary) == 0 || len(p.Candidates.Open) == 0 {
		return
	}
	pa, ok1 := r.accuracy(evalName(p.Candidates.Proprietary[0].EvalModel, p.Candidates.Proprietary[0].Model))
	oa, ok2 := r.accuracy(evalName(p.Candidates.Open[0].EvalModel, p.Candidates.Open[0].Model))
	if ok1 && ok2 {
		gap := 100 * (pa - oa)
		r.QualityGapPP = &gap
	}
}

// accuracy averages a model's accuracy over the eval reports, weighted by
// cases.
func (r *Report) accuracy(model string) (float64, bool) {
	var sum float64
	var n int
	for _, q := range r.Quality {
		if q.Model == model {
			sum += q.Accuracy * float64(q.Cases)
			n += q.Cases
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

func evalName(evalModel, model string) string {
	if evalModel != "" {
		return evalModel
	}
	return model
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
