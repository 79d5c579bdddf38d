package advise

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
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
	// Requests counts what the source counts as one: the store's
	// rollups count attempts (a retried request twice).
	Requests int64
	// PrivateRequests were kept on self-hosted models by data policy
	// (from the audit log), counted as Requests are.
	PrivateRequests int64
	// PeakRPS is the busiest period's request rate, when known (from
	// the store: the busiest minute's, or hour's where minute rollups
	// were pruned).
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
	// Aliases map gateway model names (as eval reports name them) to
	// upstream model ids, from the gateway config, so an eval of "smart"
	// counts for the candidate "gpt-4o" when "smart" is gpt-4o upstream.
	Aliases map[string]string
	// FineTuned looks up an API model's hosted fine-tuned inference prices
	// in the price catalogue (e.g. ft:gpt-4o-mini-2024-07-18), to say what
	// the vendor offers when the profile declares no fine_tuning for it.
	FineTuned func(model string) (inPerMillion, outPerMillion float64, name string, ok bool)
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
	// UnmatchedEvals are eval results no candidate matched, with why and
	// the nearest candidate (also warned about in Notes).
	UnmatchedEvals []UnmatchedEval `json:"unmatched_evals,omitempty"`
	// QualityGapPP is QualityGapModels[0]'s minus QualityGapModels[1]'s
	// accuracy, in percentage points: the choice's API and open model where
	// it has them (and they are measured), else the most accurate API
	// allowed by the hard constraints and the most accurate open model;
	// absent when evals do not cover both.
	QualityGapPP     *float64 `json:"quality_gap_pp,omitempty"`
	QualityGapModels []string `json:"quality_gap_models,omitempty"`
	// Workloads are the traffic classes the candidates assign.
	Workloads []WorkloadClass `json:"workloads"`
	// Candidates are every option costed and scored, with the reasons any
	// is ruled out; the chosen one is marked.
	Candidates []*Candidate `json:"candidates"`
	// SplitSearch, when the classes could be split across several API
	// models, says how many such splits there were and whether the bound
	// cut their search (then a note says so too).
	SplitSearch    *SplitSearch   `json:"split_search,omitempty"`
	Criteria       []Criterion    `json:"criteria"`
	Recommendation Recommendation `json:"recommendation"`
	RunnerUp       *RunnerUp      `json:"runner_up,omitempty"`
	// Curve is cost against monthly volume, for the chart.
	Curve []CurvePoint `json:"curve"`
	Notes []string     `json:"notes,omitempty"`

	scores map[string]*ModelScore
	// baseRatio is the base load's output tokens/s per monthly output
	// token (workload.base_rps), for overflow candidates.
	baseRatio float64
	// peakAbs and baseAbs are the peak and base output tokens/s as given
	// (peak 0: none given, sized for the average). What-if volumes
	// (runner-up flips, break-even, sensitivity, the curve) hold them, as
	// editing only the profile's volumes does.
	peakAbs, baseAbs float64
	in, out          float64
	ws               []workload
	// ignore are criteria whose exclusions a what-if leaves out (to see
	// whether they changed the choice); quick skips explaining the choice.
	ignore map[string]bool
	quick  bool
	// flipDecisions counts the volumes the flip search decided at.
	flipDecisions int
	// scratch is a what-if's buffer of months, reused by every candidate.
	scratch []Month
	// jointly names the cheapest candidate of all when the criteria
	// ruling it out changed the choice only together.
	jointly string
	// excludesOnly names the cheapest candidate of all when the criteria
	// named rule it out but dropping any of them leaves the choice as it
	// is (the costs change with it).
	excludesOnly string
	excludesBy   []string
	// without is, for each criterion that changed the choice alone, the
	// candidate chosen when deciding again without it.
	without   map[string]string
	fineTuned func(string) (float64, float64, string, bool)
	// splitSearch is the last enumeration's count of splits.
	splitSearch SplitSearch
	// mixIn and mixOut are today's month-1 input and output tokens: every
	// what-if volume scales both alike, so APIs compare at this mix
	// whatever the volume (see dominates).
	mixIn, mixOut float64
	// auditPrivate is the share of measured requests the audit log shows
	// kept private, when the profile has workload classes (whose shares
	// are used as given; a note says when it is more).
	auditPrivate float64
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
	// in its first month; absent when it serves no output tokens (then no
	// figure: it was +Inf, which JSON cannot carry, and --format json
	// failed on input-only traffic).
	PerMillionFull    float64 `json:"per_million_full"`
	PerMillionActual  float64 `json:"per_million_actual,omitempty"`
	ActualUtilisation float64 `json:"actual_utilisation"`
	ReplicaMonthlyUSD float64 `json:"replica_monthly_usd"`
}

