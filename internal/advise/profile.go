// Package advise compares the total cost of ownership of proprietary APIs,
// self-hosted open models and a hybrid of both for one organisation, and
// recommends one, criterion by criterion: data sensitivity, customisation,
// in-house expertise, budget and compliance, with cost and quality (from
// `fulcrum eval` reports) as evidence. See docs/advise.md for the profile
// format and the formulas.
package advise

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Profile describes the organisation, its workload and its candidates.
type Profile struct {
	// Name labels the report. Default: the file name.
	Name string `yaml:"name"`
	// HorizonMonths is how far costs are projected. Default 36.
	HorizonMonths int             `yaml:"horizon_months"`
	Data          DataSensitivity `yaml:"data"`
	Customisation Customisation   `yaml:"customisation"`
	Expertise     Expertise       `yaml:"expertise"`
	Budget        Budget          `yaml:"budget"`
	Compliance    Compliance      `yaml:"compliance"`
	Workload      Workload        `yaml:"workload"`
	Candidates    Candidates      `yaml:"candidates"`
	SelfHosting   SelfHosting     `yaml:"self_hosting"`
	// Hybrid tunes the hybrid scenario.
	Hybrid Hybrid `yaml:"hybrid"`
	// Quality tunes how eval results weigh.
	Quality Quality `yaml:"quality"`
	// Workloads split the traffic into classes with their own sensitivity,
	// quality need and customisation; the advisor assigns each class to a
	// target (hybrid by workload class). Empty: derived from
	// data.private_share (a private class and the rest).
	Workloads []WorkloadClass `yaml:"workloads"`

	// file and lines locate the profile's fields (LoadProfile), for errors
	// found after it is read.
	file  string
	lines *schema
}

// Pos is "file:line" of the field at path (of its section when the field
// is not written), for an error found after the profile was read, so that
// it points where the profile's own errors do; "" when the profile was
// not read from a file.
func (p *Profile) Pos(path string) string {
	if p.file == "" {
		return ""
	}
	if l := p.lines.line(path); l > 0 {
		return fmt.Sprintf("%s:%d", p.file, l)
	}
	return p.file
}

// WorkloadClass is one class of traffic.
type WorkloadClass struct {
	Name string `yaml:"name"`
	// Share is the class's share of the volume (the shares sum to 1).
	Share float64 `yaml:"share"`
	// Sensitive says the class carries data that must stay self-hosted
	// (the classes of data.classes, e.g. payment cards).
	Sensitive bool `yaml:"sensitive"`
	// MinAccuracy is the least eval accuracy (0–1) a model serving this
	// class must reach. 0: quality.min_accuracy.
	MinAccuracy float64 `yaml:"min_accuracy"`
	// FineTuning says the class needs a fine-tuned model (besides
	// customisation.fine_tuning, which applies to every class).
	FineTuning bool `yaml:"fine_tuning"`
}

// DataSensitivity says which sensitive data the traffic carries.
type DataSensitivity struct {
	// Classes are the sensitive data classes present, e.g. phi, pii,
	// payment_card, financial, trade_secret.
	Classes []string `yaml:"classes"`
	// PrivateShare is the share of traffic (0–1) carrying them, which must
	// stay on self-hosted models. Measured usage can raise it.
	PrivateShare float64 `yaml:"private_share"`
}

// Customisation says how far the models must be adapted.
type Customisation struct {
	// FineTuning: the models must be fine-tuned. Only open models and APIs
	// that offer hosted fine-tuning (candidates.proprietary[].fine_tuning)
	// qualify.
	FineTuning bool `yaml:"fine_tuning"`
	// Adapters (LoRA) need open weights: APIs do not qualify.
	Adapters         bool `yaml:"adapters"`
	DomainVocabulary bool `yaml:"domain_vocabulary"`
	// TrainingTokensPerMonth is the fine-tuning volume, priced at an API's
	// hosted training price.
	TrainingTokensPerMonth float64 `yaml:"training_tokens_per_month"`
	// SelfHostedTrainingUSDMonth is the monthly cost of fine-tuning open
	// models in-house (GPU time), added to any self-hosting candidate.
	SelfHostedTrainingUSDMonth float64 `yaml:"self_hosted_training_usd_month"`
}

