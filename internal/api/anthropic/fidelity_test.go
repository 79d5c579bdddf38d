package anthropic

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// TestReencodeKeepsAnthropicFields: a Claude Code request decoded to the
// canonical form and encoded again for an Anthropic target (the translated
// path, taken when policy redacts) keeps cache_control everywhere, the
// thinking configuration, thinking and redacted_thinking blocks with their
// signatures, and the Anthropic-only top-level fields.
func TestReencodeKeepsAnthropicFields(t *testing.T) {
	body, err := os.ReadFile("testdata/decreq_claude_code.in.json")
	if err != nil {
		t.Fatal(err)
	}
	req, err := DecodeMessagesRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	out, err := EncodeMessagesRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		`"system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}`,
		`"text":"read hello.txt","cache_control":{"type":"ephemeral"}`,
		`{"type":"thinking","thinking":"I should read it.","signature":"EqQBCkgIARABGAIiQL"}`,
		`{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}`,
		`"tool_use_id":"toolu_01","content":"hello-42","cache_control":{"type":"ephemeral"}`,
		`"input_schema":{"type":"object","properties":{"file_path":{"type":"string"}}},"cache_control":{"type":"ephemeral"}}]`,
		`"thinking":{"type":"adaptive","display":"updates"}`,
		`"context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]}`,
		`"output_config":{"effort":"high"}`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("re-encoded body lacks %s\n%s", want, s)
		}
	}
}

// TestThinkingFromEffort: a client that speaks in efforts (OpenAI
// reasoning_effort) gets an Anthropic thinking budget, and max_tokens
// makes room for it.
func TestThinkingFromEffort(t *testing.T) {
	mt := 1000
	req := &llm.ChatRequest{Model: "claude", MaxTokens: &mt, Reasoning: &llm.Reasoning{Effort: "medium"},
		Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hi")}}
	out, err := EncodeMessagesRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		MaxTokens int             `json:"max_tokens"`
		Thinking  json.RawMessage `json:"thinking"`
	}
	if err := json.Unmarshal(out, &w); err != nil {
		t.Fatal(err)
	}
	if string(w.Thinking) != `{"type":"enabled","budget_tokens":8192}` || w.MaxTokens != 9192 {
		t.Errorf("thinking %s max_tokens %d", w.Thinking, w.MaxTokens)
	}
	temp := 0.2
	req.Temperature = &temp
	if _, err := EncodeMessagesRequest(req); err == nil || !strings.Contains(err.Error(), "temperature") {
		t.Errorf("temperature with thinking: %v", err)
	}
}

// TestUnsupportedOnlyElsewhere: Anthropic-only fields are re-emitted for
// Anthropic and named in Unsupported for every other target.
func TestUnsupportedOnlyElsewhere(t *testing.T) {
	body := `{"model":"m","max_tokens":100,"container":"c_1","mcp_servers":[{"type":"url","url":"https://x","name":"x"}],
	"context_management":{"edits":[{"type":"clear_tool_uses_20250919"}]},"messages":[{"role":"user","content":"hi"}]}`
	req, err := DecodeMessagesRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(req.Unsupported, ","); got != "context_management.edits[0],mcp_servers,container" {
		t.Errorf("unsupported %s", got)
	}
	out, err := EncodeMessagesRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"container":"c_1"`, `"mcp_servers":[`, `"context_management":{`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("anthropic body lacks %s: %s", want, out)
		}
	}
}

// TestNewTopLevelFieldsSurvive: automatic caching (top-level
// cache_control), inference_geo, service_tier and max_tokens 0 (cache
// pre-warming) are re-emitted for Anthropic on the translated path; a
// residency restriction and max_tokens 0 are named for every other
// target, caching and "global" are not. Before, the translated path
// dropped all four and max_tokens 0 was a 400 even on pass-through.
func TestNewTopLevelFieldsSurvive(t *testing.T) {
	for _, c := range []struct {
		body, unsupported string
		want              []string
	}{
		{`{"model":"m","max_tokens":0,"cache_control":{"type":"ephemeral","ttl":"1h"},"inference_geo":"us","service_tier":"standard_only","messages":[{"role":"user","content":"hi"}]}`,
			"max_tokens,inference_geo",
			[]string{`"max_tokens":0`, `"cache_control":{"type":"ephemeral","ttl":"1h"}`, `"inference_geo":"us"`, `"service_tier":"standard_only"`}},
		{`{"model":"m","max_tokens":10,"cache_control":{"type":"ephemeral"},"inference_geo":"global","messages":[{"role":"user","content":"hi"}]}`,
			"",
			[]string{`"cache_control":{"type":"ephemeral"}`, `"inference_geo":"global"`}},
	} {
		req, err := DecodeMessagesRequest([]byte(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(req.Unsupported, ","); got != c.unsupported {
			t.Errorf("%s: unsupported %q, want %q", c.body, got, c.unsupported)
		}
		out, err := EncodeMessagesRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range c.want {
			if !strings.Contains(string(out), want) {
				t.Errorf("anthropic body lacks %s: %s", want, out)
			}
		}
	}
}
