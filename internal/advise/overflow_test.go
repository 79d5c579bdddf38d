package advise

import (
	"strings"
	"testing"
)

// overflowProfile is a chat service whose load sits at 2 requests/s for 20
// hours a day and 10 requests/s for 4, 500 output tokens each:
//
//	output/day   = (2 × 20 h + 10 × 4 h) × 3,600 s × 500 = 144 M
//	output/month = 144 M × 730 h / 24 h                    = 4,380 M  (input 3×: 13,140 M)
//	base         = 2 × 500  = 1,000 output tokens/s
//	peak         = 10 × 500 = 5,000 output tokens/s
//
// One replica of the open model (1 GPU at $2/h) does 2,500 tokens/s, 2,000
// at the 80% target utilisation. Staff 0.1 FTE × $10,000 = $1,000 a month,
// set-up $2,000, 12 months, no growth.
func overflowProfile(t *testing.T, extra string, apiIn, apiOut string) *Profile {
	t.Helper()
	p, err := ParseProfile([]byte(`
name: peaky
horizon_months: 12
expertise: { ml_staff: 1, staff_cost_usd_month: 10000 }
workload:
  input_tokens_per_month: 13140000000
  output_tokens_per_month: 4380000000
  peak_rps: 10
  base_rps: 2
  peak_hours_per_day: 4
  output_tokens_per_request: 500
candidates:
  proprietary: [{ model: gpt-4o-mini, input_per_million: ` + apiIn + `, output_per_million: ` + apiOut + ` }]
  open: [{ model: llama, gpu: L40S, gpu_hourly_usd: 2, output_tokens_per_second: 2500 }]
self_hosting: { staff_fte: 0.1, setup_usd: 2000, target_utilisation: 0.8 }
` + extra))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Month 1 by hand:
//
//	API:          13,140 × $0.15 + 4,380 × $0.60 = $1,971 + $2,628       = $4,599.00
//	self-hosted:  ⌈5,000 / 2,000⌉ = 3 GPUs × $2 × 730 h = $4,380, + $1,000  = $5,380.00
//	base+overflow: ⌈1,000 / 2,000⌉ = 1 GPU: $1,460; at peak 5,000 − 2,000 =
//	  3,000 tokens/s overflow × 4/24 of 2,628,000 s = 1,314 M of 4,380 M
//	  output tokens = 30% on the API: 0.3 × $4,599 = $1,379.70;
//	  $1,460 + $1,379.70 + $1,000                                            = $3,839.70
//
// Over 12 months (set-up once on the self-hosting ones): API $55,188.00,
// self-hosted $66,560.00, base + overflow $48,076.40: the overflow
// candidate is the cheapest of all, so cost alone decides.
func TestAdviseBaseLoadPlusOverflow(t *testing.T) {
	r := run(t, overflowProfile(t, "", "0.15", "0.60"))
	api := candidate(t, r, "API gpt-4o-mini")
	self := candidate(t, r, "self-hosted llama")
	ov := candidate(t, r, "self-host base llama + API overflow gpt-4o-mini")
	for _, c := range []struct {
		c            *Candidate
		month, total float64
	}{{api, 4599, 55188}, {self, 5380, 66560}, {ov, 3839.70, 48076.40}} {
		if !near(c.c.FirstMonthUSD, c.month, 1e-6) || !near(c.c.TotalUSD, c.total, 1e-6) {
			t.Errorf("%s: month 1 $%.2f total $%.2f, want $%.2f and $%.2f", c.c.Name, c.c.FirstMonthUSD, c.c.TotalUSD, c.month, c.total)
		}
	}
	if ov.GPUsAtStart != 1 || self.GPUsAtStart != 3 || ov.Overflow.PeakSizedGPUs != 3 || !near(ov.Overflow.Share, 0.3, 1e-9) ||
		!near(ov.Overflow.APIUSDMonth, 1379.70, 1e-6) || !near(ov.SelfHostedShare, 0.7, 1e-9) {
		t.Errorf("overflow candidate %+v / %+v", ov, ov.Overflow)
	}
	// Utilisation of the one GPU: 70% of the 1,666.67 tokens/s average on
	// 2,500 tokens/s = 46.7%.
	if u := ov.months[0].Utilisation; !near(u, 0.7*4380e6/SecondsPerMonth/2500, 1e-9) {
		t.Errorf("utilisation %v", u)
	}
	if !ov.Chosen || decidedBy(r) != CritCost {
		t.Fatalf("chosen %v, decided by %q: %s", ov.Chosen, decidedBy(r), r.Recommendation.Summary)
	}
	sum := r.Recommendation.Summary
	for _, want := range []string{"sized for the base load of 2 requests/s (1 × L40S instead of 3 for the peak of 10)", "30.0% of tokens", "$1,380 in month 1", "Decided by: cost."} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q: %s", want, sum)
		}
	}
	for _, c := range r.Criteria {
		// $66,560 − $48,076.40 = $18,483.60 saved against peak sizing
		// (reports round to the dollar).
		if c.Name == CritCost && (!c.Decisive || !strings.Contains(c.Finding, "saves $18,484 over 12 months")) {
			t.Errorf("cost criterion %+v", c)
		}
		if c.Name != CritCost && c.Decisive {
			t.Errorf("criterion %s marked decisive", c.Name)
		}
	}
	if r.RunnerUp == nil || r.RunnerUp.Candidate != "API gpt-4o-mini" {
		t.Errorf("runner-up %+v", r.RunnerUp)
	}
	// The volumes the flips name hold the base rate too (the fleet is
	// sized for it): the text said only "and peak rate".
	if r.RunnerUp != nil && !strings.Contains(r.RunnerUp.Flip, "at today's input:output mix, peak and base rates)") {
		t.Errorf("flip %q does not say the base rate is held", r.RunnerUp.Flip)
	}
}

