package cli

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Organisations at the thresholds' edges, worked by hand as in
// advise_orgs_test.go: a floor met exactly over two suites, a gap limit of
// zero, a budget that every candidate meeting the floor breaks, evals that
// name candidates only through eval_model and the gateway's aliases.

// withEval writes the eval report file with old replaced by new.
func withEval(t *testing.T, file, old, new string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", file, old)
	}
	p := filepath.Join(t.TempDir(), filepath.Base(file))
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A notary office whose answers must reach 75% (quality, the boundary),
// measured on two suites: wills (139 cases) and deeds (29). 600 M input +
// 150 M output tokens a month, 12 months.
//
//	gpt-4o-mini: 103 + 23 = 126 of 168 = 75.0% exactly, at the floor:
//	  eligible; 600 × $0.15 + 150 × $0.60 = $180; 12 months $2,160
//	gpt-4o: 125 + 27 = 152 of 168 = 90.5%; 600 × $2.50 + 150 × $10 = $3,000
//	llama-3.1-70b: 114 + 25 = 139 of 168 = 82.7%, 7.7 pts behind gpt-4o:
//	  out; 150 M / 2,628,000 s = 57 tok/s, one replica of 2 H100s $3,927.40
//	  + 0.5 × $9,000 + $300 = $8,727.40; 12 months + $4,000 = $108,728.80
//
// gpt-4o-mini is chosen, decided by cost; runner-up gpt-4o. Before, the
// accuracy over the two suites was summed back from the first suite's
// rounded accuracy (139 × 0.741… = 102.99999999999999), came to
// 0.7499999999999999, and gpt-4o-mini was ruled out: "scores 75.0% in the
// evals, below the 75.0% the general class needs", gpt-4o recommended at
// 16.7 times the cost. One case fewer in deeds (125 of 168, 74.4%) and it
// is out, and gpt-4o wins, decided by quality.
func TestAdviseOrgNotaryFloorMetExactly(t *testing.T) {
	p, wills, deeds := orgs+"notary.yaml", orgs+"notary-wills.json", orgs+"notary-deeds.json"
	r := adviseOrg(t, p, "--eval", wills, "--eval", deeds)
	const self = "self-hosted llama-3.1-70b"
	r.month1(t, map[string]float64{"API gpt-4o-mini": 180, "API gpt-4o": 3000, self: 8727.40})
	for name, want := range map[string]float64{"API gpt-4o-mini": 2160, "API gpt-4o": 36000, self: 108728.80} {
		if got := r.total(t, name); math.Abs(got-want) > 0.01 {
			t.Errorf("%s: total $%.2f, want $%.2f", name, got, want)
		}
	}
	if ex := r.excludedBy("API gpt-4o-mini"); len(ex) != 0 {
		t.Errorf("gpt-4o-mini at the floor excluded by %v", ex)
	}
	if ex := r.excludedBy(self); !slices.Equal(ex, []string{"quality"}) {
		t.Errorf("%s excluded by %v", self, ex)
	}
	r.decision(t, "API gpt-4o-mini", "cost")
	r.without(t, nil)
	if ru := r.RunnerUp; ru == nil || ru.Candidate != "API gpt-4o" {
		t.Errorf("runner-up %+v", ru)
	}
	below := withEval(t, deeds, `"accuracy": 0.7931034482758621, "cases": 29, "passed": 23`, `"accuracy": 0.7586206896551724, "cases": 29, "passed": 22`)
	r = adviseOrg(t, p, "--eval", wills, "--eval", below)
	r.decision(t, "API gpt-4o", "quality")
	if ru := r.RunnerUp; ru == nil || ru.Candidate != "API gpt-4o-mini" || !strings.Contains(ru.Flip, "qualifies if gpt-4o-mini reaches 75%, and then wins") {
		t.Errorf("one case below: runner-up %+v", ru)
	}
}

