package advise

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fulcrumhq/fulcrum/internal/eval"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// Worked cases from published figures (docs/advise.md, shared REFERENCE):
// one H100 at $2.69/h serving an 8B model at 3,400 output tokens/s, GPT-4o
// at $2.50 / $10 per million, and GPT-4's launch price of $0.03 / $0.06 per
// 1K tokens.
func TestWorkedFormulas(t *testing.T) {
	tests := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"8B on H100, 100% busy, $/M output", SelfHostedPerMillion(2.69, 1, 3400, 1), 0.22, 0.005},
		{"8B on H100, 30% busy, $/M output", SelfHostedPerMillion(2.69, 1, 3400, 0.3), 0.73, 0.005},
		{"one H100 for a month", GPUMonthlyUSD(2.69, 1), 1963.70, 1e-9},
		{"GPT-4o blended 3:1", Blended(2.50, 10), 4.375, 1e-12},
		{"break-even, one H100 vs GPT-4o, tokens/month", BreakEvenTokens(1963.70, 4.375), 449e6, 0.5e6},
		{"GPT-4 launch blended 3:1 ($30/$60 per M)", Blended(0.03*1000, 0.06*1000), 37.5, 1e-12},
		{"break-even, one H100 vs GPT-4 launch price", BreakEvenTokens(1963.70, 37.5), 52.365e6, 0.001e6},
		{"70B on 2×H100 at $3.99/h, 1,728 tok/s", SelfHostedPerMillion(3.99, 2, 1728, 1), 1.2828, 0.0001},
	}
	for _, tt := range tests {
		if !near(tt.got, tt.want, tt.tol) {
			t.Errorf("%s = %v, want %v ± %v", tt.name, tt.got, tt.want, tt.tol)
		}
	}
}

// workedProfile is one H100 (no staff, no other costs) against GPT-4o on a
// 3:1 workload.
func workedProfile(in, out float64) *Profile {
	zero := 0.0
	p := &Profile{
		Name:     "worked",
		Workload: Workload{InputTokensPerMonth: in, OutputTokensPerMonth: out},
		Candidates: Candidates{
			Proprietary: []ProprietaryModel{{Model: "gpt-4o", InputPerMillion: 2.5, OutputPerMillion: 10}},
			Open:        []OpenModel{{Model: "llama-3.1-8b", GPUHourlyUSD: 2.69, GPUsPerReplica: 1, OutputTokensPerSecond: 3400}},
		},
		SelfHosting: SelfHosting{StaffFTE: &zero},
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		panic(err)
	}
	return p
}

func run(t *testing.T, p *Profile, opts ...func(*Options)) *Report {
	t.Helper()
	o := Options{Profile: p, Now: func() time.Time { return time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC) }}
	for _, f := range opts {
		f(&o)
	}
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWorkedTCO(t *testing.T) {
	// 300 M input + 100 M output tokens a month: $750 + $1,000 on GPT-4o.
	r := run(t, workedProfile(300e6, 100e6))
	prop, self := r.Scenario(ScenarioProprietary), r.Scenario(ScenarioSelfHosted)
	if got := prop.Months[0].TotalUSD; !near(got, 1750, 1e-6) {
		t.Errorf("GPT-4o month = %v, want 1750", got)
	}
	if got := self.Months[0].TotalUSD - self.Months[0].SetupUSD; !near(got, 1963.70, 1e-6) || self.Months[0].GPUs != 1 {
		t.Errorf("self-hosted month = %v on %d GPUs, want 1963.70 on 1", got, self.Months[0].GPUs)
	}
	// Average 100 M / 2,628,000 s = 38.05 tok/s of 3,400: 1.12% busy.
	if u := self.Months[0].Utilisation; !near(u, 100e6/SecondsPerMonth/3400, 1e-12) {
		t.Errorf("utilisation %v", u)
	}
	if !r.BreakEven.Found || !near(r.BreakEven.TokensPerMonth, 1963.70/4.375*1e6, 1) {
		t.Errorf("break-even %+v, want ≈449 M", r.BreakEven)
	}
	if got := prop.TotalUSD; !near(got, 36*1750, 1e-6) {
		t.Errorf("36-month API total %v", got)
	}
	// GPT-4 at its launch price: 100 M in + 50 M out = $3,000 + $3,000.
	p := workedProfile(100e6, 50e6)
	p.Candidates.Proprietary[0] = ProprietaryModel{Model: "gpt-4", InputPerMillion: 0.03 * 1000, OutputPerMillion: 0.06 * 1000}
	r = run(t, p)
	if got := r.Scenario(ScenarioProprietary).Months[0].TotalUSD; !near(got, 6000, 1e-6) {
		t.Errorf("GPT-4 month = %v, want 6000", got)
	}
	if r.Recommendation.Scenario != ScenarioSelfHosted {
		t.Errorf("at $6,000 a month vs $1,963.70 the recommendation is %q", r.Recommendation.Scenario)
	}
}

