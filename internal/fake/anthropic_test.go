package fake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"
)

// sdkClient is the official Go SDK pointed at the fake: if the SDK reads
// the fake's answers right, the fake speaks the real wire.
func sdkClient(a *Anthropic, key string) sdk.Client {
	return sdk.NewClient(
		option.WithoutEnvironmentDefaults(),
		option.WithBaseURL(a.Server.URL+"/"),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
	)
}

func userParams(text string, tools bool) sdk.MessageNewParams {
	p := sdk.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 100,
		Messages:  []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock(text))},
	}
	if tools {
		p.Tools = []sdk.ToolUnionParam{{OfTool: &sdk.ToolParam{
			Name:        "get_weather",
			InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{"location": map[string]any{"type": "string"}}},
		}}}
	}
	return p
}

// summary is what a test compares of a Message.
type summary struct {
	Text       string
	Tools      []string // name + input
	StopReason string
	In, Out    int64
}

func summarise(m *sdk.Message) summary {
	s := summary{StopReason: string(m.StopReason), In: m.Usage.InputTokens, Out: m.Usage.OutputTokens}
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			s.Text += b.Text
		case "tool_use":
			var v any
			_ = json.Unmarshal(b.Input, &v)
			in, _ := json.Marshal(v)
			s.Tools = append(s.Tools, b.Name+" "+string(in))
		}
	}
	return s
}

func TestAnthropicSDK(t *testing.T) {
	a := NewAnthropic()
	defer a.Close()
	c := sdkClient(a, APIKey)
	ctx := context.Background()
	compact := func(s string) string {
		var b bytes.Buffer
		_ = json.Compact(&b, []byte(s))
		return b.String()
	}
	tests := []struct {
		name  string
		text  string
		tools bool
		want  summary
	}{
		{"text", "hi there", false, summary{Text: "Hello! You said: hi there", StopReason: "end_turn", In: InputTokens, Out: OutputTokens}},
		{"tool", "weather?", true, summary{Tools: []string{"get_weather " + compact(ToolArgs)}, StopReason: "tool_use", In: InputTokens, Out: OutputTokens}},
		{"parallel", "both [[parallel]]", true, summary{Tools: []string{"get_weather " + compact(ToolArgs), "get_weather " + compact(ToolArgs2)}, StopReason: "tool_use", In: InputTokens, Out: OutputTokens}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := c.Messages.New(ctx, userParams(tt.text, tt.tools))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summarise(m)); diff != "" {
				t.Errorf("whole (-want +got):\n%s", diff)
			}
			stream := c.Messages.NewStreaming(ctx, userParams(tt.text, tt.tools))
			defer stream.Close()
			var acc sdk.Message
			events := 0
			for stream.Next() {
				events++
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summarise(&acc)); diff != "" {
				t.Errorf("streamed (-want +got):\n%s", diff)
			}
			if events < 6 {
				t.Errorf("only %d events", events)
			}
		})
	}
}

func TestAnthropicToolResult(t *testing.T) {
	a := NewAnthropic()
	defer a.Close()
	p := userParams("weather?", true)
	p.Messages = append(p.Messages,
		sdk.NewAssistantMessage(sdk.NewToolUseBlock("toolu_1", json.RawMessage(ToolArgs), "get_weather")),
		sdk.NewUserMessage(sdk.NewToolResultBlock("toolu_1", "15 degrees", false)))
	c := sdkClient(a, APIKey)
	m, err := c.Messages.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := summarise(m).Text; got != "Tool said: 15 degrees" {
		t.Errorf("text = %q", got)
	}
}

