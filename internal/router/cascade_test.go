package router

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
)

func answer(text string) *llm.ChatResponse {
	return &llm.ChatResponse{Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, text)}}}
}

func TestCheckAnswer(t *testing.T) {
	jsonReq := &llm.ChatRequest{ResponseFormat: &llm.ResponseFormat{Type: "json_object"}}
	plain := &llm.ChatRequest{}
	tests := []struct {
		name   string
		spec   CascadeSpec
		req    *llm.ChatRequest
		resp   *llm.ChatResponse
		ok     bool
		reason string
	}{
		{"fine", CascadeSpec{MinLength: 1}, plain, answer("The answer is 18."), true, ""},
		{"no choices", CascadeSpec{MinLength: 1}, plain, &llm.ChatResponse{}, false, "empty"},
		{"blank", CascadeSpec{MinLength: 1}, plain, answer("  \n"), false, "empty"},
		{"refusal", CascadeSpec{MinLength: 1}, plain, answer("I'm sorry, but I can't help with that request."), false, "refusal"},
		{"curly refusal", CascadeSpec{MinLength: 1}, plain, answer("I’m unable to do that."), false, "refusal"},
		{"refusal allowed", CascadeSpec{MinLength: 1, AllowRefusals: true}, plain, answer("I'm unable to do that."), true, ""},
		{"quoted refusal late", CascadeSpec{MinLength: 1}, plain, answer(string(make([]byte, 0)) + longText(300) + " I'm unable to"), true, ""},
		{"json ok", CascadeSpec{MinLength: 1}, jsonReq, answer(`{"a": 1}`), true, ""},
		{"json fenced", CascadeSpec{MinLength: 1}, jsonReq, answer("```json\n{\"a\": 1}\n```"), true, ""},
		{"json bad", CascadeSpec{MinLength: 1}, jsonReq, answer(`{"a": 1`), false, "invalid_json"},
		{"min length", CascadeSpec{MinLength: 20}, plain, answer("short"), false, "min_length"},
		{"regex miss", CascadeSpec{MinLength: 1, Regex: regexp.MustCompile(`#### \d+`)}, plain, answer("It is 18"), false, "regex"},
		{"regex hit", CascadeSpec{MinLength: 1, Regex: regexp.MustCompile(`#### \d+`)}, plain, answer("It is\n#### 18"), true, ""},
		{"tool call", CascadeSpec{MinLength: 1}, plain, &llm.ChatResponse{Choices: []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{Name: "f", Arguments: `{"x":1}`}}}}}}, true, ""},
		{"tool call bad args", CascadeSpec{MinLength: 1}, plain, &llm.ChatResponse{Choices: []llm.Choice{{Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{Name: "f", Arguments: `{"x":`}}}}}}, false, "invalid_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := CheckAnswer(&tt.spec, tt.req, tt.resp)
			if ok != tt.ok || reason != tt.reason {
				t.Fatalf("CheckAnswer = %v %q, want %v %q", ok, reason, tt.ok, tt.reason)
			}
		})
	}
}

func longText(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}

