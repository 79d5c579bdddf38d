package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// DeepSeek and vLLM before 0.11 answer with message.reasoning_content,
// newer vLLM with message.reasoning; both become the answer's thought.
func TestDecodeReasoningContent(t *testing.T) {
	for _, field := range []string{"reasoning_content", "reasoning"} {
		body := `{"id":"x","object":"chat.completion","model":"qwen3","choices":[{"index":0,"message":{"role":"assistant","content":"9.8 is greater.","` +
			field + `":"Compare 9.11 and 9.8."},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":30,"completion_tokens_details":{"reasoning_tokens":22}}}`
		resp, err := DecodeChatResponse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		m := resp.Choices[0].Message
		if len(m.Thoughts) != 1 || m.Thoughts[0].Text != "Compare 9.11 and 9.8." || m.Text() != "9.8 is greater." {
			t.Errorf("%s: thoughts %+v, text %q", field, m.Thoughts, m.Text())
		}
		if resp.Usage.ReasoningTokens != 22 {
			t.Errorf("%s: reasoning tokens %d, want 22", field, resp.Usage.ReasoningTokens)
		}
		// And back out to an OpenAI-format client as reasoning_content.
		out, _ := EncodeChatResponse(resp)
		var w struct {
			Choices []struct {
				Message struct {
					Content          string `json:"content"`
					ReasoningContent string `json:"reasoning_content"`
				} `json:"message"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(out, &w); err != nil {
			t.Fatal(err)
		}
		if got := w.Choices[0].Message; got.ReasoningContent != "Compare 9.11 and 9.8." || got.Content != "9.8 is greater." {
			t.Errorf("%s: encoded %s", field, out)
		}
	}
}

func TestStreamReasoningDeltas(t *testing.T) {
	d := NewStreamDecoder()
	var reasoning, text strings.Builder
	for _, data := range []string{
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""}}]}`,
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"reasoning_content":"Think "}}]}`,
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"reasoning":"hard."}}]}`,
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Answer."}}]}`,
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
	} {
		chunks, _, err := d.Process([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			reasoning.WriteString(c.Reasoning)
			text.WriteString(c.Text)
		}
	}
	if reasoning.String() != "Think hard." || text.String() != "Answer." {
		t.Errorf("reasoning %q, text %q", reasoning.String(), text.String())
	}

	// The encoder sends reasoning as delta.reasoning_content.
	e := NewStreamEncoder("c", "m", 1, false)
	b := e.Append(nil, &llm.Chunk{Role: llm.RoleAssistant, Reasoning: "Think."})
	b = e.Append(b, &llm.Chunk{Text: "Answer."})
	if !strings.Contains(string(b), `"delta":{"role":"assistant","content":null,"reasoning_content":"Think."}`) ||
		!strings.Contains(string(b), `"delta":{"content":"Answer."}`) {
		t.Errorf("stream:\n%s", b)
	}
}

// Mistral answers with content chunks: a "thinking" chunk holding text
// chunks before the text chunk, streamed as one-chunk lists during the
// thinking and strings after it
// (https://docs.mistral.ai/capabilities/reasoning/).
func TestDecodeThinkingChunks(t *testing.T) {
	body := `{"id":"x","object":"chat.completion","model":"mistral-small-latest","choices":[{"index":0,"message":{"role":"assistant","content":[` +
		`{"type":"thinking","thinking":[{"type":"text","text":"Compare 9.11 "},{"type":"text","text":"and 9.8."}],"closed":true},` +
		`{"type":"text","text":"9.8 is greater."}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":30}}`
	resp, err := DecodeChatResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Choices[0].Message
	if len(m.Thoughts) != 1 || m.Thoughts[0].Text != "Compare 9.11 and 9.8." || m.Text() != "9.8 is greater." {
		t.Errorf("thoughts %+v, text %q", m.Thoughts, m.Text())
	}

	d := NewStreamDecoder()
	var reasoning, text strings.Builder
	for _, data := range []string{
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":[{"type":"thinking","thinking":[{"type":"text","text":"Think "}]}]}}]}`,
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"hard."}]}]}}]}`,
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Answer."}}]}`,
		`{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}]}`,
	} {
		chunks, _, err := d.Process([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			if c.Reasoning != "" && text.Len() > 0 {
				t.Error("reasoning after the answer")
			}
			reasoning.WriteString(c.Reasoning)
			text.WriteString(c.Text)
		}
	}
	if reasoning.String() != "Think hard." || text.String() != "Answer." {
		t.Errorf("streamed reasoning %q, text %q", reasoning.String(), text.String())
	}
}

// Think tags cut anywhere across chunks come out as reasoning, and the
// answer keeps none of them.
func TestStreamThinkTags(t *testing.T) {
	pieces := []string{"<th", "ink>\nPonder", " this.</thi", "nk>\n\nThe", " answer."}
	d := NewStreamDecoder()
	d.SplitThinkTags()
	var reasoning, text strings.Builder
	for i, p := range pieces {
		c := map[string]any{"id": "c", "model": "m", "choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": p}}}}
		if i == len(pieces)-1 {
			c["choices"].([]any)[0].(map[string]any)["finish_reason"] = "stop"
		}
		data, _ := json.Marshal(c)
		chunks, _, err := d.Process(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			reasoning.WriteString(c.Reasoning)
			text.WriteString(c.Text)
		}
	}
	if reasoning.String() != "Ponder this." || text.String() != "The answer." {
		t.Errorf("reasoning %q, text %q", reasoning.String(), text.String())
	}

	resp := &llm.ChatResponse{Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, "<think>Ponder.</think>\n\nThe answer.")}}}
	SplitThinkTags(resp)
	if m := resp.Choices[0].Message; len(m.Thoughts) != 1 || m.Thoughts[0].Text != "Ponder." || m.Text() != "The answer." {
		t.Errorf("non-streamed: %+v", m)
	}
}

