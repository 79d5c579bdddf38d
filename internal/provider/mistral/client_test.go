package mistral

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func newClient(t *testing.T, mod func(*config.Provider)) (*Client, *fake.Mistral) {
	t.Helper()
	f := fake.NewMistral()
	t.Cleanup(f.Close)
	cfg := config.Provider{Name: "mistral-eu", Type: "mistral", BaseURL: f.URL, APIKey: fake.APIKey, Region: "eu"}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	return c, f
}

var weather = llm.Tool{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string"}}}`)}

func TestForeignToolCallIDsAreMappedBothWays(t *testing.T) {
	c, f := newClient(t, nil)
	seed := int64(7)
	// History from another provider: OpenAI- and Anthropic-style IDs.
	req := &llm.ChatRequest{Model: "mistral-large-latest", Seed: &seed, User: "u1", Tools: []llm.Tool{weather},
		Extra: map[string]json.RawMessage{"service_tier": json.RawMessage(`"standard_only"`)}, Messages: []llm.Message{
			llm.TextMessage(llm.RoleUser, "Weather in Paris and London?"),
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
				{ID: "call_Abc123def456ghi789", Name: "get_weather", Arguments: `{"location":"Paris"}`},
				{ID: "toolu_01XyZ", Name: "get_weather", Arguments: `{"location":"London"}`}}},
			{Role: llm.RoleTool, ToolCallID: "call_Abc123def456ghi789", Content: []llm.Part{{Type: llm.PartText, Text: "18C"}}},
			{Role: llm.RoleTool, ToolCallID: "toolu_01XyZ", Content: []llm.Part{{Type: llm.PartText, Text: "12C"}}},
		}}
	resp, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != "Tool said: 12C" {
		t.Errorf("text = %q", got)
	}
	var sent struct {
		RandomSeed *int `json:"random_seed"`
		Messages   []struct {
			ToolCalls []struct {
				ID string `json:"id"`
			} `json:"tool_calls"`
			ToolCallID string `json:"tool_call_id"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(f.Log.All()[0].Body, &sent)
	// Anthropic's standard_only is Mistral's only tier: not sent (Mistral
	// refuses unknown fields).
	if strings.Contains(string(f.Log.All()[0].Body), "service_tier") {
		t.Errorf("service_tier sent to Mistral: %s", f.Log.All()[0].Body)
	}
	ids := sent.Messages[1].ToolCalls
	if sent.RandomSeed == nil || *sent.RandomSeed != 7 || len(ids) != 2 || !valid(ids[0].ID) || !valid(ids[1].ID) || ids[0].ID == ids[1].ID ||
		sent.Messages[2].ToolCallID != ids[0].ID || sent.Messages[3].ToolCallID != ids[1].ID {
		t.Errorf("sent = %s", f.Log.All()[0].Body)
	}
	// The caller's messages are untouched.
	if req.Messages[1].ToolCalls[0].ID != "call_Abc123def456ghi789" {
		t.Error("request was modified")
	}
	// A short ID coming back maps to the client's original.
	if got := c.ids.original(ids[1].ID); got != "toolu_01XyZ" {
		t.Errorf("original = %q", got)
	}
}

func TestToolCallsAndStream(t *testing.T) {
	c, f := newClient(t, func(p *config.Provider) { p.Mistral = &config.Mistral{SafePrompt: true} })
	req := &llm.ChatRequest{Model: "mistral-small-latest", Tools: []llm.Tool{weather}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceRequired},
		Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "Weather?")}}
	resp, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	calls := resp.Choices[0].Message.ToolCalls
	if len(calls) != 1 || !valid(calls[0].ID) || calls[0].Arguments != fake.ToolArgs {
		t.Fatalf("calls = %+v", calls)
	}
	if b := string(f.Log.All()[0].Body); !strings.Contains(b, `"tool_choice":"any"`) || !strings.Contains(b, `"safe_prompt":true`) {
		t.Errorf("body = %s", b)
	}
	// Mistral's own ID goes back unchanged in the next turn.
	req.ToolChoice = nil
	req.Messages = append(req.Messages, resp.Choices[0].Message, llm.Message{Role: llm.RoleTool, ToolCallID: calls[0].ID, Content: []llm.Part{{Type: llm.PartText, Text: "sunny"}}})
	s, err := c.ChatStream(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var text string
	var usage *llm.Usage
	for {
		ch, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		text += ch.Text
		if ch.Usage != nil {
			usage = ch.Usage
		}
	}
	if text != "Tool said: sunny" || usage == nil || usage.OutputTokens != fake.OutputTokens {
		t.Errorf("text %q usage %+v", text, usage)
	}
	if b := string(f.Log.All()[1].Body); strings.Contains(b, "stream_options") || !strings.Contains(b, `"tool_call_id":"`+calls[0].ID+`"`) {
		t.Errorf("stream body = %s", b)
	}
	if f.SafePrompts() != 2 {
		t.Errorf("safe prompts = %d", f.SafePrompts())
	}
}

func TestErrorsAndEmbeddings(t *testing.T) {
	c, _ := newClient(t, nil)
	_, err := c.Chat(t.Context(), permit(c), &llm.ChatRequest{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "[[429]]")}})
	if e := llm.AsError(err); e == nil || e.Status != 429 || e.RetryAfter == 0 {
		t.Errorf("429: %#v", err)
	}
	out, err := c.Embed(t.Context(), permit(c), &llm.EmbedRequest{Model: "mistral-embed", Input: []string{"a", "b"}})
	if err != nil || len(out.Vectors) != 2 {
		t.Fatalf("embed: %v %+v", err, out)
	}
	if got := errorMessage([]byte(`{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","seed"],"msg":"Extra inputs are not permitted"}]},"type":"invalid_request_error"}`)); !strings.Contains(got, "Extra inputs") {
		t.Errorf("errorMessage = %q", got)
	}
}
