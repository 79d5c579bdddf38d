package openai

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func reasoningClient(t *testing.T, f *fake.OpenAI, r *config.ProviderReasoning) *Client {
	t.Helper()
	c, err := New(config.Provider{Name: "gpu-box", Type: "openai", BaseURL: f.URL, APIKey: fake.APIKey, Hosting: "self_hosted", Reasoning: r})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	return c
}

// Every reasoning shape a self-hosted server answers in becomes the
// answer's thought, streamed and not, with the reasoning tokens metered.
func TestReasoningAnswers(t *testing.T) {
	f := fake.NewOpenAI()
	t.Cleanup(f.Close)
	const prompt = "say pong"
	for _, mode := range []fake.Reasoning{fake.ReasoningContent, fake.ReasoningField, fake.ThinkTags} {
		f.SetReasoning(mode)
		c := reasoningClient(t, f, &config.ProviderReasoning{ThinkTags: mode == fake.ThinkTags})
		resp, err := c.Chat(context.Background(), permit(c), chatReq(prompt, false))
		if err != nil {
			t.Fatal(err)
		}
		m := resp.Choices[0].Message
		if len(m.Thoughts) != 1 || m.Thoughts[0].Text != fake.Thought(prompt) || m.Text() != fake.Reply(prompt) {
			t.Errorf("%s: thoughts %+v, text %q", mode, m.Thoughts, m.Text())
		}
		if resp.Usage.ReasoningTokens != fake.ReasoningTokens {
			t.Errorf("%s: reasoning tokens %d", mode, resp.Usage.ReasoningTokens)
		}
		s, err := c.ChatStream(context.Background(), permit(c), chatReq(prompt, false))
		if err != nil {
			t.Fatal(err)
		}
		var reasoning, text string
		var usage *llm.Usage
		for {
			ch, err := s.Recv()
			if err != nil {
				break
			}
			reasoning += ch.Reasoning
			text += ch.Text
			if ch.Usage != nil {
				usage = ch.Usage
			}
		}
		s.Close()
		if reasoning != fake.Thought(prompt) || text != fake.Reply(prompt) {
			t.Errorf("%s streamed: reasoning %q, text %q", mode, reasoning, text)
		}
		if usage == nil || usage.ReasoningTokens != fake.ReasoningTokens {
			t.Errorf("%s streamed usage %+v", mode, usage)
		}
	}
	// Without think_tags the tags stay in the text, as the server sent them.
	f.SetReasoning(fake.ThinkTags)
	tc := reasoningClient(t, f, nil)
	resp, err := tc.Chat(context.Background(), permit(tc), chatReq(prompt, false))
	if err != nil {
		t.Fatal(err)
	}
	if m := resp.Choices[0].Message; len(m.Thoughts) != 0 || m.Text()[:7] != "<think>" {
		t.Errorf("think_tags off: %+v", m)
	}
}

// What each reasoning setting sends, and what it refuses.
func TestReasoningRequests(t *testing.T) {
	f := fake.NewOpenAI()
	t.Cleanup(f.Close)
	f.SetReasoning(fake.ReasoningContent)
	budget := &llm.Reasoning{BudgetTokens: 10000, Param: "thinking"}
	hint := &llm.Reasoning{Adaptive: true, Effort: "high", Hint: true, Param: "thinking"}
	for _, tc := range []struct {
		name    string
		conf    *config.ProviderReasoning
		r       *llm.Reasoning
		want    map[string]any // top-level fields the upstream must get (nil: absent)
		refused string         // the param of a 400, if refused
	}{
		{"budget as effort", nil, budget, map[string]any{"reasoning_effort": "medium", "chat_template_kwargs": nil}, ""},
		{"hint as effort", nil, hint, map[string]any{"reasoning_effort": "high"}, ""},
		{"xhigh clamped", nil, &llm.Reasoning{Effort: "xhigh", Param: "reasoning_effort"}, map[string]any{"reasoning_effort": "high"}, ""},
		{"template", &config.ProviderReasoning{Request: "chat_template_kwargs"}, budget,
			map[string]any{"chat_template_kwargs": map[string]any{"enable_thinking": true}, "reasoning_effort": nil}, ""},
		{"template off", &config.ProviderReasoning{Request: "chat_template_kwargs"}, &llm.Reasoning{Disabled: true, Param: "thinking"},
			map[string]any{"chat_template_kwargs": map[string]any{"enable_thinking": false}}, ""},
		{"none drops a hint", &config.ProviderReasoning{Request: "none"}, hint, map[string]any{"reasoning_effort": nil, "chat_template_kwargs": nil}, ""},
		{"none refuses a budget", &config.ProviderReasoning{Request: "none"}, budget, nil, "thinking"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := reasoningClient(t, f, tc.conf)
			f.Log.Reset()
			req := chatReq("hi", false)
			req.Reasoning = tc.r
			_, err := c.Chat(context.Background(), permit(c), req)
			if tc.refused != "" {
				var e *llm.Error
				if !errors.As(err, &e) || e.Status != 400 || e.Code != "unsupported_parameter" || e.Param != tc.refused {
					t.Fatalf("err = %v, want a 400 unsupported_parameter naming %s", err, tc.refused)
				}
				if n := len(f.Log.All()); n != 0 {
					t.Errorf("a refused request reached the upstream (%d calls)", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			if err := json.Unmarshal(f.Log.All()[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got, _ := json.Marshal(body[k]); string(got) != mustJSON(v) {
					t.Errorf("%s = %s, want %s", k, got, mustJSON(v))
				}
			}
		})
	}
}

// api.openai.com gets reasoning hints only for its reasoning models: gpt-4o
// rejects reasoning_effort, and Claude Code sends a hint on every request.
func TestReasoningHintsOpenAIModels(t *testing.T) {
	c := &Client{openaiHost: true}
	hint := &llm.Reasoning{Adaptive: true, Effort: "high", Hint: true, Param: "thinking"}
	for model, keep := range map[string]bool{"gpt-4o": false, "gpt-4.1-mini": false, "o3": true, "gpt-5": true, "gpt-5-chat-latest": false, "o4-mini": true} {
		r := &llm.ChatRequest{Model: model, Reasoning: hint}
		if err := c.reasoning(r); err != nil {
			t.Fatal(err)
		}
		if (r.Reasoning != nil) != keep {
			t.Errorf("%s: kept hint = %v, want %v", model, r.Reasoning != nil, keep)
		}
	}
	// An explicit request goes to OpenAI whatever the model.
	r := &llm.ChatRequest{Model: "gpt-4o", Reasoning: &llm.Reasoning{Effort: "low", Param: "reasoning_effort"}}
	if err := c.reasoning(r); err != nil || r.Reasoning == nil {
		t.Errorf("explicit effort to gpt-4o: %v, %+v", err, r.Reasoning)
	}
}

// A server whose reasoning needs translating is not passed OpenAI-format
// bodies verbatim: <think> tags would reach the client.
func TestReasoningConfigTurnsOffPassthrough(t *testing.T) {
	f := fake.NewOpenAI()
	t.Cleanup(f.Close)
	if p := reasoningClient(t, f, nil).Info().Caps.Passthrough; p != "openai" {
		t.Errorf("default: passthrough %q", p)
	}
	for _, r := range []*config.ProviderReasoning{{ThinkTags: true}, {Request: "chat_template_kwargs"}, {Request: "none"}} {
		if p := reasoningClient(t, f, r).Info().Caps.Passthrough; p != "" {
			t.Errorf("%+v: passthrough %q", r, p)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