// Scenario is one way of serving the workload over the horizon.
type Scenario struct {
	Name string `json:"name"`
	// SelfHostedShare is the share of traffic on the open model.
	SelfHostedShare float64 `json:"self_hosted_share"`
	// Candidate is the candidate it summarises: the chosen one for the
	// chosen kind, else the cheapest eligible one of the kind.
	Candidate string `json:"candidate,omitempty"`
	// Feasible is false when every candidate of the kind is ruled out; Why
	// gives the cheapest one's first reason.
	Feasible bool    `json:"feasible"`
	Why      string  `json:"why,omitempty"`
	Months   []Month `json:"months"`
	TotalUSD float64 `json:"total_usd"`
	// FirstMonthUSD excludes set-up.
	FirstMonthUSD    float64 `json:"first_month_usd"`
	LastMonthUSD     float64 `json:"last_month_usd"`
	OverBudgetMonths int     `json:"over_budget_months"`

	cm *costModel
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
	// GPUs come in whole replicas: from TokensPerMonth self-hosting is no
	// dearer at first, but a replica added for more traffic can make it
	// dearer again. ForGoodTokensPerMonth, when set, is where it stays no
	// dearer at every volume above (or, with UntilTokensPerMonth, up to
	// it); UntilTokensPerMonth, when set, is the largest volume at which it
	// is no dearer (each replica costs more than the tokens it carries).
	ForGoodTokensPerMonth float64 `json:"for_good_tokens_per_month,omitempty"`
	UntilTokensPerMonth   float64 `json:"until_tokens_per_month,omitempty"`
	// APIModel and OpenModel are the pair compared (the candidates "API
	// APIModel" and "self-hosted OpenModel", month 1, set-up excluded).
	APIModel  string `json:"api_model,omitempty"`
	OpenModel string `json:"open_model,omitempty"`
	// RuledOut names either side of the pair that the criteria rule out
	// ("self-hosted llama-3.1-8b is ruled out by quality"): the break-even is a
	// matter of cost alone, and the text says so.
	RuledOut []string `json:"ruled_out,omitempty"`
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
	Errors   int     `json:"errors,omitempty"`
}

// Criterion is the assessment along one decision criterion.
type Criterion struct {
	Name    string `json:"name"`
	Finding string `json:"finding"`
	// Favours is proprietary, self_hosted, hybrid or neutral.
	Favours string `json:"favours"`
	// Decisive is true when the criterion decided the recommendation.
	Decisive bool `json:"decisive"`
	// ChoiceWithout is, for a decisive criterion, the candidate chosen when
	// deciding again without it (without its exclusions, and for a need
	// without its costs; for in-house expertise without the staff cost).
	ChoiceWithout string `json:"choice_without,omitempty"`
}