func TestAnthropicErrors(t *testing.T) {
	a := NewAnthropic()
	defer a.Close()
	tests := []struct {
		name, key, text string
		status          int
		errType         string
		retryAfter      string
	}{
		{"bad key", "wrong", "hi", 401, "authentication_error", ""},
		{"rate limit", APIKey, "[[429]]", 429, "rate_limit_error", "1"},
		{"server error", APIKey, "[[500]]", 500, "api_error", ""},
		{"overloaded is 529", APIKey, "[[503]]", 529, "overloaded_error", ""},
		{"invalid", APIKey, "[[400]]", 400, "invalid_request_error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sdkClient(a, tt.key)
			_, err := c.Messages.New(context.Background(), userParams(tt.text, false))
			var apiErr *sdk.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *anthropic.Error", err)
			}
			var body struct {
				Type  string `json:"type"`
				Error struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal([]byte(apiErr.RawJSON()), &body); err != nil {
				t.Fatal(err)
			}
			got := []any{apiErr.StatusCode, body.Type, body.Error.Type, body.RequestID != "", apiErr.Response.Header.Get("Retry-After")}
			want := []any{tt.status, "error", tt.errType, true, tt.retryAfter}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnthropicStreamFaults(t *testing.T) {
	a := NewAnthropic()
	defer a.Close()
	c := sdkClient(a, APIKey)
	tests := []struct {
		text    string
		wantErr string
		text0   string
	}{
		{"[[midstream-error]]", "overloaded_error", "Hello! "},
		{"[[cut]]", "", "Hello! You "},
		{"[[malformed]]", "", "Hello! "},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			stream := c.Messages.NewStreaming(context.Background(), userParams(tt.text, false))
			defer stream.Close()
			var acc sdk.Message
			stopped := false
			for stream.Next() {
				ev := stream.Current()
				stopped = stopped || ev.Type == "message_stop"
				_ = acc.Accumulate(ev)
			}
			if stopped {
				t.Error("stream reached message_stop")
			}
			err := stream.Err()
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %s", err, tt.wantErr)
			}
			if len(acc.Content) == 0 || acc.Content[0].Text != tt.text0 {
				t.Errorf("content before the fault = %+v, want %q", acc.Content, tt.text0)
			}
		})
	}
}

func TestAnthropicRawScenarios(t *testing.T) {
	a := NewAnthropic()
	defer a.Close()
	post := func(body string, header http.Header) (*http.Response, []byte, error) {
		req, _ := http.NewRequest(http.MethodPost, a.URL+"/messages", strings.NewReader(body))
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	bearer := http.Header{"Authorization": {"Bearer " + APIKey}}
	msg := func(text string) string {
		return `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"` + text + `"}]}`
	}
	resp, b, err := post(msg("hi"), bearer)
	if err != nil || resp.StatusCode != 200 || !json.Valid(b) {
		t.Errorf("bearer auth: %v %v %s", err, resp, b)
	}
	if _, _, err := post(msg("[[cut]]"), bearer); err == nil {
		t.Error("cut body read without error")
	}
	if resp, b, _ := post(msg("[[malformed]]"), bearer); resp.StatusCode != 200 || json.Valid(b) {
		t.Errorf("malformed: %d %s", resp.StatusCode, b)
	}
	if resp, b, _ := post(`{"model":"m","messages":[{"role":"user","content":"x"}]}`, bearer); resp.StatusCode != 400 || !strings.Contains(string(b), "max_tokens") {
		t.Errorf("missing max_tokens: %d %s", resp.StatusCode, b)
	}
	got := a.Log.All()
	if len(got) != 4 || got[0].Path != "/v1/messages" || got[0].Header.Get("Authorization") == "" {
		t.Errorf("log = %+v", got)
	}
	// Models list.
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/models", nil)
	req.Header.Set("x-api-key", APIKey)
	mresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer mresp.Body.Close()
	var list struct {
		Data []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"data"`
		HasMore bool `json:"has_more"`
	}
	if err := json.NewDecoder(mresp.Body).Decode(&list); err != nil || len(list.Data) != len(AnthropicModels) || list.Data[0].Type != "model" {
		t.Errorf("models: %v %+v", err, list)
	}
}