// Expertise is the staff the organisation has for running models.
type Expertise struct {
	MLStaff    float64 `yaml:"ml_staff"`
	InfraStaff float64 `yaml:"infra_staff"`
	// StaffCostUSDMonth is the fully loaded monthly cost of one person.
	StaffCostUSDMonth float64 `yaml:"staff_cost_usd_month"`
}

// Budget limits spending.
type Budget struct {
	// MonthlyLimitUSD is the most the organisation will spend in a month.
	// 0: no limit.
	MonthlyLimitUSD float64 `yaml:"monthly_limit_usd"`
	// CapexPossible says whether one-off spending (set-up, hardware) is
	// possible.
	CapexPossible bool `yaml:"capex_possible"`
}

// Compliance lists regulatory constraints.
type Compliance struct {
	HIPAA  bool `yaml:"hipaa"`
	GDPR   bool `yaml:"gdpr"`
	PCIDSS bool `yaml:"pci_dss"`
	// Residency, when set (e.g. "eu"), is where all data must be
	// processed: proprietary candidates in another region are excluded.
	Residency string `yaml:"residency"`
}

// Workload is the traffic, at the start of the horizon.
type Workload struct {
	InputTokensPerMonth  float64 `yaml:"input_tokens_per_month"`
	OutputTokensPerMonth float64 `yaml:"output_tokens_per_month"`
	// PeakRPS is the peak requests per second GPUs must be sized for.
	PeakRPS float64 `yaml:"peak_rps"`
	// OutputTokensPerRequest turns the peak into output tokens/s.
	OutputTokensPerRequest float64 `yaml:"output_tokens_per_request"`
	// BaseRPS is the request rate outside the peak hours. With spillover
	// (docs/hybrid.md) GPUs can be sized for it and the peak's overflow
	// sent to an API: set it, with PeakHoursPerDay, to cost a "self-host
	// base + API overflow" candidate for every API and open model pair.
	// 0: no such candidate.
	BaseRPS float64 `yaml:"base_rps"`
	// PeakHoursPerDay is how many hours a day the load is at PeakRPS (at
	// BaseRPS the rest of the day). Required with base_rps.
	PeakHoursPerDay float64 `yaml:"peak_hours_per_day"`
	// GrowthPerMonth is the monthly volume growth, e.g. 0.05 for 5%.
	GrowthPerMonth float64 `yaml:"growth_per_month"`
	// Latency is "interactive" or "batch". Default interactive.
	Latency string `yaml:"latency"`
}

// Candidates are the models considered. The first of each kind is the
// one the scenarios use; the others are priced for comparison.
type Candidates struct {
	Proprietary []ProprietaryModel `yaml:"proprietary"`
	Open        []OpenModel        `yaml:"open"`
}

// ProprietaryModel is an API model.
type ProprietaryModel struct {
	Model string `yaml:"model"`
	// Prices in USD per million tokens. Both zero (left out): taken from
	// the catalogue; one alone is refused.
	InputPerMillion  float64 `yaml:"input_per_million"`
	OutputPerMillion float64 `yaml:"output_per_million"`
	// Region where the API processes data ("us", "eu", or a cloud region
	// such as "eu-central-1", which lies in "eu"); empty: unknown.
	Region string `yaml:"region"`
	// EvalModel is the model's name in eval reports. Default: Model (or,
	// with a gateway config, any gateway model whose upstream is Model).
	EvalModel string `yaml:"eval_model"`
	// FineTuning is the vendor's hosted fine-tuning offer, when it has one.
	FineTuning *HostedFineTuning `yaml:"fine_tuning"`
}

// HostedFineTuning is an API vendor's fine-tuning offer, in USD per million
// tokens: training, and inference on the fine-tuned model (zero: the base
// prices).
type HostedFineTuning struct {
	TrainingPerMillion float64 `yaml:"training_per_million"`
	InputPerMillion    float64 `yaml:"input_per_million"`
	OutputPerMillion   float64 `yaml:"output_per_million"`
}