// A tax-software vendor whose answers go into filed returns: an open model
// may replace the API only if it is at least as accurate (quality,
// max_gap_pp: 0). 20 B input + 5 B output tokens a month, 24 months;
// gpt-4o-mini 82%, the 8B (named Meta-Llama-3.1-8B-Instruct) 80%.
//
//	gpt-4o-mini:  20,000 × $0.15 + 5,000 × $0.60 = $6,000; 24 months $144,000
//	llama-3.1-8b: 5 B / 2,628,000 s = 1,902.6 tok/s ≤ 3,400 × 0.7 = 2,380:
//	  one H100 $1,963.70 + 0.25 × $12,000 + $200 = $5,163.70; 24 months +
//	  $6,000 = $129,928.80; 2 pts behind gpt-4o-mini: out
//
// gpt-4o-mini is chosen, decided by quality (without it the 8B). Before,
// max_gap_pp: 0 was read as unset and became the default 5: the 8B was
// recommended, 2 pts behind, "decided by cost". Runner-up the 8B,
// "qualifies if the quality gap is at most 0 pts (now 2.0), and then
// wins": re-decided with it at 82% (wins) and 81.6% (does not).
func TestAdviseOrgTaxSoftwareNoGapAllowed(t *testing.T) {
	p, ev := orgs+"taxsoft.yaml", orgs+"taxsoft-evals.json"
	r := adviseOrg(t, p, "--eval", ev)
	const self = "self-hosted llama-3.1-8b"
	r.month1(t, map[string]float64{"API gpt-4o-mini": 6000, self: 5163.70})
	for name, want := range map[string]float64{"API gpt-4o-mini": 144000, self: 129928.80} {
		if got := r.total(t, name); math.Abs(got-want) > 0.01 {
			t.Errorf("%s: total $%.2f, want $%.2f", name, got, want)
		}
	}
	if ex := r.excludedBy(self); !slices.Equal(ex, []string{"quality"}) {
		t.Errorf("%s excluded by %v", self, ex)
	}
	r.decision(t, "API gpt-4o-mini", "quality")
	r.without(t, map[string]string{"quality": self})
	for _, c := range r.Criteria {
		if c.Name == "quality" && !strings.Contains(c.Finding, "+2.0 pp (limit 0 pp)") {
			t.Errorf("quality finding %q", c.Finding)
		}
	}
	if ru := r.RunnerUp; ru == nil || ru.Candidate != self || !strings.Contains(ru.Flip, "qualifies if the quality gap is at most 0 pts (now 2.0), and then wins") {
		t.Errorf("runner-up %+v", ru)
	}
	for _, c := range []struct{ acc, passed, want string }{{"0.82", "205", self}, {"0.816", "204", "API gpt-4o-mini"}} {
		lifted := withEval(t, ev, `"accuracy": 0.8, "cases": 250, "passed": 200`, `"accuracy": `+c.acc+`, "cases": 250, "passed": `+c.passed)
		if got := adviseOrg(t, p, "--eval", lifted).Recommendation.Candidate; got != c.want {
			t.Errorf("with the 8B at %s: %q, want %q", c.acc, got, c.want)
		}
	}
	// Unset, the limit is 5 pts and the 8B, 2 behind, wins on cost.
	if got := adviseOrg(t, writeVariant(t, p, "quality: { max_gap_pp: 0 }", ""), "--eval", ev).Recommendation.Candidate; got != self {
		t.Errorf("without max_gap_pp: %q, want %q", got, self)
	}
}

