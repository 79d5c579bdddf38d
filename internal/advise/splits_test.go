package advise

import (
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
)

// Every candidate of every example profile, and of random ones (with and
// without hybrid.routed_share), splits its month 1 among its classes
// without losing or adding a cent: the fleet's GPUs, staff and other fixed
// costs are paid once, shared by the classes on it.
func TestClassCostsSumToMonth1(t *testing.T) {
	names, err := filepath.Glob("../../examples/profiles/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatal(names, err)
	}
	var ps []*Profile
	for _, f := range names {
		ps = append(ps, loadExample(t, strings.TrimSuffix(filepath.Base(f), ".yaml")))
	}
	rng := rand.New(rand.NewSource(3))
	for i := range 60 {
		p, _ := randomProfile(rng)
		if i%2 == 0 {
			p.Hybrid.RoutedShare = 0.25
		}
		ps = append(ps, p)
	}
	cands := 0
	defer func() { t.Logf("%d profiles, %d candidates", len(ps), cands) }()
	for _, p := range ps {
		name := p.Name
		r := run(t, p)
		cands += len(r.Candidates)
		for _, c := range r.Candidates {
			sum := 0.0
			for _, a := range c.Assignment {
				sum += a.FirstMonthUSD
			}
			if !near(sum, c.FirstMonthUSD, 1e-6*max(1, c.FirstMonthUSD)) {
				t.Errorf("%s: %s: classes sum to $%.4f, month 1 is $%.4f", name, c.Name, sum, c.FirstMonthUSD)
			}
		}
	}
}

// A fleet that serves two classes of a split is sized for both and paid
// once. Three classes (3,000 M in, 1,000 M out a month): secret 40% must
// stay in-house, hard 20% on gpt-4o, bulk 40% on gpt-4o-mini or the fleet.
// One H100 carries 3,400 × 0.7 = 2,380 tok/s; 1,000 M / 2,628,000 s = 380.5
// tok/s, so 40% (152.2) or 80% (304.4) both fit one: $1,963.70 + staff
// $6,000 = $7,963.70 either way.
//
//	secret and bulk on the 8B, hard on gpt-4o: $7,963.70 + 0.2 × $17,500
//	  = $11,463.70, the fleet's cost shared 1:1 by secret and bulk
//	secret on the 8B, bulk on gpt-4o-mini: $7,963.70 + $3,500 + 0.4 ×
//	  $1,050 = $11,883.70
//
// With a bound of 1 only the first split (bulk on gpt-4o-mini) is costed,
// and the report says the search was cut.
func TestSplitSharesOneFleetAndSaysWhenCut(t *testing.T) {
	fte := 0.5
	p := &Profile{Name: "splits", HorizonMonths: 12,
		Data:      DataSensitivity{Classes: []string{"trade_secret"}},
		Expertise: Expertise{InfraStaff: 1, StaffCostUSDMonth: 12000},
		Workloads: []WorkloadClass{
			{Name: "secret", Share: 0.4, Sensitive: true},
			{Name: "hard", Share: 0.2},
			{Name: "bulk", Share: 0.4},
		},
		Workload: Workload{InputTokensPerMonth: 3000e6, OutputTokensPerMonth: 1000e6},
		Candidates: Candidates{
			Proprietary: []ProprietaryModel{
				{Model: "gpt-4o-mini", InputPerMillion: 0.15, OutputPerMillion: 0.6},
				{Model: "gpt-4o", InputPerMillion: 2.5, OutputPerMillion: 10},
			},
			Open: []OpenModel{{Model: "llama-3.1-8b", GPU: "H100", GPUHourlyUSD: 2.69, GPUsPerReplica: 1, OutputTokensPerSecond: 3400}},
		},
		SelfHosting: SelfHosting{StaffFTE: &fte},
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		t.Fatal(err)
	}
	r := run(t, p)
	const mini = "split: secret on self-hosted llama-3.1-8b, hard on gpt-4o, bulk on gpt-4o-mini"
	checkMonth1(t, r, map[string]float64{mini: 11883.70, "hybrid llama-3.1-8b + gpt-4o (secret, bulk self-hosted)": 11463.70})
	h := candidate(t, r, "hybrid llama-3.1-8b + gpt-4o (secret, bulk self-hosted)")
	if h.GPUsAtStart != 1 || !near(h.Assignment[0].FirstMonthUSD, 7963.70/2, 1e-6) || !near(h.Assignment[2].FirstMonthUSD, 7963.70/2, 1e-6) {
		t.Errorf("one fleet for both: %d GPUs, %+v", h.GPUsAtStart, h.Assignment)
	}
	if r.SplitSearch == nil || r.SplitSearch.Combinations != 2 || r.SplitSearch.Cut {
		t.Errorf("split search %+v, want 2 uncut", r.SplitSearch)
	}
	old := maxSplits
	maxSplits = 1
	defer func() { maxSplits = old }()
	r = run(t, p)
	if s := r.SplitSearch; s == nil || s.Combinations != 2 || s.Costed != 1 || !s.Cut {
		t.Errorf("split search %+v, want 1 of 2, cut", s)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "Only 1 of the 2 splits") {
		t.Errorf("notes %q", r.Notes)
	}
	n := 0
	for _, c := range r.Candidates {
		if strings.HasPrefix(c.Name, "split: ") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d splits costed, want 1", n)
	}
}
