package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
)

// CascadeSpec is what a cascade answer must pass to be accepted.
type CascadeSpec struct {
	// MinLength is the least number of characters (at least 1: the answer
	// must not be empty).
	MinLength int
	// AllowRefusals accepts answers that read as refusals.
	AllowRefusals bool
	// Regex, when set, must match the answer text.
	Regex *regexp.Regexp
	// JudgeModel, when set, grades the answer (1..10) through
	// Options.Judge; a grade below JudgeMinScore escalates.
	JudgeModel    string
	JudgeMinScore float64
}

// Escalation records why a cascade moved past a target.
type Escalation struct {
	// From is the target whose answer was not accepted (nil when no
	// target of the tier could be called).
	From *Target
	// Reason is a short code: empty, refusal, invalid_json, regex,
	// min_length, judge_score, judge_error, or "error: <status code>".
	Reason string
}

// refusals are lower-case phrases that mark an answer as a refusal when
// they appear near its start.
var refusals = []string{
	"i'm sorry, but i can't", "i'm sorry, but i cannot", "i am sorry, but i cannot",
	"i can't help with", "i cannot help with", "i can't assist with", "i cannot assist with",
	"i'm unable to", "i am unable to", "i'm not able to", "i am not able to",
	"i cannot provide", "i can't provide", "i cannot comply", "i can't comply",
	"i won't be able to", "as an ai language model, i cannot", "i must decline",
}

// refusalWindow is how much of the answer's start is searched for refusals:
// a long answer that quotes a refusal later on is not one.
const refusalWindow = 240

// CheckAnswer applies the cascade's checks (all but the judge, which needs a
// model call) to resp, an answer to req. It reports whether the answer is
// accepted and, if not, why.
func CheckAnswer(spec *CascadeSpec, req *llm.ChatRequest, resp *llm.ChatResponse) (ok bool, reason string) {
	if resp == nil || len(resp.Choices) == 0 {
		return false, "empty"
	}
	msg := &resp.Choices[0].Message
	if len(msg.ToolCalls) > 0 {
		for _, tc := range msg.ToolCalls {
			if tc.Arguments != "" && !json.Valid([]byte(tc.Arguments)) {
				return false, "invalid_json"
			}
		}
		return true, ""
	}
	text := strings.TrimSpace(msg.Text())
	if text == "" {
		return false, "empty"
	}
	if !spec.AllowRefusals && isRefusal(text) {
		return false, "refusal"
	}
	if f := req.ResponseFormat; f != nil && (f.Type == "json_object" || f.Type == "json_schema") {
		if !json.Valid([]byte(stripFence(text))) {
			return false, "invalid_json"
		}
	}
	if spec.MinLength > 1 && utf8.RuneCountInString(text) < spec.MinLength {
		return false, "min_length"
	}
	if spec.Regex != nil && !spec.Regex.MatchString(text) {
		return false, "regex"
	}
	return true, ""
}

func isRefusal(text string) bool {
	head := text
	if len(head) > refusalWindow {
		head = head[:refusalWindow]
	}
	head = strings.ToLower(strings.ReplaceAll(head, "’", "'"))
	for _, r := range refusals {
		if strings.Contains(head, r) {
			return true
		}
	}
	return false
}

// stripFence removes a ```json ... ``` fence some models put around JSON.
func stripFence(s string) string {
	if !strings.HasPrefix(s, "```") {
		return s
	}
	s = strings.TrimPrefix(s, "```")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
}

// judgeLimit bounds how much conversation and answer text goes into a judge
// prompt (characters, from the end of the conversation).
const judgeLimit = 6000

// JudgePrompt is the grading prompt sent to a cascade's judge model.
func JudgePrompt(req *llm.ChatRequest, resp *llm.ChatResponse) string {
	var conv strings.Builder
	for _, m := range req.Messages {
		if t := m.Text(); t != "" {
			conv.WriteString(string(m.Role))
			conv.WriteString(": ")
			conv.WriteString(t)
			conv.WriteString("\n")
		}
	}
	c := conv.String()
	if len(c) > judgeLimit {
		c = "..." + c[len(c)-judgeLimit:]
	}
	a := ""
	if resp != nil && len(resp.Choices) > 0 {
		a = resp.Choices[0].Message.Text()
	}
	if len(a) > judgeLimit {
		a = a[:judgeLimit] + "..."
	}
	return "You are grading an AI assistant's answer. Judge whether it correctly, completely " +
		"and helpfully answers the last user message of the conversation. Be strict about " +
		"factual and arithmetic errors.\n\n" +
		"<conversation>\n" + c + "</conversation>\n\n<answer>\n" + a + "\n</answer>\n\n" +
		"Reply with only the grade, an integer from 1 (wrong or useless) to 10 (correct and complete)."
}