// A city library network (budget and quality): answers for the public
// must reach 80%, $800 a month at most, 400 M input + 80 M output tokens a
// month growing 1% a month, 12 months; S = (1.01^12 − 1) / 0.01 =
// 12.682503 months' worth of month 1.
//
//	gpt-4o-mini (78%):       400 × $0.15 + 80 × $0.60 = $108; $1,369.71   out: quality
//	claude-haiku-4-5 (81%):  400 × $1 + 80 × $5 = $800, exactly the limit in
//	  month 1, $808 in month 2, 800 × 1.01^11 = $892.54 in month 12: over in
//	  11 of 12 months; $800 × S = $10,146.00
//	gpt-4o (90%):            400 × $2.50 + 80 × $10 = $1,800; $22,828.51
//	llama-3.1-8b (83%, 7 pts behind gpt-4o): 30 tok/s, one A100 $1,014.70 +
//	  0.5 × $6,000 + $100 = $4,114.70 (and the $2,000 set-up, counted against
//	  month 1's limit: no capital spending); 12 months $51,376.40   out: quality
//
// Every candidate the floor leaves is over the limit, so the budget rules
// none out and says so: Haiku, the cheapest left, is recommended with
// "over the $800 monthly budget in 11 of 12 months (up to $893): every
// candidate left exceeds it" (never a silent pick), decided by quality
// (without it gpt-4o-mini, within the limit every month). Runner-up
// gpt-4o-mini, "qualifies if it reaches 80%, and then wins", re-decided at
// 80% and 79%.
func TestAdviseOrgLibraryFloorAboveBudget(t *testing.T) {
	p, ev := orgs+"library.yaml", orgs+"library-evals.json"
	r := adviseOrg(t, p, "--eval", ev)
	const self, haiku = "self-hosted llama-3.1-8b", "API claude-haiku-4-5"
	S := (math.Pow(1.01, 12) - 1) / 0.01
	r.month1(t, map[string]float64{"API gpt-4o-mini": 108, haiku: 800, "API gpt-4o": 1800, self: 4114.70})
	for name, want := range map[string]float64{"API gpt-4o-mini": 108 * S, haiku: 800 * S, "API gpt-4o": 1800 * S, self: 51376.40} {
		if got := r.total(t, name); math.Abs(got-want) > 0.01 {
			t.Errorf("%s: total $%.2f, want $%.2f", name, got, want)
		}
	}
	for name, want := range map[string]int{"API gpt-4o-mini": 0, haiku: 11, "API gpt-4o": 12, self: 12} {
		for _, c := range r.Candidates {
			if c.Name == name && c.OverBudgetMonths != want {
				t.Errorf("%s: over budget in %d months, want %d", name, c.OverBudgetMonths, want)
			}
		}
	}
	for name, want := range map[string][]string{"API gpt-4o-mini": {"quality"}, self: {"quality"}, haiku: nil, "API gpt-4o": nil} {
		if ex := r.excludedBy(name); !slices.Equal(ex, want) {
			t.Errorf("%s excluded by %v, want %v", name, ex, want)
		}
	}
	r.decision(t, haiku, "quality")
	r.without(t, map[string]string{"quality": "API gpt-4o-mini"})
	if want := "Over the $800 monthly budget in 11 of 12 months (up to $893): every candidate left exceeds it."; !strings.Contains(r.Recommendation.Summary, want) {
		t.Errorf("summary lacks %q: %s", want, r.Recommendation.Summary)
	}
	if ru := r.RunnerUp; ru == nil || ru.Candidate != "API gpt-4o-mini" || !strings.Contains(ru.Flip, "qualifies if gpt-4o-mini reaches 80%, and then wins") {
		t.Errorf("runner-up %+v", ru)
	}
	for _, c := range []struct{ acc, passed, want string }{{"0.8", "80", "API gpt-4o-mini"}, {"0.79", "79", haiku}} {
		lifted := withEval(t, ev, `"accuracy": 0.78, "cases": 100, "passed": 78`, `"accuracy": `+c.acc+`, "cases": 100, "passed": `+c.passed)
		if got := adviseOrg(t, p, "--eval", lifted).Recommendation.Candidate; got != c.want {
			t.Errorf("with gpt-4o-mini at %s: %q, want %q", c.acc, got, c.want)
		}
	}
}

