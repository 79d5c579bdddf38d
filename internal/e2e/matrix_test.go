package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

const masterKey = "fulcrum-test-master"

// upstreams are the four fakes, one per provider type.
type upstreams struct {
	openai    *fake.OpenAI
	anthropic *fake.Anthropic
	gemini    *fake.Gemini
	ollama    *fake.Ollama
	bedrock   *fake.Bedrock
	azure     *fake.Azure
	vertex    *fake.Vertex
	vertexSA  string
	mistral   *fake.Mistral
}

func startUpstreams(t testing.TB) *upstreams {
	u := &upstreams{openai: fake.NewOpenAI(), anthropic: fake.NewAnthropic(), gemini: fake.NewGemini(), ollama: fake.NewOllama()}
	t.Cleanup(func() { u.openai.Close(); u.anthropic.Close(); u.gemini.Close(); u.ollama.Close() })
	u.startClouds(t)
	return u
}

func (u *upstreams) config() string {
	return fmt.Sprintf(`
storage: { data_dir: DATA_DIR }
providers:
  - { name: p-openai, type: openai, base_url: %q, api_key: %q }
  - { name: p-anthropic, type: anthropic, base_url: %q, api_key: %q }
  - { name: p-gemini, type: gemini, base_url: %q, api_key: %q }
  - { name: p-ollama, type: ollama, base_url: %q }
%s
models:
  - { name: m-openai, provider: p-openai, upstream: gpt-4o }
  - { name: m-anthropic, provider: p-anthropic, upstream: claude-sonnet-4-5 }
  - { name: m-gemini, provider: p-gemini, upstream: gemini-2.5-flash }
  - { name: m-ollama, provider: p-ollama, upstream: "llama3.2:latest" }
  - { name: e-openai, provider: p-openai, upstream: text-embedding-3-small, type: embedding }
  - { name: e-gemini, provider: p-gemini, upstream: gemini-embedding-001, type: embedding }
  - { name: e-ollama, provider: p-ollama, upstream: "nomic-embed-text:latest", type: embedding }
%s
`, u.openai.URL, fake.APIKey, u.anthropic.URL, fake.APIKey, u.gemini.URL, fake.APIKey, u.ollama.URL, u.cloudProviders(), u.cloudModels())
}

var providerModels = []struct{ model, provider string }{
	{"m-openai", "p-openai"},
	{"m-anthropic", "p-anthropic"},
	{"m-gemini", "p-gemini"},
	{"m-ollama", "p-ollama"},
	{"m-bedrock", "p-bedrock"},
	{"m-azure", "p-azure"},
	{"m-vertex-gemini", "p-vertex"},
	{"m-vertex-claude", "p-vertex"},
	{"m-mistral", "p-mistral"},
}

func openaiClient(g *gateway) openai.Client {
	return openai.NewClient(option.WithBaseURL(g.URL+"/v1/"), option.WithAPIKey(masterKey), option.WithMaxRetries(0))
}

func anthropicClient(g *gateway) anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(g.URL+"/"), aoption.WithAPIKey(masterKey), aoption.WithMaxRetries(0))
}

var weatherTool = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Current weather for a city"),
	Parameters: shared.FunctionParameters{
		"type": "object",
		"properties": map[string]any{
			"location": map[string]any{"type": "string"},
			"unit":     map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}},
		},
		"required": []string{"location"},
	},
})

var anthropicWeatherTool = anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{
	Name:        "get_weather",
	Description: anthropic.String("Current weather for a city"),
	InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{
		"location": map[string]any{"type": "string"},
		"unit":     map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}},
	}},
}}

