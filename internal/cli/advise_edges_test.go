package cli

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Organisations at the framework's corners, worked by hand as in
// advise_orgs_test.go: no API allowed at all, a budget below every
// candidate, volume at a break-even, evals named every way.

// writeVariant writes profile with each old string replaced by its new one
// (pairs), failing when one is not there.
func writeVariant(t *testing.T, profile string, pairs ...string) string {
	t.Helper()
	b, err := os.ReadFile(profile)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("%s has no %q", profile, pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	p := filepath.Join(t.TempDir(), filepath.Base(profile))
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A cantonal hospital bound to Switzerland (compliance) with 30% patient
// data (data sensitivity) and a tiny volume: 20 M input + 5 M output
// tokens a month, 12 months. No API processes data in ch: the US,
// Frankfurt (eu-central-1, in de) and Ireland (eu-west-1) are all outside.
//
//	gpt-4o-mini:           20 × $0.15 + 5 × $0.60 = $6       out: us; phi
//	claude-haiku-4-5:      20 × $1    + 5 × $5    = $45      out: de; phi
//	mistral-large-latest:  20 × $0.50 + 5 × $1.50 = $17.50   out: ie; phi
//	llama-3.1-8b: 5 M / 2,628,000 s = 1.9 tok/s, one A100 (0.1% busy),
//	  $1.39 × 730 = $1,014.70 + 0.25 × $15,000 + $200 = $4,964.70;
//	  12 months + $3,000 set-up = $62,576.40
//	hybrid 8B + gpt-4o-mini, phi self-hosted: $4,964.70 + 0.7 × $6 =
//	  $4,968.90, out: us
//
// Self-hosting is chosen at 869× the cheapest API's cost ($72 over 12
// months), which the report must say. Neither hard constraint alone
// changed the choice: without residency the hybrid is eligible but dearer
// than self-hosting ($4,968.90 > $4,964.70); without the patient data no
// API is allowed. Together they did (without both, gpt-4o-mini at $6).
// The runner-up, gpt-4o-mini, is ruled out by both: lifting compliance
// alone would not make it win. Before, the report said "only lifting the
// constraint would" (compliance), which does not hold.
func TestAdviseOrgCantonNoAllowedAPI(t *testing.T) {
	p := orgs + "canton.yaml"
	r := adviseOrg(t, p)
	const self, hyb = "self-hosted llama-3.1-8b", "hybrid llama-3.1-8b + gpt-4o-mini (sensitive self-hosted)"
	r.month1(t, map[string]float64{"API gpt-4o-mini": 6, "API claude-haiku-4-5": 45, "API mistral-large-latest": 17.50, self: 4964.70, hyb: 4968.90})
	if got := r.total(t, self); math.Abs(got-62576.40) > 0.01 {
		t.Errorf("self-hosted total $%.2f, want $62,576.40", got)
	}
	for _, api := range []string{"API gpt-4o-mini", "API claude-haiku-4-5", "API mistral-large-latest"} {
		if ex := r.excludedBy(api); !slices.Contains(ex, "compliance") || !slices.Contains(ex, "data sensitivity") {
			t.Errorf("%s excluded by %v", api, ex)
		}
	}
	if ex := r.excludedBy(hyb); !slices.Equal(ex, []string{"compliance"}) {
		t.Errorf("%s excluded by %v", hyb, ex)
	}
	r.decision(t, self, "data sensitivity", "compliance")
	for _, want := range []string{"together", "$62,576 over 12 months", "869.1× less"} {
		if !strings.Contains(r.Recommendation.Summary, want) {
			t.Errorf("summary lacks %q: %s", want, r.Recommendation.Summary)
		}
	}
	for _, c := range r.Criteria {
		if c.Name == "cost" && !strings.Contains(c.Finding, "cost did not decide it") {
			t.Errorf("cost finding %q", c.Finding)
		}
	}
	ru := r.RunnerUp
	if ru == nil || ru.Candidate != "API gpt-4o-mini" ||
		!strings.Contains(ru.Flip, `the API processes it in "us", and by data sensitivity (it would cost $72.00, 869.1× less); no price or volume changes this: only lifting compliance and data sensitivity together would, and then it wins`) {
		t.Fatalf("runner-up %+v", ru)
	}
	// Either side, by hand: residency lifted alone, self-hosting stays
	// (the hybrid is dearer); both lifted, gpt-4o-mini wins.
	noRes := writeVariant(t, p, "residency: ch", `residency: ""`)
	if got := adviseOrg(t, noRes).Recommendation.Candidate; got != self {
		t.Errorf("without residency: %q, want %q", got, self)
	}
	noBoth := writeVariant(t, p, "residency: ch", `residency: ""`, "{ classes: [phi], private_share: 0.3 }", "{ private_share: 0 }")
	if got := adviseOrg(t, noBoth).Recommendation.Candidate; got != "API gpt-4o-mini" {
		t.Errorf("without residency and patient data: %q, want API gpt-4o-mini", got)
	}
}

// decidedNear checks a volume figure by deciding a part in a million either
// side of k × today's volume: before it the choice is below, beyond it above.
func decidedNear(t *testing.T, profile string, k float64, below, above string, extra ...string) {
	t.Helper()
	for _, c := range []struct {
		f    float64
		want string
	}{{1 - 1e-6, below}, {1 + 1e-6, above}} {
		if got := adviseOrg(t, scaled(t, profile, k*c.f), extra...).Recommendation.Candidate; got != c.want {
			t.Errorf("at %.8g × today's volume: %q, want %q", k*c.f, got, c.want)
		}
	}
}

// A helpline charity whose $50 monthly limit is below every candidate
// (budget): 300 M input + 100 M output tokens a month, growing 2% a month,
// 12 months; S = (1.02^12 − 1) / 0.02 = 13.41209 months' worth of month 1.
//
//	gpt-4o-mini:  300 × $0.15 + 100 × $0.60 = $105; month 12 105 × 1.02^11
//	  = $130.59; 12 months $105 × S = $1,408.27
//	gpt-4o:       300 × $2.50 + 100 × $10   = $1,750; $23,471.16
//	llama-3.1-8b: 38 tok/s, one A100 $1,014.70 + 0.5 × $6,000 + $100 =
//	  $4,114.70; 12 months + $2,000 = $51,376.40
//
// Every candidate is over the limit in every month, so none is ruled out
// by it: the cheapest, gpt-4o-mini, is recommended, decided by cost, and
// the summary says it exceeds the limit (never a silent pick). Runner-up:
// self-hosting. At V tokens a month (3:1) the API's 12 months cost
// 0.2625 × V × S / 1e6 and self-hosting $39,200 + $1,014.70 a replica-month;
// a replica carries 1,518 × 0.7 = 1,062.6 tok/s. The API first loses at
// 18.63 B: V / 4 / 2,628,000 = 1,772 tok/s in month 1, 2,119 in month 10
// (2 replicas), 2,204 in month 11 (3): 26 replica-months, $65,582.20 =
// 0.2625 × V × S. The API wins again just above, where month 10 needs its
// third replica, and for good from 19.49 B (months 1–7 on 2 replicas,
// 8–12 on 3: 29 replica-months, $68,626.30).
func TestAdviseOrgCharityBudgetBelowEveryCandidate(t *testing.T) {
	p := orgs + "charity.yaml"
	r := adviseOrg(t, p)
	const self = "self-hosted llama-3.1-8b"
	S := (math.Pow(1.02, 12) - 1) / 0.02
	r.month1(t, map[string]float64{"API gpt-4o-mini": 105, "API gpt-4o": 1750, self: 4114.70})
	for name, want := range map[string]float64{"API gpt-4o-mini": 105 * S, "API gpt-4o": 1750 * S, self: 51376.40} {
		if got := r.total(t, name); math.Abs(got-want) > 0.01 {
			t.Errorf("%s: total $%.2f, want $%.2f", name, got, want)
		}
	}
	for _, c := range r.Candidates {
		if c.OverBudgetMonths != 12 || len(c.Exclusions) != 0 {
			t.Errorf("%s: over budget in %d months, excluded by %+v; want 12 and none", c.Name, c.OverBudgetMonths, c.Exclusions)
		}
	}
	r.decision(t, "API gpt-4o-mini", "cost")
	r.without(t, nil)
	if want := "Over the $50.00 monthly budget in 12 of 12 months (up to $131): every candidate left exceeds it."; !strings.Contains(r.Recommendation.Summary, want) {
		t.Errorf("summary lacks %q: %s", want, r.Recommendation.Summary)
	}
	ru := r.RunnerUp
	if ru == nil || ru.Candidate != self || len(ru.VolumeFlips) != 1 {
		t.Fatalf("runner-up %+v", ru)
	}
	first := (39200 + 26*1014.70) / (0.2625e-6 * S)
	good := (39200 + 29*1014.70) / (0.2625e-6 * S)
	if f := ru.VolumeFlips[0]; f.Direction != "above" || math.Abs(f.TokensPerMonth/first-1) > 1e-6 ||
		!strings.Contains(ru.Flip, "first changes above 18.63 B tokens a month") || !strings.Contains(ru.Flip, "up to 19.49 B tokens, above which it is the recommendation") {
		t.Errorf("flip %+v, want above %.6g and for good from %.6g", ru, first, good)
	}
	decidedNear(t, p, first/400e6, "API gpt-4o-mini", self)
	decidedNear(t, p, good/400e6, "API gpt-4o-mini", self)
}

// An insurance broker bound to the EU with an 80% floor and a 5-pt gap
// limit (compliance, quality, evals named every way): 1,000 M input +
// 250 M output tokens a month, 12 months. The eval report names gpt-4o by
// its snapshot (gpt-4o-2024-08-06, the upstream of the gateway's gpt-4o-eu),
// mistral by its upstream id, Llama by the gateway's alias llama-70b-prod,
// and Claude Sonnet, which residency rules out, at 92%.
//
//	gpt-4o-eu (swedencentral):  1,000 × $2.50 + 250 × $10 = $5,000     90%
//	gpt-4o (us):                the same $5,000                        out: us
//	claude-sonnet-4-5 (us):     1,000 × $3 + 250 × $15 = $6,750        out: us
//	mistral-large-latest (eu):  1,000 × $0.50 + 250 × $1.50 = $875     78% < 80%
//	llama-3.1-70b: 250 M / 2,628,000 s = 95 tok/s, one replica of 2 H100s,
//	  $3,927.40 + 0.5 × $14,000 + $800 = $11,727.40; 84%, 6 pts behind
//	  gpt-4o-eu, the most accurate API residency allows (Claude's 92% is
//	  not the alternative): out
//
// gpt-4o-eu is chosen, $60,000 over 12 months, decided by quality alone
// (without it mistral, $875, wins; without residency gpt-4o-eu, listed
// first, ties gpt-4o). Runner-up mistral "qualifies if it reaches 80%, and
// then wins" — re-decided at 80% and 79.5%. Without the gateway config
// gpt-4o-eu and the alias are unknown to the eval: the floor is said to be
// unchecked and llama-70b-prod is warned about.
func TestAdviseOrgBrokerEvalsNamedEveryWay(t *testing.T) {
	p, ev, gw := orgs+"broker.yaml", orgs+"broker-evals.json", orgs+"broker-gateway.yaml"
	r := adviseOrg(t, p, "--eval", ev, "--config", gw)
	r.month1(t, map[string]float64{"API gpt-4o-eu": 5000, "API gpt-4o": 5000, "API claude-sonnet-4-5": 6750, "API mistral-large-latest": 875, "self-hosted llama-3.1-70b": 11727.40})
	if got := r.total(t, "self-hosted llama-3.1-70b"); math.Abs(got-146728.80) > 0.01 {
		t.Errorf("self-hosted total $%.2f, want $146,728.80", got)
	}
	for name, want := range map[string]string{"API gpt-4o": "compliance", "API claude-sonnet-4-5": "compliance", "API mistral-large-latest": "quality", "self-hosted llama-3.1-70b": "quality"} {
		if ex := r.excludedBy(name); !slices.Equal(ex, []string{want}) {
			t.Errorf("%s excluded by %v, want %s", name, ex, want)
		}
	}
	for _, c := range r.Candidates {
		if c.Name == "self-hosted llama-3.1-70b" && (len(c.Exclusions) != 1 || !strings.Contains(c.Exclusions[0].Reason, "trails gpt-4o-eu by 6.0 pp")) {
			t.Errorf("the gap is not measured against gpt-4o-eu: %+v", c.Exclusions)
		}
	}
	if len(r.UnmatchedEvals) != 0 {
		t.Errorf("unmatched %+v", r.UnmatchedEvals)
	}
	r.decision(t, "API gpt-4o-eu", "quality")
	r.without(t, map[string]string{"quality": "API mistral-large-latest"})
	if ru := r.RunnerUp; ru == nil || ru.Candidate != "API mistral-large-latest" || !strings.Contains(ru.Flip, "qualifies if mistral-large-latest reaches 80%, and then wins") {
		t.Errorf("runner-up %+v", r.RunnerUp)
	}
	b, err := os.ReadFile(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		acc, passed, want string
	}{{"0.8", "160", "API mistral-large-latest"}, {"0.795", "159", "API gpt-4o-eu"}} {
		lifted := filepath.Join(t.TempDir(), "lifted.json")
		os.WriteFile(lifted, []byte(strings.Replace(string(b), `"accuracy": 0.78, "cases": 200, "passed": 156`, `"accuracy": `+c.acc+`, "cases": 200, "passed": `+c.passed, 1)), 0o644)
		if got := adviseOrg(t, p, "--eval", lifted, "--config", gw).Recommendation.Candidate; got != c.want {
			t.Errorf("with mistral at %s: %q, want %q", c.acc, got, c.want)
		}
	}
	r = adviseOrg(t, p, "--eval", ev)
	if !strings.Contains(r.Recommendation.Summary, "Its quality floor of 80% is not checked: no eval result for gpt-4o-eu.") ||
		len(r.UnmatchedEvals) != 1 || r.UnmatchedEvals[0].Model != "llama-70b-prod" {
		t.Errorf("without the gateway config: %s; unmatched %+v", r.Recommendation.Summary, r.UnmatchedEvals)
	}
}

// A consultancy whose expert opinions (10%) need 92%, which only
// claude-opus-4-5 (94%, named by its Bedrock id) reaches; triage (60%, 70%)
// and summaries (30%, 75%) are cheap work. 2,000 M input + 500 M output
// tokens a month, 12 months; gpt-4o-mini 80%, gpt-4o 89%, llama-3.1-8b 76%.
//
//	gpt-4o-mini:      2,000 × $0.15 + 500 × $0.60 = $600      out: opinions
//	gpt-4o:           2,000 × $2.50 + 500 × $10   = $10,000   out: opinions
//	claude-opus-4-5:  2,000 × $5    + 500 × $25   = $22,500   eligible
//	llama-3.1-8b: 190 tok/s, one H100 $1,963.70 + $6,000 + $500 = $8,463.70;
//	  12 months + $5,000 = $106,564.40   out: opinions
//	split, opinions on opus, the rest on gpt-4o-mini: 0.1 × $22,500 +
//	  0.9 × $600 = $2,790; 12 months $33,480
//
// The split is chosen, decided by quality (without it gpt-4o-mini alone);
// the runner-up gpt-4o-mini "qualifies if it reaches 92%, and then wins"
// (re-decided at 92% and 91.5%). The break-even pairs the cheapest eligible
// API, opus ($9 a million at the 4:1 mix), with the 8B: $8,463.70 / $9 =
// 940.4 M tokens a month; the 8B is ruled out by quality, which the text
// says (before, "self-hosting costs no more in total from month 1" read as
// an option the report had not ruled out).
func TestAdviseOrgConsultancyOneClassNeedsTheLargestAPI(t *testing.T) {
	p, ev := orgs+"consultancy.yaml", orgs+"consultancy-evals.json"
	r := adviseOrg(t, p, "--eval", ev)
	const split = "split: expert opinions on claude-opus-4-5, email triage on gpt-4o-mini, summaries on gpt-4o-mini"
	r.month1(t, map[string]float64{"API gpt-4o-mini": 600, "API gpt-4o": 10000, "API claude-opus-4-5": 22500, "self-hosted llama-3.1-8b": 8463.70, split: 2790})
	for name, want := range map[string]float64{split: 33480, "self-hosted llama-3.1-8b": 106564.40} {
		if got := r.total(t, name); math.Abs(got-want) > 0.01 {
			t.Errorf("%s: total $%.2f, want $%.2f", name, got, want)
		}
	}
	for _, name := range []string{"API gpt-4o-mini", "API gpt-4o"} {
		if ex := r.excludedBy(name); !slices.Equal(ex, []string{"quality"}) {
			t.Errorf("%s excluded by %v", name, ex)
		}
	}
	r.decision(t, split, "quality")
	r.without(t, map[string]string{"quality": "API gpt-4o-mini"})
	if ru := r.RunnerUp; ru == nil || ru.Candidate != "API gpt-4o-mini" || !strings.Contains(ru.Flip, "qualifies if gpt-4o-mini reaches 92%, and then wins") {
		t.Errorf("runner-up %+v", r.RunnerUp)
	}
	txt, _, err := opRun(t, "advise", "--profile", p, "--eval", ev)
	if want := "Break-even: self-hosting all traffic on llama-3.1-8b costs no more a month than claude-opus-4-5 from 940.4 M tokens a month (on cost alone: self-hosted llama-3.1-8b is ruled out by quality)"; err != nil || !strings.Contains(txt, want) {
		t.Errorf("break-even (%v) lacks %q:\n%s", err, want, txt)
	}
	b, err := os.ReadFile(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		acc, passed, want string
	}{{"0.92", "92", "API gpt-4o-mini"}, {"0.915", "91", split}} {
		lifted := filepath.Join(t.TempDir(), "lifted.json")
		os.WriteFile(lifted, []byte(strings.Replace(string(b), `"accuracy": 0.8, "cases": 100, "passed": 80`, `"accuracy": `+c.acc+`, "cases": 100, "passed": `+c.passed, 1)), 0o644)
		if got := adviseOrg(t, p, "--eval", lifted).Recommendation.Candidate; got != c.want {
			t.Errorf("with gpt-4o-mini at %s: %q, want %q", c.acc, got, c.want)
		}
	}
}

// A tutoring company that must fine-tune on 2 B tokens a month
// (customisation: hosted fine-tuning against fine-tuning in-house): 1,000 M
// input + 250 M output tokens a month, 12 months.
//
//	gpt-4o-mini fine-tuned: 1,000 × $0.30 + 250 × $1.20 = $600 + 2,000 ×
//	  $3 training = $6,600; 12 months $79,200
//	gemini-2.5-flash-lite: 1,000 × $0.10 + 250 × $0.40 = $200, no hosted
//	  fine-tuning: out
//	llama-3.1-8b: 95 tok/s, one A100 $1,014.70 + 0.25 × $12,000 + $300 +
//	  $1,500 training = $5,814.70; 12 months + $4,000 = $73,776.40
//
// Self-hosting is chosen, decided by customisation (without the need
// flash-lite, $200, wins). Runner-up gpt-4o-mini, 7.4% dearer: at k ×
// today's volume it costs 12 × ($6,000 + $600 k), the training does not
// scale, so it wins below k = ($73,776.40 / 12 − $6,000) / $600 = 0.24672:
// 308.4 M tokens a month.
func TestAdviseOrgTutoringHostedAgainstInHouseFineTuning(t *testing.T) {
	p := orgs + "tutoring.yaml"
	r := adviseOrg(t, p)
	const self = "self-hosted llama-3.1-8b"
	r.month1(t, map[string]float64{"API gpt-4o-mini": 6600, "API gemini-2.5-flash-lite": 200, self: 5814.70})
	for name, want := range map[string]float64{"API gpt-4o-mini": 79200, self: 73776.40} {
		if got := r.total(t, name); math.Abs(got-want) > 0.01 {
			t.Errorf("%s: total $%.2f, want $%.2f", name, got, want)
		}
	}
	if ex := r.excludedBy("API gemini-2.5-flash-lite"); !slices.Equal(ex, []string{"customisation"}) {
		t.Errorf("flash-lite excluded by %v", ex)
	}
	r.decision(t, self, "customisation")
	r.without(t, map[string]string{"customisation": "API gemini-2.5-flash-lite"})
	for _, c := range r.Criteria {
		if c.Name == "customisation" && !strings.Contains(c.Finding, "gpt-4o-mini offers hosted fine-tuning ($3.00 per million training tokens, then $0.30 / $1.20 per million)") {
			t.Errorf("customisation finding %q", c.Finding)
		}
	}
	k := (73776.40/12 - 6000) / 600
	ru := r.RunnerUp
	if ru == nil || ru.Candidate != "API gpt-4o-mini" || !strings.Contains(ru.Flip, "costs $79,200 over 12 months, 7.4% more; it becomes the recommendation below 308.4 M tokens a month") ||
		len(ru.VolumeFlips) != 1 || math.Abs(ru.VolumeFlips[0].TokensPerMonth/(k*1.25e9)-1) > 1e-6 {
		t.Errorf("runner-up %+v, want below %.6g", ru, k*1.25e9)
	}
	flipAt(t, p, k, "API gpt-4o-mini", self)
}

// A publisher exactly at the break-even (cost, a tie): one H100 serving
// llama-3.1-70b (419 tok/s, 76 needed), $1,963.70 + 0.1 × $10,000 +
// $536.30 = $3,500 a month, no set-up; gpt-4o on 600 M input + 200 M output
// tokens, 600 × $2.50 + 200 × $10 = $3,500. The API, listed first, wins
// the tie, decided by cost and in-house expertise (without the staff cost
// self-hosting is $2,500); the runner-up "costs the same" and is the
// choice above today's 800 M tokens; the break-even is 800 M.
func TestAdviseOrgPublisherAtBreakEven(t *testing.T) {
	p := orgs + "publisher.yaml"
	r := adviseOrg(t, p)
	const self = "self-hosted llama-3.1-70b"
	r.month1(t, map[string]float64{"API gpt-4o": 3500, self: 3500})
	r.decision(t, "API gpt-4o", "cost", "in-house expertise")
	r.without(t, map[string]string{"in-house expertise": self})
	ru := r.RunnerUp
	if ru == nil || ru.Candidate != self || !strings.HasPrefix(ru.Flip, "costs the same, $42,000 over 12 months") ||
		!strings.Contains(ru.Flip, "it becomes the recommendation above 800 M tokens a month") {
		t.Errorf("runner-up %+v", ru)
	}
	flipAt(t, p, 1, "API gpt-4o", self)
}