// Prices left at zero come from the catalogue.
func TestCatalogueprices(t *testing.T) {
	p := workedProfile(300e6, 100e6)
	p.Candidates.Proprietary[0].InputPerMillion, p.Candidates.Proprietary[0].OutputPerMillion = 0, 0
	price := func(model string, u llm.Usage) (float64, bool) {
		if model != "gpt-4o" {
			return 0, false
		}
		return (float64(u.InputTokens)*2.5 + float64(u.OutputTokens)*10) / 1e6, true
	}
	r := run(t, p, func(o *Options) { o.Price = price })
	if a := r.Proprietary[0]; a.InputPerMillion != 2.5 || a.OutputPerMillion != 10 || a.BlendedPerMillion != 4.375 {
		t.Errorf("prices %+v", a)
	}
	if _, err := Run(context.Background(), Options{Profile: p}); err == nil {
		t.Error("no prices and no catalogue: want an error")
	}
}

// Property: every scenario's monthly cost rises (never falls) with volume.
func TestCostRisesWithVolume(t *testing.T) {
	for _, name := range exampleProfiles {
		p := loadExample(t, name)
		r := run(t, p)
		m := r.Scenario(ScenarioSelfHosted).cm
		if m == nil {
			continue
		}
		for _, share := range []float64{0, 0.35, 1} {
			prev := -1.0
			for k := 0.0; k <= 4; k += 0.05 {
				c := m.month(r.InputTokens*k, r.OutputTokens*k, share).TotalUSD
				if c < prev-1e-9 {
					t.Fatalf("%s share %.2f: cost falls from %v to %v at volume ×%.2f", name, share, prev, c, k)
				}
				prev = c
			}
		}
		for i := 1; i < len(r.Curve); i++ {
			a, b := r.Curve[i-1], r.Curve[i]
			if b.ProprietaryUSD < a.ProprietaryUSD || b.SelfHostedUSD < a.SelfHostedUSD {
				t.Errorf("%s: curve falls at point %d", name, i)
			}
		}
	}
}

// Property: the break-even volume is where the curves cross: just below it
// the API is cheaper, at and above it self-hosting is no dearer.
func TestBreakEvenIsWhereCurvesCross(t *testing.T) {
	cases := []struct {
		name    string
		in, out float64
		mutate  func(*Profile)
	}{
		{"worked", 300e6, 100e6, nil},
		{"output heavy", 100e6, 300e6, nil},
		{"staff and fixed costs", 300e6, 100e6, func(p *Profile) {
			fte := 1.0
			p.SelfHosting.StaffFTE, p.Expertise.StaffCostUSDMonth, p.SelfHosting.OtherFixedUSDMonth = &fte, 12000, 800
		}},
		{"spiky with staff: many replicas", 300e6, 100e6, func(p *Profile) {
			fte := 1.0
			p.Workload.PeakRPS, p.Workload.OutputTokensPerRequest = 4, 400
			p.SelfHosting.StaffFTE, p.Expertise.StaffCostUSDMonth = &fte, 12000
		}},
		{"two replicas minimum", 30e6, 10e6, func(p *Profile) { p.SelfHosting.MinReplicas = 2 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := workedProfile(tc.in, tc.out)
			if tc.mutate != nil {
				tc.mutate(p)
			}
			r := run(t, p)
			if !r.BreakEven.Found {
				t.Fatalf("no break-even: %s", r.BreakEven.Note)
			}
			m := r.baseModel(p, r.Candidates, nil, r.PeakOutputTokensPerSecond/r.OutputTokens)
			at := func(v float64) (prop, self float64) {
				// As when only the profile's volumes change: the peak rate stays.
				k := v / (r.InputTokens + r.OutputTokens)
				mk := *m
				mk.peakRatio, _ = r.ratiosAt(r.OutputTokens * k)
				return mk.month(r.InputTokens*k, r.OutputTokens*k, 0).TotalUSD, mk.month(r.InputTokens*k, r.OutputTokens*k, 1).TotalUSD
			}
			be := r.BreakEven.TokensPerMonth
			if pr, se := at(be * 0.999); pr >= se {
				t.Errorf("just below break-even (%s): API $%.2f is not cheaper than self-hosted $%.2f", tokens(be), pr, se)
			}
			if pr, se := at(be * 1.0001); pr < se {
				t.Errorf("just above break-even (%s): API $%.2f is still cheaper than self-hosted $%.2f", tokens(be), pr, se)
			}
		})
	}
}

