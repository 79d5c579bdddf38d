package gemini

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/google/go-cmp/cmp"
)

// A strict tool (OpenAI function.strict, Anthropic strict tool use) asks
// for calls whose arguments match the schema: Gemini's VALIDATED mode
// (AUTO with constrained function calls), or ANY, which constrains its
// calls already. It was dropped, so the calls went unvalidated.
func TestStrictTools(t *testing.T) {
	yes, no := true, false
	strictTool := weatherTool
	strictTool.Strict = &yes
	laxTool := weatherTool
	laxTool.Strict = &no
	for _, tc := range []struct {
		name   string
		tools  []llm.Tool
		choice *llm.ToolChoice
		want   *toolConfig // nil: no toolConfig sent
	}{
		{"strict", []llm.Tool{strictTool}, nil, &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: "VALIDATED"}}},
		{"strict auto", []llm.Tool{strictTool}, &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: "VALIDATED"}}},
		{"one strict of two", []llm.Tool{laxTool, {Name: "b", Strict: &yes}}, nil, &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: "VALIDATED"}}},
		{"strict required", []llm.Tool{strictTool}, &llm.ToolChoice{Mode: llm.ToolChoiceRequired}, &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: "ANY"}}},
		{"strict named", []llm.Tool{strictTool}, &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "get_weather"},
			&toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{"get_weather"}}}},
		{"strict none", []llm.Tool{strictTool}, &llm.ToolChoice{Mode: llm.ToolChoiceNone}, &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: "NONE"}}},
		{"strict false", []llm.Tool{laxTool}, nil, nil},
		{"not strict, auto", []llm.Tool{weatherTool}, &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: "AUTO"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fake.NewGemini()
			defer f.Close()
			c := newTestClient(t, f)
			req := userReq("weather?")
			req.Tools, req.ToolChoice = tc.tools, tc.choice
			if _, err := c.Chat(t.Context(), permit(c), req); err != nil {
				t.Fatal(err)
			}
			var sent generateRequest
			if err := json.Unmarshal(f.Log.All()[0].Body, &sent); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, sent.ToolConfig); diff != "" {
				t.Errorf("toolConfig (-want +got):\n%s", diff)
			}
		})
	}
}