func TestEncodeReasoningModes(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    llm.Reasoning
		opt  RequestOptions
		want string // a fragment of the body, or "" for none of either field
	}{
		{"effort", llm.Reasoning{Effort: "high"}, RequestOptions{Reasoning: ReasoningEffort}, `"reasoning_effort":"high"`},
		{"budget to effort", llm.Reasoning{BudgetTokens: 10000}, RequestOptions{Reasoning: ReasoningEffort}, `"reasoning_effort":"medium"`},
		{"xhigh clamped for vLLM", llm.Reasoning{Effort: "xhigh"}, RequestOptions{Reasoning: ReasoningEffort}, `"reasoning_effort":"high"`},
		{"xhigh to OpenAI", llm.Reasoning{Effort: "xhigh"}, RequestOptions{Reasoning: ReasoningEffort, AllEfforts: true}, `"reasoning_effort":"xhigh"`},
		{"adaptive alone", llm.Reasoning{Adaptive: true, Hint: true}, RequestOptions{Reasoning: ReasoningEffort}, ""},
		{"disabled", llm.Reasoning{Disabled: true}, RequestOptions{Reasoning: ReasoningEffort}, ""},
		{"template on", llm.Reasoning{Adaptive: true}, RequestOptions{Reasoning: ReasoningTemplate}, `"chat_template_kwargs":{"enable_thinking":true}`},
		{"template off", llm.Reasoning{Disabled: true}, RequestOptions{Reasoning: ReasoningTemplate}, `"chat_template_kwargs":{"enable_thinking":false}`},
		{"omit", llm.Reasoning{Effort: "high"}, RequestOptions{}, ""},
	} {
		req := &llm.ChatRequest{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}, Reasoning: &tc.r}
		b, err := EncodeChatRequestWith(req, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if tc.want == "" {
			if strings.Contains(s, "reasoning_effort") || strings.Contains(s, "chat_template_kwargs") {
				t.Errorf("%s: sent reasoning: %s", tc.name, s)
			}
		} else if !strings.Contains(s, tc.want) {
			t.Errorf("%s: %s lacks %s", tc.name, s, tc.want)
		}
		if !json.Valid(b) {
			t.Errorf("%s: invalid JSON %s", tc.name, s)
		}
	}
}

func TestDecodeReasoningEffort(t *testing.T) {
	req, err := DecodeChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low"}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.Reasoning == nil || req.Reasoning.Effort != "low" || req.Reasoning.Param != "reasoning_effort" || !req.ReasoningParam("reasoning_effort") {
		t.Errorf("reasoning %+v, unsupported %v", req.Reasoning, req.Unsupported)
	}
	_, err = DecodeChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"extreme"}`))
	if e, ok := err.(*llm.Error); !ok || e.Param != "reasoning_effort" || e.Status != 400 {
		t.Errorf("bad effort: %v", err)
	}
}

func TestEncodeReplayReasoning(t *testing.T) {
	req := &llm.ChatRequest{Model: "deepseek-v4-flash", Messages: []llm.Message{
		{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: "weather?"}}},
		{Role: llm.RoleAssistant, Thoughts: []llm.Thought{{Text: "Look it "}, {Redacted: "opaque"}, {Text: "up."}},
			ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		{Role: llm.RoleTool, ToolCallID: "call_1", Content: []llm.Part{{Type: llm.PartText, Text: "sunny"}}},
		{Role: llm.RoleAssistant, Thoughts: []llm.Thought{{Redacted: "only-opaque"}}, Content: []llm.Part{{Type: llm.PartText, Text: "It is sunny."}}},
	}}
	for _, replay := range []bool{false, true} {
		b, err := EncodeChatRequestWith(req, RequestOptions{ReplayReasoning: replay})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Messages []map[string]any `json:"messages"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		rc, ok := got.Messages[1]["reasoning_content"]
		switch {
		case replay && rc != "Look it up.":
			t.Errorf("replay: tool-call turn reasoning_content %v, want the thoughts' text", rc)
		case !replay && ok:
			t.Errorf("no replay: reasoning_content sent: %s", b)
		}
		if _, ok := got.Messages[3]["reasoning_content"]; ok {
			t.Errorf("replay=%v: a turn with only redacted thoughts got reasoning_content: %s", replay, b)
		}
		for _, i := range []int{0, 2} {
			if _, ok := got.Messages[i]["reasoning_content"]; ok {
				t.Errorf("replay=%v: non-assistant message %d got reasoning_content", replay, i)
			}
		}
	}
}

// TestReasoningEffortMax: "max", which openai-node types as a
// reasoning_effort since 2026, was a 400 for every target, pass-through
// included; translated, it is the canonical model's highest level.
func TestReasoningEffortMax(t *testing.T) {
	req, err := DecodeChatRequest([]byte(`{"model":"gpt-5.5","messages":[{"role":"user","content":"Prove it."}],"reasoning_effort":"max"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r := req.Reasoning; r == nil || r.Effort != "xhigh" || r.Param != "reasoning_effort" {
		t.Errorf("reasoning = %+v, want effort xhigh from reasoning_effort", r)
	}
	if _, err := DecodeChatRequest([]byte(`{"model":"gpt-5.5","messages":[{"role":"user","content":"Prove it."}],"reasoning_effort":"ultra"}`)); llm.AsError(err).Param != "reasoning_effort" {
		t.Errorf("an unknown effort: %v, want a 400 naming reasoning_effort", err)
	}
}
