package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	oa "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/provider/openai"
	"github.com/fulcrumhq/fulcrum/internal/router"
)

// newCompletionsEnv serves m-vllm from a self-hosted OpenAI-compatible
// provider (completions pass-through), m-openai from a proprietary OpenAI
// chat provider and m-anthropic from Anthropic (both translated to chat).
func newCompletionsEnv(t *testing.T, tweak func(o *gateway.Options)) (*env, oa.Client) {
	t.Helper()
	e := &env{oa: fake.NewOpenAI(), an: fake.NewAnthropic()}
	pv, err := openai.New(config.Provider{Name: "p-vllm", Type: "openai", BaseURL: e.oa.URL, APIKey: fake.APIKey, Hosting: "self_hosted"})
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
		Providers: []config.Provider{{Name: "p-vllm", Type: "openai"}, {Name: "p-openai", Type: "openai"}, {Name: "p-anthropic", Type: "anthropic"}},
		Models: []config.Model{
			{Name: "m-vllm", Provider: "p-vllm", Upstream: "qwen2.5-coder", Type: "chat"},
			{Name: "m-openai", Provider: "p-openai", Upstream: "gpt-4o", Type: "chat"},
			{Name: "m-anthropic", Provider: "p-anthropic", Upstream: "claude-sonnet-4-5", Type: "chat"},
		},
	}
	ps := map[string]provider.Provider{"p-vllm": pv, "p-openai": po, "p-anthropic": pa}
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

var completionsModels = []struct{ model, path string }{
	{"m-vllm", "/v1/completions"},
	{"m-openai", "/v1/chat/completions"},
	{"m-anthropic", "/v1/messages"},
}

// TestCompletionsSDK drives every target kind with openai-go's Completions
// client, plain and streamed: passed through to the server that serves
// /completions, translated to chat for the others.
func TestCompletionsSDK(t *testing.T) {
	const prompt = "def fib(n):"
	for _, m := range completionsModels {
		t.Run(m.model, func(t *testing.T) {
			e, client := newCompletionsEnv(t, nil)
			ctx := context.Background()
			params := oa.CompletionNewParams{Model: oa.CompletionNewParamsModel(m.model),
				Prompt: oa.CompletionNewParamsPromptUnion{OfString: oa.String(prompt)}, MaxTokens: oa.Int(64), Temperature: oa.Float(0.2),
				Stop: oa.CompletionNewParamsStopUnion{OfString: oa.String("\n\n")}}
			resp, err := client.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Choices) != 1 || resp.Choices[0].Text != fake.Reply(prompt) || resp.Choices[0].FinishReason != "stop" {
				t.Fatalf("choices %+v", resp.Choices)
			}
			if resp.Object != "text_completion" || resp.Usage.PromptTokens != fake.InputTokens || resp.Usage.CompletionTokens != fake.OutputTokens {
				t.Errorf("object %q usage %+v", resp.Object, resp.Usage)
			}
			if p := e.lastPath(t); p != m.path {
				t.Errorf("upstream path %q, want %q", p, m.path)
			}
			// The parameters reached the upstream, in its own dialect.
			last := lastBody(t, e)
			switch m.path {
			case "/v1/messages":
				if last["max_tokens"] != 64.0 || last["temperature"] != 0.2 || !strings.Contains(mustJSON(last["stop_sequences"]), `"\n\n"`) {
					t.Errorf("anthropic request %v", last)
				}
			case "/v1/chat/completions":
				if last["max_tokens"] != 64.0 || last["stop"] == nil {
					t.Errorf("chat request %v", last)
				}
			}

			params.StreamOptions = oa.ChatCompletionStreamOptionsParam{IncludeUsage: oa.Bool(true)}
			st := client.Completions.NewStreaming(ctx, params)
			var text strings.Builder
			var usage oa.CompletionUsage
			var finish string
			n := 0
			for st.Next() {
				c := st.Current()
				if c.Object != "text_completion" {
					t.Errorf("chunk object %q", c.Object)
				}
				for _, ch := range c.Choices {
					text.WriteString(ch.Text)
					if ch.FinishReason != "" {
						finish = string(ch.FinishReason)
					}
				}
				if c.Usage.TotalTokens > 0 {
					usage = c.Usage
					n++
				}
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
			if text.String() != fake.Reply(prompt) || finish != "stop" {
				t.Errorf("streamed %q finish %q", text.String(), finish)
			}
			if n != 1 || usage.PromptTokens != fake.InputTokens || usage.CompletionTokens != fake.OutputTokens {
				t.Errorf("usage sent %d times: %+v", n, usage)
			}
		})
	}
}

