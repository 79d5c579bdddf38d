package advise

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Criterion names, in the order the advisor applies them (docs/advise.md).
const (
	CritDataSensitivity = "data sensitivity"
	CritCompliance      = "compliance"
	CritQuality         = "quality"
	CritCustomisation   = "customisation"
	CritBudget          = "budget"
	CritCost            = "cost"
	CritExpertise       = "in-house expertise"
)

// stages are the criteria that can exclude a candidate, in order: hard
// constraints, then quality, customisation and budget. Cost then picks the
// cheapest candidate left.
var stages = []string{CritDataSensitivity, CritCompliance, CritQuality, CritCustomisation, CritBudget}

// Candidate is one way of serving all the traffic: everything on one API
// model, everything on one open model, a hybrid of one of each with each
// workload class assigned to one of them, or a split that gives each class
// its own target among several API models (and at most one open model).
type Candidate struct {
	Name string `json:"name"`
	// Kind is proprietary, self_hosted or hybrid (splits are hybrids).
	Kind      string `json:"kind"`
	APIModel  string `json:"api_model,omitempty"`
	OpenModel string `json:"open_model,omitempty"`
	// APIModels are, for a split, the API models its classes go to (in
	// class order); APIModel is then empty.
	APIModels []string `json:"api_models,omitempty"`
	// SelfHostedShare is the share of traffic on the open model.
	SelfHostedShare float64 `json:"self_hosted_share"`
	// OpenModels are, for a candidate with a fleet of each of two open
	// models, those models (in profile order); OpenModel is then empty.
	OpenModels []string `json:"open_models,omitempty"`
	// Assignment maps each workload class to the model serving it.
	Assignment []Assignment `json:"assignment"`
	// Costs over the horizon; FirstMonthUSD excludes set-up.
	TotalUSD         float64 `json:"total_usd"`
	FirstMonthUSD    float64 `json:"first_month_usd"`
	LastMonthUSD     float64 `json:"last_month_usd"`
	OverBudgetMonths int     `json:"over_budget_months"`
	GPUsAtStart      int     `json:"gpus_at_start"`
	// FineTuningUSDMonth is the monthly fine-tuning cost included.
	FineTuningUSDMonth float64 `json:"fine_tuning_usd_month,omitempty"`
	// Scores are the eval accuracies of the models it uses (absent when
	// no eval result matched).
	Scores []ModelScore `json:"scores"`
	// Overflow is set on a "self-host base + API overflow" candidate: the
	// open model's GPUs are sized for the base load and, with spillover,
	// what exceeds them at peak goes to APIModel.
	Overflow *Overflow `json:"overflow,omitempty"`
	// Exclusions are every criterion that rules it out (empty: eligible).
	Exclusions []Exclusion `json:"exclusions"`
	Chosen     bool        `json:"chosen,omitempty"`

	cm     *costModel
	months []Month
	// maxMonthUSD is the dearest month against the monthly limit: set-up
	// excluded when capital spending is possible (see budgeted).
	maxMonthUSD float64
	// setupOver is the set-up when month 1 is over the limit only because
	// of it, paid from the operating budget (no capital spending); else 0.
	setupOver float64
}

// Overflow describes a fleet sized for base load with the peak's overflow
// on an API (month 1 figures).
type Overflow struct {
	BaseRPS         float64 `json:"base_rps"`
	PeakRPS         float64 `json:"peak_rps"`
	PeakHoursPerDay float64 `json:"peak_hours_per_day"`
	// Share is the share of the tokens that overflow to the API.
	Share float64 `json:"share"`
	// APIUSDMonth is what the overflow costs on the API in month 1.
	APIUSDMonth float64 `json:"api_usd_month"`
	// PeakSizedGPUs is what the same open model needs sized for the peak
	// (the self-hosted candidate), against GPUsAtStart.
	PeakSizedGPUs int `json:"peak_sized_gpus"`
}

// Assignment is where one workload class goes.
type Assignment struct {
	Workload string  `json:"workload"`
	Share    float64 `json:"share"`
	Model    string  `json:"model"`
	// Target is proprietary or self_hosted.
	Target string `json:"target"`
	// FirstMonthUSD is the class's part of the candidate's month 1 (set-up
	// excluded; the parts sum to it): its API tokens at its model's prices
	// (fine-tuned where it must be), its share of that model's training,
	// and of the self-hosted fleet's cost (GPUs, staff, other fixed costs,
	// in-house training) in proportion to the tokens it sends the fleet.
	FirstMonthUSD float64 `json:"first_month_usd"`
}

