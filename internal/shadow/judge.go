package shadow

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// judgeSystem asks for a pairwise preference. The answers are shown as A
// and B in an order drawn at random per comparison, so that a judge's
// bias for the first (or second) position does not favour one side.
const judgeSystem = `You are a strict, impartial grader. Two assistants answered the same conversation. Decide which answer is better: more correct first, then more helpful and complete. Reply with one line of JSON: {"winner": "A" | "B" | "tie", "reason": "<one sentence>"}`

var reWinner = regexp.MustCompile(`(?i)"?winner"?\s*[:=]\s*"?(a|b|tie)\b`)

// judgePrompt builds the judge's user message from the request as policy
// cleared it and the two answers (both in the same redacted space): it
// holds nothing policy has not scanned.
func judgePrompt(req *llm.ChatRequest, a, b string) string {
	var conv strings.Builder
	for i := range req.Messages {
		m := &req.Messages[i]
		if t := m.Text(); t != "" {
			fmt.Fprintf(&conv, "%s: %s\n", m.Role, t)
		}
	}
	return fmt.Sprintf("CONVERSATION:\n%s\nANSWER A:\n%s\n\nANSWER B:\n%s", conv.String(), a, b)
}

// parseWinner reads the judge's reply: "A", "B" or "tie" ("" when none).
func parseWinner(reply string) string {
	m := reWinner.FindStringSubmatch(reply)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// judge asks the rule's judge, through the router with the request's
// clearance, which answer is better. It returns "candidate", "live",
// "tie" or "" (no permitted judge, a failed call or no readable reply)
// and the judge's cost.
func (e *Engine) judge(ctx context.Context, j job, i int, live, cand string, spend *Spend) (string, int64) {
	r := j.req
	plan, err := e.opts.Router.Resolve(j.rule.Judge)
	clr := e.clearance(r, j.rule.Judge)
	if err != nil || !permitted(plan, clr) {
		e.m.skipped.WithLabelValues(j.rule.Judge, "judge_policy").Inc()
		return "", 0
	}
	candFirst := e.opts.Rand() < 0.5
	a, b := live, cand
	if candFirst {
		a, b = cand, live
	}
	req := &llm.ChatRequest{Messages: []llm.Message{
		llm.TextMessage(llm.RoleSystem, judgeSystem),
		llm.TextMessage(llm.RoleUser, judgePrompt(r.Request, a, b)),
	}}
	// The judge sets no max_tokens: it may write up to its model's
	// output limit, and that is reserved against the request's budgets
	// before the call, on a hold of its own (settled with the judge's
	// cost alone; the candidate's hold settles the candidate's). It was
	// only settled after the call, so a judge dearer than what was left
	// ran anyway.
	js := spend
	if e.opts.Budget != nil && r.Caller != nil {
		h, err := e.opts.Budget.Reserve(ctx, r.Caller, plan, clr, req)
		if err != nil {
			e.m.skipped.WithLabelValues(j.rule.Judge, "judge_budget").Inc()
			return "", 0
		}
		var own Spend
		js = &own
		defer func() { h.Done(own) }()
	}
	res := e.call(ctx, plan, r, clr, j.rule.Judge, -(2 + 2*i), req, js)
	if res.err != nil {
		return "", res.cost
	}
	switch w := parseWinner(AnswerText(res.resp)); {
	case w == "tie":
		return "tie", res.cost
	case w == "a" && candFirst, w == "b" && !candFirst:
		return "candidate", res.cost
	case w == "a", w == "b":
		return "live", res.cost
	}
	return "", res.cost
}
