package gemini

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func TestThinkingConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model string
		r     *llm.Reasoning
		want  string // thinkingConfig JSON, "" for none
	}{
		{"budget", "gemini-2.5-flash", &llm.Reasoning{BudgetTokens: 4000, Param: "thinking"}, `{"thinkingBudget":4000,"includeThoughts":true}`},
		{"budget capped", "gemini-2.5-flash", &llm.Reasoning{BudgetTokens: 60000, Param: "thinking"}, `{"thinkingBudget":24576,"includeThoughts":true}`},
		{"effort", "gemini-2.5-pro", &llm.Reasoning{Effort: "low", Param: "reasoning_effort"}, `{"thinkingBudget":2048,"includeThoughts":true}`},
		{"adaptive is dynamic", "gemini-2.5-flash", &llm.Reasoning{Adaptive: true, Effort: "high", Hint: true, Param: "thinking"}, `{"thinkingBudget":-1,"includeThoughts":true}`},
		{"display omitted", "gemini-2.5-flash", &llm.Reasoning{Adaptive: true, Hint: true, Display: "omitted"}, `{"thinkingBudget":-1}`},
		{"disabled", "gemini-2.5-flash", &llm.Reasoning{Disabled: true}, `{"thinkingBudget":0}`},
		{"effort alone", "gemini-2.5-flash", &llm.Reasoning{Effort: "high", Hint: true, Param: "output_config.effort"}, ""},
		{"hint to a model that cannot think", "gemini-2.0-flash", &llm.Reasoning{Adaptive: true, Hint: true}, ""},
		{"explicit to a model that cannot think", "gemini-2.0-flash", &llm.Reasoning{BudgetTokens: 2048}, `{"thinkingBudget":2048,"includeThoughts":true}`},
	} {
		req := &llm.ChatRequest{Model: tc.model, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}, Reasoning: tc.r}
		out, err := toRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if out.GenerationConfig != nil && out.GenerationConfig.ThinkingConfig != nil {
			b, _ := json.Marshal(out.GenerationConfig.ThinkingConfig)
			got = string(b)
		}
		if got != tc.want {
			t.Errorf("%s: thinkingConfig %s, want %s", tc.name, got, tc.want)
		}
	}
}

// Thought parts come back as the answer's thoughts, streamed and not,
// with thoughtsTokenCount metered as reasoning tokens.
func TestThoughtParts(t *testing.T) {
	f := fake.NewGemini()
	defer f.Close()
	c := newTestClient(t, f)
	req := userReq("hi there")
	req.Reasoning = &llm.Reasoning{BudgetTokens: 2048, Param: "thinking"}
	resp, err := c.Chat(context.Background(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Choices[0].Message
	if len(m.Thoughts) != 1 || m.Thoughts[0].Text != fake.Thought("hi there") || m.Text() != fake.Reply("hi there") {
		t.Errorf("message %+v", m)
	}
	if u := resp.Usage; u.ReasoningTokens != fake.ReasoningTokens || u.OutputTokens != fake.OutputTokens+fake.ReasoningTokens {
		t.Errorf("usage %+v", u)
	}
	s, err := c.ChatStream(context.Background(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var reasoning, text string
	for {
		ch, err := s.Recv()
		if err != nil {
			break
		}
		if ch.Reasoning != "" && text != "" {
			t.Errorf("reasoning after text")
		}
		reasoning += ch.Reasoning
		text += ch.Text
	}
	if reasoning != fake.Thought("hi there") || text != fake.Reply("hi there") {
		t.Errorf("streamed reasoning %q, text %q", reasoning, text)
	}
}
