package advise

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Input-only traffic (no output tokens: classification, embeddings-like
// prompts) must be decided, not hang. GPUs are sized by output throughput,
// so one replica carries any volume; the break-even search divided by the
// output rate (a replica's tokens a month became +Inf, the step where
// ranges join NaN) and looped for ever: `fulcrum advise` never returned.
// --format json failed on it too ("json: unsupported value: +Inf").
// By hand, 1,000 M input tokens a month, 12 months, every class fine-tuned
// on 2 B training tokens a month:
//
//	gpt-4o-mini fine-tuned: 1,000 × $0.30 + 2,000 × $3 = $6,300; $75,600
//	llama-3.1-8b: one A100 $1,014.70 + 0.25 × $12,000 + $300 + $1,500
//	  in-house training = $5,814.70; 12 months + $4,000 = $73,776.40
//
// The API's training alone costs more a month than self-hosting: the
// break-even is "at any volume" (it read "from -6.177e+08 tokens"). The
// API wins below 12 × ($6,000 + $0.30 V / 1e6) = $73,776.40: 493.4 M.
func TestInputOnlyTrafficIsDecided(t *testing.T) {
	quarter := 0.25
	p := &Profile{Name: "input only", HorizonMonths: 12,
		Customisation: Customisation{FineTuning: true, TrainingTokensPerMonth: 2e9, SelfHostedTrainingUSDMonth: 1500},
		Expertise:     Expertise{StaffCostUSDMonth: 12000},
		Workload:      Workload{InputTokensPerMonth: 1e9},
		Candidates: Candidates{
			Proprietary: []ProprietaryModel{{Model: "gpt-4o-mini", InputPerMillion: 0.15, OutputPerMillion: 0.6, Region: "us",
				FineTuning: &HostedFineTuning{TrainingPerMillion: 3, InputPerMillion: 0.3, OutputPerMillion: 1.2}}},
			Open: []OpenModel{{Model: "llama-3.1-8b", GPU: "A100 80GB", GPUHourlyUSD: 1.39, GPUsPerReplica: 1, OutputTokensPerSecond: 1518}},
		},
		SelfHosting: SelfHosting{StaffFTE: &quarter, SetupUSD: 4000, OtherFixedUSDMonth: 300},
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		t.Fatal(err)
	}
	done := make(chan *Report, 1)
	go func() {
		r, err := Run(context.Background(), Options{Profile: p, Now: func() time.Time { return time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC) }})
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	var r *Report
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("advise did not return in 20 s on input-only traffic")
	}
	if r == nil {
		return
	}
	if api, self := candidate(t, r, "API gpt-4o-mini"), candidate(t, r, "self-hosted llama-3.1-8b"); !near(api.FirstMonthUSD, 6300, 1e-6) || !near(self.TotalUSD, 73776.40, 1e-6) {
		t.Errorf("API month 1 $%.2f (want $6,300), self-hosted total $%.2f (want $73,776.40)", api.FirstMonthUSD, self.TotalUSD)
	}
	if r.Recommendation.Candidate != "self-hosted llama-3.1-8b" {
		t.Errorf("chose %q", r.Recommendation.Candidate)
	}
	if be := r.BreakEven; !be.Found || be.TokensPerMonth != 0 || !strings.Contains(breakEvenText(r), "costs no more a month than gpt-4o-mini at any volume") {
		t.Errorf("break-even %+v: %s", be, breakEvenText(r))
	}
	// Every format writes it: JSON failed on the self-hosted cost per
	// million output tokens "as used", +Inf at 0% utilisation.
	for _, f := range []string{"json", "table", "md", "html"} {
		var b strings.Builder
		if err := Write(&b, r, f); err != nil {
			t.Errorf("--format %s: %v", f, err)
		}
	}
	v := (73776.40/12 - 6000) / 0.3e-6
	if ru := r.RunnerUp; ru == nil || len(ru.VolumeFlips) != 1 || !near(ru.VolumeFlips[0].TokensPerMonth/v, 1, 1e-6) {
		t.Errorf("runner-up %+v, want the API below %.6g", ru, v)
	}
}
