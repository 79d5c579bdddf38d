package ollama

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// A strict tool (OpenAI function.strict, Anthropic strict tool use) asks
// for arguments that always match the schema; Ollama cannot constrain tool
// calls, so strict: true is refused before anything is sent (it was
// dropped). strict: false, the default, passes.
func TestStrictTools(t *testing.T) {
	f := fake.NewOllama()
	defer f.Close()
	c := newTestClient(t, f.URL)
	yes, no := true, false
	req := userReq("weather?")
	req.Tools = []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`), Strict: &yes}}
	_, err := c.Chat(t.Context(), permit(c), req)
	if e := llm.AsError(err); e.Status != http.StatusBadRequest || e.Param != "tools[0].strict" || e.Code != "unsupported_parameter" {
		t.Fatalf("strict: true: %v, want a 400 naming tools[0].strict", err)
	}
	if n := len(f.Log.All()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	req.Tools[0].Strict = &no
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatalf("strict: false: %v", err)
	}
	// Without tools sent (tool_choice none) there is nothing to constrain.
	req.Tools[0].Strict = &yes
	req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceNone}
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatalf("strict tool with tool_choice none: %v", err)
	}
}

// An Anthropic client's prefill (a final assistant text the answer must
// continue) is sent as the final assistant message, which Ollama leaves
// open for the model to continue; the answer is the continuation alone.
func TestPrefill(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req chatRequest
		_ = json.Unmarshal(b, &req)
		last := req.Messages[len(req.Messages)-1]
		if r.URL.Path != "/api/chat" || last.Role != "assistant" || last.Content != "The answer is" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"unexpected request"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"model":"llama3.2:latest","created_at":"2026-12-05T21:00:00.000000Z","message":{"role":"assistant","content":" 7."},"done":true,"done_reason":"stop","prompt_eval_count":14,"eval_count":3}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL)
	req := &llm.ChatRequest{Model: "llama3.2:latest",
		Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "3 + 4?"), llm.TextMessage(llm.RoleAssistant, "The answer is")},
		Extra:    map[string]json.RawMessage{"prefill": json.RawMessage(`"messages[1]"`)}}
	resp, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != " 7." {
		t.Errorf("answer = %q", got)
	}
}