// OpenModel is an open-weight model with its serving set-up.
type OpenModel struct {
	Model string `yaml:"model"`
	// GPU names the GPU type, e.g. "H100 80GB".
	GPU string `yaml:"gpu"`
	// GPUHourlyUSD is the rent (or amortised cost) of one GPU-hour.
	GPUHourlyUSD float64 `yaml:"gpu_hourly_usd"`
	// GPUsPerReplica is how many GPUs one serving replica needs. Default 1.
	GPUsPerReplica int `yaml:"gpus_per_replica"`
	// OutputTokensPerSecond is one replica's throughput, measured or
	// published.
	OutputTokensPerSecond float64 `yaml:"output_tokens_per_second"`
	// Source says where the throughput figure comes from.
	Source    string `yaml:"source"`
	EvalModel string `yaml:"eval_model"`
}

// SelfHosting holds the costs of running models in-house.
type SelfHosting struct {
	// StaffFTE is the staff time self-hosting needs, in full-time people,
	// at Expertise.StaffCostUSDMonth. Default 0.5.
	StaffFTE *float64 `yaml:"staff_fte"`
	// SetupUSD is the one-off cost of setting up serving.
	SetupUSD float64 `yaml:"setup_usd"`
	// OtherFixedUSDMonth covers monitoring, storage, support contracts.
	OtherFixedUSDMonth float64 `yaml:"other_fixed_usd_month"`
	// TargetUtilisation is the busiest a replica may be at peak (headroom
	// for latency). Default 0.7.
	TargetUtilisation float64 `yaml:"target_utilisation"`
	// MinReplicas is the smallest fleet (2 for redundancy). Default 1.
	MinReplicas int `yaml:"min_replicas"`
}

// Hybrid tunes the hybrid scenario.
type Hybrid struct {
	// RoutedShare is the share of traffic a router sends to the open model
	// besides the private share (e.g. easy prompts). Default 0.
	RoutedShare float64 `yaml:"routed_share"`
}

// Quality tunes the weight of eval results.
type Quality struct {
	// MaxGapPP is the largest accuracy gap, in percentage points, by which
	// an open model may trail the API model it replaces on traffic that
	// could go to that API. Default 5; 0 allows none (the open model must
	// be at least as accurate), so it is a pointer: 0 was read as unset
	// and became 5.
	MaxGapPP *float64 `yaml:"max_gap_pp"`
	// MinAccuracy is the least eval accuracy (0–1) of any model serving
	// traffic. 0: none.
	MinAccuracy float64 `yaml:"min_accuracy"`
}

// LoadProfile reads and checks a profile file. Its errors are
// ProfileErrors, each naming the file, line and field path.
func LoadProfile(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("advise: %w", err)
	}
	p, err := parseProfile(path, b)
	if err != nil {
		return nil, fmt.Errorf("advise: %w", err)
	}
	if p.Name == "" {
		p.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return p, nil
}

// ParseProfile decodes a profile, applies defaults and checks it; every
// error names its field and line (ProfileErrors).
func ParseProfile(b []byte) (*Profile, error) {
	return parseProfile("", b)
}

func parseProfile(file string, b []byte) (*Profile, error) {
	var p Profile
	s, errs := checkSchema(b)
	switch {
	case len(errs) > 0:
		// Types and field names first: a profile misread is not checked.
	default:
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&p); err != nil {
			// The schema walk lets nothing through that the decoder
			// refuses; should it, the decoder's message still says why.
			errs = ProfileErrors{{Msg: err.Error()}}
			break
		}
		p.applyDefaults()
		if err := p.validate(); err != nil {
			errs = err.(ProfileErrors)
		}
		// The volumes may be 0 (no traffic yet: the API costs nothing) but
		// must be written: a profile without them is unfinished, not empty.
		for _, k := range []string{"workload.input_tokens_per_month", "workload.output_tokens_per_month"} {
			if _, ok := s.lines[k]; !ok {
				errs = append(errs, &FieldError{Path: k, Msg: "required (0 for no traffic)"})
			}
		}
		for _, e := range errs {
			e.Line = s.line(e.Path)
		}
		slices.SortStableFunc(errs, func(a, b *FieldError) int { return a.Line - b.Line })
	}
	if len(errs) == 0 {
		p.file, p.lines = file, s
		return &p, nil
	}
	for _, e := range errs {
		e.File = file
	}
	return &p, errs
}