// Recommendation is the advice and the reasons for it.
type Recommendation struct {
	// Scenario is the kind of the chosen candidate; Candidate its name.
	Scenario  string   `json:"scenario"`
	Candidate string   `json:"candidate"`
	Summary   string   `json:"summary"`
	DecidedBy []string `json:"decided_by"`
	// DecidedJointly says that no criterion of DecidedBy changed the choice
	// alone, but together they did (each rules out the cheapest of all).
	DecidedJointly bool `json:"decided_jointly,omitempty"`
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
		// Input-only traffic (embeddings) is traffic: before, a store
		// holding only input tokens was ignored for the profile's volumes,
		// or "held no usage".
		if mu != nil && mu.Days > 0 && mu.InputTokens+mu.OutputTokens > 0 {
			scale := HoursPerMonth / (24 * float64(mu.Days))
			in, out = float64(mu.InputTokens)*scale, float64(mu.OutputTokens)*scale
			r.VolumeSource = fmt.Sprintf("measured over %d days", mu.Days)
			if mu.PeakRPS > 0 && mu.Requests > 0 {
				peak = mu.PeakRPS * float64(mu.OutputTokens) / float64(mu.Requests)
			}
			// With workload classes the classes' shares decide (workloads
			// says so when the audit log shows more): before, this note
			// also claimed "the higher share is used" against a profile
			// share of 0%, and the classes' 35% was used.
			if mu.Requests > 0 && len(p.Workloads) > 0 {
				r.auditPrivate = float64(mu.PrivateRequests) / float64(mu.Requests)
			} else if mu.Requests > 0 {
				if s := float64(mu.PrivateRequests) / float64(mu.Requests); s > r.PrivateShare {
					r.PrivateShare = s
					r.Notes = append(r.Notes, fmt.Sprintf("The audit log shows %.0f%% of requests kept private, more than the profile's %.0f%%: the higher share is used.", 100*s, 100*p.Data.PrivateShare))
				}
			}
		}
	}
	r.peakAbs, r.baseAbs = peak, p.Workload.BaseRPS*p.Workload.OutputTokensPerRequest
	if p.Workload.Latency == "batch" && peak > 0 {
		// The field sizes nothing by itself: say so rather than let a
		// reader think batch traffic was queued to the average rate.
		r.Notes = append(r.Notes, "latency: batch does not change the sizing: GPUs are sized for the peak given; leave peak_rps out to size them for the average rate (batch work queued).")
	}
	if peak == 0 {
		peak = out / SecondsPerMonth
		if len(p.Candidates.Open) > 0 { // no GPUs to size otherwise
			r.Notes = append(r.Notes, "No peak given: GPUs are sized for the average rate.")
		}
	}
	r.InputTokens, r.OutputTokens, r.PeakOutputTokensPerSecond = in, out, peak
	r.in, r.out = in, out
	r.mixIn, r.mixOut = in, out

	if err := r.priceCandidates(p, opts.Price); err != nil {
		return nil, err
	}
	r.fineTuned = opts.FineTuned
	r.matchEvals(p, opts.Evals, opts.Aliases)
	ws := r.workloads(p)
	r.ws = ws
	for _, w := range ws {
		r.Workloads = append(r.Workloads, w.WorkloadClass)
	}
	peakRatio, _ := r.ratiosAt(out)
	cs, choice, decided := r.candidatesAt(p, in, out)
	r.Candidates = cs
	if ss := r.splitSearch; ss.Combinations > 0 {
		r.SplitSearch = &ss
		if n := ss.note(); n != "" {
			r.Notes = append(r.Notes, n)
		}
	}
	r.scenarios(p, cs, choice)
	base := r.baseModel(p, cs, choice, peakRatio)
	r.breakEven(base, in, out)
	r.sensitivity(p, in, out)
	r.curve(base, in, out)
	r.qualityGap(cs, choice)
	if choice != nil {
		var err error
		if r.RunnerUp, err = r.runnerUp(ctx, p, cs, choice, decided, in, out); err != nil {
			return nil, err
		}
	}
	r.explain(p, cs, ws, choice, decided, in, out)
	if err := ctx.Err(); err != nil {
		// Never a report cut short presented as complete.
		return nil, fmt.Errorf("advise: stopped, no report made: %w", err)
	}
	return r, nil
}

