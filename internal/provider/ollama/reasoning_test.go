package ollama

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func reasoningReq(model string, r *llm.Reasoning) *llm.ChatRequest {
	return &llm.ChatRequest{Model: model, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}, Reasoning: r}
}

// An explicit request makes a thinking model think, and its thinking comes
// back as the answer's thought; a hint (what Claude Code sends on every
// request) is not sent, so a model that cannot think still answers.
func TestThink(t *testing.T) {
	f := fake.NewOllama()
	defer f.Close()
	c := newTestClient(t, f.URL)
	explicit := &llm.Reasoning{BudgetTokens: 4096, Param: "thinking"}
	hint := &llm.Reasoning{Adaptive: true, Effort: "high", Hint: true, Param: "thinking"}

	resp, err := c.Chat(context.Background(), permit(c), reasoningReq("qwen3:8b", explicit))
	if err != nil {
		t.Fatal(err)
	}
	if m := resp.Choices[0].Message; len(m.Thoughts) != 1 || m.Thoughts[0].Text != fake.Thought("hi") || m.Text() != fake.Reply("hi") {
		t.Errorf("message %+v", m)
	}
	s, err := c.ChatStream(context.Background(), permit(c), reasoningReq("qwen3:8b", explicit))
	if err != nil {
		t.Fatal(err)
	}
	var reasoning, text string
	for {
		ch, err := s.Recv()
		if err != nil {
			break
		}
		reasoning, text = reasoning+ch.Reasoning, text+ch.Text
	}
	s.Close()
	if reasoning != fake.Thought("hi") || text != fake.Reply("hi") {
		t.Errorf("streamed %q, %q", reasoning, text)
	}

	if _, err := c.Chat(context.Background(), permit(c), reasoningReq("llama3.2:latest", hint)); err != nil {
		t.Errorf("a hint to a model that cannot think: %v", err)
	}
	// An explicit request to such a model gets Ollama's own refusal.
	var e *llm.Error
	if _, err := c.Chat(context.Background(), permit(c), reasoningReq("llama3.2:latest", explicit)); !errors.As(err, &e) || e.Status != 400 {
		t.Errorf("explicit thinking to llama3.2: %v", err)
	}

	for _, tc := range []struct {
		model string
		r     *llm.Reasoning
		want  string
	}{
		{"qwen3", explicit, "true"},
		{"qwen3", &llm.Reasoning{Disabled: true}, "false"},
		{"qwen3", hint, ""},
		{"gpt-oss:20b", &llm.Reasoning{Effort: "xhigh"}, `"high"`},
		{"gpt-oss:20b", explicit, `"medium"`},
	} {
		got, err := think(reasoningReq(tc.model, tc.r), "o", false)
		if err != nil || string(got) != tc.want {
			t.Errorf("think(%s, %+v) = %s, %v; want %s", tc.model, tc.r, got, err, tc.want)
		}
	}
	// reasoning.request: none refuses the explicit request, drops the hint.
	none := newTestClient(t, f.URL, func(p *config.Provider) { p.Reasoning = &config.ProviderReasoning{Request: "none"} })
	if _, err := none.Chat(context.Background(), permit(none), reasoningReq("qwen3", explicit)); !errors.As(err, &e) || e.Code != "unsupported_parameter" || e.Param != "thinking" {
		t.Errorf("none + explicit: %v", err)
	}
	if _, err := none.Chat(context.Background(), permit(none), reasoningReq("qwen3", hint)); err != nil {
		t.Errorf("none + hint: %v", err)
	}
	var body map[string]any
	all := f.Log.All()
	_ = json.Unmarshal(all[len(all)-1].Body, &body)
	if _, ok := body["think"]; ok {
		t.Errorf("none sent think: %v", body["think"])
	}
}
