package advise

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/eval"
)

// unmatchedText is the unmatched results as the warning names them.
func unmatchedText(r *Report) []string {
	var out []string
	for _, u := range r.UnmatchedEvals {
		out = append(out, u.String())
	}
	return out
}

// Every eval result no candidate matched is listed with why and the
// nearest candidate, as fields a program can read: unmatched_evals was a
// list of preformatted strings ("\"gpt-4o-mini\" (suite own)"), so a CI
// job could not tell a result for a model not in the profile from one
// pinned to another snapshot, nor which candidate it came near.
func TestUnmatchedEvalsSayWhyAndNearest(t *testing.T) {
	p := workedProfile(300e6, 100e6) // gpt-4o ($2.50 / $10) and llama-3.1-8b
	p.Candidates.Proprietary = append(p.Candidates.Proprietary,
		ProprietaryModel{Model: "claude-haiku-4-5", InputPerMillion: 1, OutputPerMillion: 5, EvalModel: "haiku-prod"})
	p.Candidates.Proprietary[0].Model = "gpt-4o-2024-08-06"
	ev := &eval.Report{Suite: "own", Models: []eval.ModelSummary{
		{Model: "gpt-4o-2024-05-13", Accuracy: 0.85, Cases: 50},                 // the candidate pins another snapshot
		{Model: "gpt-4o-mini", Accuracy: 0.80, Cases: 50},                       // another model of the family
		{Model: "meta-llama/Llama-3.1-70B-Instruct", Accuracy: 0.81, Cases: 50}, // another size
		{Model: "claude-haiku-4-5", Accuracy: 0.84, Cases: 50},                  // read as haiku-prod
		{Model: "qwen2.5-72b", Accuracy: 0.83, Cases: 50},                       // nothing like it
		{Model: "small", Accuracy: 0.70, Cases: 50},                             // a gateway name for llama-3.2-3b
	}}
	r := run(t, p, func(o *Options) {
		o.Evals = []*eval.Report{ev}
		o.Aliases = map[string]string{"small": "llama-3.2-3b"}
	})
	want := []UnmatchedEval{
		{Model: "gpt-4o-2024-05-13", Suite: "own", Reason: UnmatchedOtherBuild, Nearest: "gpt-4o-2024-08-06",
			Detail: "candidate gpt-4o-2024-08-06 is another build of the model (snapshot 20240513, candidate 20240806)"},
		{Model: "gpt-4o-mini", Suite: "own", Reason: UnmatchedOtherModel, Nearest: "gpt-4o-2024-08-06",
			Detail: "nearest candidate gpt-4o-2024-08-06 is another model"},
		{Model: "meta-llama/Llama-3.1-70B-Instruct", Suite: "own", Reason: UnmatchedOtherModel, Nearest: "llama-3.1-8b",
			Detail: "nearest candidate llama-3.1-8b is another model"},
		{Model: "claude-haiku-4-5", Suite: "own", Reason: UnmatchedEvalModel, Nearest: "claude-haiku-4-5",
			Detail: `candidate claude-haiku-4-5 reads eval results as "haiku-prod", its eval_model`},
		{Model: "qwen2.5-72b", Suite: "own", Reason: UnmatchedNoCandidate, Detail: "no candidate is of its family"},
		{Model: "small", Suite: "own", Reason: UnmatchedOtherModel, Nearest: "llama-3.1-8b",
			Detail: "nearest candidate llama-3.1-8b is another model (small is llama-3.2-3b upstream)"},
	}
	if diff := cmp.Diff(want, r.UnmatchedEvals); diff != "" {
		t.Errorf("unmatched (-want +got):\n%s", diff)
	}
	// The warning still names every one, with why where a candidate is near.
	notes := strings.Join(r.Notes, "\n")
	for _, s := range []string{
		`Warning: 6 eval result(s) match no candidate and are not used: "gpt-4o-2024-05-13" (suite own; candidate gpt-4o-2024-08-06 is another build of the model (snapshot 20240513, candidate 20240806))`,
		`"qwen2.5-72b" (suite own), "small" (suite own; nearest candidate llama-3.1-8b is another model (small is llama-3.2-3b upstream)).`,
	} {
		if !strings.Contains(notes, s) {
			t.Errorf("notes lack %s:\n%s", s, notes)
		}
	}
	// In JSON: objects with their fields, no string.
	var b strings.Builder
	if err := Write(&b, r, "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Unmatched []map[string]any `json:"unmatched_evals"`
	}
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Unmatched) != 6 || got.Unmatched[0]["reason"] != "other_build" || got.Unmatched[0]["nearest_candidate"] != "gpt-4o-2024-08-06" ||
		got.Unmatched[4]["nearest_candidate"] != nil {
		t.Errorf("JSON unmatched_evals %v", got.Unmatched)
	}
}

// Cases a judge could not grade are counted among an eval result's errors
// (internal/eval TestJudgeFailuresAreErrorsNotWrongAnswers): unmeasured,
// like failed calls, so the accuracy is taken over the scored cases, and
// the note says which they were rather than "20 calls failed". By hand:
// 100 cases, 10 failed calls, 10 ungraded answers, 56 passed: 56 / 80 =
// 70%.
func TestEvalJudgeErrorsAreNotWrongAnswers(t *testing.T) {
	ev := &eval.Report{Suite: "judged", Models: []eval.ModelSummary{
		{Model: "llama-3.1-8b", Accuracy: 0.56, Passed: 56, Cases: 100, Errors: 20, JudgeErrors: 10},
	}}
	r := run(t, workedProfile(300e6, 100e6), func(o *Options) { o.Evals = []*eval.Report{ev} })
	if s := r.score("llama-3.1-8b"); s == nil || !near(s.Accuracy, 0.70, 1e-12) || s.Cases != 80 {
		t.Errorf("score %+v", s)
	}
	want := `Eval result "llama-3.1-8b" (suite judged): 20 of 100 cases were not scored (10 failed calls, 10 answers the judge could not grade); its accuracy is taken over the 80 scored cases (70.0%, not 56.0%).`
	if !strings.Contains(strings.Join(r.Notes, "\n"), want) {
		t.Errorf("notes lack %s:\n%s", want, strings.Join(r.Notes, "\n"))
	}
}