// The same rates with three times the volume (a measured volume that has
// outgrown the profile's base_rps, or a what-if of the runner-up's): the
// one GPU sized for the base carries at most its capacity, 2,000 tokens/s
// × 2,628,000 s = 5,256 M output tokens a month. Month 1 by hand:
//
//	the peak's excess     3,000 tokens/s × 438,000 s          = 1,314 M
//	beyond its capacity   13,140 M − 5,256 M                   = 7,884 M (60%)
//	API                   0.6 × (39,420 × $0.15 + 13,140 × $0.60) = 0.6 × $13,797 = $8,278.20
//	total                 $1,460 + $8,278.20 + $1,000          = $10,738.20
//
// with the GPU 80% busy (0.4 × 5,000 tokens/s on 2,500). Before, only the
// peak's excess overflowed: 10% of the tokens, $3,839.70 a month as for a
// third of the traffic (TestAdviseBaseLoadPlusOverflow), the one GPU 180%
// busy; and a runner-up's volume flip could name the overflow candidate at
// volumes its fleet could not carry.
func TestAdviseOverflowCarriesNoMoreThanCapacity(t *testing.T) {
	p := overflowProfile(t, "", "0.15", "0.60")
	p.Workload.InputTokensPerMonth *= 3
	p.Workload.OutputTokensPerMonth *= 3
	r := run(t, p)
	ov := candidate(t, r, "self-host base llama + API overflow gpt-4o-mini")
	if !near(ov.FirstMonthUSD, 10738.20, 1e-6) || ov.GPUsAtStart != 1 || !near(ov.Overflow.Share, 0.6, 1e-9) || !near(ov.Overflow.APIUSDMonth, 8278.20, 1e-6) {
		t.Errorf("overflow candidate: month 1 $%.2f, %d GPUs, overflow %+v; want $10,738.20, 1 GPU, 60%% and $8,278.20", ov.FirstMonthUSD, ov.GPUsAtStart, ov.Overflow)
	}
	if u := ov.months[0].Utilisation; !near(u, 0.8, 1e-9) {
		t.Errorf("utilisation %v, want 0.8", u)
	}
}

