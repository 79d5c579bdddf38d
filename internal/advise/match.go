package advise

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/eval"
)

// snapshot is a dated or floating version suffix an upstream id carries:
// gpt-4o-2024-08-06, claude-3-5-sonnet-20241022, mistral-large-latest.
var snapshot = regexp.MustCompile(`-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$`)

// normModel folds a model name for matching: lower case, without an
// organisation prefix ("mistralai/Mixtral-8x7B" → "mixtral-8x7b") or a
// snapshot suffix ("gpt-4o-2024-08-06" → "gpt-4o"), so an eval of the
// upstream id counts for the candidate named by its family.
func normModel(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	return snapshot.ReplaceAllString(s, "")
}

// candidateNames are the names an eval result may carry for a candidate:
// its eval_model when set (an explicit mapping is the only one used), else
// its model name.
func candidateNames(model, evalModel string) []string {
	if evalModel != "" {
		return []string{normModel(evalModel)}
	}
	return []string{normModel(model)}
}

// matchEvals gives each candidate model the eval results that are the same
// model: same name, the explicit eval_model, or an eval name that the
// gateway config maps to the candidate as its upstream (aliases: gateway
// model name → upstream id). Every result matched to no candidate is
// named in a note.
func (r *Report) matchEvals(p *Profile, evals []*eval.Report, aliases map[string]string) {
	type cand struct{ model, evalModel string }
	var cands []cand
	for _, c := range p.Candidates.Proprietary {
		cands = append(cands, cand{c.Model, c.EvalModel})
	}
	for _, c := range p.Candidates.Open {
		cands = append(cands, cand{c.Model, c.EvalModel})
	}
	r.scores = map[string]*ModelScore{}
	var unmatched []string
	for _, e := range evals {
		for _, m := range e.Models {
			r.Quality = append(r.Quality, QualityScore{Suite: e.Suite, Model: m.Model, Accuracy: m.Accuracy, Cases: m.Cases, Errors: m.Errors})
			keys := []string{normModel(m.Model)}
			if up, ok := aliases[m.Model]; ok && up != "" {
				keys = append(keys, normModel(up))
			}
			matched := false
			for _, c := range cands {
				names := candidateNames(c.model, c.evalModel)
				if !slices.ContainsFunc(keys, func(k string) bool { return slices.Contains(names, k) }) {
					continue
				}
				matched = true
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
				unmatched = append(unmatched, fmt.Sprintf("%q (suite %s)", m.Model, e.Suite))
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