// A freight forwarder bound to the EU with an 80% floor (compliance,
// quality, evals named only through eval_model and the gateway): 3,000 M
// input + 1,000 M output tokens a month, 12 months. gpt-4o-eu reads the
// result of "gpt-4o" (eval_model), mistral-large-latest reads results as
// "dispatch", the gateway's alias for mistral-large-2411, and the eval was
// run against Mistral directly, by that upstream id; the 70B reads its
// results as "llama-70b-fleet".
//
//	gpt-4o (us):                3,000 × $2.50 + 1,000 × $10 = $17,500    out: us
//	gpt-4o-eu (westeurope):     3,000 × $2.75 + 1,000 × $11 = $19,250    90%
//	mistral-large-latest (eu):  3,000 × $0.50 + 1,000 × $1.50 = $3,000   78% < 80%: out
//	llama-3.1-70b: 1,000 M / 2,628,000 s = 380.5 tok/s, one replica of 2
//	  H100s $3,927.40 + 0.5 × $10,000 + $400 = $9,327.40; 12 months +
//	  $8,000 = $119,928.80; 86%, 4 pts behind gpt-4o-eu
//
// The 70B is chosen, decided by quality (without it mistral); residency
// does not decide (without it gpt-4o, $17,500, is still dearer). Runner-up
// mistral "qualifies if it reaches 80%, and then wins", re-decided at 80%
// and 79.5%. Break-even against gpt-4o-eu ($4.8125 a million at 3:1):
// $9,327.40 / $4.8125 = 1.938 B tokens a month. Before, the eval_model
// "dispatch" was not read through the gateway: mistral went unscored, its
// 78% against the 80% floor was never checked, and it was recommended
// ("Its quality floor of 80% is not checked"), while an eval naming the
// alias was read as its upstream the other way round.
func TestAdviseOrgFreightEvalModelThroughGateway(t *testing.T) {
	p, ev, gw := orgs+"freight.yaml", orgs+"freight-evals.json", orgs+"freight-gateway.yaml"
	r := adviseOrg(t, p, "--eval", ev, "--config", gw)
	const self = "self-hosted llama-3.1-70b"
	r.month1(t, map[string]float64{"API gpt-4o": 17500, "API gpt-4o-eu": 19250, "API mistral-large-latest": 3000, self: 9327.40})
	if got := r.total(t, self); math.Abs(got-119928.80) > 0.01 {
		t.Errorf("self-hosted total $%.2f, want $119,928.80", got)
	}
	for name, want := range map[string][]string{"API gpt-4o": {"compliance"}, "API mistral-large-latest": {"quality"}, "API gpt-4o-eu": nil, self: nil} {
		if ex := r.excludedBy(name); !slices.Equal(ex, want) {
			t.Errorf("%s excluded by %v, want %v", name, ex, want)
		}
	}
	if len(r.UnmatchedEvals) != 0 {
		t.Errorf("unmatched %+v", r.UnmatchedEvals)
	}
	r.decision(t, self, "quality")
	r.without(t, map[string]string{"quality": "API mistral-large-latest"})
	if ru := r.RunnerUp; ru == nil || ru.Candidate != "API mistral-large-latest" || !strings.Contains(ru.Flip, "qualifies if mistral-large-latest reaches 80%, and then wins") {
		t.Errorf("runner-up %+v", ru)
	}
	for _, c := range []struct{ acc, passed, want string }{{"0.8", "160", "API mistral-large-latest"}, {"0.795", "159", self}} {
		lifted := withEval(t, ev, `"accuracy": 0.78, "cases": 200, "passed": 156`, `"accuracy": `+c.acc+`, "cases": 200, "passed": `+c.passed)
		if got := adviseOrg(t, p, "--eval", lifted, "--config", gw).Recommendation.Candidate; got != c.want {
			t.Errorf("with mistral at %s: %q, want %q", c.acc, got, c.want)
		}
	}
	txt, _, err := opRun(t, "advise", "--profile", p, "--eval", ev, "--config", gw)
	for _, want := range []string{
		"Break-even: self-hosting all traffic on llama-3.1-70b costs no more a month than gpt-4o-eu from 1.938 B tokens a month",
		`"gpt-4o" → gpt-4o-eu, "mistral-large-2411" → mistral-large-latest, "llama-70b-fleet" → llama-3.1-70b`,
	} {
		if err != nil || !strings.Contains(txt, want) {
			t.Errorf("text (%v) lacks %q", err, want)
		}
	}
}