func (p *Profile) applyDefaults() {
	if p.HorizonMonths == 0 {
		p.HorizonMonths = 36
	}
	if p.SelfHosting.StaffFTE == nil {
		half := 0.5
		p.SelfHosting.StaffFTE = &half
	}
	if p.SelfHosting.TargetUtilisation == 0 {
		p.SelfHosting.TargetUtilisation = 0.7
	}
	if p.SelfHosting.MinReplicas == 0 {
		p.SelfHosting.MinReplicas = 1
	}
	if p.Workload.Latency == "" {
		p.Workload.Latency = "interactive"
	}
	if p.Quality.MaxGapPP == nil {
		five := 5.0
		p.Quality.MaxGapPP = &five
	}
	for i := range p.Candidates.Open {
		if p.Candidates.Open[i].GPUsPerReplica == 0 {
			p.Candidates.Open[i].GPUsPerReplica = 1
		}
	}
}

type number struct {
	path string
	v    float64
}

// numbers are the profile's numeric fields with their paths.
func (p *Profile) numbers() []number {
	w := p.Workload
	ns := []number{
		{"data.private_share", p.Data.PrivateShare},
		{"customisation.training_tokens_per_month", p.Customisation.TrainingTokensPerMonth},
		{"customisation.self_hosted_training_usd_month", p.Customisation.SelfHostedTrainingUSDMonth},
		{"expertise.ml_staff", p.Expertise.MLStaff}, {"expertise.infra_staff", p.Expertise.InfraStaff},
		{"expertise.staff_cost_usd_month", p.Expertise.StaffCostUSDMonth},
		{"budget.monthly_limit_usd", p.Budget.MonthlyLimitUSD},
		{"workload.input_tokens_per_month", w.InputTokensPerMonth}, {"workload.output_tokens_per_month", w.OutputTokensPerMonth},
		{"workload.peak_rps", w.PeakRPS}, {"workload.output_tokens_per_request", w.OutputTokensPerRequest},
		{"workload.base_rps", w.BaseRPS}, {"workload.peak_hours_per_day", w.PeakHoursPerDay},
		{"workload.growth_per_month", w.GrowthPerMonth},
		{"self_hosting.staff_fte", *p.SelfHosting.StaffFTE}, {"self_hosting.setup_usd", p.SelfHosting.SetupUSD},
		{"self_hosting.other_fixed_usd_month", p.SelfHosting.OtherFixedUSDMonth},
		{"self_hosting.target_utilisation", p.SelfHosting.TargetUtilisation},
		{"hybrid.routed_share", p.Hybrid.RoutedShare},
		{"quality.max_gap_pp", *p.Quality.MaxGapPP}, {"quality.min_accuracy", p.Quality.MinAccuracy},
	}
	for i, c := range p.Candidates.Proprietary {
		path := fmt.Sprintf("candidates.proprietary[%d].", i)
		ns = append(ns, number{path + "input_per_million", c.InputPerMillion}, number{path + "output_per_million", c.OutputPerMillion})
		if f := c.FineTuning; f != nil {
			ns = append(ns, number{path + "fine_tuning.training_per_million", f.TrainingPerMillion},
				number{path + "fine_tuning.input_per_million", f.InputPerMillion}, number{path + "fine_tuning.output_per_million", f.OutputPerMillion})
		}
	}
	for i, c := range p.Candidates.Open {
		path := fmt.Sprintf("candidates.open[%d].", i)
		ns = append(ns, number{path + "gpu_hourly_usd", c.GPUHourlyUSD}, number{path + "output_tokens_per_second", c.OutputTokensPerSecond})
	}
	for i, w := range p.Workloads {
		path := fmt.Sprintf("workloads[%d].", i)
		ns = append(ns, number{path + "share", w.Share}, number{path + "min_accuracy", w.MinAccuracy})
	}
	return ns
}