// jsonEqual compares two JSON texts by value.
func jsonEqual(t testing.TB, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Errorf("invalid JSON %q: %v", a, err)
		return false
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Errorf("invalid JSON %q: %v", b, err)
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// TestMatrix drives every ingress format against every provider type:
// non-streaming, streaming and a tool-call round trip, and checks that what
// the SDK assembles from a stream equals the non-streamed answer.
func TestMatrix(t *testing.T) {
	u := startUpstreams(t)
	g := startGateway(t, u.config(), "FULCRUM_MASTER_KEY="+masterKey)
	oc := openaiClient(g)
	ac := anthropicClient(g)
	const prompt = "What is the weather like in Paris today?"

	for _, pm := range providerModels {
		t.Run("openai-sdk/"+pm.provider, func(t *testing.T) {
			ctx := ctxT(t)
			params := openai.ChatCompletionNewParams{
				Model:    pm.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
			}
			resp, err := oc.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatalf("non-streaming: %v", err)
			}
			if got, want := resp.Choices[0].Message.Content, fake.Reply(prompt); got != want {
				t.Errorf("content = %q, want %q", got, want)
			}
			if resp.Usage.PromptTokens != fake.InputTokens || resp.Usage.CompletionTokens != fake.OutputTokens {
				t.Errorf("usage = %+v, want %d/%d", resp.Usage, fake.InputTokens, fake.OutputTokens)
			}

			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := oc.Chat.Completions.NewStreaming(ctx, params)
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("streaming: %v", err)
			}
			if len(acc.Choices) == 0 || acc.Choices[0].Message.Content != resp.Choices[0].Message.Content {
				t.Errorf("streamed content differs from non-streamed: %+v", acc.Choices)
			}
			if acc.Usage.PromptTokens != fake.InputTokens || acc.Usage.CompletionTokens != fake.OutputTokens {
				t.Errorf("streamed usage = %+v (usage must be sent exactly once)", acc.Usage)
			}

			// Tool call round trip.
			params = openai.ChatCompletionNewParams{
				Model:    pm.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
				Tools:    []openai.ChatCompletionToolUnionParam{weatherTool},
			}
			resp, err = oc.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatalf("tools: %v", err)
			}
			msg := resp.Choices[0].Message
			if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" || !jsonEqual(t, msg.ToolCalls[0].Function.Arguments, fake.ToolArgs) {
				t.Fatalf("tool calls = %+v", msg.ToolCalls)
			}
			if resp.Choices[0].FinishReason != "tool_calls" {
				t.Errorf("finish_reason = %q", resp.Choices[0].FinishReason)
			}
			stream = oc.Chat.Completions.NewStreaming(ctx, params)
			acc = openai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("tools streaming: %v", err)
			}
			if len(acc.Choices) == 0 || len(acc.Choices[0].Message.ToolCalls) != 1 ||
				!jsonEqual(t, acc.Choices[0].Message.ToolCalls[0].Function.Arguments, msg.ToolCalls[0].Function.Arguments) ||
				acc.Choices[0].Message.ToolCalls[0].Function.Name != "get_weather" {
				t.Errorf("streamed tool calls differ: %+v", acc.Choices)
			}
			params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage("22 degrees and sunny", msg.ToolCalls[0].ID))
			resp, err = oc.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatalf("tool result: %v", err)
			}
			if got := resp.Choices[0].Message.Content; got != "Tool said: 22 degrees and sunny" {
				t.Errorf("after tool result: %q", got)
			}
		})

		t.Run("anthropic-sdk/"+pm.provider, func(t *testing.T) {
			ctx := ctxT(t)
			params := anthropic.MessageNewParams{
				Model:     anthropic.Model(pm.model),
				MaxTokens: 1024,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
			}
			msg, err := ac.Messages.New(ctx, params)
			if err != nil {
				t.Fatalf("non-streaming: %v", err)
			}
			if len(msg.Content) != 1 || msg.Content[0].Text != fake.Reply(prompt) {
				t.Errorf("content = %+v", msg.Content)
			}
			if msg.StopReason != anthropic.StopReasonEndTurn {
				t.Errorf("stop_reason = %q", msg.StopReason)
			}
			inTotal := msg.Usage.InputTokens + msg.Usage.CacheReadInputTokens + msg.Usage.CacheCreationInputTokens
			if inTotal != fake.InputTokens || msg.Usage.OutputTokens != fake.OutputTokens {
				t.Errorf("usage = %+v", msg.Usage)
			}
			stream := ac.Messages.NewStreaming(ctx, params)
			var acc anthropic.Message
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatalf("accumulate: %v", err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("streaming: %v", err)
			}
			if len(acc.Content) != 1 || acc.Content[0].Text != msg.Content[0].Text {
				t.Errorf("streamed content differs: %+v", acc.Content)
			}
			if acc.Usage.OutputTokens != fake.OutputTokens || acc.Usage.InputTokens+acc.Usage.CacheReadInputTokens+acc.Usage.CacheCreationInputTokens != fake.InputTokens {
				t.Errorf("streamed usage = %+v", acc.Usage)
			}

			params.Tools = []anthropic.ToolUnionParam{anthropicWeatherTool}
			msg, err = ac.Messages.New(ctx, params)
			if err != nil {
				t.Fatalf("tools: %v", err)
			}
			var toolUse *anthropic.ContentBlockUnion
			for i := range msg.Content {
				if msg.Content[i].Type == "tool_use" {
					toolUse = &msg.Content[i]
				}
			}
			if toolUse == nil || toolUse.Name != "get_weather" || !jsonEqual(t, string(toolUse.Input), fake.ToolArgs) {
				t.Fatalf("tool_use = %+v", msg.Content)
			}
			if msg.StopReason != anthropic.StopReasonToolUse {
				t.Errorf("stop_reason = %q", msg.StopReason)
			}
			stream = ac.Messages.NewStreaming(ctx, params)
			acc = anthropic.Message{}
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatalf("accumulate: %v", err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("tools streaming: %v", err)
			}
			var streamed *anthropic.ContentBlockUnion
			for i := range acc.Content {
				if acc.Content[i].Type == "tool_use" {
					streamed = &acc.Content[i]
				}
			}
			if streamed == nil || streamed.Name != "get_weather" || !jsonEqual(t, string(streamed.Input), string(toolUse.Input)) {
				t.Errorf("streamed tool_use differs: %+v", acc.Content)
			}
			params.Messages = append(params.Messages, msg.ToParam(),
				anthropic.NewUserMessage(anthropic.NewToolResultBlock(toolUse.ID, "22 degrees and sunny", false)))
			msg, err = ac.Messages.New(ctx, params)
			if err != nil {
				t.Fatalf("tool result: %v", err)
			}
			if len(msg.Content) == 0 || msg.Content[0].Text != "Tool said: 22 degrees and sunny" {
				t.Errorf("after tool result: %+v", msg.Content)
			}
		})
	}

	t.Run("embeddings", func(t *testing.T) {
		for _, m := range []string{"e-openai", "e-gemini", "e-ollama", "e-bedrock-titan", "e-bedrock-cohere", "e-azure", "e-vertex", "e-mistral"} {
			for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
				resp, err := oc.Embeddings.New(ctxT(t), openai.EmbeddingNewParams{
					Model:          m,
					Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello", "world"}},
					EncodingFormat: format,
				})
				if err != nil {
					t.Fatalf("%s %s: %v", m, format, err)
				}
				if len(resp.Data) != 2 || len(resp.Data[0].Embedding) == 0 {
					t.Fatalf("%s %s: %d vectors", m, format, len(resp.Data))
				}
				if resp.Data[0].Embedding[0] == resp.Data[1].Embedding[0] && resp.Data[0].Embedding[1] == resp.Data[1].Embedding[1] {
					t.Errorf("%s: vectors of different inputs are equal", m)
				}
			}
		}
	})

	t.Run("models", func(t *testing.T) {
		page, err := oc.Models.List(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if got := strings.Join(ids, ","); !strings.Contains(got, "m-openai") || !strings.Contains(got, "m-ollama") {
			t.Errorf("models = %s", got)
		}
		m, err := oc.Models.Get(ctxT(t), "m-gemini")
		if err != nil || m.ID != "m-gemini" {
			t.Errorf("get model: %+v %v", m, err)
		}
	})

	t.Run("admin health and metrics", func(t *testing.T) {
		req, _ := http.NewRequest("GET", g.URL+"/admin/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("admin without key: %d", resp.StatusCode)
		}
		req.Header.Set("Authorization", "Bearer "+masterKey)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var h struct {
			Targets []struct {
				Model, Provider, State string
				Requests               int64
			}
		}
		json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(h.Targets) < 4 {
			t.Fatalf("admin health: %d %+v", resp.StatusCode, h)
		}
		for _, tg := range h.Targets {
			if tg.Model == "m-openai" && (tg.State != "closed" || tg.Requests == 0) {
				t.Errorf("m-openai health: %+v", tg)
			}
		}
		// With a master key set, /metrics needs it (or a scrape token).
		resp, err = http.Get(g.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("/metrics without a key: status %d, want 401", resp.StatusCode)
		}
		req, _ = http.NewRequest("GET", g.URL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+masterKey)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`fulcrum_requests_total{model="m-openai",provider="p-openai",status="200"}`,
			`fulcrum_tokens_total{provider="p-gemini",type="input",upstream_model="gemini-2.5-flash"}`,
			`fulcrum_cost_usd_total{hosting="proprietary",provider="p-openai",upstream_model="gpt-4o"}`,
			`fulcrum_time_to_first_token_seconds_bucket`,
			`fulcrum_target_breaker_state{hosting="proprietary",model="m-anthropic",provider="p-anthropic"} 0`,
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}
