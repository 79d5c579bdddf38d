package advise

import (
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/eval"
)

// An agency that must keep data in the EU and has no GPUs: four APIs,
// 800 M input and 200 M output tokens a month, a 75% quality floor.
// Month 1 by hand: gpt-4o 800 × 2.50 + 200 × 10 = $4,000 and gpt-4o-mini
// 800 × 0.15 + 200 × 0.60 = $240 (both US: out on compliance);
// mistral-large 800 × 2 + 200 × 6 = $2,800; mistral-small 800 × 0.20 +
// 200 × 0.60 = $280, but it scores 70% (< 75%): mistral-large is chosen,
// by compliance (without it gpt-4o-mini, 78%, would be) and quality
// (without it mistral-small). The runner-up is mistral-small, which a
// number lifts ("reaches 75%, and then wins"), not the cheaper gpt-4o-mini,
// which only lifting residency would — nothing a reader can act on.
func TestAgencyRunnerUpIsLiftable(t *testing.T) {
	p := &Profile{Name: "agency", HorizonMonths: 24,
		Compliance: Compliance{GDPR: true, Residency: "eu"},
		Quality:    Quality{MinAccuracy: 0.75},
		Workload:   Workload{InputTokensPerMonth: 800e6, OutputTokensPerMonth: 200e6},
		Candidates: Candidates{Proprietary: []ProprietaryModel{
			{Model: "gpt-4o", InputPerMillion: 2.5, OutputPerMillion: 10, Region: "us"},
			{Model: "gpt-4o-mini", InputPerMillion: 0.15, OutputPerMillion: 0.6, Region: "us"},
			{Model: "mistral-large-latest", InputPerMillion: 2, OutputPerMillion: 6, Region: "eu"},
			{Model: "mistral-small-latest", InputPerMillion: 0.2, OutputPerMillion: 0.6, Region: "EU"},
		}},
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		t.Fatal(err)
	}
	ev := &eval.Report{Suite: "tax-qa", Models: []eval.ModelSummary{
		{Model: "mistral-small-2409", Accuracy: 0.70, Cases: 100},
		{Model: "mistralai/Mistral-Large-Instruct-2411", Accuracy: 0.82, Cases: 100},
		{Model: "gpt-4o-mini", Accuracy: 0.78, Cases: 100},
	}}
	r := run(t, p, func(o *Options) { o.Evals = []*eval.Report{ev} })
	if c := candidate(t, r, "API mistral-large-latest"); !c.Chosen || !near(c.FirstMonthUSD, 2800, 1e-6) {
		t.Fatalf("choice %q: %s", r.Recommendation.Candidate, r.Recommendation.Summary)
	}
	if got := strings.Join(r.Recommendation.DecidedBy, ","); got != "compliance,quality" {
		t.Errorf("decided by %s", got)
	}
	// No open candidate: no GPUs to size, no note about sizing them.
	if notes := strings.Join(r.Notes, "\n"); strings.Contains(notes, "GPUs are sized") {
		t.Errorf("notes speak of GPUs: %s", notes)
	}
	ru := r.RunnerUp
	if ru == nil || ru.Candidate != "API mistral-small-latest" || ru.LostOn != CritQuality ||
		!strings.Contains(ru.Flip, "qualifies if mistral-small-latest reaches 75%, and then wins") {
		t.Errorf("runner-up %+v", ru)
	}
}
