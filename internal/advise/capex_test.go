package advise

import (
	"strings"
	"testing"
)

// An organisation that cannot spend capital still pays the set-up: from
// its operating budget, in month 1, against the monthly limit. By hand
// (730 h a month, 12 months, no growth):
//
//	volume     10,000 M input + 5,000 M output a month; no peak given, so
//	           the GPUs are sized for the average: 5,000 M / 2,628,000 s =
//	           1,902.6 tokens/s, one replica (3,400 × 0.7 = 2,380)
//	API        gpt-4o-mini 10,000 × $0.15 + 5,000 × $0.60 = $4,500 a month,
//	           $54,000 over 12 months
//	self-host  A100 $1.50 × 730 = $1,095 + 0.25 × $12,000 staff = $4,095 a
//	           month; 12 × $4,095 + $2,000 set-up = $51,140: cheaper
//	limit      $5,000 a month
//
// With capex_possible the set-up is capital spending, outside the limit:
// every month of self-hosting is $4,095, within it, and self-hosting wins.
// Without, month 1 is $4,095 + $2,000 = $6,095 > $5,000: self-hosting is
// out on budget ("qualifies with a monthly limit of $6,095"), the API
// ($4,500 every month) is chosen, and the budget decided it. Before, the
// set-up was left out either way and self-hosting was recommended to an
// organisation whose first month it could not pay.
func TestSetupCountsAgainstLimitWithoutCapex(t *testing.T) {
	prof := func(capex bool) *Profile {
		fte := 0.25
		p := &Profile{
			Name: "no-capex", HorizonMonths: 12,
			Expertise: Expertise{MLStaff: 1, StaffCostUSDMonth: 12000},
			Budget:    Budget{MonthlyLimitUSD: 5000, CapexPossible: capex},
			Workload:  Workload{InputTokensPerMonth: 10e9, OutputTokensPerMonth: 5e9},
			Candidates: Candidates{
				Proprietary: []ProprietaryModel{{Model: "gpt-4o-mini", InputPerMillion: 0.15, OutputPerMillion: 0.60, Region: "us"}},
				Open:        []OpenModel{{Model: "llama-3.1-8b", GPU: "A100", GPUHourlyUSD: 1.5, GPUsPerReplica: 1, OutputTokensPerSecond: 3400}},
			},
			SelfHosting: SelfHosting{StaffFTE: &fte, SetupUSD: 2000},
		}
		p.applyDefaults()
		if err := p.validate(); err != nil {
			t.Fatal(err)
		}
		return p
	}

	r := run(t, prof(true))
	self := candidate(t, r, "self-hosted llama-3.1-8b")
	if !self.Chosen || !near(self.FirstMonthUSD, 4095, 1e-9) || !near(self.TotalUSD, 51140, 1e-9) || self.OverBudgetMonths != 0 {
		t.Errorf("with capex: choice %q, self-hosted %+v", r.Recommendation.Candidate, self)
	}
	if bu := criterion(t, r, CritBudget); !strings.Contains(bu.Finding, "the $2,000 set-up of a fleet is capital spending, outside the monthly limit") {
		t.Errorf("with capex, budget finding: %s", bu.Finding)
	}

	r = run(t, prof(false))
	api, self := candidate(t, r, "API gpt-4o-mini"), candidate(t, r, "self-hosted llama-3.1-8b")
	if !api.Chosen || !near(api.TotalUSD, 54000, 1e-9) {
		t.Errorf("without capex: choice %q, API %+v", r.Recommendation.Candidate, api)
	}
	if self.OverBudgetMonths != 1 || len(self.Exclusions) != 1 || self.Exclusions[0].Criterion != CritBudget ||
		!strings.Contains(self.Exclusions[0].Reason, "exceeds the $5,000 monthly limit in 1 of 12 months (up to $6,095), month 1 with its $2,000 set-up, paid from the operating budget") {
		t.Errorf("without capex, self-hosted: %+v", self)
	}
	if !strings.Contains(r.Recommendation.Summary, "Decided by: budget.") {
		t.Errorf("summary: %s", r.Recommendation.Summary)
	}
	if ru := r.RunnerUp; ru == nil || ru.Candidate != "self-hosted llama-3.1-8b" || !strings.Contains(ru.Flip, "qualifies with a monthly limit of $6,095, and then wins") {
		t.Errorf("runner-up: %+v", ru)
	}
	if bu := criterion(t, r, CritBudget); !strings.Contains(bu.Finding, "no capital spending, so the $2,000 set-up of a fleet is paid from the operating budget and counts against month 1's limit") {
		t.Errorf("without capex, budget finding: %s", bu.Finding)
	}
}

func criterion(t *testing.T, r *Report, name string) Criterion {
	t.Helper()
	for _, c := range r.Criteria {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no criterion %q", name)
	return Criterion{}
}