// validate checks the values; its error is ProfileErrors (lines unset).
func (p *Profile) validate() error {
	var errs ProfileErrors
	add := func(path, f string, a ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(f, a...)})
	}
	share := func(path string, v float64) {
		if v < 0 || v > 1 {
			add(path, "must be between 0 and 1, not %g", v)
		}
	}
	if p.HorizonMonths < 1 || p.HorizonMonths > 120 {
		add("horizon_months", "must be between 1 and 120")
	}
	share("data.private_share", p.Data.PrivateShare)
	if len(p.Data.Classes) > 0 && p.Data.PrivateShare == 0 && len(p.Workloads) == 0 {
		add("data.private_share", "sensitive classes are listed: say which share of traffic carries them")
	}
	w := p.Workload
	// A number YAML reads as .nan or .inf would turn every cost into NaN.
	for _, f := range p.numbers() {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			add(f.path, "must be a finite number, not %g", f.v)
		}
	}
	if w.InputTokensPerMonth < 0 {
		add("workload.input_tokens_per_month", "must not be negative, not %g", w.InputTokensPerMonth)
	}
	if w.OutputTokensPerMonth < 0 {
		add("workload.output_tokens_per_month", "must not be negative, not %g", w.OutputTokensPerMonth)
	}
	if w.PeakRPS < 0 || w.OutputTokensPerRequest < 0 {
		add("workload.peak_rps", "must not be negative")
	}
	if w.PeakRPS > 0 && w.OutputTokensPerRequest == 0 {
		add("workload.output_tokens_per_request", "required with peak_rps (to size GPUs for the peak)")
	}
	if w.BaseRPS < 0 {
		add("workload.base_rps", "must not be negative")
	}
	if w.BaseRPS > 0 {
		if w.PeakRPS <= w.BaseRPS {
			add("workload.peak_rps", "must be above base_rps (%g) to size for base load and spill the peak", w.BaseRPS)
		}
		if w.PeakHoursPerDay <= 0 || w.PeakHoursPerDay >= 24 {
			add("workload.peak_hours_per_day", "required with base_rps, between 0 and 24 (exclusive), not %g", w.PeakHoursPerDay)
		}
	}
	if w.GrowthPerMonth < -0.5 || w.GrowthPerMonth > 1 {
		add("workload.growth_per_month", "must be between -0.5 and 1")
	}
	if w.Latency != "interactive" && w.Latency != "batch" {
		add("workload.latency", "must be interactive or batch")
	}
	if len(p.Candidates.Proprietary)+len(p.Candidates.Open) == 0 {
		add("candidates", "name at least one proprietary or open model")
	}
	seen := map[string]string{}
	dup := func(path, model string) {
		// Candidates of a kind are told apart by model name.
		if prev, ok := seen[model]; ok && model != "" {
			add(path, "%q is also %s", model, prev)
		}
		seen[model] = path
	}
	for i, c := range p.Candidates.Proprietary {
		if c.Model == "" {
			add(fmt.Sprintf("candidates.proprietary[%d].model", i), "required")
		}
		dup(fmt.Sprintf("candidates.proprietary[%d].model", i), c.Model)
		if c.InputPerMillion < 0 || c.OutputPerMillion < 0 {
			add(fmt.Sprintf("candidates.proprietary[%d]", i), "prices must not be negative")
		} else if (c.InputPerMillion == 0) != (c.OutputPerMillion == 0) {
			// The one left out would be $0, not the catalogue's.
			add(fmt.Sprintf("candidates.proprietary[%d]", i), "give both input_per_million and output_per_million, or neither to take both from the price catalogue")
		}
		if f := c.FineTuning; f != nil && (f.TrainingPerMillion < 0 || f.InputPerMillion < 0 || f.OutputPerMillion < 0) {
			add(fmt.Sprintf("candidates.proprietary[%d].fine_tuning", i), "prices must not be negative")
		}
	}
	seen = map[string]string{} // an API and an open model may share a name (hosted Llama)
	for i, c := range p.Candidates.Open {
		path := fmt.Sprintf("candidates.open[%d]", i)
		if c.Model == "" {
			add(path+".model", "required")
		}
		dup(path+".model", c.Model)
		if c.GPUHourlyUSD <= 0 {
			add(path+".gpu_hourly_usd", "required and positive")
		}
		if c.OutputTokensPerSecond <= 0 {
			add(path+".output_tokens_per_second", "required and positive (measured or published)")
		}
		if c.GPUsPerReplica < 1 {
			add(path+".gpus_per_replica", "must be at least 1")
		}
	}
	if p.Expertise.StaffCostUSDMonth < 0 || *p.SelfHosting.StaffFTE < 0 || p.SelfHosting.SetupUSD < 0 || p.SelfHosting.OtherFixedUSDMonth < 0 {
		add("self_hosting", "costs and staff must not be negative")
	}
	if len(p.Candidates.Open) > 0 && *p.SelfHosting.StaffFTE > 0 && p.Expertise.StaffCostUSDMonth == 0 {
		// Only self-hosting is staffed: a profile with no open candidate
		// needs no staff cost.
		add("expertise.staff_cost_usd_month", "required when self_hosting.staff_fte is above 0 (an open candidate is costed)")
	}
	if p.SelfHosting.MinReplicas < 1 {
		add("self_hosting.min_replicas", "must be at least 1, not %d", p.SelfHosting.MinReplicas)
	}
	if u := p.SelfHosting.TargetUtilisation; u <= 0 || u > 1 {
		add("self_hosting.target_utilisation", "must be in (0, 1]")
	}
	if *p.Quality.MaxGapPP < 0 {
		add("quality.max_gap_pp", "must not be negative, not %g", *p.Quality.MaxGapPP)
	}
	if p.Budget.MonthlyLimitUSD < 0 {
		add("budget.monthly_limit_usd", "must not be negative (0: no limit), not %g", p.Budget.MonthlyLimitUSD)
	}
	share("hybrid.routed_share", p.Hybrid.RoutedShare)
	share("quality.min_accuracy", p.Quality.MinAccuracy)
	if p.Customisation.TrainingTokensPerMonth < 0 || p.Customisation.SelfHostedTrainingUSDMonth < 0 {
		add("customisation", "training volume and cost must not be negative")
	}
	if len(p.Workloads) > 0 {
		sum := 0.0
		names := map[string]bool{}
		for i, w := range p.Workloads {
			path := fmt.Sprintf("workloads[%d]", i)
			if w.Name == "" {
				add(path+".name", "required")
			} else if names[w.Name] {
				add(path+".name", "%q is used twice", w.Name)
			}
			names[w.Name] = true
			if w.Share <= 0 || w.Share > 1 {
				add(path+".share", "must be in (0, 1], not %g", w.Share)
			}
			share(path+".min_accuracy", w.MinAccuracy)
			sum += w.Share
		}
		// The classes say which traffic is sensitive: data.private_share
		// and data.classes must agree with them. Before, a private share
		// the classes did not mark was dropped (30% PII went to the API),
		// with a note blaming an audit log no one had read.
		sens := 0.0
		for _, w := range p.Workloads {
			if w.Sensitive {
				sens += w.Share
			}
		}
		if ps := p.Data.PrivateShare; ps > 0 && math.Abs(ps-sens) > 1e-6 {
			add("data.private_share", "%s of the traffic carries sensitive data, but the workload classes marked sensitive: true make up %s: mark the classes that carry it, or leave private_share out (the classes say it)",
				strconv.FormatFloat(ps, 'g', 10, 64), strconv.FormatFloat(sens, 'g', 10, 64))
		} else if len(p.Data.Classes) > 0 && sens == 0 {
			add("data.classes", "sensitive classes are listed, but no workload class is marked sensitive: true: mark the classes that carry them")
		}
		if math.Abs(sum-1) > 1e-6 {
			// Ten digits: 0.1 + 0.6 + 0.35 is 1.0499999999999998.
			add("workloads", "shares must sum to 1, not %s", strconv.FormatFloat(sum, 'g', 10, 64))
		}
		if len(p.Workloads) > 8 {
			add("workloads", "at most 8 classes")
		}
	}
	if len(errs) == 0 {
		return nil // not a nil ProfileErrors, which is a non-nil error
	}
	return errs
}
