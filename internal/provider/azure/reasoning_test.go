package azure

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// TestReasoning checks what reasoning each request sends to a deployment
// and what comes back: an explicit effort or budget is sent whatever the
// model (gpt-4o refuses it with Azure's own 400), hints only to reasoning
// deployments, and reasoning_tokens are metered, streamed and not.
func TestReasoning(t *testing.T) {
	f := fake.NewAzure(map[string]string{"gpt4o-prod": "gpt-4o", "o4-mini-prod": "o4-mini", "o3-prod": "o3", "reasoner": "o3"})
	t.Cleanup(f.Close)
	c := newClient(t, f, func(p *config.Provider) {
		p.Azure.Deployments = map[string]string{"gpt-4o": "gpt4o-prod", "o4-mini": "o4-mini-prod", "house-model": "o3-prod", "house-2": "reasoner"}
	})
	for _, tc := range []struct {
		name, model string
		r           llm.Reasoning
		want        string // reasoning_effort sent, "" for none
		refused     string // the upstream's 400, "" when answered
	}{
		{"effort", "o4-mini", llm.Reasoning{Effort: "high", Param: "reasoning_effort"}, "high", ""},
		{"budget", "o4-mini", llm.Reasoning{BudgetTokens: 2048, Param: "thinking"}, "low", ""},
		{"budget large", "o4-mini", llm.Reasoning{BudgetTokens: 20000, Param: "thinking"}, "high", ""},
		{"hint max clamped", "o4-mini", llm.Reasoning{Adaptive: true, Effort: "xhigh", Hint: true, Param: "thinking"}, "high", ""},
		{"adaptive alone", "o4-mini", llm.Reasoning{Adaptive: true, Hint: true, Param: "thinking"}, "", ""},
		{"hint by deployment name", "house-model", llm.Reasoning{Effort: "medium", Hint: true, Param: "output_config.effort"}, "medium", ""},
		// Neither name says the model reasons: the hint is dropped (the
		// o3 behind it still reasons at its default effort).
		{"hint to an unrecognised name", "house-2", llm.Reasoning{Effort: "medium", Hint: true, Param: "output_config.effort"}, "", ""},
		{"hint to gpt-4o dropped", "gpt-4o", llm.Reasoning{Adaptive: true, Effort: "high", Hint: true, Param: "thinking"}, "", ""},
		{"none to gpt-4o dropped", "gpt-4o", llm.Reasoning{Effort: "none", Param: "reasoning_effort"}, "", ""},
		{"explicit to gpt-4o", "gpt-4o", llm.Reasoning{BudgetTokens: 4096, Param: "thinking"}, "medium", "'reasoning_effort' is not supported with this model"},
		{"level the model lacks", "o4-mini", llm.Reasoning{Effort: "minimal", Param: "reasoning_effort"}, "minimal", "Invalid value: 'minimal'"},
	} {
		for _, stream := range []bool{false, true} {
			name := tc.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				req := userReq("Think about Azure")
				req.Model = tc.model
				r := tc.r
				req.Reasoning = &r
				req.Unsupported = []string{r.Param} // as the Anthropic decoder lists output_config
				var usage *llm.Usage
				var text string
				var err error
				if stream {
					s, serr := c.ChatStream(t.Context(), permit(c), req)
					err = serr
					if serr == nil {
						var last *llm.Chunk
						text, last, _, err = collect(t, s)
						if last != nil {
							usage = last.Usage
						}
					}
				} else {
					resp, cerr := c.Chat(t.Context(), permit(c), req)
					err = cerr
					if cerr == nil {
						text, usage = resp.Choices[0].Message.Text(), resp.Usage
					}
				}
				sent := lastBody(t, f)
				var body struct {
					ReasoningEffort *string `json:"reasoning_effort"`
				}
				_ = json.Unmarshal(sent, &body)
				got := ""
				if body.ReasoningEffort != nil {
					got = *body.ReasoningEffort
				}
				if got != tc.want {
					t.Errorf("reasoning_effort sent = %q, want %q (body %s)", got, tc.want, sent)
				}
				if tc.refused != "" {
					var e *llm.Error
					if err == nil || !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Message, tc.refused) {
						t.Fatalf("err = %v, want the deployment's 400 containing %q", err, tc.refused)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if text != fake.Reply("Think about Azure") {
					t.Errorf("text = %q", text)
				}
				wantReasoning := int64(0)
				if strings.HasPrefix(tc.model, "o") || strings.HasPrefix(tc.model, "house") {
					wantReasoning = fake.ReasoningTokens
				}
				if usage == nil || usage.ReasoningTokens != wantReasoning || usage.OutputTokens != fake.OutputTokens {
					t.Errorf("usage = %+v, want %d reasoning tokens of %d", usage, wantReasoning, fake.OutputTokens)
				}
			})
		}
	}
}

func lastBody(t *testing.T, f *fake.Azure) []byte {
	t.Helper()
	all := f.Log.All()
	if len(all) == 0 {
		t.Fatal("no request reached the fake")
	}
	return all[len(all)-1].Body
}
