package bedrock

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/google/go-cmp/cmp"
)

// sentBody returns the i-th Converse body the fake received.
func sentBody(t *testing.T, f *fake.Bedrock, i int) converseRequest {
	t.Helper()
	var body converseRequest
	if err := json.Unmarshal(f.Log.All()[i].Body, &body); err != nil {
		t.Fatal(err)
	}
	return body
}

// A strict tool (OpenAI function.strict, Anthropic strict tool use) is
// Converse's toolSpec.strict; it was dropped, so the arguments went
// unconstrained. strict: false, the default, is not sent.
func TestStrictTools(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	yes, no := true, false
	req := userReq("Weather in Paris?")
	strictTool, laxTool := weatherTool, weatherTool
	strictTool.Strict, laxTool.Strict, laxTool.Name = &yes, &no, "get_time"
	req.Tools = []llm.Tool{strictTool, laxTool}
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatal(err)
	}
	tools := sentBody(t, f, 0).ToolConfig.Tools
	if len(tools) != 2 || tools[0].ToolSpec.Strict == nil || !*tools[0].ToolSpec.Strict || tools[1].ToolSpec.Strict != nil {
		t.Errorf("toolSpecs = %s", mustJSON(tools))
	}
}

// A JSON schema response format is Converse's structured output,
// outputConfig.textFormat, the schema as a JSON string; it was refused.
// JSON mode without a schema has no Converse equivalent and stays
// refused.
func TestResponseFormatJSONSchema(t *testing.T) {
	const schema = `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`
	var (
		mu  sync.Mutex
		got json.RawMessage
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body struct {
			OutputConfig json.RawMessage `json:"outputConfig"`
		}
		_ = json.Unmarshal(b, &body)
		mu.Lock()
		got = body.OutputConfig
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-RequestId", "8d1e6f2a-0000-4000-8000-000000000001")
		_, _ = io.WriteString(w, `{"output":{"message":{"role":"assistant","content":[{"text":"{\"city\":\"Paris\"}"}]}},"stopReason":"end_turn",
"usage":{"inputTokens":30,"outputTokens":8,"totalTokens":38},"metrics":{"latencyMs":412}}`)
	}))
	defer srv.Close()
	c, err := New(config.Provider{Name: "b", Type: "bedrock", BaseURL: srv.URL,
		AWS: &config.AWS{Region: region, AccessKeyID: fake.BedrockAccessKey, SecretAccessKey: fake.BedrockSecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	yes := true
	req := userReq("Where is the Louvre?")
	req.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Name: "place", Schema: json.RawMessage(schema), Strict: &yes}
	resp, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	if txt := resp.Choices[0].Message.Text(); txt != `{"city":"Paris"}` {
		t.Errorf("answer = %q", txt)
	}
	want := map[string]any{"textFormat": map[string]any{"type": "json_schema",
		"structure": map[string]any{"jsonSchema": map[string]any{"schema": schema, "name": "place"}}}}
	mu.Lock()
	sent := got
	mu.Unlock()
	var gotV any
	if err := json.Unmarshal(sent, &gotV); err != nil {
		t.Fatalf("outputConfig %s: %v", sent, err)
	}
	if diff := cmp.Diff(want, gotV); diff != "" {
		t.Errorf("outputConfig (-want +got):\n%s", diff)
	}

	req.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Schema: json.RawMessage(`"nope"`)}
	if _, err := c.Chat(t.Context(), permit(c), req); llm.AsError(err).Param != "response_format.json_schema.schema" {
		t.Errorf("a schema that is not an object: %v", err)
	}
	req.ResponseFormat = &llm.ResponseFormat{Type: "json_object"}
	if _, err := c.Chat(t.Context(), permit(c), req); llm.AsError(err).Param != "response_format" {
		t.Errorf("json_object: %v, want a 400 naming response_format", err)
	}
}

// An Anthropic client's prefill (a final assistant text the answer must
// continue) is sent as the final assistant turn, which Converse has the
// model continue (Claude; a model that cannot answers with its own
// ValidationException): the answer is the continuation alone.
func TestPrefill(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	req := userReq("3 + 4?")
	req.Messages = append(req.Messages, llm.TextMessage(llm.RoleAssistant, "The answer is"))
	req.Extra = map[string]json.RawMessage{"prefill": json.RawMessage(`"messages[1]"`)}
	if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
		t.Fatal(err)
	}
	msgs := sentMessages(t, f, 0)
	want := []message{{Role: "user", Content: []contentBlock{text("3 + 4?")}}, {Role: "assistant", Content: []contentBlock{text("The answer is")}}}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}
