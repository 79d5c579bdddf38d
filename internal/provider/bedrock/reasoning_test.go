package bedrock

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

const opus46 = "eu.anthropic.claude-opus-4-6-v1"

// TestThinkingRequest checks what each reasoning request becomes in
// additionalModelRequestFields, and the room made for a budget.
func TestThinkingRequest(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name, model string
		r           llm.Reasoning
		maxTokens   int
		temp        *float64
		fields      string // additionalModelRequestFields, "" for none
		wantMax     int    // inferenceConfig.maxTokens, 0 for none
		refused     string // the parameter a 400 names
	}{
		{name: "budget", model: claude, r: llm.Reasoning{BudgetTokens: 2048, Param: "thinking"}, maxTokens: 1000,
			fields: `{"thinking":{"budget_tokens":2048,"type":"enabled"}}`, wantMax: 3048},
		{name: "budget within max_tokens", model: claude, r: llm.Reasoning{BudgetTokens: 2048, Param: "thinking"}, maxTokens: 8000,
			fields: `{"thinking":{"budget_tokens":2048,"type":"enabled"}}`, wantMax: 8000},
		{name: "effort on a budget model", model: claude, r: llm.Reasoning{Effort: "medium", Param: "reasoning_effort"},
			fields: `{"thinking":{"budget_tokens":8192,"type":"enabled"}}`, wantMax: 4096 + 8192},
		{name: "effort on an adaptive model", model: opus46, r: llm.Reasoning{Effort: "high", Param: "reasoning_effort"},
			fields: `{"output_config":{"effort":"high"},"thinking":{"type":"adaptive"}}`},
		{name: "budget on an adaptive model", model: opus46, r: llm.Reasoning{BudgetTokens: 4096, Param: "thinking"}, maxTokens: 16000,
			fields: `{"thinking":{"budget_tokens":4096,"type":"enabled"}}`, wantMax: 16000},
		{name: "hint with max effort", model: opus46, r: llm.Reasoning{Adaptive: true, Effort: "xhigh", Hint: true, Param: "thinking"},
			fields: `{"output_config":{"effort":"max"},"thinking":{"type":"adaptive"}}`},
		{name: "adaptive hint", model: "anthropic.claude-sonnet-4-6", r: llm.Reasoning{Adaptive: true, Hint: true, Param: "thinking"},
			fields: `{"thinking":{"type":"adaptive"}}`},
		{name: "hint on Sonnet 4.5 dropped", model: claude, r: llm.Reasoning{Adaptive: true, Effort: "high", Hint: true, Param: "thinking"}},
		{name: "hint on Sonnet 4 dropped", model: "anthropic.claude-sonnet-4-20250514-v1:0", r: llm.Reasoning{Adaptive: true, Hint: true, Param: "thinking"}},
		{name: "disabled", model: claude, r: llm.Reasoning{Disabled: true, Param: "thinking"}},
		{name: "hint with a temperature dropped", model: opus46, temp: f(0.2), r: llm.Reasoning{Adaptive: true, Hint: true, Param: "thinking"}},
		{name: "budget with a temperature", model: claude, temp: f(0.2), r: llm.Reasoning{BudgetTokens: 2048, Param: "thinking"}, refused: "temperature"},
		{name: "hint on Llama dropped", model: "eu.meta.llama3-2-3b-instruct-v1:0", r: llm.Reasoning{Adaptive: true, Hint: true, Param: "thinking"}},
		{name: "budget on Llama", model: "eu.meta.llama3-2-3b-instruct-v1:0", r: llm.Reasoning{BudgetTokens: 2048, Param: "thinking"}, refused: "thinking"},
		{name: "effort on Nova", model: "eu.amazon.nova-pro-v1:0", r: llm.Reasoning{Effort: "low", Param: "reasoning.effort"}, refused: "reasoning.effort"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := userReq("hi")
			req.Model = tc.model
			r := tc.r
			req.Reasoning = &r
			req.Unsupported = []string{r.Param}
			req.Temperature = tc.temp
			if tc.maxTokens > 0 {
				req.MaxTokens = &tc.maxTokens
			}
			out, err := toConverse(req)
			if tc.refused != "" {
				var e *llm.Error
				if !errors.As(err, &e) || e.Status != 400 || e.Param != tc.refused {
					t.Fatalf("err = %v, want a 400 naming %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out.AdditionalModelRequestFields); got != tc.fields {
				t.Errorf("additionalModelRequestFields = %s, want %s", got, tc.fields)
			}
			gotMax := 0
			if out.InferenceConfig != nil && out.InferenceConfig.MaxTokens != nil {
				gotMax = *out.InferenceConfig.MaxTokens
			}
			want := tc.wantMax
			if want == 0 {
				want = tc.maxTokens
			}
			if gotMax != want {
				t.Errorf("maxTokens = %d, want %d", gotMax, want)
			}
		})
	}
}