// ModelScore is a model's accuracy from the eval reports.
type ModelScore struct {
	Model    string  `json:"model"`
	Accuracy float64 `json:"accuracy"`
	Cases    int     `json:"cases"`
	// EvalModels are the eval result names that matched the model.
	EvalModels []string `json:"eval_models"`
	// passed is the answered cases passed over the matched results, kept
	// as a count so that Accuracy is one division: 103 of 139 and 23 of 29
	// are 126 of 168, 75%, where 139 × 0.741… + 23 came to 125.99999999999999.
	passed float64
}

// Exclusion is one criterion ruling a candidate out.
type Exclusion struct {
	Criterion string `json:"criterion"`
	Reason    string `json:"reason"`
	// Flip says what would lift the exclusion, when a number can.
	Flip string `json:"flip,omitempty"`
	// lift changes the inputs as Flip says, so that the runner-up's flip
	// can be checked by deciding again.
	lift func(p *Profile, scores map[string]*ModelScore)
}

// apiModels are the API models the candidate sends traffic to (an
// overflow candidate's included).
func (c *Candidate) apiModels() []string {
	if len(c.APIModels) > 0 {
		return c.APIModels
	}
	if c.APIModel != "" {
		return []string{c.APIModel}
	}
	return nil
}

// openModels are the open models the candidate self-hosts.
func (c *Candidate) openModels() []string {
	if len(c.OpenModels) > 0 {
		return c.OpenModels
	}
	if c.OpenModel != "" {
		return []string{c.OpenModel}
	}
	return nil
}

// fleetsOf sets m's fleets for a candidate with two open models: the
// first carries its classes (and any routed share), each further one
// its classes; each pays in-house training when a class that must be
// fine-tuned is on it (or adapters are needed).
func (r *Report) fleetsOf(p *Profile, c *Candidate, ws []workload, m *costModel) {
	find := func(model string) OpenModel {
		for _, o := range p.Candidates.Open {
			if o.Model == model {
				return o
			}
		}
		return OpenModel{}
	}
	training := func(model string) float64 {
		for i, as := range c.Assignment {
			if as.Target == ScenarioSelfHosted && as.Model == model && (ws[i].fineTune || p.Customisation.Adapters) {
				return p.Customisation.SelfHostedTrainingUSDMonth
			}
		}
		return 0
	}
	first := c.OpenModels[0]
	m.open, m.hasOpen = find(first), true
	m.gpuHourly, m.selfTraining = m.open.GPUHourlyUSD, training(first)
	for _, model := range c.OpenModels[1:] {
		f := fleet{open: find(model), training: training(model)}
		f.gpuHourly = f.open.GPUHourlyUSD
		for _, as := range c.Assignment {
			if as.Target == ScenarioSelfHosted && as.Model == model {
				f.share += as.Share
			}
		}
		m.extra = append(m.extra, f)
	}
}

// Excluded reports whether any criterion rules the candidate out.
func (c *Candidate) Excluded() bool { return len(c.Exclusions) > 0 }

func (c *Candidate) excludedBy(crit string) bool {
	for _, e := range c.Exclusions {
		if e.Criterion == crit {
			return true
		}
	}
	return false
}

func (c *Candidate) exclude(crit, reason, flip string) {
	c.Exclusions = append(c.Exclusions, Exclusion{Criterion: crit, Reason: reason, Flip: flip})
}

// excludeLift is exclude with the change of inputs that Flip describes.
func (c *Candidate) excludeLift(crit, reason, flip string, lift func(*Profile, map[string]*ModelScore)) {
	c.Exclusions = append(c.Exclusions, Exclusion{Criterion: crit, Reason: reason, Flip: flip, lift: lift})
}

// raiseTo is a lift that sets model's eval accuracy to acc.
func raiseTo(model string, acc float64) func(*Profile, map[string]*ModelScore) {
	return func(_ *Profile, s map[string]*ModelScore) {
		if sc := s[model]; sc != nil {
			sc.Accuracy = math.Max(sc.Accuracy, acc)
		}
	}
}

// workload is a resolved workload class.
type workload struct {
	WorkloadClass
	fineTune bool
}

