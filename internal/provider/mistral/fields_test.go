package mistral

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// prompt_cache_key (sent by OpenAI clients such as Codex) is OpenAI's
// prompt-cache routing hint; Mistral refused the whole request with a 422
// extra_forbidden. It is left out. Strict tools, a strict JSON schema and
// parallel_tool_calls are Mistral's own fields and are sent as they are.
func TestOpenAIOnlyFields(t *testing.T) {
	c, f := newClient(t, nil)
	yes, no := true, false
	strictTool := weather
	strictTool.Strict = &yes
	req := &llm.ChatRequest{Model: "mistral-large-latest", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "Hi")},
		Tools: []llm.Tool{strictTool}, ParallelToolCalls: &no,
		ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Name: "r", Schema: json.RawMessage(`{"type":"object"}`), Strict: &yes},
		Extra:          map[string]json.RawMessage{"prompt_cache_key": json.RawMessage(`"session-1"`)}}
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatal(err)
	}
	body := string(f.Log.All()[0].Body)
	for _, s := range []string{`"strict":true}`, `"parallel_tool_calls":false`, `"json_schema":{"name":"r","schema":{"type":"object"},"strict":true}`} {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %s: %s", s, body)
		}
	}
	if strings.Contains(body, "prompt_cache_key") {
		t.Errorf("prompt_cache_key sent: %s", body)
	}
}

// top_k (an Anthropic client's) has no Mistral field: a 400 naming it,
// before anything is sent, instead of Mistral's 422.
func TestTopKRefused(t *testing.T) {
	c, f := newClient(t, nil)
	k := 40
	req := &llm.ChatRequest{Model: "mistral-large-latest", TopK: &k, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "Hi")}}
	_, err := c.Chat(t.Context(), permit(c), req)
	if e := llm.AsError(err); e.Status != http.StatusBadRequest || e.Param != "top_k" || e.Code != "unsupported_parameter" {
		t.Fatalf("err = %v, want a 400 naming top_k", err)
	}
	if n := len(f.Log.All()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}