// An Anthropic client's prefill (a final assistant text the answer must
// continue) is forwarded as a final model turn, which Gemini continues:
// the answer is the continuation alone, as Anthropic's is. Models that
// refuse a final model turn answer with their own 400, which reaches the
// client as a 400.
func TestPrefill(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req generateRequest
		_ = json.Unmarshal(b, &req)
		w.Header().Set("Content-Type", "application/json")
		last := req.Contents[len(req.Contents)-1]
		if last.Role != "model" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if r.URL.Path == "/models/gemini-3-pro-preview:generateContent" {
			// https://ai.google.dev/api/generate-content: newer models
			// refuse a request ending with a model turn.
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"code":400,"message":"Requests ending with a model turn are not supported.","status":"INVALID_ARGUMENT"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"candidates":[{"content":{"parts":[{"text":" 7, because 3 + 4 = 7."}],"role":"model"},"finishReason":"STOP","index":0}],
"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":9,"totalTokenCount":21},"modelVersion":"gemini-2.5-flash","responseId":"r-1"}`)
	}))
	defer srv.Close()
	c, err := New(config.Provider{Name: "g", Type: "gemini", BaseURL: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	req := &llm.ChatRequest{Model: "gemini-2.5-flash",
		Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "3 + 4?"), llm.TextMessage(llm.RoleAssistant, "The answer is")},
		Extra:    map[string]json.RawMessage{"prefill": json.RawMessage(`"messages[1]"`)}}
	resp, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != " 7, because 3 + 4 = 7." {
		t.Errorf("answer = %q", got)
	}
	req.Model = "gemini-3-pro-preview"
	_, err = c.Chat(t.Context(), permit(c), req)
	if e := llm.AsError(err); e.Status != http.StatusBadRequest {
		t.Errorf("a model that refuses prefill: %v, want a 400", err)
	}
}

// TestStrictToolsOnVertex: an OpenAI Agents SDK agent with a strict tool
// and toolChoice "required" on Vertex AI Gemini. Its first turn forces
// the call (mode ANY); after the call the SDK resets tool_choice
// (resetToolChoice, its default), so the second turn has strict tools
// on auto: mode VALIDATED, which Vertex AI's v1 API documents as it does
// ANY. Before, the vertex type refused that turn with a 400 naming
// tools[i].strict, and the agent failed after its tool ran.
func TestStrictToolsOnVertex(t *testing.T) {
	f := fake.NewGemini()
	defer f.Close()
	c, err := New(config.Provider{Name: "vertex-eu", Type: "vertex"},
		WithEndpoint(func(model, method string) string { return f.URL + "/models/" + model + method }),
		WithAuth(func(_ context.Context, h http.Header) error { h.Set("x-goog-api-key", fake.APIKey); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	yes := true
	strictTool := weatherTool
	strictTool.Strict = &yes
	req := userReq("weather?")
	req.Tools = []llm.Tool{weatherTool, strictTool}
	req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceRequired}
	first, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Choices) == 0 || len(first.Choices[0].Message.ToolCalls) == 0 {
		t.Fatalf("first turn: %+v", first)
	}
	// The second turn, as the SDK sends it: the call and its result, and
	// no tool_choice.
	req.ToolChoice = nil
	req.Messages = append(req.Messages, first.Choices[0].Message,
		llm.Message{Role: llm.RoleTool, ToolCallID: first.Choices[0].Message.ToolCalls[0].ID, Content: []llm.Part{{Type: llm.PartText, Text: "sunny"}}})
	second, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatalf("second turn: %v", err)
	}
	if got := second.Choices[0].Message.Text(); got != "Tool said: sunny" {
		t.Errorf("second turn answered %q", got)
	}
	for i, want := range []string{"ANY", "VALIDATED"} {
		var sent generateRequest
		if err := json.Unmarshal(f.Log.All()[i].Body, &sent); err != nil {
			t.Fatal(err)
		}
		if sent.ToolConfig == nil || sent.ToolConfig.FunctionCallingConfig.Mode != want {
			t.Errorf("turn %d: toolConfig = %+v, want mode %s", i+1, sent.ToolConfig, want)
		}
	}
}

// parallel_tool_calls: false has no Gemini switch; the answer keeps its
// first function call and drops the rest, streamed or not, so the client
// gets at most the one call it asked for. Without the field (or with
// true) both calls arrive.
func TestOneToolCall(t *testing.T) {
	// https://ai.google.dev/api/generate-content: parallel function calls
	// are several functionCall parts of one candidate.
	const parts = `[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"name":"get_weather","args":{"city":"Lyon"}}}]`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "alt=sse") {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, `data: {"candidates":[{"content":{"parts":`+parts+`,"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":14,"totalTokenCount":34},"modelVersion":"gemini-2.5-flash","responseId":"r-2"}`+"\r\n\r\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"candidates":[{"content":{"parts":`+parts+`,"role":"model"},"finishReason":"STOP","index":0}],
"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":14,"totalTokenCount":34},"modelVersion":"gemini-2.5-flash","responseId":"r-1"}`)
	}))
	defer srv.Close()
	c, err := New(config.Provider{Name: "g", Type: "gemini", BaseURL: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	for _, tc := range []struct {
		name     string
		parallel *bool
		want     int
	}{{"false", new(false), 1}, {"true", new(true), 2}, {"absent", nil, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			req := &llm.ChatRequest{Model: "gemini-2.5-flash", ParallelToolCalls: tc.parallel,
				Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "Weather in Paris and Lyon?")},
				Tools:    []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}}
			resp, err := c.Chat(t.Context(), permit(c), req)
			if err != nil {
				t.Fatal(err)
			}
			calls := resp.Choices[0].Message.ToolCalls
			if len(calls) != tc.want || calls[0].Arguments != `{"city":"Paris"}` {
				t.Errorf("Chat: calls %+v, want %d starting with Paris", calls, tc.want)
			}
			s, err := c.ChatStream(t.Context(), permit(c), req)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			indexes := map[int]string{}
			var finish string
			for {
				ch, err := s.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range ch.ToolCalls {
					indexes[d.Index] += d.Arguments
				}
				if ch.FinishReason != "" {
					finish = ch.FinishReason
				}
			}
			if len(indexes) != tc.want || indexes[0] != `{"city":"Paris"}` || finish != llm.FinishToolCalls {
				t.Errorf("ChatStream: calls %v finish %q, want %d starting with Paris, tool_calls", indexes, finish, tc.want)
			}
		})
	}
}