// workloads resolves the profile's classes, or derives them from the
// private share.
func (r *Report) workloads(p *Profile) []workload {
	var ws []workload
	if len(p.Workloads) > 0 {
		priv := 0.0
		for _, w := range p.Workloads {
			ws = append(ws, workload{WorkloadClass: w, fineTune: w.FineTuning || p.Customisation.FineTuning})
			if w.Sensitive {
				priv += w.Share
			}
		}
		if r.auditPrivate > priv+1e-9 {
			r.Notes = append(r.Notes, fmt.Sprintf("The audit log shows %.0f%% of requests kept private, more than the %.0f%% of the sensitive workload classes: the classes' shares are used as given; review them.", 100*r.auditPrivate, 100*priv))
		}
		r.PrivateShare = priv
		return ws
	}
	ft := p.Customisation.FineTuning
	if r.PrivateShare > 0 {
		ws = append(ws, workload{WorkloadClass: WorkloadClass{Name: "sensitive", Share: r.PrivateShare, Sensitive: true}, fineTune: ft})
	}
	if r.PrivateShare < 1 {
		ws = append(ws, workload{WorkloadClass: WorkloadClass{Name: "general", Share: 1 - r.PrivateShare}, fineTune: ft})
	}
	return ws
}

// enumerate builds every candidate: each API model alone, each open model
// alone, and for each pair every assignment of the workload classes that
// uses both (sensitive classes always on the open model).
func (r *Report) enumerate(p *Profile, ws []workload) []*Candidate {
	var out []*Candidate
	all := func(model, target string) []Assignment {
		var as []Assignment
		for _, w := range ws {
			as = append(as, Assignment{Workload: w.Name, Share: w.Share, Model: model, Target: target})
		}
		return as
	}
	for _, a := range r.Proprietary {
		out = append(out, &Candidate{Name: "API " + a.Model, Kind: ScenarioProprietary, APIModel: a.Model, Assignment: all(a.Model, ScenarioProprietary)})
	}
	for _, o := range r.Open {
		out = append(out, &Candidate{Name: "self-hosted " + o.Model, Kind: ScenarioSelfHosted, OpenModel: o.Model, SelfHostedShare: 1, Assignment: all(o.Model, ScenarioSelfHosted)})
	}
	if w := p.Workload; w.BaseRPS > 0 {
		for _, a := range r.Proprietary {
			for _, o := range r.Open {
				out = append(out, &Candidate{Name: fmt.Sprintf("self-host base %s + API overflow %s", o.Model, a.Model), Kind: ScenarioHybrid,
					APIModel: a.Model, OpenModel: o.Model, SelfHostedShare: 1, Assignment: all(o.Model, ScenarioSelfHosted),
					Overflow: &Overflow{BaseRPS: w.BaseRPS, PeakRPS: w.PeakRPS, PeakHoursPerDay: w.PeakHoursPerDay}})
			}
		}
	}
	n := len(ws)
	for _, a := range r.Proprietary {
		for _, o := range r.Open {
			for mask := 0; mask < 1<<n; mask++ { // bit set: on the open model
				var as []Assignment
				share, onAPI := 0.0, 0
				for i, w := range ws {
					// A sensitive class on the API is costed too, and ruled
					// out by data sensitivity: so removing the constraint
					// (or checking what it cost) needs no other candidates.
					open := mask&(1<<i) != 0
					if open {
						share += w.Share
						as = append(as, Assignment{Workload: w.Name, Share: w.Share, Model: o.Model, Target: ScenarioSelfHosted})
					} else {
						onAPI++
						as = append(as, Assignment{Workload: w.Name, Share: w.Share, Model: a.Model, Target: ScenarioProprietary})
					}
				}
				if onAPI == 0 {
					continue
				}
				share += p.Hybrid.RoutedShare * (1 - share)
				if share <= 0 || share >= 1 {
					continue
				}
				var names []string
				for _, x := range as {
					if x.Target == ScenarioSelfHosted {
						names = append(names, x.Workload)
					}
				}
				name := fmt.Sprintf("hybrid %s + %s", o.Model, a.Model)
				if len(names) > 0 && len(ws) > 1 {
					name += " (" + strings.Join(names, ", ") + " self-hosted)"
				}
				out = append(out, &Candidate{Name: name, Kind: ScenarioHybrid, APIModel: a.Model, OpenModel: o.Model, SelfHostedShare: share, Assignment: as})
			}
		}
	}
	sp, search := r.splits(p, ws)
	r.splitSearch = search
	return append(out, sp...)
}

