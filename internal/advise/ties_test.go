package advise

import (
	"strings"
	"testing"
)

// Costs equal to the cent are a tie, however the floats round. An A100 at
// $1.39/h for 730 h is $1,014.70 and 0.1 FTE at $10,000 is $1,000:
// $2,014.70 a month, as gpt-4o on 405.88 M input and 100 M output tokens
// (405.88 × $2.50 + 100 × $10). Over 1, 2 or 3 months the floats made
// self-hosting $0.0000000005 cheaper ($2,014.6999999999998 a month), so it
// won the tie and the runner-up read "API gpt-4o, costs the same: at a tie
// the candidate listed first (an API before self-hosting) is chosen". At a
// tie the API, listed first, wins, and the runner-up says it costs the
// same. Over 12 months the sums happened to agree and the API won.
//
// Likewise a limit equal to a month's cost is not exceeded: an H100 at
// $3.99/h is $2,912.70 a month, with 0.1 FTE at $9,000 $3,812.70, which the
// floats made $3,812.7000000000003, over a $3,812.70 limit.
func TestTiesAreToTheCent(t *testing.T) {
	for _, months := range []int{1, 2, 3, 12} {
		tenth := 0.1
		p := &Profile{Name: "tie", HorizonMonths: months,
			Expertise: Expertise{StaffCostUSDMonth: 10000},
			Workload:  Workload{InputTokensPerMonth: 405.88e6, OutputTokensPerMonth: 100e6},
			Candidates: Candidates{
				Proprietary: []ProprietaryModel{{Model: "gpt-4o", InputPerMillion: 2.5, OutputPerMillion: 10, Region: "us"}},
				Open:        []OpenModel{{Model: "llama-3.1-8b", GPU: "A100 80GB", GPUHourlyUSD: 1.39, GPUsPerReplica: 1, OutputTokensPerSecond: 1518}},
			},
			SelfHosting: SelfHosting{StaffFTE: &tenth},
		}
		p.applyDefaults()
		if err := p.validate(); err != nil {
			t.Fatal(err)
		}
		r := run(t, p)
		if api, self := candidate(t, r, "API gpt-4o"), candidate(t, r, "self-hosted llama-3.1-8b"); !near(api.FirstMonthUSD, 2014.70, 1e-6) || !near(self.FirstMonthUSD, 2014.70, 1e-6) {
			t.Fatalf("%d months: month 1 $%v and $%v, want $2,014.70 both", months, api.FirstMonthUSD, self.FirstMonthUSD)
		}
		if r.Recommendation.Candidate != "API gpt-4o" || r.RunnerUp == nil || !strings.HasPrefix(r.RunnerUp.Flip, "costs the same") {
			t.Errorf("%d months: chose %q, runner-up %+v; want the API (listed first) and self-hosting costing the same", months, r.Recommendation.Candidate, r.RunnerUp)
		}
	}

	tenth := 0.1
	p := &Profile{Name: "limit", HorizonMonths: 12,
		Expertise: Expertise{StaffCostUSDMonth: 9000},
		Budget:    Budget{MonthlyLimitUSD: 3812.70},
		Workload:  Workload{InputTokensPerMonth: 3000e6, OutputTokensPerMonth: 1000e6},
		Candidates: Candidates{
			Proprietary: []ProprietaryModel{{Model: "gpt-4o-mini", InputPerMillion: 0.15, OutputPerMillion: 0.6, Region: "us"}},
			Open:        []OpenModel{{Model: "llama-3.1-8b", GPU: "H100 80GB", GPUHourlyUSD: 3.99, GPUsPerReplica: 1, OutputTokensPerSecond: 3400}},
		},
		SelfHosting: SelfHosting{StaffFTE: &tenth},
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		t.Fatal(err)
	}
	r := run(t, p)
	if c := candidate(t, r, "self-hosted llama-3.1-8b"); !near(c.FirstMonthUSD, 3812.70, 1e-6) || c.OverBudgetMonths != 0 || c.Excluded() {
		t.Errorf("self-hosted at $%v a month against a $3,812.70 limit: over in %d months, exclusions %+v", c.FirstMonthUSD, c.OverBudgetMonths, c.Exclusions)
	}
}
