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
	var cands []evalCand
	add := func(model, evalModel string) {
		name := model
		if evalModel != "" {
			name = evalModel
		}
		c := evalCand{model: model, evalModel: evalModel, ids: []identity{parseIdentity(name)}}
		// A candidate (or its eval_model) named by a gateway model
		// ("smart") is also its upstream id: an eval run against the
		// provider directly names that ("gpt-4o"). The other way round,
		// an eval of "smart" is read as its upstream below; before, an
		// eval_model naming the alias matched no eval of the upstream.
		if up, ok := aliases[name]; ok && up != "" {
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
	var unmatched []UnmatchedEval
	var byIdentity []string
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
				if m.Errors > 0 && m.JudgeErrors > 0 {
					// Errors include answers the judge could not grade:
					// unmeasured, like failed calls, but not failed calls.
					r.Notes = append(r.Notes, fmt.Sprintf("Eval result %q (suite %s): %d of %d cases were not scored (%d failed calls, %d answers the judge could not grade); its accuracy is taken over the %d scored cases (%.1f%%, not %.1f%%).",
						m.Model, e.Suite, m.Errors, m.Cases, m.Errors-m.JudgeErrors, m.JudgeErrors, answered, 100*passed/float64(answered), 100*m.Accuracy))
				} else if m.Errors > 0 {
					r.Notes = append(r.Notes, fmt.Sprintf("Eval result %q (suite %s): %d of %d calls failed; its accuracy is taken over the %d answered cases (%.1f%%, not %.1f%%).",
						m.Model, e.Suite, m.Errors, m.Cases, answered, 100*passed/float64(answered), 100*m.Accuracy))
				}
				// Accuracy weighted by answered cases over the matched results.
				s.passed += passed
				s.Cases += answered
				s.Accuracy = s.passed / float64(s.Cases)
				if !slices.Contains(s.EvalModels, m.Model) {
					s.EvalModels = append(s.EvalModels, m.Model)
				}
			}
			if !matched {
				unmatched = append(unmatched, whyUnmatched(m.Model, e.Suite, keys, cands))
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
		r.Notes = append(r.Notes, fmt.Sprintf("Warning: %s Name the model in the profile, set eval_model on the candidate, or pass the gateway --config that maps the eval's model names to upstream models.",
			UnmatchedWarning(unmatched)))
	}
}

// evalCand is a candidate model as eval results are matched to it: the
// identities its results may carry (its eval_model alone when set).
type evalCand struct {
	model     string
	evalModel string
	ids       []identity
}

// UnmatchedEval is an eval result that no candidate matched, and why.
type UnmatchedEval struct {
	// Model and Suite name the result as the eval report does.
	Model string `json:"model"`
	Suite string `json:"suite"`
	// Reason is why it was not matched:
	//   - "eval_model": a candidate is this model but reads its results
	//     under another name (its eval_model), named in Nearest;
	//   - "other_build": a candidate is this model in another build that
	//     both names pin (another snapshot date, version or quantisation);
	//   - "other_model": the nearest candidate is of the same family but
	//     another model (another size, version or variant such as mini);
	//   - "no_candidate": no candidate is of its family.
	Reason string `json:"reason"`
	// Detail says the same in words.
	Detail string `json:"detail"`
	// Nearest is the candidate closest to it by name, when one is of the
	// same family ("" for no_candidate).
	Nearest string `json:"nearest_candidate,omitempty"`
}

// Unmatched reasons.
const (
	UnmatchedEvalModel   = "eval_model"
	UnmatchedOtherBuild  = "other_build"
	UnmatchedOtherModel  = "other_model"
	UnmatchedNoCandidate = "no_candidate"
)

// String is the result as the warning names it: "\"claude-x\" (suite own)",
// with why when a candidate is near.
func (u UnmatchedEval) String() string {
	if u.Reason == UnmatchedNoCandidate {
		return fmt.Sprintf("%q (suite %s)", u.Model, u.Suite)
	}
	return fmt.Sprintf("%q (suite %s; %s)", u.Model, u.Suite, u.Detail)
}

// UnmatchedWarning is the warning for results no candidate matched, as the
// notes and the CLI's standard error give it.
func UnmatchedWarning(us []UnmatchedEval) string {
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = u.String()
	}
	return fmt.Sprintf("%d eval result(s) match no candidate and are not used: %s.", len(us), strings.Join(names, ", "))
}

// whyUnmatched says why the result named model (read as keys: its name
// and the upstream id the gateway maps it to) matched none of cands, and
// which candidate is nearest.
func whyUnmatched(model, suite string, keys []string, cands []evalCand) UnmatchedEval {
	u := UnmatchedEval{Model: model, Suite: suite, Reason: UnmatchedNoCandidate, Detail: "no candidate is of its family"}
	// A candidate that is this model but reads its results under its
	// eval_model: the warning's "name the model in the profile" would send
	// the reader in a circle.
	for _, c := range cands {
		if c.evalModel == "" {
			continue
		}
		for _, k := range keys {
			if same, _ := sameModel(parseIdentity(k), parseIdentity(c.model)); same {
				u.Reason, u.Nearest = UnmatchedEvalModel, c.model
				u.Detail = fmt.Sprintf("candidate %s reads eval results as %q, its eval_model", c.model, c.evalModel)
				return u
			}
		}
	}
	// The same model core in another pinned build, else the candidate of
	// the same family whose core is fewest edits away.
	best := -1
	for _, c := range cands {
		for _, id := range c.ids {
			for _, k := range keys {
				kid := parseIdentity(k)
				if kid.core == "" || id.core == "" {
					continue
				}
				if kid.core == id.core {
					u.Reason, u.Nearest = UnmatchedOtherBuild, c.model
					u.Detail = fmt.Sprintf("candidate %s is another build of the model (%s)", c.model, buildApart(kid, id))
					return u
				}
				if family(kid.core) != family(id.core) {
					continue
				}
				if d := editDistance(kid.core, id.core); best < 0 || d < best {
					best, u.Reason, u.Nearest = d, UnmatchedOtherModel, c.model
					u.Detail = fmt.Sprintf("nearest candidate %s is another model", c.model)
					if !strings.EqualFold(k, model) {
						u.Detail += fmt.Sprintf(" (%s is %s upstream)", model, k)
					}
				}
			}
		}
	}
	return u
}

// family is a model core's first token: llama, gpt, claude, mistral.
func family(core string) string {
	f, _, _ := strings.Cut(core, "-")
	return f
}

// buildApart names the tags in which two builds of a model differ.
func buildApart(a, b identity) string {
	var d []string
	or := func(s string) string {
		if s == "" {
			return "none"
		}
		return s
	}
	if a.date != b.date {
		d = append(d, fmt.Sprintf("snapshot %s, candidate %s", or(a.date), or(b.date)))
	}
	if a.version != b.version {
		d = append(d, fmt.Sprintf("version %s, candidate %s", or(a.version), or(b.version)))
	}
	if !slices.Equal(a.quant, b.quant) {
		d = append(d, fmt.Sprintf("quantisation %s, candidate %s", or(strings.Join(a.quant, "-")), or(strings.Join(b.quant, "-"))))
	}
	return strings.Join(d, "; ")
}

// score is a candidate model's matched eval accuracy, or nil.
func (r *Report) score(model string) *ModelScore {
	if model == "" {
		return nil
	}
	return r.scores[model]
}