// Property: a profile with regulated data never gets a recommendation that
// sends that data to a proprietary API, however cheap the API is.
func TestRegulatedDataStaysSelfHosted(t *testing.T) {
	for _, name := range exampleProfiles {
		for _, share := range []float64{0.01, 0.3, 0.99, 1} {
			for _, apiPrice := range []float64{0.001, 1, 100} {
				p := loadExample(t, name)
				p.Workloads = nil // the private share below applies
				p.Data.Classes = []string{"phi"}
				p.Data.PrivateShare = share
				for i := range p.Candidates.Proprietary {
					p.Candidates.Proprietary[i].InputPerMillion = apiPrice
					p.Candidates.Proprietary[i].OutputPerMillion = apiPrice
				}
				r := run(t, p)
				rec := r.Recommendation.Scenario
				s := r.Scenario(rec)
				if rec == ScenarioProprietary || rec == "" || s.SelfHostedShare < share {
					t.Errorf("%s, %.0f%% private, API $%g/M: recommended %q with %.0f%% self-hosted", name, 100*share, apiPrice, rec, 100*s.SelfHostedShare)
				}
				if ds := r.Criteria[0]; ds.Name != "data sensitivity" || ds.Favours == ScenarioProprietary {
					t.Errorf("%s: data sensitivity criterion %+v", name, ds)
				}
			}
		}
	}
}

var exampleProfiles = []string{"hospital", "startup", "content-platform", "bank", "research-lab"}