// A translation agency that must fine-tune (customisation at a cost, a
// fleet at its edge): 4,000 M input + 1,000 M output tokens a month, 12
// months, a peak of 14 requests/s × 340 output tokens = 4,760 tokens/s.
//
//	gpt-4o-mini fine-tuned: 4,000 × $0.30 + 1,000 × $1.20 = $2,400 + 100 ×
//	  $3 training = $2,700; 12 months $32,400
//	mistral-large-latest: 4,000 × $0.50 + 1,000 × $1.50 = $3,500, no hosted
//	  fine-tuning: out
//	llama-3.1-8b: 4,760 / (3,400 × 0.7 = 2,380) = 2 replicas exactly: 2 ×
//	  $1,963.70 + 0.5 × $10,000 + $300 + $900 training = $10,127.40; 12
//	  months + $3,000 = $124,528.80 (at 14.01 requests/s, 3 H100s: $12,091.10)
//
// gpt-4o-mini is chosen, decided by cost: customisation rules out only
// mistral, dearer anyway. Runner-up self-hosting: at k × today's volume
// (the peak held, 2 replicas up to k = 12.5) the API costs 12 × ($2,400 k +
// $300), the training does not scale, so self-hosting wins above k =
// ($124,528.80 / 12 − $300) / $2,400 = 4.19892: 20.99 B tokens a month;
// a month's break-even is ($10,127.40 − $300) / $2,400 × 5 B = 20.47 B.
func TestAdviseOrgTranslationFineTuningAtTheFleetEdge(t *testing.T) {
	p := orgs + "translation.yaml"
	r := adviseOrg(t, p)
	const self = "self-hosted llama-3.1-8b"
	r.month1(t, map[string]float64{"API gpt-4o-mini": 2700, "API mistral-large-latest": 3500, self: 10127.40})
	for name, want := range map[string]float64{"API gpt-4o-mini": 32400, self: 124528.80} {
		if got := r.total(t, name); math.Abs(got-want) > 0.01 {
			t.Errorf("%s: total $%.2f, want $%.2f", name, got, want)
		}
	}
	if ex := r.excludedBy("API mistral-large-latest"); !slices.Equal(ex, []string{"customisation"}) {
		t.Errorf("mistral excluded by %v", ex)
	}
	r.decision(t, "API gpt-4o-mini", "cost")
	r.without(t, nil)
	k := (124528.80/12 - 300) / 2400
	ru := r.RunnerUp
	if ru == nil || ru.Candidate != self || !strings.Contains(ru.Flip, "it becomes the recommendation above 20.99 B tokens a month") ||
		len(ru.VolumeFlips) != 1 || math.Abs(ru.VolumeFlips[0].TokensPerMonth/(k*5e9)-1) > 1e-6 {
		t.Errorf("runner-up %+v, want above %.6g", ru, k*5e9)
	}
	flipAt(t, p, k, "API gpt-4o-mini", self)
	txt, _, err := opRun(t, "advise", "--profile", p)
	if want := "costs no more a month than gpt-4o-mini from 20.47 B tokens a month"; err != nil || !strings.Contains(txt, want) {
		t.Errorf("break-even (%v) lacks %q", err, want)
	}
	r = adviseOrg(t, writeVariant(t, p, "peak_rps: 14", "peak_rps: 14.01"))
	r.month1(t, map[string]float64{self: 12091.10})
}
