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
		!strings.Contains(ru.Flip, "only lifting compliance and data sensitivity together would, and then it wins") {
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
