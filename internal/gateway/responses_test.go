package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	oa "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/provider/openai"
	"github.com/fulcrumhq/fulcrum/internal/router"
)

// newResponsesEnv adds to newEnv's providers an OpenAI provider that serves
// the Responses API (m-oresp: pass-through); m-openai (Chat Completions)
// and m-anthropic are translated.
func newResponsesEnv(t *testing.T) (*env, oa.Client) {
	t.Helper()
	return newResponsesEnvWith(t, nil)
}

// newResponsesEnvWith is newResponsesEnv with tweak applied to the
// gateway's options.
func newResponsesEnvWith(t *testing.T, tweak func(o *gateway.Options)) (*env, oa.Client) {
	t.Helper()
	e := &env{oa: fake.NewOpenAI(), an: fake.NewAnthropic()}
	yes := true
	pr, err := openai.New(config.Provider{Name: "p-oresp", Type: "openai", BaseURL: e.oa.URL, APIKey: fake.APIKey, Responses: &yes})
	if err != nil {
		t.Fatal(err)
	}
	po, err := openai.New(config.Provider{Name: "p-openai", Type: "openai", BaseURL: e.oa.URL, APIKey: fake.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	pa, err := anthropic.New(config.Provider{Name: "p-anthropic", Type: "anthropic", BaseURL: e.an.URL, APIKey: fake.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Providers: []config.Provider{{Name: "p-oresp", Type: "openai"}, {Name: "p-openai", Type: "openai"}, {Name: "p-anthropic", Type: "anthropic"}},
		Models: []config.Model{
			{Name: "m-oresp", Provider: "p-oresp", Upstream: "gpt-5", Type: "chat"},
			{Name: "m-openai", Provider: "p-openai", Upstream: "gpt-4o", Type: "chat"},
			{Name: "m-anthropic", Provider: "p-anthropic", Upstream: "claude-sonnet-4-5", Type: "chat"},
		},
	}
	ps := map[string]provider.Provider{"p-oresp": pr, "p-openai": po, "p-anthropic": pa}
	r, err := router.New(cfg, ps, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := gateway.Options{Router: r}
	if tweak != nil {
		tweak(&o)
	}
	e.srv = httptest.NewServer(gateway.New(o))
	t.Cleanup(func() {
		e.srv.Close()
		e.oa.Close()
		e.an.Close()
		for _, p := range ps {
			if c, ok := p.(interface{ CloseIdleConnections() }); ok {
				c.CloseIdleConnections()
			}
		}
		http.DefaultClient.CloseIdleConnections()
	})
	return e, oa.NewClient(option.WithBaseURL(e.srv.URL+"/v1"), option.WithAPIKey("anything"), option.WithMaxRetries(0))
}

var responsesModels = []struct{ model, path string }{
	{"m-oresp", "/v1/responses"},
	{"m-openai", "/v1/chat/completions"},
	{"m-anthropic", "/v1/messages"},
}

func (e *env) lastPath(t *testing.T) string {
	t.Helper()
	all := append(e.oa.Log.All(), e.an.Log.All()...)
	if len(all) == 0 {
		t.Fatal("no upstream request")
	}
	var last string
	for _, r := range e.oa.Log.All() {
		last = r.Path
	}
	for _, r := range e.an.Log.All() {
		last = r.Path
	}
	return strings.SplitN(last, "?", 2)[0]
}

var weatherTool = responses.ToolParamOfFunction("get_weather", map[string]any{
	"type": "object", "properties": map[string]any{"location": map[string]any{"type": "string"}},
}, false)

// TestResponsesSDK drives every provider kind with the official openai-go
// Responses client: a plain answer, a streamed one, and a function-tool
// round trip, streamed and not.
func TestResponsesSDK(t *testing.T) {
	for _, m := range responsesModels {
		t.Run(m.model, func(t *testing.T) {
			e, client := newResponsesEnv(t)
			ctx := context.Background()
			resp, err := client.Responses.New(ctx, responses.ResponseNewParams{
				Model: m.model, Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("hi")},
				Instructions: oa.String("be brief"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.OutputText(); got != fake.Reply("hi") {
				t.Errorf("output text %q", got)
			}
			if resp.Status != "completed" || resp.Usage.InputTokens != fake.InputTokens || resp.Usage.OutputTokens != fake.OutputTokens {
				t.Errorf("status %q usage %+v", resp.Status, resp.Usage)
			}
			if p := e.lastPath(t); p != m.path {
				t.Errorf("upstream path %s, want %s", p, m.path)
			}

			// Streamed.
			st := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{
				Model: m.model, Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("stream please")},
			})
			var types []string
			var text strings.Builder
			var final responses.Response
			for st.Next() {
				ev := st.Current()
				types = append(types, ev.Type)
				switch ev.Type {
				case "response.output_text.delta":
					text.WriteString(ev.Delta)
				case "response.completed":
					final = ev.Response
				}
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
			if text.String() != fake.Reply("stream please") || final.OutputText() != text.String() {
				t.Errorf("streamed %q, final %q", text.String(), final.OutputText())
			}
			seq := strings.Join(types, " ")
			for _, want := range []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
				"response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"} {
				if !strings.Contains(seq, want) {
					t.Errorf("stream lacks %s: %s", want, seq)
				}
			}
			if types[0] != "response.created" || types[len(types)-1] != "response.completed" {
				t.Errorf("stream order: %s", seq)
			}
			if final.Usage.TotalTokens != fake.InputTokens+fake.OutputTokens {
				t.Errorf("final usage %+v", final.Usage)
			}

			for _, stream := range []bool{false, true} {
				testToolRoundTrip(t, client, m.model, stream)
			}
		})
	}
}

func testToolRoundTrip(t *testing.T, client oa.Client, model string, stream bool) {
	t.Helper()
	ctx := context.Background()
	params := responses.ResponseNewParams{
		Model: model, Tools: []responses.ToolUnionParam{weatherTool},
		Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("weather in Paris?")},
	}
	var call responses.ResponseOutputItemUnion
	if stream {
		st := client.Responses.NewStreaming(ctx, params)
		var args strings.Builder
		for st.Next() {
			ev := st.Current()
			switch ev.Type {
			case "response.function_call_arguments.delta":
				args.WriteString(ev.Delta)
			case "response.output_item.done":
				call = ev.Item
			}
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if args.String() != fake.ToolArgs {
			t.Errorf("streamed arguments %q", args.String())
		}
	} else {
		resp, err := client.Responses.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Output) != 1 {
			t.Fatalf("output %+v", resp.Output)
		}
		call = resp.Output[0]
	}
	if call.Type != "function_call" || call.Name != "get_weather" || call.Arguments.OfString != fake.ToolArgs || call.CallID == "" {
		t.Fatalf("stream=%v: call %s", stream, call.RawJSON())
	}
	// Second turn: the call and its output go back as input items.
	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model: model, Tools: []responses.ToolUnionParam{weatherTool},
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("weather in Paris?", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfFunctionCall(call.Arguments.OfString, call.CallID, call.Name),
			{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{CallID: oa.String(call.CallID),
				Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: oa.String("sunny")}}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.OutputText(); got != "Tool said: sunny" {
		t.Errorf("stream=%v: second turn %q", stream, got)
	}
}

// TestResponsesTranslationLimits: what a translated target cannot do is
// refused precisely or reported, never silently lost.
func TestResponsesTranslationLimits(t *testing.T) {
	e, _ := newResponsesEnv(t)
	// previous_response_id needs a stored response.
	resp, out := e.post(t, "/v1/responses", `{"model":"m-anthropic","input":"hi","previous_response_id":"resp_123"}`)
	if resp.StatusCode != 400 || !strings.Contains(out, `"param":"previous_response_id"`) || !strings.Contains(out, "unsupported_parameter") {
		t.Errorf("previous_response_id on a translated target: %d %s", resp.StatusCode, out)
	}
	// ... and, without a store to say which key made it, is not passed
	// through either (TestPassThroughOwnedWithStorageOff).
	resp, out = e.post(t, "/v1/responses", `{"model":"m-oresp","input":"hi","previous_response_id":"resp_123"}`)
	if resp.StatusCode != 400 || !strings.Contains(out, `"param":"previous_response_id"`) {
		t.Errorf("previous_response_id on pass-through without a store: %d %s", resp.StatusCode, out)
	}
	// A hosted tool is not offered to a translated target, and the client is told.
	resp, out = e.post(t, "/v1/responses", `{"model":"m-openai","input":"hi","tools":[{"type":"web_search","external_web_access":false}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Fulcrum-Dropped-Tools") != "web_search" {
		t.Errorf("hosted tool: %d %q %s", resp.StatusCode, resp.Header.Get("X-Fulcrum-Dropped-Tools"), out)
	}
	if sent := e.oa.Log.All(); strings.Contains(string(sent[len(sent)-1].Body), "web_search") {
		t.Errorf("web_search reached a chat-completions upstream: %s", sent[len(sent)-1].Body)
	}
	// A custom (free-form) tool cannot be translated.
	resp, out = e.post(t, "/v1/responses", `{"model":"m-openai","input":"hi","tools":[{"type":"custom","name":"apply_patch"}]}`)
	if resp.StatusCode != 400 || !strings.Contains(out, `"param":"tools[0].type"`) {
		t.Errorf("custom tool: %d %s", resp.StatusCode, out)
	}
	// Stored-response endpoints answer in OpenAI's error shape.
	resp, out = e.get(t, "/v1/responses/resp_123")
	if resp.StatusCode != 404 || !strings.Contains(out, `"code":"not_found"`) {
		t.Errorf("GET stored response: %d %s", resp.StatusCode, out)
	}
	// A stream cut after it started ends with error and response.failed.
	for _, model := range []string{"m-oresp", "m-openai"} {
		_, out = e.post(t, "/v1/responses", `{"model":"`+model+`","stream":true,"input":"[[cut]] one two three four"}`)
		if !strings.Contains(out, "event: error\n") || strings.Contains(out, "response.completed") {
			t.Errorf("%s cut stream:\n%s", model, out)
		}
		if model == "m-openai" && !strings.Contains(out, "event: response.failed\n") {
			t.Errorf("%s cut stream lacks response.failed:\n%s", model, out)
		}
	}
}

// TestResponsesCodexShape sends the request shape Codex 0.169 sends
// (developer messages with ids, namespace tools, web_search, reasoning,
// include, prompt_cache_key, client_metadata) to a translated target and
// checks what reached it.
func TestResponsesCodexShape(t *testing.T) {
	e, _ := newResponsesEnv(t)
	body := `{"model":"m-openai","stream":false,"input":[
	 {"type":"message","id":"msg_1","role":"developer","content":[{"type":"input_text","text":"You are Codex."}]},
	 {"type":"message","id":"msg_2","role":"user","content":[{"type":"input_text","text":"read it"}]},
	 {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"opaque"},
	 {"type":"function_call","status":"completed","id":"fc_1","name":"exec_command","arguments":"{\"cmd\":\"cat x\"}","call_id":"call_abc"},
	 {"type":"function_call_output","id":"fco_1","call_id":"call_abc","output":"hello-42"}],
	 "tools":[{"type":"function","name":"exec_command","strict":false,"parameters":{"type":"object","properties":{"cmd":{"type":"string"}}}},
	  {"type":"namespace","name":"multi_agent_v1","description":"agents","tools":[{"type":"function","name":"close_agent","strict":false,"parameters":{"type":"object","properties":{}}}]},
	  {"type":"web_search","external_web_access":false}],
	 "tool_choice":"auto","parallel_tool_calls":true,"reasoning":{"summary":"auto"},"store":false,
	 "include":["reasoning.encrypted_content"],"prompt_cache_key":"k","client_metadata":{"thread_id":"t"}}`
	resp, out := e.post(t, "/v1/responses", body)
	if resp.StatusCode != 200 || !strings.Contains(out, "Tool said: hello-42") {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	sent := e.oa.Log.All()
	var up struct {
		Messages []struct {
			Role       string          `json:"role"`
			Content    json.RawMessage `json:"content"`
			ToolCallID string          `json:"tool_call_id"`
			ToolCalls  []struct {
				ID       string `json:"id"`
				Function struct{ Name, Arguments string }
			} `json:"tool_calls"`
		}
		Tools []struct{ Function struct{ Name string } }
	}
	if err := json.Unmarshal(sent[len(sent)-1].Body, &up); err != nil {
		t.Fatal(err)
	}
	roles := []string{}
	for _, m := range up.Messages {
		roles = append(roles, m.Role)
	}
	if strings.Join(roles, ",") != "system,user,assistant,tool" {
		t.Errorf("roles %v", roles)
	}
	if tc := up.Messages[2].ToolCalls; len(tc) != 1 || tc[0].ID != "call_abc" || tc[0].Function.Name != "exec_command" {
		t.Errorf("assistant tool calls %+v", tc)
	}
	if up.Messages[3].ToolCallID != "call_abc" {
		t.Errorf("tool message %+v", up.Messages[3])
	}
	var names []string
	for _, tl := range up.Tools {
		names = append(names, tl.Function.Name)
	}
	if strings.Join(names, ",") != "exec_command,multi_agent_v1__close_agent" {
		t.Errorf("tools sent %v", names)
	}
}

func (e *env) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestClaudeCodeShape sends what current Claude Code sends (system turns
// inside messages, adaptive thinking, context_management, output_config,
// cache_control, metadata, ?beta=true and anthropic-beta) to an Anthropic
// upstream, where it passes through untouched with the query and headers,
// and to an OpenAI one, where it is translated.
func TestClaudeCodeShape(t *testing.T) {
	e, _ := newResponsesEnv(t)
	body, err := os.ReadFile("../api/anthropic/testdata/decreq_claude_code.in.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"m-anthropic", "m-openai"} {
		b := strings.Replace(string(body), `"claude-sonnet-4-5"`, `"`+model+`"`, 1)
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/messages?beta=true", strings.NewReader(b))
		req.Header.Set("anthropic-version", "2023-06-01")
		req.Header.Set("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(out), "event: message_stop") {
			t.Fatalf("%s: %d %s", model, resp.StatusCode, out)
		}
		if model == "m-anthropic" {
			got := e.an.Log.All()[0]
			if got.Path != "/v1/messages?beta=true" || got.Header.Get("Anthropic-Beta") != "claude-code-20250219,interleaved-thinking-2025-05-14" {
				t.Errorf("pass-through lost the query or beta header: %s %v", got.Path, got.Header)
			}
			if string(got.Body) != strings.Replace(b, `"m-anthropic"`, `"claude-sonnet-4-5"`, 1) {
				t.Errorf("pass-through body changed:\n%s", got.Body)
			}
			continue
		}
		sent := e.oa.Log.All()
		var up struct {
			Messages []struct{ Role string }
			Tools    []struct{ Function struct{ Name string } }
		}
		if err := json.Unmarshal(sent[len(sent)-1].Body, &up); err != nil {
			t.Fatal(err)
		}
		var roles []string
		for _, m := range up.Messages {
			roles = append(roles, m.Role)
		}
		if strings.Join(roles, ",") != "system,user,system,assistant,tool" {
			t.Errorf("translated roles %v", roles)
		}
		if len(up.Tools) != 1 || up.Tools[0].Function.Name != "Read" {
			t.Errorf("translated tools %+v (a deferred tool is not offered)", up.Tools)
		}
	}
}