// cost prices a candidate over the horizon with its own models.
func (r *Report) cost(p *Profile, c *Candidate, ws []workload, peakRatio, in, out float64) {
	m := &costModel{
		staff: *p.SelfHosting.StaffFTE * p.Expertise.StaffCostUSDMonth, other: p.SelfHosting.OtherFixedUSDMonth,
		setup: p.SelfHosting.SetupUSD, util: p.SelfHosting.TargetUtilisation, minRep: p.SelfHosting.MinReplicas,
		peakRatio: peakRatio,
	}
	// Fine-tuning is priced class by class: a class that must be fine-tuned
	// is served by the API at its fine-tuned prices (training charged when
	// any such class is on the API), the other API classes at the base
	// prices; the open model pays in-house training only when a class that
	// must be fine-tuned is on it (or adapters are needed). Each API class
	// is priced at its own model's prices (a split sends classes to several
	// APIs), and the candidate's API price is the share-weighted mean over
	// the classes on APIs (for an overflow candidate, the non-sensitive
	// classes, which are the ones that spill). Training is charged once per
	// API model that serves a class that must be fine-tuned.
	var apiW, apiIn, apiOut float64
	ftOnOpen := false
	pin := make([]float64, len(ws)) // each class's API price, 0 when not on an API
	pout := make([]float64, len(ws))
	trained := map[string]float64{} // API model → monthly training
	for i, as := range c.Assignment {
		w := ws[i]
		model, onAPI := as.Model, as.Target == ScenarioProprietary
		if c.Overflow != nil && !w.Sensitive {
			model, onAPI = c.APIModel, true
		}
		if as.Target == ScenarioSelfHosted && w.fineTune {
			ftOnOpen = true
		}
		a := r.apiPrice(model)
		if !onAPI || a == nil {
			continue
		}
		pin[i], pout[i] = a.InputPerMillion, a.OutputPerMillion
		if ft := r.apiFineTuning(p, model); w.fineTune && ft != nil {
			// Each fine-tuned price left at zero is the base price (as the
			// customisation finding states it).
			trained[model] = p.Customisation.TrainingTokensPerMonth * ft.TrainingPerMillion / 1e6
			pin[i], pout[i] = orPrice(ft.InputPerMillion, pin[i]), orPrice(ft.OutputPerMillion, pout[i])
		}
		apiW += w.Share
		apiIn += w.Share * pin[i]
		apiOut += w.Share * pout[i]
	}
	if a := r.apiPrice(c.APIModel); a != nil {
		// Base prices when no class is on it (what the break-even uses).
		m.pin, m.pout, m.hasAPI = a.InputPerMillion, a.OutputPerMillion, true
	}
	if apiW > 0 {
		m.pin, m.pout, m.hasAPI = apiIn/apiW, apiOut/apiW, true
	}
	for _, model := range c.apiModels() {
		m.apiTraining += trained[model]
	}
	for i := range p.Candidates.Open {
		if p.Candidates.Open[i].Model == c.OpenModel {
			m.open, m.hasOpen, m.gpuHourly = p.Candidates.Open[i], true, p.Candidates.Open[i].GPUHourlyUSD
			if ftOnOpen || p.Customisation.Adapters {
				m.selfTraining = p.Customisation.SelfHostedTrainingUSDMonth
			}
		}
	}
	if len(c.OpenModels) > 1 {
		r.fleetsOf(p, c, ws, m)
	}
	if c.Overflow != nil {
		m.overflow, m.baseRatio, m.peakFrac = true, r.baseRatio, p.Workload.PeakHoursPerDay/24
		for _, w := range ws {
			if w.Sensitive {
				m.sensShare += w.Share
			}
		}
	}
	c.cm = m
	if r.quick {
		// A what-if keeps only the figures: one buffer for every candidate.
		r.scratch = m.projectInto(r.scratch[:0], in, out, p.Workload.GrowthPerMonth, c.SelfHostedShare, p.HorizonMonths)
		c.months = r.scratch
		defer func() { c.months = nil }()
	} else {
		c.months = m.project(in, out, p.Workload.GrowthPerMonth, c.SelfHostedShare, p.HorizonMonths)
	}
	if c.Overflow != nil {
		f := c.months[0]
		c.SelfHostedShare = 1 - f.OverflowShare
		c.Overflow.Share, c.Overflow.APIUSDMonth = f.OverflowShare, f.APIUSD
		peakSized := *m
		peakSized.overflow = false
		c.Overflow.PeakSizedGPUs = peakSized.month(in, out, 1).GPUs
	}
	n := len(c.months)
	c.TotalUSD = c.months[n-1].CumulativeUSD
	c.FirstMonthUSD = c.months[0].TotalUSD - c.months[0].SetupUSD
	c.LastMonthUSD = c.months[n-1].TotalUSD
	c.GPUsAtStart = c.months[0].GPUs
	c.FineTuningUSDMonth = c.months[0].FineTuningUSD
	capex := p.Budget.CapexPossible
	for _, mo := range c.months {
		if lim := p.Budget.MonthlyLimitUSD; lim > 0 && overLimit(budgeted(mo, capex), lim) {
			c.OverBudgetMonths++
		}
	}
	c.maxMonthUSD = maxMonth(c.months, capex)
	if lim, f := p.Budget.MonthlyLimitUSD, c.months[0]; lim > 0 && !capex && f.SetupUSD > 0 {
		if overLimit(f.TotalUSD, lim) && !overLimit(f.TotalUSD-f.SetupUSD, lim) {
			c.setupOver = f.SetupUSD
		}
	}
	if !r.quick {
		r.classCosts(p, c, ws, pin, pout, trained, in, out)
	}
}