func TestParseJudgeScore(t *testing.T) {
	for in, want := range map[string]float64{"8": 8, "Grade: 7.5/10": 7.5, " 10\n": 10} {
		if got, err := ParseJudgeScore(in); err != nil || got != want {
			t.Errorf("ParseJudgeScore(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "great", "42"} {
		if _, err := ParseJudgeScore(in); err == nil {
			t.Errorf("ParseJudgeScore(%q) accepted", in)
		}
	}
}

func TestExecuteCascade(t *testing.T) {
	req := &llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "2+2?")}}
	tests := []struct {
		name     string
		cheap    func() (*llm.ChatResponse, error)
		judge    string
		want     string
		wantFrom string
		esc      []Escalation
		attempts []string
	}{
		{"accepted", func() (*llm.ChatResponse, error) { return answer("4"), nil }, "", "4", "a", nil, []string{"a#1"}},
		{"refusal escalates", func() (*llm.ChatResponse, error) { return answer("I cannot help with that."), nil }, "", "strong", "b",
			[]Escalation{{Reason: "refusal"}}, []string{"a#1", "b#2"}},
		{"error escalates", func() (*llm.ChatResponse, error) { return nil, upstreamErr(500, 0) }, "", "strong", "b",
			[]Escalation{{Reason: "error: 500 api_error"}}, []string{"a#1", "b#2"}},
		{"judge low", func() (*llm.ChatResponse, error) { return answer("5"), nil }, "3", "strong", "b",
			[]Escalation{{Reason: "judge_score"}}, []string{"a#1", "b#2"}},
		{"judge high", func() (*llm.ChatResponse, error) { return answer("4"), nil }, "9", "4", "a", nil, []string{"a#1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := "routes:\n  - {name: r, strategy: cascade, targets: [a, b], retry: {attempts: 1}}\n"
			var judged string
			if tt.judge != "" {
				routes = "routes:\n  - {name: r, strategy: cascade, targets: [a, b], retry: {attempts: 1}, cascade: {judge: {model: c, min_score: 7}}}\n"
			}
			env := newEnv(t, routes, func(o *Options) {
				o.Judge = func(ctx context.Context, _ policy.Clearance, model, prompt string) (string, error) {
					judged = model
					return tt.judge, nil
				}
			})
			p := env.plan(t, "r").For(req)
			resp, tg, esc, err := ExecuteCascade(context.Background(), p, req, permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (*llm.ChatResponse, error) {
				if tg.Model == "a" {
					return tt.cheap()
				}
				return answer("strong"), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].Message.Text(); got != tt.want || tg.Model != tt.wantFrom {
				t.Fatalf("answer %q from %s, want %q from %s", got, tg.Model, tt.want, tt.wantFrom)
			}
			if diff := cmp.Diff(tt.esc, esc, cmpopts.IgnoreFields(Escalation{}, "From")); diff != "" {
				t.Errorf("escalations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.attempts, env.attempts()); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			if tt.judge != "" && judged != "c" {
				t.Errorf("judge model %q, want c", judged)
			}
		})
	}
}

// TestCascadeStreamModes: buffer keeps the cascade for streams (the gateway
// runs it unstreamed and replays); skip goes straight to the last target.
func TestCascadeStreamModes(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: buf, strategy: cascade, targets: [a, b]}
  - {name: skip, strategy: cascade, targets: [a, b], cascade: {stream: skip}}
`, nil)
	stream := &llm.ChatRequest{Stream: true}
	if p := env.plan(t, "buf").For(stream); p.Cascade() == nil {
		t.Error("buffer: cascade dropped for a stream")
	}
	p := env.plan(t, "skip").For(stream)
	if p.Cascade() != nil {
		t.Error("skip: still a cascade for a stream")
	}
	got, _, err := Execute(context.Background(), p, permitAll, ok)
	if err != nil || got != "b" {
		t.Fatalf("skip stream went to %q (%v), want b", got, err)
	}
	if p := env.plan(t, "skip").For(&llm.ChatRequest{}); p.Cascade() == nil {
		t.Error("skip: cascade dropped for a non-streaming request")
	}
}

// TestCascadeLastFails: when the strong target fails after the cheap
// answer failed a check, the cheap answer is better than an error.
func TestCascadeLastFails(t *testing.T) {
	env := newEnv(t, "routes:\n  - {name: r, strategy: cascade, targets: [a, b], retry: {attempts: 1}, cascade: {min_length: 10}}\n", nil)
	req := &llm.ChatRequest{}
	resp, tg, esc, err := ExecuteCascade(context.Background(), env.plan(t, "r"), req, permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (*llm.ChatResponse, error) {
		if tg.Model == "a" {
			return answer("short"), nil
		}
		return nil, upstreamErr(503, 0)
	})
	if err != nil || tg.Model != "a" || resp.Choices[0].Message.Text() != "short" || len(esc) != 1 {
		t.Fatalf("got %v from %v, esc %v, err %v", resp, tg, esc, err)
	}
	// A client error from the cheap target is not escalated.
	_, _, _, err = ExecuteCascade(context.Background(), env.plan(t, "r"), req, permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (*llm.ChatResponse, error) {
		if tg.Model == "b" {
			t.Error("escalated on a 400")
		}
		return nil, upstreamErr(400, 0)
	})
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 400 {
		t.Fatalf("err = %v, want 400", err)
	}
}