// TestThinkingAnswers checks that Claude's reasoning on Bedrock reaches
// the canonical answer, streamed and not, signature and redacted
// reasoning included.
func TestThinkingAnswers(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	const prompt = "Think first [[redacted]]"
	req := userReq(prompt)
	req.Reasoning = &llm.Reasoning{BudgetTokens: 2048, Param: "thinking"}
	resp, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Choices[0].Message
	want := []llm.Thought{{Text: fake.Thought(prompt), Signature: fake.BedrockSignature}, {Redacted: fake.BedrockRedacted}}
	if len(m.Thoughts) != 2 || m.Thoughts[0] != want[0] || m.Thoughts[1] != want[1] {
		t.Errorf("thoughts = %+v, want %+v", m.Thoughts, want)
	}
	if m.Text() != fake.Reply(prompt) {
		t.Errorf("text = %q", m.Text())
	}
	var sent struct {
		AdditionalModelRequestFields json.RawMessage `json:"additionalModelRequestFields"`
	}
	_ = json.Unmarshal(f.Log.All()[0].Body, &sent)
	if string(sent.AdditionalModelRequestFields) != `{"thinking":{"budget_tokens":2048,"type":"enabled"}}` {
		t.Errorf("sent %s", sent.AdditionalModelRequestFields)
	}

	s, err := c.ChatStream(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var reasoning, signature, text string
	signedBeforeText := false
	for {
		ch, err := s.Recv()
		if err != nil {
			break
		}
		reasoning += ch.Reasoning
		if ch.Signature != "" {
			signature = ch.Signature
			signedBeforeText = text == ""
		}
		text += ch.Text
	}
	if reasoning != fake.Thought(prompt) || signature != fake.BedrockSignature || !signedBeforeText || text != fake.Reply(prompt) {
		t.Errorf("stream: reasoning %q signature %q (before text %v) text %q", reasoning, signature, signedBeforeText, text)
	}
}

// TestThinkingToolRoundTrip sends a tool call's reasoning back with its
// signature, which Claude requires with thinking on; the fake refuses the
// turn without it, or with a changed signature.
func TestThinkingToolRoundTrip(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	const prompt = "What is the weather in Paris?"
	req := userReq(prompt)
	req.Tools = []llm.Tool{weatherTool}
	req.Reasoning = &llm.Reasoning{BudgetTokens: 2048, Param: "thinking"}
	resp, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	call := resp.Choices[0].Message
	if len(call.ToolCalls) != 1 || len(call.Thoughts) != 1 {
		t.Fatalf("answer = %+v, want a tool call with its thought", call)
	}
	for _, tc := range []struct {
		name     string
		thoughts []llm.Thought
		err      string
	}{
		{"signed", call.Thoughts, ""},
		{"dropped", nil, "must start with a thinking block"},
		{"unsigned (from another provider)", []llm.Thought{{Text: "mine"}}, "must start with a thinking block"},
		{"tampered", []llm.Thought{{Text: call.Thoughts[0].Text, Signature: "forged"}}, "Invalid `signature`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := *req
			asst := call
			asst.Thoughts = tc.thoughts
			next.Messages = append(append([]llm.Message{}, req.Messages...), asst,
				llm.Message{Role: llm.RoleTool, ToolCallID: call.ToolCalls[0].ID, Content: []llm.Part{{Type: llm.PartText, Text: "18C"}}})
			resp, err := c.Chat(t.Context(), permit(c), &next)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].Message.Text(); got != "Tool said: 18C" {
				t.Errorf("text = %q", got)
			}
			var sent struct {
				Messages []struct {
					Content []json.RawMessage `json:"content"`
				} `json:"messages"`
			}
			all := f.Log.All()
			_ = json.Unmarshal(all[len(all)-1].Body, &sent)
			first := string(sent.Messages[1].Content[0])
			if !strings.Contains(first, `"reasoningContent":{"reasoningText":{"text":`) || !strings.Contains(first, fake.BedrockSignature) {
				t.Errorf("assistant turn starts with %s, want its signed reasoning", first)
			}
		})
	}
}