// classCosts splits the candidate's month 1 (set-up excluded) among its
// workload classes: each class pays for its own API tokens at its prices,
// its share (by volume) of the training of the API model serving it, and
// the self-hosted fleet's cost in proportion to the tokens it sends the
// fleet (GPUs, staff and other fixed costs are paid once, by all the
// classes on the fleet together). pin and pout are each class's API
// prices; trained each API model's monthly training.
func (r *Report) classCosts(p *Profile, c *Candidate, ws []workload, pin, pout []float64, trained map[string]float64, in, out float64) {
	f := c.months[0]
	// apiFrac and openFrac are the shares of all tokens the class sends to
	// its API and to the fleet.
	apiFrac, openFrac := make([]float64, len(ws)), make([]float64, len(ws))
	sens := 0.0
	for _, w := range ws {
		if w.Sensitive {
			sens += w.Share
		}
	}
	routed := 0.0
	if c.Kind == ScenarioHybrid && len(c.openModels()) > 0 && c.Overflow == nil {
		routed = p.Hybrid.RoutedShare
	}
	for i, as := range c.Assignment {
		s := ws[i].Share
		switch {
		case c.Overflow != nil:
			if !ws[i].Sensitive && sens < 1 {
				apiFrac[i] = s * f.OverflowShare / (1 - sens)
			}
			openFrac[i] = s - apiFrac[i]
		case as.Target == ScenarioProprietary:
			apiFrac[i], openFrac[i] = s*(1-routed), s*routed
		default:
			openFrac[i] = s
		}
	}
	// Training, per model, among the classes that must be fine-tuned on it.
	ftShare := map[string]float64{}
	apiTraining := 0.0
	for i, as := range c.Assignment {
		model := as.Model
		if c.Overflow != nil {
			model = c.APIModel
		}
		if _, ok := trained[model]; ok && ws[i].fineTune && apiFrac[i] > 0 {
			ftShare[model] += ws[i].Share
		}
	}
	for model, t := range trained {
		if ftShare[model] > 0 {
			apiTraining += t
		}
	}
	if f.FineTuningUSD < apiTraining-1e-9 { // no API traffic this month
		apiTraining = 0
	}
	fleet := f.TotalUSD - f.SetupUSD - f.APIUSD - apiTraining
	onFleet := 0.0
	for _, v := range openFrac {
		onFleet += v
	}
	// With several fleets, each one's month 1 and the tokens sent to it.
	fleetOf := func(i int) string {
		if as := c.Assignment[i]; as.Target == ScenarioSelfHosted {
			return as.Model
		}
		return c.cm.open.Model
	}
	fleetCost, onFleetOf := map[string]float64{}, map[string]float64{}
	if m := c.cm; len(m.extra) > 0 {
		for j, fm := range m.fleetMonths(c.SelfHostedShare, out) {
			fleetCost[c.OpenModels[j]] = fm.TotalUSD
		}
		for i := range c.Assignment {
			onFleetOf[fleetOf(i)] += openFrac[i]
		}
	}
	for i := range c.Assignment {
		v := apiFrac[i] * (in*pin[i] + out*pout[i]) / 1e6
		model := c.Assignment[i].Model
		if c.Overflow != nil {
			model = c.APIModel
		}
		if sh := ftShare[model]; sh > 0 && apiTraining > 0 && ws[i].fineTune && apiFrac[i] > 0 {
			v += trained[model] * ws[i].Share / sh
		}
		switch {
		case len(c.cm.extra) > 0:
			// Each class pays for the fleet it is on (routed traffic is
			// on the first).
			if f := fleetOf(i); onFleetOf[f] > 0 {
				v += fleetCost[f] * openFrac[i] / onFleetOf[f]
			}
		case onFleet > 0:
			v += fleet * openFrac[i] / onFleet
		}
		c.Assignment[i].FirstMonthUSD = v
	}
}

