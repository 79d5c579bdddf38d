package bedrock

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/google/go-cmp/cmp"
)

// Anthropic cache_control markers (on system, user text, a tool result, a
// tool, and the request itself) become Converse cachePoint blocks after
// the marked content; they were dropped, so a Claude conversation on
// Bedrock was never cached. A model without prompt caching gets none.
func TestPromptCaching(t *testing.T) {
	eph := json.RawMessage(`{"type":"ephemeral"}`)
	hour := json.RawMessage(`{"type":"ephemeral","ttl":"1h"}`)
	req := func(model string) *llm.ChatRequest {
		tool := weatherTool
		tool.CacheControl = hour
		return &llm.ChatRequest{Model: model, Tools: []llm.Tool{tool},
			Extra: map[string]json.RawMessage{"cache_control": eph},
			Messages: []llm.Message{
				{Role: llm.RoleSystem, Content: []llm.Part{{Type: llm.PartText, Text: "Long policy.", CacheControl: hour}}},
				{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: "Long document.", CacheControl: eph}, {Type: llm.PartText, Text: "Weather?"}}},
				{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "tooluse_1", Name: "get_weather", Arguments: `{"location":"Paris"}`}}},
				{Role: llm.RoleTool, ToolCallID: "tooluse_1", Content: []llm.Part{{Type: llm.PartText, Text: "18C"}}, CacheControl: eph},
			}}
	}
	f := newFake(t)
	c := newClient(t, f, nil)
	if _, err := c.Chat(t.Context(), permit(c), req(claude)); err != nil {
		t.Fatal(err)
	}
	body := sentBody(t, f, 0)
	def, long := &cachePoint{Type: "default"}, &cachePoint{Type: "default", TTL: "1h"}
	if want := []systemBlock{{Text: "Long policy."}, {CachePoint: long}}; !cmp.Equal(want, body.System) {
		t.Errorf("system = %s", mustJSON(body.System))
	}
	if len(body.ToolConfig.Tools) != 2 || !cmp.Equal(long, body.ToolConfig.Tools[1].CachePoint) || body.ToolConfig.Tools[1].ToolSpec != nil {
		t.Errorf("tools = %s", mustJSON(body.ToolConfig.Tools))
	}
	user := body.Messages[0].Content
	if len(user) != 3 || !cmp.Equal(def, user[1].CachePoint) || user[2].Text == nil {
		t.Errorf("user = %s", mustJSON(user))
	}
	// The tool result's own marker; automatic caching finds a cache
	// point at the end already and adds none.
	last := body.Messages[2].Content
	if len(last) != 2 || last[0].ToolResult == nil || !cmp.Equal(def, last[1].CachePoint) {
		t.Errorf("last message = %s", mustJSON(last))
	}

	f = newFake(t)
	c = newClient(t, f, nil)
	r := req(claude)
	r.Messages[3].CacheControl = nil
	if _, err := c.Chat(t.Context(), permit(c), r); err != nil {
		t.Fatal(err)
	}
	if last := sentBody(t, f, 0).Messages[2].Content; len(last) != 2 || !cmp.Equal(def, last[1].CachePoint) {
		t.Errorf("automatic caching: last message = %s", mustJSON(last))
	}

	f = newFake(t)
	c = newClient(t, f, nil)
	if _, err := c.Chat(t.Context(), permit(c), req("eu.meta.llama3-2-3b-instruct-v1:0")); err != nil {
		t.Fatal(err)
	}
	if b := string(f.Log.All()[0].Body); strings.Contains(b, "cachePoint") {
		t.Errorf("cache points sent to a model without prompt caching: %s", b)
	}
}