func loadExample(t *testing.T, name string) *Profile {
	t.Helper()
	p, err := LoadProfile("../../examples/profiles/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExampleProfiles(t *testing.T) {
	want := map[string]struct {
		rec     string
		decided string
	}{
		"hospital":         {ScenarioSelfHosted, "data sensitivity"},
		"startup":          {ScenarioProprietary, "cost"},
		"content-platform": {ScenarioProprietary, "cost"},
		"bank":             {ScenarioHybrid, "data sensitivity"},
		"research-lab":     {ScenarioProprietary, "customisation"},
	}
	for _, name := range exampleProfiles {
		r := run(t, loadExample(t, name))
		w := want[name]
		if r.Recommendation.Scenario != w.rec || strings.Join(r.Recommendation.DecidedBy, ",") != w.decided {
			t.Errorf("%s: recommended %q decided by %v; want %q decided by %q\n%s", name, r.Recommendation.Scenario,
				r.Recommendation.DecidedBy, w.rec, w.decided, r.Recommendation.Summary)
		}
		if len(r.Criteria) != 7 || len(r.Sensitivity) != 6 || len(r.Scenario(ScenarioProprietary).Months) != 36 {
			t.Errorf("%s: %d criteria, %d sensitivity rows", name, len(r.Criteria), len(r.Sensitivity))
		}
	}
	// The bank's data must stay in the EU: the US API is excluded.
	r := run(t, loadExample(t, "bank"))
	if r.Proprietary[0].Allowed || !r.Proprietary[1].Allowed || !strings.Contains(r.Recommendation.Summary, "mistral-large-latest") {
		t.Errorf("bank residency: %+v; %s", r.Proprietary, r.Recommendation.Summary)
	}
}

type fakeUsage struct{ mu *MeasuredUsage }

func (f fakeUsage) MonthlyUsage(_ context.Context, days int) (*MeasuredUsage, error) {
	if days != 30 {
		return nil, fmt.Errorf("days %d", days)
	}
	return f.mu, nil
}

func TestMeasuredUsageAndEvals(t *testing.T) {
	p := workedProfile(1, 1)
	p.Workload.InputTokensPerMonth, p.Workload.OutputTokensPerMonth = 1e6, 1e6
	// 30 days: 1.2 B in, 0.4 B out; 40% of requests kept private.
	mu := &MeasuredUsage{Days: 30, InputTokens: 1_200_000_000, OutputTokens: 400_000_000, Requests: 1_000_000, PrivateRequests: 400_000, PeakRPS: 2}
	gpt, mix := "gpt-4o", "llama-3.1-8b"
	ev := &eval.Report{Suite: "gsm8k", Models: []eval.ModelSummary{
		{Model: gpt, Accuracy: 0.857, Cases: 1319}, {Model: mix, Accuracy: 0.638, Cases: 1319},
	}}
	r := run(t, p, func(o *Options) { o.Usage = fakeUsage{mu}; o.Evals = []*eval.Report{ev} })
	scale := HoursPerMonth / (24 * 30.0)
	if !near(r.InputTokens, 1.2e9*scale, 1) || !near(r.OutputTokens, 0.4e9*scale, 1) || r.VolumeSource != "measured over 30 days" {
		t.Errorf("volumes %v %v from %q", r.InputTokens, r.OutputTokens, r.VolumeSource)
	}
	if r.PrivateShare != 0.4 || len(r.Notes) == 0 {
		t.Errorf("private share %v, notes %v", r.PrivateShare, r.Notes)
	}
	if r.QualityGapPP == nil || !near(*r.QualityGapPP, 21.9, 1e-9) {
		t.Fatalf("gap %v", r.QualityGapPP)
	}
	// Self-hosting everything would be cheapest, but the 21.9 pp gap keeps
	// the non-private traffic on the API.
	if r.Recommendation.Scenario != ScenarioHybrid || !strings.Contains(strings.Join(r.Recommendation.DecidedBy, ","), "quality") {
		t.Errorf("recommended %q by %v: %s", r.Recommendation.Scenario, r.Recommendation.DecidedBy, r.Recommendation.Summary)
	}
}

func TestReportFormats(t *testing.T) {
	r := run(t, loadExample(t, "hospital"))
	for _, f := range []string{FormatTable, FormatMarkdown, FormatJSON, FormatHTML} {
		var buf bytes.Buffer
		if err := Write(&buf, r, f); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "Self-host llama-3.1-8b") {
			t.Errorf("%s output lacks the recommendation", f)
		}
		switch f {
		case FormatJSON:
			var back Report
			if err := jsonUnmarshal(buf.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r, &back, cmpopts.IgnoreUnexported(Report{}, Scenario{}, Candidate{}, Exclusion{})); diff != "" {
				t.Errorf("JSON round trip (-want +got):\n%s", diff)
			}
		case FormatHTML:
			checkHTML(t, buf.Bytes(), r.BreakEven.Found)
		}
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, run(t, workedProfile(300e6, 100e6))); err != nil {
		t.Fatal(err)
	}
	checkHTML(t, buf.Bytes(), true)
	if err := Write(io.Discard, r, "pdf"); err == nil {
		t.Error("unknown format accepted")
	}
}

func checkHTML(t *testing.T, b []byte, wantBreakEven bool) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	counts := map[string]int{}
	breakEven := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("HTML is not well-formed: %v", err)
		}
		if el, ok := tok.(xml.StartElement); ok {
			counts[el.Name.Local]++
			for _, a := range el.Attr {
				if a.Name.Local == "id" && a.Value == "break-even" {
					breakEven = true
				}
				if (a.Name.Local == "src" || a.Name.Local == "href") && strings.Contains(a.Value, "//") {
					t.Errorf("external resource %q", a.Value)
				}
			}
		}
	}
	if counts["svg"] != 1 || counts["polyline"] != 2 || counts["table"] < 5 || breakEven != wantBreakEven {
		t.Errorf("elements %v, break-even marked %v", counts, breakEven)
	}
}

func TestProfileErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"workload: {output_tokens_per_month: 1}\n", "candidates"},
		{"workload: {}\ncandidates: {proprietary: [{model: x, input_per_million: 1, output_per_million: 1}]}\n", "workload.output_tokens_per_month"},
		{"data: {classes: [phi]}\nworkload: {output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}]}\n", "data.private_share"},
		{"workload: {output_tokens_per_month: 1, peak_rps: 3}\ncandidates: {proprietary: [{model: x}]}\n", "output_tokens_per_request"},
		{"workload: {output_tokens_per_month: 1}\ncandidates: {open: [{model: x, gpu_hourly_usd: 1}]}\n", "output_tokens_per_second"},
		{"workload: {output_tokens_per_month: 1}\ncandidates: {open: [{model: x, gpu_hourly_usd: 1, output_tokens_per_second: 9}]}\n", "staff_cost_usd_month"},
		{"wrkload: {}\n", `line 1: wrkload: unknown field; did you mean "workload"?`},
		// Before: "field peak not found in type advise.Workload".
		{"workload: {input_tokens_per_month: 1, output_tokens_per_month: 1, peak: 4}\ncandidates: {proprietary: [{model: x}]}\n", `line 1: workload.peak: unknown field; workload has input_tokens_per_month, output_tokens_per_month, peak_rps,`},
		{"workload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {open: [{model: x, gpu_hourly: 2}]}\n", `line 2: candidates.open[0].gpu_hourly: unknown field; did you mean "gpu_hourly_usd"?`},
		// Before, an empty file was refused as "EOF".
		{"", "the profile is empty"},
		{"# only a comment\n", "the profile is empty"},
		{"workload: {output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}]}\n", "workload.input_tokens_per_month: required (0 for no traffic)"},
		// Before, a negative input volume was reported under output_tokens_per_month.
		{"workload: {input_tokens_per_month: -5, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}]}\n", "workload.input_tokens_per_month: must not be negative, not -5"},
		{"workload: {input_tokens_per_month: 1, output_tokens_per_month: .nan}\ncandidates: {proprietary: [{model: x}]}\n", "workload.output_tokens_per_month: must be a finite number, not NaN"},
		{"workload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x, input_per_million: .inf}]}\n", "candidates.proprietary[0].input_per_million: must be a finite number"},
		{"workload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}]}\nquality: {max_gap_pp: -3}\n", "quality.max_gap_pp: must not be negative"},
		{"workload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}]}\nbudget: {monthly_limit_usd: -1}\n", "budget.monthly_limit_usd: must not be negative"},
		{"workload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}]}\nworkloads: [{name: a, share: 0.5}, {name: b, share: 0.3}]\n", "workloads: shares must sum to 1, not 0.8"},
		// Said as written, not as the float sum reads: "not 1.0499999999999998".
		{"workload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}]}\nworkloads: [{name: a, share: 0.1}, {name: b, share: 0.6}, {name: c, share: 0.35}]\n", "line 3: workloads: shares must sum to 1, not 1.05"},
		// The classes and data.private_share must agree. Before, a 30%
		// private share that no class marked was dropped: all traffic went
		// to the API, and a note blamed the audit log.
		{"data: {classes: [pii], private_share: 0.3}\nworkload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}]}\nworkloads: [{name: a, share: 0.8}, {name: b, share: 0.2}]\n",
			"line 1: data.private_share: 0.3 of the traffic carries sensitive data, but the workload classes marked sensitive: true make up 0"},
		{"data: {classes: [pii], private_share: 0.3}\nworkload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}]}\nworkloads: [{name: a, share: 0.8, sensitive: true}, {name: b, share: 0.2}]\n",
			"data.private_share: 0.3 of the traffic carries sensitive data, but the workload classes marked sensitive: true make up 0.8"},
		{"data: {classes: [pii]}\nworkload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}]}\nworkloads: [{name: a, share: 0.8}, {name: b, share: 0.2}]\n",
			"line 1: data.classes: sensitive classes are listed, but no workload class is marked sensitive: true"},
		{"workload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}, {model: x}]}\n", `candidates.proprietary[1].model: "x" is also candidates.proprietary[0].model`},
		// Before, a price given alone left the other at $0: gpt-4o at
		// $2.50 input and no output price cost $2,500 a month on 1 B + 1 B
		// tokens instead of $12,500, and nothing said so.
		{"workload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: gpt-4o, input_per_million: 2.5}]}\n",
			"candidates.proprietary[0]: give both input_per_million and output_per_million, or neither"},
		// Before, a negative min_replicas was taken as given (no floor).
		{"workload: {input_tokens_per_month: 1, output_tokens_per_month: 1}\ncandidates: {proprietary: [{model: x}]}\nself_hosting: {min_replicas: -2}\n", "self_hosting.min_replicas: must be at least 1, not -2"},
	}
	for _, tt := range tests {
		_, err := ParseProfile([]byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseProfile(%q) = %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