func (r *Report) apiPrice(model string) *APIPrice {
	for i := range r.Proprietary {
		if r.Proprietary[i].Model == model {
			return &r.Proprietary[i]
		}
	}
	return nil
}

func (r *Report) apiFineTuning(p *Profile, model string) *HostedFineTuning {
	for _, c := range p.Candidates.Proprietary {
		if c.Model == model {
			return c.FineTuning
		}
	}
	return nil
}

// constrain records every exclusion of every candidate, criterion by
// criterion.
func (r *Report) constrain(p *Profile, cs []*Candidate, ws []workload) {
	regs := regulations(p)
	// Hard constraints.
	for _, c := range cs {
		for _, m := range c.apiModels() {
			if a := r.apiPrice(m); a != nil && !a.Allowed {
				c.exclude(CritCompliance, fmt.Sprintf("sends traffic to %s: %s", a.Model, a.Why), "")
			}
		}
		for i, as := range c.Assignment {
			if ws[i].Sensitive && as.Target == ScenarioProprietary {
				what := orList(p.Data.Classes, "sensitive data")
				reason := fmt.Sprintf("sends the %s class (%.0f%% of traffic, %s) to a proprietary API", as.Workload, 100*as.Share, what)
				if len(regs) > 0 {
					reason += " under " + strings.Join(regs, ", ")
				}
				c.exclude(CritDataSensitivity, reason, "")
			}
		}
	}
	r.dropIgnored(cs)
	// Quality: absolute minimums, then the gap to the API an open model
	// replaces, measured only against APIs the hard constraints allow.
	// takes says whether an API may serve class w at all: a class that
	// must be fine-tuned needs the API's hosted fine-tuning, and adapters
	// need open weights. Where it may not, the open model replaces no API
	// on that class, and the gap to one does not count.
	takes := func(model string, w workload) bool {
		return !p.Customisation.Adapters && (!w.fineTune || r.apiFineTuning(p, model) != nil)
	}
	for _, c := range cs {
		for i, as := range c.Assignment {
			sc := r.score(as.Model)
			minAcc := ws[i].MinAccuracy
			if minAcc == 0 {
				minAcc = p.Quality.MinAccuracy
			}
			if sc != nil && minAcc > 0 && sc.Accuracy < minAcc {
				c.excludeLift(CritQuality, fmt.Sprintf("%s scores %.1f%% in the evals, below the %.1f%% the %s class needs", as.Model, 100*sc.Accuracy, 100*minAcc, as.Workload),
					fmt.Sprintf("qualifies if %s reaches %s%%", as.Model, pct(minAcc)), raiseTo(as.Model, minAcc))
				break
			}
		}
		if c.Overflow != nil && !c.excludedBy(CritQuality) {
			// The overflow of the classes that may leave is served by the API.
			sc := r.score(c.APIModel)
			for _, w := range ws {
				minAcc := w.MinAccuracy
				if minAcc == 0 {
					minAcc = p.Quality.MinAccuracy
				}
				if !w.Sensitive && sc != nil && minAcc > 0 && sc.Accuracy < minAcc {
					c.excludeLift(CritQuality, fmt.Sprintf("%s, which takes the peak's overflow, scores %.1f%% in the evals, below the %.1f%% the %s class needs", c.APIModel, 100*sc.Accuracy, 100*minAcc, w.Name),
						fmt.Sprintf("qualifies if %s reaches %s%%", c.APIModel, pct(minAcc)), raiseTo(c.APIModel, minAcc))
					break
				}
			}
		}
		if c.Kind == ScenarioProprietary {
			continue
		}
		// The gap matters for the classes that could go to the API: the
		// hybrid's own, or for self-hosting everything the most accurate
		// API the hard constraints allow that may take the class. A gap
		// "at most" the limit qualifies: 100 × (0.88 − 0.83) is
		// 5.000000000000004 in floating point, which ruled out a model
		// exactly 5 pts behind against a 5-pt limit.
		for i, as := range c.Assignment {
			if as.Target != ScenarioSelfHosted || ws[i].Sensitive {
				continue
			}
			// The class's own open model (with two fleets, each class's).
			open := r.score(as.Model)
			if open == nil {
				continue
			}
			var ref *ModelScore
			if c.Kind == ScenarioHybrid {
				// Its own APIs: the most accurate one that may take the
				// class (a hybrid has one).
				for _, m := range c.apiModels() {
					if sc := r.score(m); sc != nil && takes(m, ws[i]) && (ref == nil || sc.Accuracy > ref.Accuracy) {
						ref = sc
					}
				}
			} else {
				ref = r.bestAllowedAPIScore(cs, func(model string) bool { return takes(model, ws[i]) })
			}
			if ref == nil {
				continue
			}
			if gap := 100 * (ref.Accuracy - open.Accuracy); gap > *p.Quality.MaxGapPP+1e-9 {
				c.excludeLift(CritQuality, fmt.Sprintf("%s trails %s by %.1f pp on the %s class, more than quality.max_gap_pp %g", as.Model, ref.Model, gap, as.Workload, *p.Quality.MaxGapPP),
					fmt.Sprintf("qualifies if the quality gap is at most %g pts (now %.1f)", *p.Quality.MaxGapPP, gap),
					raiseTo(as.Model, ref.Accuracy-(*p.Quality.MaxGapPP-1e-6)/100))
				break
			}
		}
	}
	r.dropIgnored(cs)
	// Customisation.
	for _, c := range cs {
		if c.Overflow != nil {
			for _, w := range ws {
				if w.Sensitive {
					continue // never overflows
				}
				if p.Customisation.Adapters {
					c.exclude(CritCustomisation, fmt.Sprintf("the peak's overflow goes to %s, and adapters (LoRA) need open weights", c.APIModel), "")
					break
				}
				if w.fineTune && r.apiFineTuning(p, c.APIModel) == nil {
					c.exclude(CritCustomisation, fmt.Sprintf("the %s class must be fine-tuned, its overflow goes to %s and the profile declares no hosted fine-tuning for it", w.Name, c.APIModel),
						"qualifies once its hosted fine-tuning offer is declared (candidates.proprietary[].fine_tuning, with the training price)")
					break
				}
			}
		}
		for i, as := range c.Assignment {
			if as.Target != ScenarioProprietary {
				continue
			}
			if p.Customisation.Adapters {
				c.exclude(CritCustomisation, fmt.Sprintf("adapters (LoRA) need open weights; %s has none", as.Model), "")
				break
			}
			if ws[i].fineTune && r.apiFineTuning(p, as.Model) == nil {
				reason := fmt.Sprintf("the %s class must be fine-tuned and the profile declares no hosted fine-tuning for %s", as.Workload, as.Model)
				if r.fineTuned != nil {
					if in, out, name, ok := r.fineTuned(as.Model); ok {
						reason += fmt.Sprintf(" (the price catalogue lists %s at $%.2f / $%.2f per million; its training price is not listed)", name, in, out)
					}
				}
				c.exclude(CritCustomisation, reason, "qualifies once its hosted fine-tuning offer is declared (candidates.proprietary[].fine_tuning, with the training price)")
				break
			}
		}
	}
	r.dropIgnored(cs)
	// Budget: only when some candidate left stays within it.
	if lim := p.Budget.MonthlyLimitUSD; lim > 0 && !r.ignore[CritBudget] {
		within := false
		for _, c := range cs {
			if !c.Excluded() && c.OverBudgetMonths == 0 {
				within = true
			}
		}
		for _, c := range cs {
			if within && c.OverBudgetMonths > 0 {
				// Rounded up, so that the limit quoted does let it in.
				need := math.Ceil(c.maxMonthUSD)
				reason := fmt.Sprintf("exceeds the $%s monthly limit in %d of %d months (up to $%s)", money(lim), c.OverBudgetMonths, p.HorizonMonths, money(need))
				if c.setupOver > 0 {
					// Said where it matters: without it month 1 is within.
					reason += fmt.Sprintf(", month 1 with its $%s set-up, paid from the operating budget since capital spending is not possible (budget.capex_possible: false)", money(c.setupOver))
				}
				c.excludeLift(CritBudget, reason,
					fmt.Sprintf("qualifies with a monthly limit of $%s", money(need)),
					func(p *Profile, _ map[string]*ModelScore) { p.Budget.MonthlyLimitUSD = need })
			}
		}
		if !within {
			r.Notes = append(r.Notes, fmt.Sprintf("Every eligible candidate exceeds the $%s monthly budget: the cheapest is recommended anyway.", money(lim)))
		}
	}
	for _, c := range cs {
		// Always present in JSON, empty rather than absent.
		c.Scores = []ModelScore{}
		if c.Exclusions == nil {
			c.Exclusions = []Exclusion{}
		}
		for _, m := range append(slices.Clone(c.apiModels()), c.openModels()...) {
			if sc := r.score(m); sc != nil {
				c.Scores = append(c.Scores, *sc)
			}
		}
	}
}