var judgeNumber = regexp.MustCompile(`\d+(?:\.\d+)?`)

// ParseJudgeScore reads the grade from a judge's reply: the first number,
// which must lie in [0, 10].
func ParseJudgeScore(reply string) (float64, error) {
	m := judgeNumber.FindString(reply)
	if m == "" {
		return 0, errors.New("router: judge reply holds no grade")
	}
	v, err := strconv.ParseFloat(m, 64)
	if err != nil || v < 0 || v > 10 {
		return 0, fmt.Errorf("router: judge grade %q out of range", m)
	}
	return v, nil
}

// ExecuteCascade runs a cascade: each tier (cheapest first) is executed as
// Execute would, and its answer is accepted when it passes CheckAnswer and,
// if configured, the judge; otherwise the cascade escalates to the next
// tier. The last permitted tier's answer is returned unchecked. When a tier
// fails with an error the cascade escalates too; if the last tier fails,
// the last answer that failed a check is returned if there is one, else the
// error. Every attempt is reported through Options.OnAttempt. On a plan
// that is not a cascade it behaves as Execute.
//
// req must be the request as the targets receive it (redacted by policy);
// the judge, if any, is shown it and the answer, and is called with clr
// like every target.
func ExecuteCascade(ctx context.Context, p *Plan, req *llm.ChatRequest, clr policy.Clearance, attempt func(ctx context.Context, t *Target, pm policy.Permit, n int) (*llm.ChatResponse, error)) (*llm.ChatResponse, *Target, []Escalation, error) {
	if p.cascade == nil {
		resp, t, err := Execute(ctx, p, clr, attempt)
		return resp, t, nil, err
	}
	permit := clr.Permits
	tiers := make([][]*Target, 0, len(p.tiers))
	for _, tier := range p.tiers {
		var ok []member
		for _, m := range tier {
			if permit == nil || permit(m.t.info) {
				ok = append(ok, m)
			}
		}
		if len(ok) > 0 {
			tiers = append(tiers, p.r.arrange(nil, ok, p.balance))
		}
	}
	if len(tiers) == 0 {
		return nil, nil, nil, fmt.Errorf("router: %q: %w", p.name, ErrNoPermittedTarget)
	}
	var (
		esc      []Escalation
		offset   int
		fallback *llm.ChatResponse
		fallT    *Target
	)
	for i, order := range tiers {
		lastTier := i == len(tiers)-1
		var resp *llm.ChatResponse
		t, n, err := p.run(ctx, permit, order, 0, offset, func(ctx context.Context, t *Target, n int) error {
			pm, err := clr.Permit(t.info)
			if err != nil {
				return err
			}
			r, err := attempt(ctx, t, pm, n)
			if err == nil {
				resp = r
			}
			return err
		})
		offset += n
		if err != nil {
			class, _ := classify(err)
			if lastTier || ctx.Err() != nil || class == classClient || class == classCancelled || errors.Is(err, ErrNoPermittedTarget) {
				if fallback != nil && ctx.Err() == nil {
					return fallback, fallT, esc, nil
				}
				return nil, nil, esc, err
			}
			esc = append(esc, Escalation{Reason: "error: " + shortError(err)})
			continue
		}
		if lastTier {
			return resp, t, esc, nil
		}
		ok, reason := CheckAnswer(p.cascade, req, resp)
		if ok && p.cascade.JudgeModel != "" {
			ok, reason = p.judge(ctx, clr, req, resp)
		}
		if ok {
			return resp, t, esc, nil
		}
		p.r.log.Debug("router: cascade escalates", "route", p.name, "model", t.Model, "reason", reason)
		esc = append(esc, Escalation{From: t, Reason: reason})
		fallback, fallT = resp, t
	}
	panic("unreachable")
}

func (p *Plan) judge(ctx context.Context, clr policy.Clearance, req *llm.ChatRequest, resp *llm.ChatResponse) (bool, string) {
	if p.r.opts.Judge == nil {
		return false, "judge_error"
	}
	reply, err := p.r.opts.Judge(ctx, clr, p.cascade.JudgeModel, JudgePrompt(req, resp))
	if err != nil {
		return false, "judge_error"
	}
	score, err := ParseJudgeScore(reply)
	if err != nil {
		return false, "judge_error"
	}
	if score < p.cascade.JudgeMinScore {
		return false, "judge_score"
	}
	return true, ""
}