// Half the traffic carries personal data and must stay self-hosted; the
// API is cheaper ($0.10 / $0.40). Month 1 by hand:
//
//	API:           13,140 × $0.10 + 4,380 × $0.40 = $3,066 (ruled out: sensitive data)
//	self-hosted:   3 GPUs: $4,380 + $1,000                                  = $5,380.00
//	class hybrid:  sensitive half self-hosted, sized for 2,500 tokens/s:
//	               2 GPUs $2,920 + 0.5 × $3,066 + $1,000                    = $5,453.00
//	base+overflow: the fleet must carry the sensitive peak, 0.5 × 5,000 =
//	               2,500 > base 1,000: 2 GPUs ($2,920), capacity 4,000; at
//	               peak 1,000 tokens/s overflow × 438,000 s = 438 M = 10%
//	               (all of it non-sensitive): 0.1 × $3,066 = $306.60;
//	               $2,920 + $306.60 + $1,000                                = $4,226.60
//
// The API would be cheapest, so data sensitivity decided, not cost; among
// what is left the overflow candidate is cheapest.
func TestAdviseOverflowKeepsSensitiveTraffic(t *testing.T) {
	r := run(t, overflowProfile(t, "data: { classes: [pii], private_share: 0.5 }\n", "0.10", "0.40"))
	ov := candidate(t, r, "self-host base llama + API overflow gpt-4o-mini")
	for name, want := range map[string]float64{
		"API gpt-4o-mini": 3066, "self-hosted llama": 5380,
		"hybrid llama + gpt-4o-mini (sensitive self-hosted)": 5453, ov.Name: 4226.60,
	} {
		if got := candidate(t, r, name).FirstMonthUSD; !near(got, want, 1e-6) {
			t.Errorf("%s month 1 = %.2f, want %.2f", name, got, want)
		}
	}
	if ov.GPUsAtStart != 2 || !near(ov.Overflow.Share, 0.1, 1e-9) || ov.Excluded() || !ov.Chosen {
		t.Errorf("overflow candidate %+v / %+v", ov, ov.Overflow)
	}
	if decidedBy(r) != CritDataSensitivity {
		t.Errorf("decided by %q, want %q: %s", decidedBy(r), CritDataSensitivity, r.Recommendation.Summary)
	}
	if !strings.Contains(r.Recommendation.Summary, "the 50% sensitive traffic never overflows") {
		t.Errorf("summary: %s", r.Recommendation.Summary)
	}
	for _, c := range r.Criteria {
		if c.Name == CritCost && (c.Decisive || !strings.Contains(c.Finding, "cost did not decide it")) {
			t.Errorf("cost criterion %+v", c)
		}
	}
}

// Adapters need open weights: the overflow would go to an API, so the
// candidate is out on customisation and self-hosting everything wins.
func TestAdviseOverflowNeedsOpenWeightsForAdapters(t *testing.T) {
	r := run(t, overflowProfile(t, "customisation: { adapters: true }\n", "0.15", "0.60"))
	ov := candidate(t, r, "self-host base llama + API overflow gpt-4o-mini")
	if len(ov.Exclusions) != 1 || ov.Exclusions[0].Criterion != CritCustomisation || ov.Chosen {
		t.Fatalf("overflow exclusions %+v", ov.Exclusions)
	}
	if !candidate(t, r, "self-hosted llama").Chosen || decidedBy(r) != CritCustomisation {
		t.Errorf("decided by %q: %s", decidedBy(r), r.Recommendation.Summary)
	}
}

func TestProfileBaseLoadValidation(t *testing.T) {
	for _, tc := range []struct{ yaml, field string }{
		{"peak_rps: 2\n  base_rps: 2\n  peak_hours_per_day: 4", "workload.peak_rps"},
		{"peak_rps: 10\n  base_rps: 2", "workload.peak_hours_per_day"},
		{"peak_rps: 10\n  base_rps: 2\n  peak_hours_per_day: 24", "workload.peak_hours_per_day"},
	} {
		_, err := ParseProfile([]byte(`
workload:
  output_tokens_per_month: 1000
  output_tokens_per_request: 100
  ` + tc.yaml + `
candidates: { open: [{ model: m, gpu_hourly_usd: 1, output_tokens_per_second: 10 }] }
`))
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%q: err %v, want one naming %s", tc.yaml, err, tc.field)
		}
	}
}
