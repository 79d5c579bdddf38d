package advise

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/eval"
)

// matchEvals gives each candidate model the eval results that are the same
// model (parseIdentity, sameModel): by its name, or by its eval_model when
// set (an explicit mapping is then the only name used) or by the upstream
// id the gateway config maps its name to, the eval result read by its own
// name or by the upstream id the gateway config maps it to (aliases:
// gateway model name → upstream id). A result goes to the
// candidates whose names are closest to it (fewest tags apart), so with
// both llama-3.1-70b and llama-3.1-70b-awq listed, an AWQ eval counts for
// the second only. Every result matched to no candidate is named in a
// warning; every match by identity rather than by name is named in a note.
func (r *Report) matchEvals(p *Profile, evals []*eval.Report, aliases map[string]string) {
	type cand struct {
		model string
		ids   []identity
	}
	var cands []cand
	add := func(model, evalModel string) {
		if evalModel != "" {
			cands = append(cands, cand{model, []identity{parseIdentity(evalModel)}})
			return
		}
		c := cand{model, []identity{parseIdentity(model)}}
		// A candidate named by a gateway model ("smart") is also its
		// upstream id: an eval run against the provider directly names
		// that ("gpt-4o").
		if up, ok := aliases[model]; ok && up != "" {
			c.ids = append(c.ids, parseIdentity(up))
		}
		cands = append(cands, c)
	}
	for _, c := range p.Candidates.Proprietary {
		add(c.Model, c.EvalModel)
	}
	for _, c := range p.Candidates.Open {
		add(c.Model, c.EvalModel)
	}
	r.scores = map[string]*ModelScore{}
	var unmatched, byIdentity []string
	for _, e := range evals {
		for _, m := range e.Models {
			r.Quality = append(r.Quality, QualityScore{Suite: e.Suite, Model: m.Model, Accuracy: m.Accuracy, Cases: m.Cases, Errors: m.Errors})
			keys := []string{m.Model}
			if up, ok := aliases[m.Model]; ok && up != "" {
				keys = append(keys, up)
			}
			// Each candidate's distance to the result (-1: not the same
			// model), then the closest ones.
			dist := make([]int, len(cands))
			best := -1
			for i, c := range cands {
				dist[i] = -1
				for _, k := range keys {
					for _, id := range c.ids {
						if same, d := sameModel(parseIdentity(k), id); same && (dist[i] < 0 || d < dist[i]) {
							dist[i] = d
						}
					}
				}
				if dist[i] >= 0 && (best < 0 || dist[i] < best) {
					best = dist[i]
				}
			}
			matched := false
			for i, c := range cands {
				if dist[i] < 0 || dist[i] != best {
					continue
				}
				matched = true
				if best > 0 || !slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(strings.TrimSpace(k), c.model) }) {
					how := fmt.Sprintf("%q → %s", m.Model, c.model)
					if quantisedApart(parseIdentity(m.Model), parseIdentity(c.model)) {
						how += " (a quantised build of the other: accuracy may differ)"
					}
					if !slices.Contains(byIdentity, how) {
						byIdentity = append(byIdentity, how)
					}
				}
				if m.Errors >= m.Cases {
					r.Notes = append(r.Notes, fmt.Sprintf("Eval result %q (suite %s) matches %s but every call failed: ignored.", m.Model, e.Suite, c.model))
					continue
				}
				s := r.scores[c.model]
				if s == nil {
					s = &ModelScore{Model: c.model}
					r.scores[c.model] = s
				}
				// A failed call says nothing about the model's answers: the
				// eval counts it as a wrong answer (passed ÷ cases), the
				// advisor scores the answered cases only (passed ÷ answered)
				// and says so.
				answered := m.Cases - m.Errors
				passed := m.Accuracy * float64(m.Cases)
				if n := math.Round(passed); math.Abs(passed-n) < 1e-9 {
					passed = n // a count: 0.56 × 100 is 56, not 56.000000000000007
				}
				if m.Errors > 0 {
					r.Notes = append(r.Notes, fmt.Sprintf("Eval result %q (suite %s): %d of %d calls failed; its accuracy is taken over the %d answered cases (%.1f%%, not %.1f%%).",
						m.Model, e.Suite, m.Errors, m.Cases, answered, 100*passed/float64(answered), 100*m.Accuracy))
				}
				// Accuracy weighted by answered cases over the matched results.
				tot := float64(s.Cases) * s.Accuracy
				s.Cases += answered
				s.Accuracy = (tot + passed) / float64(s.Cases)
				if !slices.Contains(s.EvalModels, m.Model) {
					s.EvalModels = append(s.EvalModels, m.Model)
				}
			}
			if !matched {
				u := fmt.Sprintf("%q (suite %s", m.Model, e.Suite)
				// Named in the profile, but read under another name: say
				// so, or the warning's "name the model in the profile"
				// sends the reader in a circle.
				for _, c := range append(slices.Clone(p.Candidates.Proprietary), openAsProprietary(p.Candidates.Open)...) {
					if c.EvalModel != "" {
						if same, _ := sameModel(parseIdentity(m.Model), parseIdentity(c.Model)); same {
							u += fmt.Sprintf("; candidate %s reads eval results as %q, its eval_model", c.Model, c.EvalModel)
						}
					}
				}
				unmatched = append(unmatched, u+")")
			}
		}
	}
	r.UnmatchedEvals = unmatched
	if len(evals) > 0 {
		var unmeasured []string
		for _, c := range cands {
			if r.scores[c.model] == nil {
				unmeasured = append(unmeasured, c.model)
			}
		}
		if len(unmeasured) > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("No eval result for %s: quality thresholds are not checked for them.", strings.Join(unmeasured, ", ")))
		}
	}
	if len(byIdentity) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("Eval results counted for a candidate of another name, as the same model (case, organisation prefix, instruct/chat tuning, date, version and quantisation tags aside): %s.",
			strings.Join(byIdentity, ", ")))
	}
	if len(unmatched) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("Warning: %d eval result(s) match no candidate and are not used: %s. Name the model in the profile, set eval_model on the candidate, or pass the gateway --config that maps the eval's model names to upstream models.",
			len(unmatched), strings.Join(unmatched, ", ")))
	}
}

// score is a candidate model's matched eval accuracy, or nil.
func (r *Report) score(model string) *ModelScore {
	if model == "" {
		return nil
	}
	return r.scores[model]
}

// openAsProprietary gives the open candidates' model and eval_model in the
// shape of API ones, to look both kinds over at once.
func openAsProprietary(os []OpenModel) []ProprietaryModel {
	out := make([]ProprietaryModel, len(os))
	for i, o := range os {
		out[i] = ProprietaryModel{Model: o.Model, EvalModel: o.EvalModel}
	}
	return out
}
