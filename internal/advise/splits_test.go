package advise

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/eval"
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
// With a bound of 1 (below the 2 splits), a class's API targets are first
// narrowed to those no other API dominates: gpt-4o-mini is cheaper than
// gpt-4o for input and output and no eval says either's accuracy, so both
// classes keep only gpt-4o-mini, which leaves no split of two APIs. Both
// are left out as dominated (not cut: the best split is never among
// them), and the report says so; the choice is the same hybrid.
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
	chosen := r.Recommendation.Candidate
	old := maxSplits
	maxSplits = 1
	defer func() { maxSplits = old }()
	r = run(t, p)
	if s := r.SplitSearch; s == nil || s.Combinations != 2 || s.Dominated != 2 || s.Costed != 0 || s.Cut {
		t.Errorf("split search %+v, want 2 dominated, not cut", s)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "2 of the 2 splits of the workload classes were not costed") {
		t.Errorf("notes %q", r.Notes)
	}
	if r.Recommendation.Candidate != chosen {
		t.Errorf("chose %q, without the bound %q", r.Recommendation.Candidate, chosen)
	}
}

// splitProfile is an organisation of seven classes and the given APIs (no
// open model), 1,000 M input and 1,000 M output tokens a month for 12
// months, so that an API at $in / $out per million costs $1,000 × (in +
// out) a month for all the traffic.
func splitProfile(t *testing.T, floors []float64, apis []ProprietaryModel) *Profile {
	t.Helper()
	shares := []float64{0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2}
	p := &Profile{Name: "many classes", HorizonMonths: 12,
		Workload:   Workload{InputTokensPerMonth: 1000e6, OutputTokensPerMonth: 1000e6},
		Candidates: Candidates{Proprietary: apis},
	}
	for i, s := range shares {
		p.Workloads = append(p.Workloads, WorkloadClass{Name: fmt.Sprintf("c%d", i), Share: s, MinAccuracy: floors[i]})
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// Seven classes over four APIs whose prices rise with their accuracy:
// cheap (70%, $0.10 / $0.40: $500 a month for all the traffic), mid (80%,
// $0.50 / $2: $2,500), good (88%, $2 / $8: $10,000), best (95%, $5 / $20:
// $25,000). The classes (shares 10% ×4, 20% ×3) need 90%, 85%, 75%,
// nothing, 85%, 75%, nothing. The best split sends each class to the
// cheapest API that meets its floor:
//
//	c0 best 0.1 × $25,000 = $2,500   c1 good 0.1 × $10,000 = $1,000
//	c2 mid  0.1 × $2,500  = $250     c3 cheap 0.1 × $500   = $50
//	c4 good 0.2 × $10,000 = $2,000   c5 mid  0.2 × $2,500  = $500
//	c6 cheap 0.2 × $500   = $100     total $6,400 a month ($76,800 in 12)
//
// against $25,000 a month for the only API that meets every floor alone.
// There are 4⁷ − 4 = 16,380 splits. Before, the first 1,000 in enumeration
// order were costed: every one sends c0 to cheap (70% < 90%), so none was
// eligible and the API best was recommended at nearly four times the
// cost. Now each class keeps only the APIs its floor allows and no
// cheaper, less accurate API that also meets it beats: one API each,
// leaving the one split, costed and chosen.
func TestSplitBoundNeverLosesTheBestSplit(t *testing.T) {
	p := splitProfile(t, []float64{0.90, 0.85, 0.75, 0, 0.85, 0.75, 0}, []ProprietaryModel{
		{Model: "cheap", InputPerMillion: 0.10, OutputPerMillion: 0.40},
		{Model: "mid", InputPerMillion: 0.50, OutputPerMillion: 2},
		{Model: "good", InputPerMillion: 2, OutputPerMillion: 8},
		{Model: "best", InputPerMillion: 5, OutputPerMillion: 20},
	})
	ev := &eval.Report{Suite: "s", Models: []eval.ModelSummary{
		{Model: "cheap", Accuracy: 0.70, Cases: 100}, {Model: "mid", Accuracy: 0.80, Cases: 100},
		{Model: "good", Accuracy: 0.88, Cases: 100}, {Model: "best", Accuracy: 0.95, Cases: 100},
	}}
	r := run(t, p, func(o *Options) { o.Evals = []*eval.Report{ev} })
	const best = "split: c0 on best, c1 on good, c2 on mid, c3 on cheap, c4 on good, c5 on mid, c6 on cheap"
	if c := candidate(t, r, best); !c.Chosen || !near(c.FirstMonthUSD, 6400, 1e-6) || !near(c.TotalUSD, 76800, 1e-6) {
		t.Errorf("chose %q: %s", r.Recommendation.Candidate, r.Recommendation.Summary)
	}
	if s := r.SplitSearch; s == nil || s.Combinations != 16380 || s.Dominated != 16379 || s.Costed != 1 || s.Cut {
		t.Errorf("split search %+v", r.SplitSearch)
	}
	if n := strings.Join(r.Notes, "\n"); !strings.Contains(n, "16379 of the 16380 splits of the workload classes were not costed") || strings.Contains(n, "Only ") {
		t.Errorf("notes %q", r.Notes)
	}
}

// When a class that must be fine-tuned pays a training price on each API
// serving it, the classes' API costs are not separate (one API's training
// is paid once by all its classes), so the narrowing goes class by class:
// seven classes, all to be fine-tuned, over a, b and c (hosted fine-tuning
// with a training price: none dominates another, as each could add a
// training bill) and d (no hosted fine-tuning, ruled out for every class).
// 4⁷ − 4 = 16,380 splits, 3⁷ − 3 = 2,184 of them without d, 14,196 with
// it: more than the bound are left, the first 1,000 are costed, and the
// note says exactly that.
func TestSplitBoundCutSaysWhatItLeftOut(t *testing.T) {
	ft := &HostedFineTuning{TrainingPerMillion: 3}
	p := splitProfile(t, make([]float64, 7), []ProprietaryModel{
		{Model: "a", InputPerMillion: 1, OutputPerMillion: 4, FineTuning: ft},
		{Model: "b", InputPerMillion: 2, OutputPerMillion: 2, FineTuning: ft},
		{Model: "c", InputPerMillion: 4, OutputPerMillion: 1, FineTuning: ft},
		{Model: "d", InputPerMillion: 0.5, OutputPerMillion: 0.5},
	})
	p.Customisation = Customisation{FineTuning: true, TrainingTokensPerMonth: 1e8}
	r := run(t, p)
	if s := r.SplitSearch; s == nil || s.Combinations != 16380 || s.Dominated != 14196 || s.Costed != 1000 || !s.Cut {
		t.Errorf("split search %+v", r.SplitSearch)
	}
	want := "Only 1000 of the 16380 splits of the workload classes were costed (the bound is 1000): 14196 send a class to an API that its needs rule out or that another API beats for it on price, quality and fine-tuning, and of the other 2184 the first 1000 in enumeration order were costed."
	if n := strings.Join(r.Notes, "\n"); !strings.Contains(n, want) {
		t.Errorf("notes %q", r.Notes)
	}
	for _, c := range r.Candidates {
		if slices.Contains(c.APIModels, "d") {
			t.Errorf("%s costed", c.Name)
		}
	}
}

// Over the bound, each placement of the classes on the open models gives
// one split: the classes left to the APIs each on the cheapest API its
// needs and the placement allow. x (50%), y (30%) and z (20%, needs 85%)
// over lite ($0.50 / $0.50, 80%), cheap ($1 / $1, 95%), mid ($2 / $2, 86%)
// and top ($5 / $5, 97%), and llama (82%; quality.max_gap_pp 5, so with a
// class on llama no API above 87% may serve beside it):
//
//	splits: no open model 4³ − 4 = 60; llama, two APIs or more, 5³ − 1 −
//	  4 × (2³ − 1) − 60 = 36; 96 in all
//	no class on llama: x, y on lite, z on cheap (lite is below 85%)
//	y on llama: x on lite, z on mid (cheap and top are too accurate)
//	x on llama: y on lite, z on mid
//	every other placement leaves one API (a hybrid, a candidate already)
//
// With the bound at 3, the 3 splits are costed, 93 are dominated, and the
// choice is the one deciding over all 96 makes. x on llama, z on cheap is
// ruled out by the gap: it was never worth costing.
func TestSplitPlacementsKeepTheGap(t *testing.T) {
	fte := 0.5
	p := &Profile{Name: "placements", HorizonMonths: 12,
		Expertise: Expertise{StaffCostUSDMonth: 10000},
		Workload:  Workload{InputTokensPerMonth: 3000e6, OutputTokensPerMonth: 1000e6},
		Workloads: []WorkloadClass{{Name: "x", Share: 0.5}, {Name: "y", Share: 0.3}, {Name: "z", Share: 0.2, MinAccuracy: 0.85}},
		Candidates: Candidates{
			Proprietary: []ProprietaryModel{
				{Model: "lite", InputPerMillion: 0.5, OutputPerMillion: 0.5},
				{Model: "cheap", InputPerMillion: 1, OutputPerMillion: 1},
				{Model: "mid", InputPerMillion: 2, OutputPerMillion: 2},
				{Model: "top", InputPerMillion: 5, OutputPerMillion: 5},
			},
			Open: []OpenModel{{Model: "llama", GPUHourlyUSD: 2, GPUsPerReplica: 1, OutputTokensPerSecond: 2000}},
		},
		SelfHosting: SelfHosting{StaffFTE: &fte},
		Quality:     Quality{MaxGapPP: new(5.0)},
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		t.Fatal(err)
	}
	ev := &eval.Report{Suite: "s", Models: []eval.ModelSummary{
		{Model: "lite", Accuracy: 0.80, Cases: 100}, {Model: "cheap", Accuracy: 0.95, Cases: 100},
		{Model: "mid", Accuracy: 0.86, Cases: 100}, {Model: "top", Accuracy: 0.97, Cases: 100},
		{Model: "llama", Accuracy: 0.82, Cases: 100},
	}}
	withEvals := func(o *Options) { o.Evals = []*eval.Report{ev} }
	full := run(t, p, withEvals)
	if s := full.SplitSearch; s == nil || s.Combinations != 96 || s.Costed != 96 || s.Dominated != 0 {
		t.Fatalf("split search %+v", s)
	}
	if c := candidate(t, full, "split: x on self-hosted llama, y on lite, z on cheap"); !c.excludedBy(CritQuality) {
		t.Errorf("%s: %+v", c.Name, c.Exclusions)
	}
	old := maxSplits
	maxSplits = 3
	defer func() { maxSplits = old }()
	r := run(t, p, withEvals)
	if s := r.SplitSearch; s == nil || s.Combinations != 96 || s.Dominated != 93 || s.Costed != 3 || s.Cut {
		t.Errorf("split search %+v", r.SplitSearch)
	}
	var got []string
	for _, c := range r.Candidates {
		if strings.HasPrefix(c.Name, "split: ") {
			got = append(got, c.Name)
		}
	}
	want := []string{"split: x on lite, y on lite, z on cheap", "split: x on lite, y on self-hosted llama, z on mid", "split: x on self-hosted llama, y on lite, z on mid"}
	if !slices.Equal(got, want) {
		t.Errorf("splits %q, want %q", got, want)
	}
	if r.Recommendation.Candidate != full.Recommendation.Candidate {
		t.Errorf("chose %q, over every split %q", r.Recommendation.Candidate, full.Recommendation.Candidate)
	}
}

// Narrowing the classes' API targets never changes the decision: on
// random organisations of four classes (sensitive or not, floors, classes
// that must be fine-tuned), three to four APIs with random prices,
// accuracies and fine-tuning offers (with and without a training price)
// and one or two open models, deciding with the bound just below the
// number of splits (so the targets are narrowed) chooses what deciding
// with no bound chooses, at the same cost, and the cheapest eligible
// split costs the same in both.
func TestSplitNarrowingKeepsTheChoice(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	n := 12
	if raceOn {
		n = 4
	}
	pruned := 0
	for i := range n {
		pick := func(xs ...float64) float64 { return xs[rng.Intn(len(xs))] }
		fte := 0.5
		p := &Profile{Name: fmt.Sprint("random ", i), HorizonMonths: 12,
			Expertise:   Expertise{StaffCostUSDMonth: 10000},
			Workload:    Workload{InputTokensPerMonth: pick(1e8, 1e9, 1e10), OutputTokensPerMonth: pick(1e8, 1e9, 5e9), GrowthPerMonth: pick(0, 0.03)},
			SelfHosting: SelfHosting{StaffFTE: &fte, OtherFixedUSDMonth: 500},
			Quality:     Quality{MaxGapPP: new(pick(3, 10))},
		}
		if rng.Intn(2) == 0 {
			p.Budget.MonthlyLimitUSD = pick(2000, 10000, 40000)
		}
		if rng.Intn(3) == 0 {
			p.Customisation.TrainingTokensPerMonth, p.Customisation.SelfHostedTrainingUSDMonth = 1e8, 500
		}
		for j, s := range []float64{0.1, 0.2, 0.3, 0.4} {
			p.Workloads = append(p.Workloads, WorkloadClass{Name: fmt.Sprint("c", j), Share: s,
				Sensitive: rng.Intn(5) == 0, MinAccuracy: pick(0, 0, 0.75, 0.85), FineTuning: rng.Intn(4) == 0})
		}
		ev := &eval.Report{Suite: "s"}
		for j := range 3 + rng.Intn(2) {
			a := ProprietaryModel{Model: fmt.Sprint("api", j), InputPerMillion: pick(0.1, 0.5, 1, 2.5), OutputPerMillion: pick(0.4, 1.5, 4, 10)}
			if rng.Intn(2) == 0 {
				a.FineTuning = &HostedFineTuning{TrainingPerMillion: pick(0, 3), InputPerMillion: pick(0, 0.3, 3), OutputPerMillion: pick(0, 1.2, 12)}
			}
			p.Candidates.Proprietary = append(p.Candidates.Proprietary, a)
			if rng.Intn(4) > 0 {
				ev.Models = append(ev.Models, eval.ModelSummary{Model: a.Model, Accuracy: pick(0.7, 0.8, 0.88, 0.95), Cases: 100})
			}
		}
		opens := []OpenModel{
			{Model: "llama-3.1-8b", GPUHourlyUSD: 2.69, OutputTokensPerSecond: 3400},
			{Model: "llama-3.1-70b", GPUHourlyUSD: 2.69, GPUsPerReplica: 2, OutputTokensPerSecond: 1728},
		}
		p.Candidates.Open = opens[:1+rng.Intn(2)]
		for _, o := range p.Candidates.Open {
			if rng.Intn(4) > 0 {
				ev.Models = append(ev.Models, eval.ModelSummary{Model: o.Model, Accuracy: pick(0.72, 0.82, 0.9), Cases: 100})
			}
		}
		p.applyDefaults()
		if err := p.validate(); err != nil {
			t.Fatal(err)
		}
		withEvals := func(o *Options) { o.Evals = []*eval.Report{ev} }
		old := maxSplits
		maxSplits = 1 << 30
		full := run(t, p, withEvals)
		if full.SplitSearch == nil || full.SplitSearch.Combinations < 2 {
			maxSplits = old
			continue
		}
		maxSplits = full.SplitSearch.Combinations - 1
		narrow := run(t, p, withEvals)
		maxSplits = old
		if narrow.SplitSearch.Cut {
			continue // nothing dominated: the last split was cut
		}
		pruned++
		name := func(r *Report) (string, float64) {
			for _, c := range r.Candidates {
				if c.Chosen {
					return c.Name, c.TotalUSD
				}
			}
			return "", 0
		}
		fn, ft := name(full)
		nn, nt := name(narrow)
		if !near(ft, nt, 1e-9*max(1, ft)) || fn != nn && !near(ft, nt, 1e-12*max(1, ft)) {
			t.Errorf("%s: chose %q ($%.2f) with every split, %q ($%.2f) narrowed (%+v)", p.Name, fn, ft, nn, nt, narrow.SplitSearch)
		}
		// The best split of all is costed, or a candidate that beats it
		// for every class (a split made of APIs that dominate its own may
		// use one API, and be a hybrid or an API alone).
		eligible := func(split bool) func(c *Candidate) bool {
			return func(c *Candidate) bool { return !c.Excluded() && (!split || strings.HasPrefix(c.Name, "split: ")) }
		}
		if a, b := cheapest(full.Candidates, eligible(true)), cheapest(narrow.Candidates, eligible(false)); a != nil && (b == nil || b.TotalUSD > a.TotalUSD*(1+1e-9)) {
			t.Errorf("%s: best split %s $%.2f with every split, nothing as cheap narrowed (%v)", p.Name, a.Name, a.TotalUSD, b)
		}
	}
	if pruned < n/3 {
		t.Errorf("only %d of %d profiles narrowed", pruned, n)
	}
	t.Logf("%d of %d profiles narrowed", pruned, n)
}