// pct formats a share as a percentage with up to two decimals, never
// rounding a threshold down ("70", "72.35").
func pct(v float64) string {
	return strconv.FormatFloat(math.Ceil(100*v*100-1e-9)/100, 'f', -1, 64)
}

// dropIgnored removes the exclusions of the criteria a what-if ignores.
func (r *Report) dropIgnored(cs []*Candidate) {
	if len(r.ignore) == 0 {
		return
	}
	for _, c := range cs {
		c.Exclusions = slices.DeleteFunc(c.Exclusions, func(e Exclusion) bool { return r.ignore[e.Criterion] })
	}
}

// budgeted is what a month spends against the monthly limit. Set-up is
// one-off spending: an organisation that can spend capital
// (budget.capex_possible) pays it from that, outside the monthly operating
// limit; one that cannot pays it from the operating budget in month 1, so
// it counts against that month's limit like any other cost (GPUs are
// rented, so set-up is the only capital item).
func budgeted(mo Month, capex bool) float64 {
	if capex {
		return mo.TotalUSD - mo.SetupUSD
	}
	return mo.TotalUSD
}

// maxMonth is the dearest month against the monthly limit (see budgeted).
func maxMonth(ms []Month, capex bool) float64 {
	v := 0.0
	for _, m := range ms {
		v = math.Max(v, budgeted(m, capex))
	}
	return v
}