// lastBody is the body of the last upstream request (the Anthropic fake's
// when the last request went there).
func lastBody(t *testing.T, e *env) map[string]any {
	t.Helper()
	log := e.oa.Log.All()
	if e.lastPath(t) == "/v1/messages" {
		log = e.an.Log.All()
	}
	var m map[string]any
	if err := json.Unmarshal(log[len(log)-1].Body, &m); err != nil {
		t.Fatalf("upstream body: %v", err)
	}
	return m
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestCompletionsFIM: suffix (fill-in-the-middle) reaches a server that
// serves /completions unchanged; a target reached through chat refuses it
// with 400 unsupported_parameter before any upstream call.
func TestCompletionsFIM(t *testing.T) {
	e, client := newCompletionsEnv(t, nil)
	ctx := context.Background()
	params := oa.CompletionNewParams{Model: "m-vllm", Prompt: oa.CompletionNewParamsPromptUnion{OfString: oa.String("def add(a, b):\n")},
		Suffix: oa.String("\nprint(add(1, 2))"), MaxTokens: oa.Int(32)}
	resp, err := client.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if want := fake.FIMReply("def add(a, b):\n", "\nprint(add(1, 2))"); resp.Choices[0].Text != want {
		t.Errorf("text %q, want %q", resp.Choices[0].Text, want)
	}
	if b := lastBody(t, e); b["suffix"] != "\nprint(add(1, 2))" || b["model"] != "qwen2.5-coder" {
		t.Errorf("forwarded %v", b)
	}
	for _, m := range []string{"m-openai", "m-anthropic"} {
		before := len(e.oa.Log.All()) + len(e.an.Log.All())
		params.Model = oa.CompletionNewParamsModel(m)
		_, err := client.Completions.New(ctx, params)
		var ae *oa.Error
		if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != "unsupported_parameter" || ae.Param != "suffix" ||
			!strings.Contains(ae.Message, "fill-in-the-middle") {
			t.Fatalf("%s: err %v", m, err)
		}
		if after := len(e.oa.Log.All()) + len(e.an.Log.All()); after != before {
			t.Errorf("%s: a refused request reached the upstream", m)
		}
	}
}

// TestCompletionsNativeOnly: echo, logprobs, n > 1, several prompts and
// token prompts pass through to a completions server and are refused,
// each by name, on a translated target.
func TestCompletionsNativeOnly(t *testing.T) {
	e, _ := newCompletionsEnv(t, nil)
	cases := []struct{ body, param, vllmText string }{
		{`"prompt":"x","echo":true`, "echo", "x" + fake.Reply("x")},
		{`"prompt":"x","logprobs":2`, "logprobs", fake.Reply("x")},
		{`"prompt":"x","n":2`, "n", fake.Reply("x")},
		{`"prompt":["x","y"]`, "prompt", fake.Reply("x")},
		{`"prompt":[1,2,3]`, "prompt", fake.Reply("tokens:3")},
		{`"prompt":"x","best_of":3`, "best_of", fake.Reply("x")},
		{`"prompt":"x","logit_bias":{"50256":-100}`, "logit_bias", fake.Reply("x")},
	}
	for _, c := range cases {
		resp, body := e.post(t, "/v1/completions", `{"model":"m-vllm",`+c.body+`}`)
		var out struct {
			Choices []struct {
				Text     string          `json:"text"`
				Logprobs json.RawMessage `json:"logprobs"`
			} `json:"choices"`
		}
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &out) != nil || len(out.Choices) == 0 || out.Choices[0].Text != c.vllmText {
			t.Errorf("pass-through %s: %d %s", c.body, resp.StatusCode, body)
		}
		if c.param == "logprobs" && string(out.Choices[0].Logprobs) == "null" {
			t.Errorf("logprobs not returned: %s", body)
		}
		resp, body = e.post(t, "/v1/completions", `{"model":"m-anthropic",`+c.body+`}`)
		var er struct {
			Error struct{ Code, Param, Type string } `json:"error"`
		}
		if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &er) != nil || er.Error.Code != "unsupported_parameter" || er.Error.Param != c.param {
			t.Errorf("translated %s: %d %s", c.body, resp.StatusCode, body)
		}
	}
}

// TestCompletionsDefaults: a translated request without max_tokens asks the
// chat target for the API's documented default of 16; bad requests are
// refused in OpenAI's shape.
func TestCompletionsDefaults(t *testing.T) {
	e, _ := newCompletionsEnv(t, nil)
	resp, body := e.post(t, "/v1/completions", `{"model":"m-anthropic","prompt":"hello"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if b := lastBody(t, e); b["max_tokens"] != 16.0 {
		t.Errorf("max_tokens sent %v, want 16", b["max_tokens"])
	}
	if !strings.HasPrefix(resp.Header.Get("X-Request-Id"), "req_") || !strings.Contains(body, `"id":"cmpl-`) {
		t.Errorf("id: %s", body)
	}
	for _, c := range []struct{ body, param string }{
		{`{"model":"m-vllm"}`, "prompt"},
		{`{"prompt":"x"}`, "model"},
		{`{"model":"m-vllm","prompt":{"a":1}}`, "prompt"},
		{`{"model":"m-vllm","prompt":[]}`, "prompt"},
		{`{"model":"m-vllm","prompt":"x","stop":["a","b","c","d","e"]}`, "stop"},
		{`{"model":"m-vllm","prompt":"x","stream_options":{"include_usage":true}}`, "stream_options"},
		{`{"model":"m-vllm","prompt":"x","n":0}`, "n"},
	} {
		resp, body := e.post(t, "/v1/completions", c.body)
		if resp.StatusCode != 400 || !strings.Contains(body, `"param":"`+c.param+`"`) {
			t.Errorf("%s: %d %s", c.body, resp.StatusCode, body)
		}
	}
}
