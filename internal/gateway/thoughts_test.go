package gateway_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/provider/bedrock"
	"github.com/fulcrumhq/fulcrum/internal/router"
)

// recordingGuard is the data policy as the app wires it, remembering the
// texts each request sends beside its body.
type recordingGuard struct {
	e         *policy.Engine
	mu        sync.Mutex
	forwarded [][]string
}

func (g *recordingGuard) Evaluate(in *gateway.PolicyInput) (gateway.Verdict, error) {
	g.mu.Lock()
	g.forwarded = append(g.forwarded, slices.Clone(in.Forwarded))
	g.mu.Unlock()
	return g.e.EvaluateBody(policy.Input{Body: in.Body, Declared: in.Declared, Opaque: in.Forwarded})
}

// TestChatCompletionsThinkingRestored: a Chat Completions client (the
// OpenAI SDK, the Agents SDK's chat model) with reasoning_effort and a
// tool, on Claude thinking through Bedrock, sends the tool result back.
// Chat Completions has no field for the thinking block and its
// signature, which Claude requires at the start of the tool-use turn;
// before, Bedrock answered 400 ("a final assistant message must start
// with a thinking block") and the tool turn failed. The gateway now keeps
// the thinking of the answer by tool call id for the caller's key and
// restores it: the policy scan sees it, another key does not get it (a
// 400 naming the cause instead), and neither does a turn whose tool calls
// the gateway never answered.
func TestChatCompletionsThinkingRestored(t *testing.T) {
	bf := fake.NewBedrock("eu-central-1")
	t.Cleanup(bf.Close)
	pc := config.Provider{Name: "p-bedrock", Type: "bedrock", BaseURL: bf.URL, Region: "eu", Retention: "none",
		AWS: &config.AWS{Region: "eu-central-1", AccessKeyID: fake.BedrockAccessKey, SecretAccessKey: fake.BedrockSecretKey}}
	pb, err := bedrock.New(pc)
	if err != nil {
		t.Fatal(err)
	}
	an := fake.NewAnthropic()
	t.Cleanup(an.Close)
	pa, err := anthropic.New(config.Provider{Name: "p-anthropic", Type: "anthropic", BaseURL: an.URL, APIKey: fake.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Providers: []config.Provider{{Name: "p-bedrock", Type: "bedrock"}, {Name: "p-anthropic", Type: "anthropic"}},
		Models: []config.Model{{Name: "m-bedrock", Provider: "p-bedrock", Upstream: "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", Type: "chat"},
			{Name: "m-anthropic", Provider: "p-anthropic", Upstream: "claude-sonnet-4-5", Type: "chat"}}}
	r, err := router.New(cfg, map[string]provider.Provider{"p-bedrock": pb, "p-anthropic": pa}, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.New(config.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	guard := &recordingGuard{e: eng}
	srv := httptest.NewServer(gateway.New(gateway.Options{Router: r, Auth: keyAuth{}, Guard: guard}))
	t.Cleanup(srv.Close)

	post := func(key, body string) (int, []byte) {
		t.Helper()
		return postKey(t, srv.URL+"/v1/chat/completions", key, body)
	}
	const tools = `"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a place","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]`
	targets := []struct {
		model, signature, redacted string
		log                        *fake.Log
	}{
		{"m-bedrock", fake.BedrockSignature, fake.BedrockRedacted, &bf.Log},
		{"m-anthropic", fake.AnthropicSignature, fake.AnthropicRedacted, &an.Log},
	}
	for _, tg := range targets {
		for _, prompt := range []string{"weather in Paris?", "weather in Paris? [[redacted]]"} {
			for _, stream := range []bool{false, true} {
				name := tg.model + " " + map[bool]string{false: "whole", true: "streamed"}[stream] + " " + prompt
				t.Run(name, func(t *testing.T) {
					f := tg.log
					user := `{"role":"user","content":` + quoteJSON(prompt) + `}`
					first := `{"model":"` + tg.model + `","reasoning_effort":"low","messages":[` + user + `],` + tools + `}`
					if stream {
						first = strings.Replace(first, `{"model"`, `{"stream":true,"model"`, 1)
					}
					status, b := post("sk-a", first)
					if status != 200 {
						t.Fatalf("first turn %d %s", status, b)
					}
					id, call := firstToolCall(t, b, stream)
					second := `{"model":"` + tg.model + `","reasoning_effort":"low","messages":[` + user +
						`,{"role":"assistant","content":null,"tool_calls":[{"id":` + quoteJSON(id) + `,"type":"function","function":` + call + `}]}` +
						`,{"role":"tool","tool_call_id":` + quoteJSON(id) + `,"content":"sunny, 21C"}],` + tools + `}`

					status, b = post("sk-a", second)
					log := f.All()
					sent := log[len(log)-1].Body
					if status != 200 || !bytes.Contains(b, []byte("Tool said: sunny, 21C")) {
						t.Fatalf("second turn %d %s; Bedrock got %s", status, b, sent)
					}
					if !bytes.Contains(sent, []byte(`"signature":"`+tg.signature+`"`)) {
						t.Errorf("the upstream got no signed thinking: %s", sent)
					}
					if strings.Contains(prompt, "[[redacted]]") && !bytes.Contains(sent, []byte(tg.redacted)) {
						t.Errorf("the upstream got no redacted thinking: %s", sent)
					}
					// What was restored was scanned with the request.
					guard.mu.Lock()
					fwd := guard.forwarded[len(guard.forwarded)-1]
					guard.mu.Unlock()
					if !slices.Contains(fwd, fake.Thought(prompt)) || !slices.Contains(fwd, tg.signature) {
						t.Errorf("policy scanned %q beside the body, want the restored thinking", fwd)
					}

					// Another key sending the same turn gets none of it, and
					// the refusal says why.
					n := len(f.All())
					status, b = post("sk-b", second)
					log = f.All()
					if len(log) > n && bytes.Contains(log[len(log)-1].Body, []byte(tg.signature)) {
						t.Errorf("another key's turn carried the thinking: %s", log[len(log)-1].Body)
					}
					var e struct {
						Error struct{ Code, Message string }
					}
					_ = json.Unmarshal(b, &e)
					if status != 400 || e.Error.Code != "thinking_not_restorable" || !strings.Contains(e.Error.Message, id) {
						t.Errorf("another key: %d %s, want 400 thinking_not_restorable naming %s", status, b, id)
					}
				})
			}
		}
	}
}

// firstToolCall reads the tool call id and its function object from a
// chat completion (or a stream of chunks).
func firstToolCall(t *testing.T, b []byte, stream bool) (string, string) {
	t.Helper()
	if !stream {
		var c struct {
			Choices []struct {
				Message struct {
					ToolCalls []struct {
						ID       string
						Function json.RawMessage
					} `json:"tool_calls"`
				}
			}
		}
		if err := json.Unmarshal(b, &c); err != nil || len(c.Choices) == 0 || len(c.Choices[0].Message.ToolCalls) == 0 {
			t.Fatalf("no tool call in %s", b)
		}
		tc := c.Choices[0].Message.ToolCalls[0]
		return tc.ID, string(tc.Function)
	}
	var id, name, args string
	for line := range strings.Lines(string(b)) {
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch struct {
			Choices []struct {
				Delta struct {
					ToolCalls []struct {
						ID       string
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				}
			}
		}
		_ = json.Unmarshal([]byte(data), &ch)
		for _, c := range ch.Choices {
			for _, tc := range c.Delta.ToolCalls {
				if tc.ID != "" {
					id = tc.ID
				}
				name += tc.Function.Name
				args += tc.Function.Arguments
			}
		}
	}
	if id == "" {
		t.Fatalf("no tool call in %s", b)
	}
	fn, _ := json.Marshal(map[string]string{"name": name, "arguments": args})
	return id, string(fn)
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestRestoredThinkingIsJudged: the restored thinking is judged with the
// request. A key's first turn, on a model whose policy allows personal
// data, gets an answer whose thinking repeats an e-mail address; its
// second turn, on a model of the same provider under the default policy
// (personal data stays on self-hosted targets), no longer carries the
// address in its body, but the thinking restored into it does: the turn
// is kept off the proprietary provider, which never sees it.
func TestRestoredThinkingIsJudged(t *testing.T) {
	bf := fake.NewBedrock("eu-central-1")
	t.Cleanup(bf.Close)
	pb, err := bedrock.New(config.Provider{Name: "p-bedrock", Type: "bedrock", BaseURL: bf.URL, Region: "eu", Retention: "none", Hosting: "proprietary",
		AWS: &config.AWS{Region: "eu-central-1", AccessKeyID: fake.BedrockAccessKey, SecretAccessKey: fake.BedrockSecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	const up = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
	cfg := &config.Config{Providers: []config.Provider{{Name: "p-bedrock", Type: "bedrock"}},
		Models: []config.Model{{Name: "m-lax", Provider: "p-bedrock", Upstream: up, Type: "chat"}, {Name: "m-strict", Provider: "p-bedrock", Upstream: up, Type: "chat"}}}
	r, err := router.New(cfg, map[string]provider.Provider{"p-bedrock": pb}, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.New(config.Policy{Policies: []config.DataPolicy{
		{Name: "default", OnSensitive: config.ActionSelfHostedOnly},
		{Name: "lax", OnSensitive: config.ActionAllow},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gateway.New(gateway.Options{Router: r, Auth: keyAuth{}, Guard: modelGuard{eng, map[string]string{"m-lax": "lax"}}}))
	t.Cleanup(srv.Close)
	post := func(body string) (int, []byte) {
		t.Helper()
		return postKey(t, srv.URL+"/v1/chat/completions", "sk-a", body)
	}
	const tools = `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}]`
	status, b := post(`{"model":"m-lax","reasoning_effort":"low","messages":[{"role":"user","content":"weather for jane.doe@example.com?"}],` + tools + `}`)
	if status != 200 {
		t.Fatalf("first turn %d %s", status, b)
	}
	id, call := firstToolCall(t, b, false)
	n := len(bf.Log.All())
	status, b = post(`{"model":"m-strict","reasoning_effort":"low","messages":[{"role":"user","content":"weather?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":` + quoteJSON(id) + `,"type":"function","function":` + call + `}]},` +
		`{"role":"tool","tool_call_id":` + quoteJSON(id) + `,"content":"sunny"}],` + tools + `}`)
	if status == 200 || len(bf.Log.All()) != n {
		t.Fatalf("second turn %d %s; Bedrock got %d more requests, want none", status, b, len(bf.Log.All())-n)
	}
}
