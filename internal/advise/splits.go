package advise

import (
	"fmt"
	"slices"
	"strings"
)

// maxSplits bounds the splits costed for one report: each is costed again
// at every volume the flips search, so the bound keeps a profile with many
// classes and candidates answering in seconds. Classes × targets is small
// in practice (3 classes over 3 APIs and an open model: 3³ + 4³ = 91).
// A variable so that a test can lower it.
var maxSplits = 1000

// SplitSearch says how the splits across several API models were searched.
type SplitSearch struct {
	// Combinations is how many assignments of the classes to targets give
	// a split (two API models or more, at most one open model).
	Combinations int `json:"combinations"`
	// Costed is how many of them are candidates: all of them unless Bound
	// cut the search.
	Costed int  `json:"costed"`
	Bound  int  `json:"bound"`
	Cut    bool `json:"cut"`
}

// splits builds the candidates that give each workload class its own
// target among several API models and at most one open model (the hybrids
// of one API and one open model are enumerated apart, before them). A
// sensitive class only ever goes to the open model, and an API compliance
// rules out is never a target: such splits are ruled out by a hard
// constraint whatever they cost, and the same split without the offending
// class placement is listed. A what-if that sets the constraint aside
// (deciding whether it changed the choice) enumerates them, since its
// classes are then not sensitive and its APIs not barred. Two fleets of
// different open models are not combined: one fleet per candidate.
//
// The order is fixed (open model none, then each in profile order; the
// classes' targets counted like digits, APIs first), so that every volume
// decides over the same list.
func (r *Report) splits(p *Profile, ws []workload) ([]*Candidate, SplitSearch) {
	s := SplitSearch{Bound: maxSplits}
	var apis []string
	for _, a := range r.Proprietary {
		if a.Allowed || r.ignore[CritCompliance] {
			apis = append(apis, a.Model)
		}
	}
	n := len(ws)
	if len(apis) < 2 || n < 2 {
		return nil, s
	}
	var out []*Candidate
	opens := append([]string{""}, func() []string {
		var m []string
		for _, o := range r.Open {
			m = append(m, o.Model)
		}
		return m
	}()...)
	for _, open := range opens {
		// targets[i] are class i's choices: the APIs (not for a sensitive
		// class), then the open model.
		targets := make([][]string, n)
		total := 1
		for i, w := range ws {
			if !w.Sensitive {
				targets[i] = append(targets[i], apis...)
			}
			if open != "" {
				targets[i] = append(targets[i], open)
			}
			total *= len(targets[i])
		}
		if total == 0 {
			continue
		}
		idx := make([]int, n)
		for range total {
			var as []Assignment
			var models []string
			onOpen := 0.0
			for i, w := range ws {
				m := targets[i][idx[i]]
				target := ScenarioProprietary
				if m == open {
					target = ScenarioSelfHosted
					onOpen += w.Share
				} else if !slices.Contains(models, m) {
					models = append(models, m)
				}
				as = append(as, Assignment{Workload: w.Name, Share: w.Share, Model: m, Target: target})
			}
			for i := n - 1; i >= 0; i-- { // next assignment
				if idx[i]++; idx[i] < len(targets[i]) {
					break
				}
				idx[i] = 0
			}
			if len(models) < 2 || (open != "" && onOpen == 0) {
				continue // one API (a hybrid or an API alone), or no traffic on the open model
			}
			s.Combinations++
			if len(out) >= maxSplits {
				continue
			}
			c := &Candidate{Kind: ScenarioHybrid, APIModels: models, OpenModel: open, Assignment: as}
			if open != "" {
				c.SelfHostedShare = onOpen + p.Hybrid.RoutedShare*(1-onOpen)
			}
			var parts []string
			for _, a := range as {
				where := a.Model
				if a.Target == ScenarioSelfHosted {
					where = "self-hosted " + a.Model
				}
				parts = append(parts, a.Workload+" on "+where)
			}
			c.Name = "split: " + strings.Join(parts, ", ")
			out = append(out, c)
		}
	}
	s.Costed = len(out)
	s.Cut = s.Costed < s.Combinations
	return out, s
}

// note says, when the bound cut the search of splits, what was left
// out ("" when nothing was).
func (s SplitSearch) note() string {
	if !s.Cut {
		return ""
	}
	return fmt.Sprintf("Only %d of the %d splits of the workload classes across API models were costed (the bound is %d): the recommendation is the best of those costed; merge classes or drop candidates to search them all.",
		s.Costed, s.Combinations, s.Bound)
}