// ratiosAt is the peak and base output tokens/s per monthly output token
// when the month-1 output volume is out: the peak and base rates as given
// (the average rate when no peak is given).
func (r *Report) ratiosAt(out float64) (peakRatio, baseRatio float64) {
	peak := r.peakAbs
	if peak == 0 {
		peak = out / SecondsPerMonth
	}
	return peak / math.Max(out, 1), r.baseAbs / math.Max(out, 1)
}

// candidatesAt builds, costs and constrains every candidate for a month-1
// volume of in and out tokens, and decides. It leaves r's notes and
// candidates alone apart from budget notes, so a what-if volume can be
// decided on a copy (see whatIf).
func (r *Report) candidatesAt(p *Profile, in, out float64) ([]*Candidate, *Candidate, []string) {
	peakRatio, baseRatio := r.ratiosAt(out)
	r.baseRatio = baseRatio
	cs := r.enumerate(p, r.ws)
	for _, c := range cs {
		r.cost(p, c, r.ws, peakRatio, in, out)
	}
	r.constrain(p, cs, r.ws)
	choice, decided := r.decide(p, cs, in, out)
	return cs, choice, decided
}

// whatIf decides again on a copy of the report, for the month-1 volume
// scaled by k (mix, peak and base rates kept, as when only the profile's
// volumes are edited) and with the profile and scores as change leaves
// them (nil: unchanged). It returns the choice's name ("" when none).
func (r *Report) whatIf(p *Profile, k float64, change func(p *Profile, scores map[string]*ModelScore), ignore ...string) string {
	_, choice := r.whatIfAll(p, k, change, ignore...)
	if choice == nil {
		return ""
	}
	return choice.Name
}

