package mistral

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// TestReasoning checks the reasoning_effort each request sends (or its
// refusal) and that the thinking chunks of the answer become the
// canonical reasoning, streamed and not.
func TestReasoning(t *testing.T) {
	c, f := newClient(t, nil)
	for _, tc := range []struct {
		name, model string
		r           llm.Reasoning
		effort      string // reasoning_effort sent, "" for none
		thinks      bool
		refused     string // the parameter our 400 names
	}{
		{name: "budget on Small 4", model: "mistral-small-latest", r: llm.Reasoning{BudgetTokens: 2048, Param: "thinking"}, effort: "high", thinks: true},
		{name: "effort low on Small 4", model: "mistral-small-2603", r: llm.Reasoning{Effort: "low", Param: "reasoning_effort"}, effort: "high", thinks: true},
		{name: "none on Small 4", model: "mistral-small-latest", r: llm.Reasoning{Effort: "none", Param: "reasoning_effort"}, effort: "none"},
		{name: "disabled on Medium 3.5", model: "mistral-medium-3-5", r: llm.Reasoning{Disabled: true, Param: "thinking"}, effort: "none"},
		{name: "effort hint on Medium 3.5", model: "mistral-medium-3-5", r: llm.Reasoning{Adaptive: true, Effort: "medium", Hint: true, Param: "thinking"}, effort: "high", thinks: true},
		{name: "adaptive alone", model: "mistral-small-latest", r: llm.Reasoning{Adaptive: true, Hint: true, Param: "thinking"}},
		{name: "medium on Large 4", model: "mistral-large-4-0", r: llm.Reasoning{Effort: "medium", Param: "reasoning_effort"}, effort: "medium", thinks: true},
		{name: "xhigh on Large 4", model: "mistral-large-4-0", r: llm.Reasoning{Effort: "xhigh", Param: "reasoning.effort"}, effort: "high", thinks: true},
		{name: "budget on Magistral", model: "magistral-medium-latest", r: llm.Reasoning{BudgetTokens: 4096, Param: "thinking"}, thinks: true},
		{name: "no request on Magistral", model: "magistral-small-latest", thinks: true},
		{name: "hint on Large 2 dropped", model: "mistral-large-latest", r: llm.Reasoning{Adaptive: true, Effort: "high", Hint: true, Param: "thinking"}},
		{name: "budget on Large 2", model: "mistral-large-latest", r: llm.Reasoning{BudgetTokens: 2048, Param: "thinking"}, refused: "thinking"},
	} {
		for _, stream := range []bool{false, true} {
			name := tc.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				const prompt = "Think about Mistral"
				req := &llm.ChatRequest{Model: tc.model, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, prompt)}}
				if tc.r.Param != "" {
					r := tc.r
					req.Reasoning = &r
					req.Unsupported = []string{r.Param}
				}
				before := len(f.Log.All())
				var reasoning, text string
				var err error
				if stream {
					s, serr := c.ChatStream(t.Context(), permit(c), req)
					err = serr
					if serr == nil {
						for {
							ch, rerr := s.Recv()
							if rerr != nil {
								if rerr != io.EOF {
									err = rerr
								}
								break
							}
							if ch.Reasoning != "" && text != "" {
								t.Error("reasoning after the text")
							}
							reasoning += ch.Reasoning
							text += ch.Text
						}
						s.Close()
					}
				} else {
					resp, cerr := c.Chat(t.Context(), permit(c), req)
					err = cerr
					if cerr == nil {
						m := resp.Choices[0].Message
						text = m.Text()
						for _, th := range m.Thoughts {
							reasoning += th.Text
						}
					}
				}
				if tc.refused != "" {
					var e *llm.Error
					if !errors.As(err, &e) || e.Status != 400 || e.Param != tc.refused || len(f.Log.All()) != before {
						t.Fatalf("err = %v, want our 400 naming %q before any call", err, tc.refused)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				all := f.Log.All()
				var sent struct {
					ReasoningEffort *string `json:"reasoning_effort"`
				}
				_ = json.Unmarshal(all[len(all)-1].Body, &sent)
				got := ""
				if sent.ReasoningEffort != nil {
					got = *sent.ReasoningEffort
				}
				if got != tc.effort {
					t.Errorf("reasoning_effort = %q, want %q", got, tc.effort)
				}
				wantReasoning := ""
				if tc.thinks {
					wantReasoning = fake.Thought(prompt)
				}
				if reasoning != wantReasoning || text != fake.Reply(prompt) {
					t.Errorf("reasoning %q, text %q", reasoning, text)
				}
			})
		}
	}
}

// TestThinkingSentBack checks that earlier turns' thinking goes back to a
// reasoning model as thinking chunks before the text, as Mistral asks,
// and not to a model that does not reason.
func TestThinkingSentBack(t *testing.T) {
	c, f := newClient(t, nil)
	history := []llm.Message{
		llm.TextMessage(llm.RoleUser, "What is 17 * 23?"),
		{Role: llm.RoleAssistant, Thoughts: []llm.Thought{{Text: "17 * 23 = 391"}, {Redacted: "opaque"}}, Content: []llm.Part{{Type: llm.PartText, Text: "391"}}},
		llm.TextMessage(llm.RoleUser, "Now multiply that by 3."),
	}
	for _, tc := range []struct {
		model, want string
	}{
		{"mistral-medium-3-5", `[{"type":"thinking","thinking":[{"type":"text","text":"17 * 23 = 391"}]},{"type":"text","text":"391"}]`},
		{"mistral-large-latest", `"391"`},
	} {
		t.Run(tc.model, func(t *testing.T) {
			req := &llm.ChatRequest{Model: tc.model, Messages: history, Reasoning: &llm.Reasoning{Effort: "high", Param: "reasoning_effort"}}
			if tc.model == "mistral-large-latest" {
				req.Reasoning = nil
			}
			if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
				t.Fatal(err)
			}
			all := f.Log.All()
			var sent struct {
				Messages []struct {
					Content json.RawMessage `json:"content"`
				} `json:"messages"`
			}
			_ = json.Unmarshal(all[len(all)-1].Body, &sent)
			if got := string(sent.Messages[1].Content); got != tc.want {
				t.Errorf("assistant content = %s, want %s", got, tc.want)
			}
		})
	}
}
