package cache

import (
	"encoding/json"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// TestKeySeesReasoningAndVerbatimFields: requests that differ only in what
// they ask of the model's reasoning (an Anthropic thinking budget, an
// effort), in fields kept verbatim for a same-family target (Extra) or the
// anthropic-beta features they opt into, or in
// the reasoning sent back with an earlier turn get different answers, so
// they must not share a key. Before, none of these were hashed, and a
// second request with another budget was answered from the first's entry.
func TestKeySeesReasoningAndVerbatimFields(t *testing.T) {
	s := &Scope{Policy: "default"}
	base := func() *llm.ChatRequest {
		r := req("think about it")
		r.Messages = append([]llm.Message{
			llm.TextMessage(llm.RoleUser, "first"),
			{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartText, Text: "ok"}}, Thoughts: []llm.Thought{{Text: "hmm", Signature: "sig1"}}},
		}, r.Messages...)
		r.Reasoning = &llm.Reasoning{BudgetTokens: 2048, Param: "thinking"}
		r.Extra = map[string]json.RawMessage{"thinking": json.RawMessage(`{"type":"enabled","budget_tokens":2048}`)}
		return r
	}
	k := NewKey(base(), s)
	if NewKey(base(), s) != k {
		t.Fatal("the same request hashed to two keys")
	}
	for name, change := range map[string]func(r *llm.ChatRequest){
		"budget":       func(r *llm.ChatRequest) { r.Reasoning.BudgetTokens = 16000 },
		"effort":       func(r *llm.ChatRequest) { r.Reasoning = &llm.Reasoning{Effort: "high", Param: "reasoning_effort"} },
		"no reasoning": func(r *llm.ChatRequest) { r.Reasoning = nil },
		"display":      func(r *llm.ChatRequest) { r.Reasoning.Display = "omitted" },
		"extra value": func(r *llm.ChatRequest) {
			r.Extra["thinking"] = json.RawMessage(`{"type":"enabled","budget_tokens":4096}`)
		},
		"extra added":  func(r *llm.ChatRequest) { r.Extra["output_config"] = json.RawMessage(`{"effort":"low"}`) },
		"beta":         func(r *llm.ChatRequest) { r.Betas = []string{"context-1m-2025-08-07"} },
		"thought text": func(r *llm.ChatRequest) { r.Messages[1].Thoughts[0].Text = "other" },
		"thought sig":  func(r *llm.ChatRequest) { r.Messages[1].Thoughts[0].Signature = "sig2" },
		"thought added": func(r *llm.ChatRequest) {
			r.Messages[1].Thoughts = append(r.Messages[1].Thoughts, llm.Thought{Redacted: "x"})
		},
	} {
		r := base()
		change(r)
		if NewKey(r, s) == k {
			t.Errorf("%s: same key as the base request", name)
		}
	}
}