// whatIfAll is whatIf returning every candidate as costed and constrained
// at that volume (their months are not kept) and the choice (nil: none).
func (r *Report) whatIfAll(p *Profile, k float64, change func(p *Profile, scores map[string]*ModelScore), ignore ...string) ([]*Candidate, *Candidate) {
	s := &Report{Proprietary: r.Proprietary, Open: r.Open, PrivateShare: r.PrivateShare, fineTuned: r.fineTuned, mixIn: r.mixIn, mixOut: r.mixOut,
		peakAbs: r.peakAbs, baseAbs: r.baseAbs, ws: r.ws, scores: r.scores, quick: true, ignore: map[string]bool{},
		scratch: make([]Month, 0, p.HorizonMonths)}
	for _, c := range ignore {
		s.ignore[c] = true
	}
	if s.ignore[CritDataSensitivity] {
		// Without the constraint no class is sensitive: besides going to an
		// API, it then has to meet the quality gap like any other.
		s.ws = slices.Clone(r.ws)
		for i := range s.ws {
			s.ws[i].Sensitive = false
		}
		s.PrivateShare = 0
	}
	q := p
	if change != nil {
		cp := *p
		q = &cp
		s.scores = make(map[string]*ModelScore, len(r.scores))
		for m, sc := range r.scores {
			c := *sc
			s.scores[m] = &c
		}
		change(q, s.scores)
	}
	if s.ignore[CritCustomisation] {
		// Without the need nothing is fine-tuned or adapted: its costs
		// (fine-tuned prices, training on either side) go with its
		// exclusions, as data sensitivity's classes stop being sensitive.
		s.ws = slices.Clone(s.ws)
		for i := range s.ws {
			s.ws[i].fineTune = false
		}
		cp := *q
		cp.Customisation.Adapters, cp.Customisation.FineTuning = false, false
		q = &cp
	}
	cs, choice, _ := s.candidatesAt(q, r.in*k, r.out*k)
	return cs, choice
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
		if res := p.Compliance.Residency; res != "" && !regionWithin(c.Region, res) {
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

// scenarios summarises the best candidate of each kind (the chosen one
// for its kind) as the three named scenarios of the tables.
func (r *Report) scenarios(p *Profile, cs []*Candidate, choice *Candidate) {
	for _, kind := range []string{ScenarioProprietary, ScenarioSelfHosted, ScenarioHybrid} {
		s := Scenario{Name: kind, Feasible: false}
		best := cheapest(cs, func(c *Candidate) bool { return c.Kind == kind && !c.Excluded() })
		if choice != nil && choice.Kind == kind {
			best = choice
		}
		if best != nil {
			s.Feasible = true
		} else if best = cheapest(cs, func(c *Candidate) bool { return c.Kind == kind }); best != nil {
			s.Why = best.Exclusions[0].Criterion + ": " + best.Exclusions[0].Reason
		} else {
			s.Why = "no candidate of this kind"
			if kind == ScenarioHybrid {
				s.Why = "no split: needs an API and an open candidate, or two APIs and two workload classes, and traffic that can go to each"
			}
			r.Scenarios = append(r.Scenarios, s)
			continue
		}
		s.Candidate, s.SelfHostedShare, s.Months = best.Name, best.SelfHostedShare, best.months
		s.TotalUSD, s.FirstMonthUSD, s.LastMonthUSD, s.OverBudgetMonths = best.TotalUSD, best.FirstMonthUSD, best.LastMonthUSD, best.OverBudgetMonths
		s.cm = best.cm
		r.Scenarios = append(r.Scenarios, s)
	}
	for i := range r.Open {
		c := cheapest(cs, func(c *Candidate) bool { return c.Kind == ScenarioSelfHosted && c.OpenModel == r.Open[i].Model })
		if c != nil && len(c.months) > 0 {
			f := c.months[0]
			r.Open[i].ActualUtilisation = f.Utilisation
			if f.Utilisation > 0 {
				r.Open[i].PerMillionActual = SelfHostedPerMillion(r.Open[i].GPUHourlyUSD, r.Open[i].GPUsPerReplica, r.Open[i].OutputTokensPerSecond, f.Utilisation)
			}
		}
	}
}

// baseModel is the pair the break-even and the curve compare: the chosen
// candidate's API and open models when it has them, else the cheapest
// eligible (or, failing that, any) API-only and self-hosted candidates'.
func (r *Report) baseModel(p *Profile, cs []*Candidate, choice *Candidate, peakRatio float64) *costModel {
	pick := func(kind string) *Candidate {
		if c := cheapest(cs, func(c *Candidate) bool { return c.Kind == kind && !c.Excluded() }); c != nil {
			return c
		}
		return cheapest(cs, func(c *Candidate) bool { return c.Kind == kind && !c.excludedBy(CritCompliance) })
	}
	api := pick(ScenarioProprietary)
	// One fleet: the break-even compares one open model with one API.
	self := pick(ScenarioSelfHosted)
	if self != nil && len(self.OpenModels) > 0 {
		self = cheapest(cs, func(c *Candidate) bool { return c.Kind == ScenarioSelfHosted && c.OpenModel != "" && !c.Excluded() })
		if self == nil {
			self = cheapest(cs, func(c *Candidate) bool {
				return c.Kind == ScenarioSelfHosted && c.OpenModel != "" && !c.excludedBy(CritCompliance)
			})
		}
	}
	if choice != nil && choice.Kind == ScenarioHybrid {
		for _, c := range cs {
			if c.Kind == ScenarioProprietary && c.APIModel == choice.APIModel {
				api = c
			}
			if c.Kind == ScenarioSelfHosted && choice.OpenModel != "" && c.OpenModel == choice.OpenModel {
				self = c
			}
		}
	}
	m := &costModel{peakRatio: peakRatio, util: p.SelfHosting.TargetUtilisation, minRep: p.SelfHosting.MinReplicas}
	if self != nil {
		*m = *self.cm
	}
	m.hasAPI, m.pin, m.pout, m.apiTraining = false, 0, 0, 0
	if api != nil {
		m.hasAPI, m.pin, m.pout, m.apiTraining = true, api.cm.pin, api.cm.pout, api.cm.apiTraining
		r.BreakEven.APIModel = api.APIModel
	}
	if self != nil {
		r.BreakEven.OpenModel = self.OpenModel
	}
	// A pair with a side ruled out (a self-hosted model below the quality
	// floor, an API alone that would see the sensitive class) still has a
	// break-even, but "self-hosting costs no more from month 1" read as an
	// option in a report that had ruled it out.
	r.BreakEven.RuledOut = nil
	for _, c := range []*Candidate{api, self} {
		if c != nil && c.Excluded() {
			r.BreakEven.RuledOut = append(r.BreakEven.RuledOut, fmt.Sprintf("%s is ruled out by %s", c.Name, c.Exclusions[0].Criterion))
		}
	}
	return m
}

// qualityGap is the API minus the open model's accuracy for the choice's
// pair, else the most accurate API the hard constraints allow against the
// most accurate open model.
func (r *Report) qualityGap(cs []*Candidate, choice *Candidate) {
	// The choice's own models where it has them and they are measured: the
	// gap a reader weighs is the one of the models recommended.
	var api, open *ModelScore
	if choice != nil {
		// A split's most accurate measured API.
		for _, m := range choice.apiModels() {
			if sc := r.score(m); sc != nil && (api == nil || sc.Accuracy > api.Accuracy) {
				api = sc
			}
		}
		// With two fleets, the least accurate of them: the widest gap.
		for _, m := range choice.openModels() {
			if sc := r.score(m); sc != nil && (open == nil || sc.Accuracy < open.Accuracy) {
				open = sc
			}
		}
	}
	if api == nil {
		api = r.bestAllowedAPIScore(cs, nil)
	}
	if open == nil {
		for _, o := range r.Open {
			if s := r.score(o.Model); s != nil && (open == nil || s.Accuracy > open.Accuracy) {
				open = s
			}
		}
	}
	if api != nil && open != nil {
		gap := 100 * (api.Accuracy - open.Accuracy)
		r.QualityGapPP, r.QualityGapModels = &gap, []string{api.Model, open.Model}
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
	b := BreakEven{CurrentTokensPerMonth: in + out, APIModel: r.BreakEven.APIModel, OpenModel: r.BreakEven.OpenModel, RuledOut: r.BreakEven.RuledOut}
	inShare := 0.75 // no traffic today: the 3:1 mix of the blended price
	if in+out > 0 {
		inShare = in / (in + out)
	}
	var forGood, last float64
	b.TokensPerMonth, forGood, last, b.Found = m.breakEven(inShare, r.peakAbs)
	if b.Found && forGood > b.TokensPerMonth {
		b.ForGoodTokensPerMonth = forGood
	}
	if b.Found {
		b.UntilTokensPerMonth = last
	}
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

// sensitivity recomputes the three scenarios' horizon totals (each with
// its candidate's models) with volume, GPU price and utilisation at 50%
// and 150%.
func (r *Report) sensitivity(p *Profile, in, out float64) {
	for _, v := range []string{"volume", "gpu_price", "utilisation"} {
		for _, f := range []float64{0.5, 1.5} {
			s := Sensitivity{Variable: v, Factor: f, Totals: map[string]float64{}}
			best := math.Inf(1)
			for _, sc := range r.Scenarios {
				if sc.cm == nil {
					continue
				}
				m := *sc.cm
				vin, vout := in, out
				switch v {
				case "volume":
					vin, vout = in*f, out*f
					m.peakRatio, m.baseRatio = r.ratiosAt(vout)
				case "gpu_price":
					m.gpuHourly *= f
					m.extra = slices.Clone(m.extra)
					for i := range m.extra {
						m.extra[i].gpuHourly *= f
					}
				case "utilisation":
					m.util = math.Min(1, m.util*f)
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
		mk := *m
		mk.peakRatio, _ = r.ratiosAt(out * k)
		if m.hasAPI {
			pt.ProprietaryUSD = mk.month(in*k, out*k, 0).TotalUSD
		}
		if m.hasOpen {
			pt.SelfHostedUSD = mk.month(in*k, out*k, 1).TotalUSD
		}
		r.Curve = append(r.Curve, pt)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
