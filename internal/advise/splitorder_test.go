package advise

import (
	"slices"
	"testing"
)

// Over the split bound, where the classes' API costs are not separate
// (each class must be fine-tuned and every API charges for training, paid
// once by all the classes it serves), the search narrows class by class
// and, with more splits left than the bound, costs the first of them in an
// order that depends only on prices and names, never on the order the
// profile lists its candidates in: each class's APIs cheapest first at its
// prices (fine-tuned prices here) and today's mix, then by training price,
// then by name. Seven classes over a ($1 / $4), b ($2 / $2) and c ($4 /
// $1), each with $3 per million training tokens, and d ($0.50 / $0.50, no
// hosted fine-tuning); at a 1:1 mix a and c cost the same ($2.50 a million
// tokens), b less ($2): a and c tie for every class. 2,184 splits are left
// (3⁷ − 3), 1,000 are costed. Before, the first 1,000 in the profile's
// order were costed, and the training-price tie between a and c was broken
// by which was listed first: listing c before a costed other splits and
// changed the recommendation.
func TestSplitBoundOrderIndependent(t *testing.T) {
	ft := &HostedFineTuning{TrainingPerMillion: 3}
	apis := []ProprietaryModel{
		{Model: "a", InputPerMillion: 1, OutputPerMillion: 4, FineTuning: ft},
		{Model: "b", InputPerMillion: 2, OutputPerMillion: 2, FineTuning: ft},
		{Model: "c", InputPerMillion: 4, OutputPerMillion: 1, FineTuning: ft},
		{Model: "d", InputPerMillion: 0.5, OutputPerMillion: 0.5},
	}
	decide := func(order []int) (string, []string) {
		var ps []ProprietaryModel
		for _, i := range order {
			ps = append(ps, apis[i])
		}
		p := splitProfile(t, make([]float64, 7), ps)
		p.Customisation = Customisation{FineTuning: true, TrainingTokensPerMonth: 1e8}
		r := run(t, p)
		if s := r.SplitSearch; s == nil || !s.Cut || s.Costed != 1000 {
			t.Fatalf("split search %+v", r.SplitSearch)
		}
		var costed []string
		for _, c := range r.Candidates {
			if len(c.APIModels) > 1 {
				costed = append(costed, c.Name)
			}
		}
		slices.Sort(costed)
		return r.Recommendation.Candidate, costed
	}
	want, wantCosted := decide([]int{0, 1, 2, 3})
	for _, order := range [][]int{{2, 1, 0, 3}, {3, 2, 1, 0}, {1, 0, 3, 2}} {
		got, costed := decide(order)
		if got != want {
			t.Errorf("APIs in order %v: %q, in profile order %q", order, got, want)
		}
		if !slices.Equal(costed, wantCosted) {
			t.Errorf("APIs in order %v: %d of the splits costed differ", order, len(costed)-countCommon(costed, wantCosted))
		}
	}
}

func countCommon(a, b []string) int {
	n := 0
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); ok {
			n++
		}
	}
	return n
}
