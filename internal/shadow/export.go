package shadow

import (
	"encoding/json"
	"io"
	"sort"

	"github.com/fulcrumhq/fulcrum/internal/eval"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// EvalSuite names the eval reports made from shadow comparisons.
const EvalSuite = "shadow (agreement with the live answer)"

// ToEvalReport turns comparisons into the eval report `fulcrum advise`
// reads as quality evidence (the same format `fulcrum eval` writes). Each
// candidate is a model whose accuracy is its agreement with the live
// answer (a failed call counts as a failed case); each live model is the
// reference its candidates were compared with, at accuracy 1 over the
// same requests. So advise's quality gap between a live model and a
// candidate is the share of live traffic where the candidate's answer
// differed: relative quality, measured on the organisation's own
// requests, not an absolute score. Latency and cost per 1,000 are the
// measured ones. Nil when there are no rows.
func ToEvalReport(rows []store.ShadowResult) *eval.Report {
	if len(rows) == 0 {
		return nil
	}
	type acc struct {
		sum     eval.ModelSummary
		lat     []int64
		cost    int64
		in, out int64
		isLive  bool
	}
	by := map[string]*acc{}
	get := func(name string) *acc {
		a := by[name]
		if a == nil {
			a = &acc{sum: eval.ModelSummary{Model: name, CostKnown: true}}
			by[name] = a
		}
		return a
	}
	for i := range rows {
		r := &rows[i]
		c := get(r.Candidate)
		c.sum.Cases++
		switch r.Verdict {
		case VerdictAgree:
			c.sum.Passed++
		case VerdictError:
			c.sum.Errors++
			if c.sum.FirstError == "" {
				c.sum.FirstError = r.ErrorCode
			}
		}
		if r.Verdict != VerdictError {
			c.lat = append(c.lat, r.CandidateLatencyMS)
		}
		c.cost += r.CandidateCostNanos
		c.in += r.CandInputTokens
		c.out += r.CandOutputTokens
		if r.Live != "" {
			l := get(r.Live)
			l.isLive = true
			l.sum.Cases++
			l.sum.Passed++
			l.lat = append(l.lat, r.LiveLatencyMS)
			l.cost += r.LiveCostNanos
			l.in += r.LiveInputTokens
			l.out += r.LiveOutputTokens
		}
	}
	rep := &eval.Report{Suite: EvalSuite, StartedAt: rows[0].Time, Calls: len(rows)}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := by[n]
		s := a.sum
		s.Accuracy = float64(s.Passed) / float64(s.Cases)
		s.InputTokens, s.OutputTokens = a.in, a.out
		s.CostUSD = float64(a.cost) / 1e9
		s.CostPer1000 = s.CostUSD / float64(s.Cases) * 1000
		s.LatencyP50Ms = float64(Percentile(a.lat, 50))
		s.LatencyP95Ms = float64(Percentile(a.lat, 95))
		s.CostSource = "measured"
		s.CostNote = "measured on shadowed live traffic"
		if a.isLive {
			s.CostNote = "the live model: the reference its shadow candidates were compared with"
		}
		rep.Models = append(rep.Models, s)
	}
	return rep
}

// RouteLabel is one record of `fulcrum route-train --data` (JSONL):
// a prompt and how well the weak and the strong model did on it.
type RouteLabel struct {
	Prompt string  `json:"prompt"`
	Weak   float64 `json:"weak"`
	Strong float64 `json:"strong"`
	Domain string  `json:"domain,omitempty"`
}

// RouteLabels turns comparisons with a recorded prompt into router
// training labels. weak is "candidate" (the usual case: a cheaper
// self-hosted candidate shadowing a stronger live model) or "live". The
// live answer is the reference: without a judge, the reference scores 1
// and the other side 1 when it agreed, else 0; with a judge's preference
// the winner scores 1 and the loser 0 (a tie: both 1). A failed candidate
// call scores 0. Comparisons without a prompt are skipped.
func RouteLabels(rows []store.ShadowResult, weak string) []RouteLabel {
	var out []RouteLabel
	for i := range rows {
		r := &rows[i]
		if r.Prompt == "" {
			continue
		}
		cand, live := 0.0, 1.0
		switch {
		case r.Verdict == VerdictError:
		case r.Judge == "candidate":
			cand, live = 1, 0
		case r.Judge == "tie":
			cand = 1
		case r.Judge == "live":
		case r.Verdict == VerdictAgree:
			cand = 1
		}
		l := RouteLabel{Prompt: r.Prompt, Weak: cand, Strong: live, Domain: r.Route}
		if weak == "live" {
			l.Weak, l.Strong = live, cand
		}
		out = append(out, l)
	}
	return out
}

// WriteRouteLabels writes labels as JSON Lines.
func WriteRouteLabels(w io.Writer, labels []RouteLabel) error {
	enc := json.NewEncoder(w)
	for i := range labels {
		if err := enc.Encode(&labels[i]); err != nil {
			return err
		}
	}
	return nil
}