// bestAllowedAPIScore is the most accurate measured API model not ruled
// out by hard constraints (the alternative an open model is compared to),
// among those ok accepts (nil: all).
func (r *Report) bestAllowedAPIScore(cs []*Candidate, ok func(model string) bool) *ModelScore {
	var best *ModelScore
	for _, c := range cs {
		if c.Kind != ScenarioProprietary || c.excludedBy(CritCompliance) || ok != nil && !ok(c.APIModel) {
			continue
		}
		if s := r.score(c.APIModel); s != nil && (best == nil || s.Accuracy > best.Accuracy) {
			best = s
		}
	}
	return best
}

func regulations(p *Profile) []string {
	var regs []string
	for _, f := range []struct {
		on   bool
		name string
	}{{p.Compliance.HIPAA, "HIPAA"}, {p.Compliance.GDPR, "GDPR"}, {p.Compliance.PCIDSS, "PCI-DSS"}} {
		if f.on {
			regs = append(regs, f.name)
		}
	}
	return regs
}

// cheapest is the candidate with the lowest horizon total among those ok
// accepts (ties: the earlier one), or nil.
func cheapest(cs []*Candidate, ok func(*Candidate) bool) *Candidate {
	var best *Candidate
	for _, c := range cs {
		if ok(c) && (best == nil || c.TotalUSD < best.TotalUSD && !sameCost(c.TotalUSD, best.TotalUSD)) {
			best = c
		}
	}
	return best
}

// sameCost says two costs are equal but for floating-point rounding (a
// part in 10⁹; summing months errs by about 10⁻¹⁴): a tie, which the
// candidate listed first wins. Compared as floats, an A100 at $1.39 for
// 730 h and 0.1 FTE at $10,000 came to $2,014.6999999999998 against
// gpt-4o's $2,014.70 on the same tokens, and self-hosting won a tie the
// report then said the API, listed first, had won.
func sameCost(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// overLimit says a month's cost is over a monthly limit, a cost equal to
// it but for rounding not being over.
func overLimit(cost, limit float64) bool {
	return cost > limit && !sameCost(cost, limit)
}
