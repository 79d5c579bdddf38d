package eval

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// judgeSystem instructs the judge model. It asks for a one-line JSON object
// so the score is easy to find, and parseScore also accepts "score: N".
const judgeSystem = `You are a strict, impartial grader. Score the ANSWER to the QUESTION against the RUBRIC on a scale of 1 (fails the rubric) to 5 (fully meets it). Reply with one line of JSON: {"score": <1-5>, "reason": "<one sentence>"}`

var reScore = regexp.MustCompile(`(?i)"?score"?\s*[:=]\s*"?([0-9]+(?:\.[0-9]+)?)`)

// parseScore finds the judge's score in its reply.
func parseScore(reply string) (float64, bool) {
	m := reScore.FindStringSubmatch(reply)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil || v < 1 || v > 5 {
		return 0, false
	}
	return v, true
}

// judge asks the suite's judge model to score an answer against a rubric.
// Its calls are cached and retried like any other; their cost is reported
// apart from the models under test.
func (r *runner) judge(ctx context.Context, a *Assertion, c *Case, question, ans string) AssertionResult {
	out := AssertionResult{Type: "judge"}
	rubric := a.Rubric
	if rubric == "" {
		rubric = r.suite.Judge.Rubric
	}
	rubric, err := expand(rubric, c.Vars)
	if err != nil || rubric == "" {
		out.Detail = "no rubric"
		return out
	}
	msgs := []MessageTemplate{
		{Role: "system", Content: judgeSystem},
		{Role: "user", Content: fmt.Sprintf("RUBRIC:\n%s\n\nQUESTION:\n%s\n\nANSWER:\n%s", rubric, question, ans)},
	}
	req := &llm.ChatRequest{Model: r.suite.Judge.Model}
	for _, m := range msgs {
		req.Messages = append(req.Messages, llm.TextMessage(llm.Role(m.Role), m.Content))
	}
	got, err := r.call(ctx, callRequest{ChatRequest: req, msgs: msgs})
	if err != nil {
		out.Detail = "judge failed: " + errorText(err)
		return out
	}
	if got.HasUsage {
		if usd, ok := r.price(req.Model, llm.Usage{InputTokens: got.InputTokens, OutputTokens: got.OutputTokens}); ok {
			r.judgeMu.Lock()
			r.judgeCost += usd
			r.judgeMu.Unlock()
		}
	}
	score, ok := parseScore(got.Answer)
	if !ok {
		out.Detail = "the judge gave no score: " + clip(got.Answer, 80)
		return out
	}
	out.Score = &score
	out.Pass = score >= a.Threshold
	out.Detail = fmt.Sprintf("score %g of 5, pass at %g", score, a.Threshold)
	return out
}
