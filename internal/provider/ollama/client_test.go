package ollama

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/google/go-cmp/cmp"
)

func newTestClient(t *testing.T, base string, mod ...func(*config.Provider)) *Client {
	t.Helper()
	cfg := config.Provider{Name: "o", Type: "ollama", BaseURL: base}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg, WithIDs(seqIDs().next), WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	return c
}

func userReq(text string) *llm.ChatRequest {
	return &llm.ChatRequest{Model: "llama3.2:latest", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, text)}}
}

func collect(t *testing.T, s provider.Stream) ([]llm.Chunk, error) {
	t.Helper()
	defer s.Close()
	var out []llm.Chunk
	for {
		ch, err := s.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, *ch)
	}
}

func TestChat(t *testing.T) {
	f := fake.NewOllama()
	defer f.Close()
	tc := newTestClient(t, f.URL)
	got, err := tc.Chat(context.Background(), permit(tc), userReq("hi there"))
	if err != nil {
		t.Fatal(err)
	}
	want := &llm.ChatResponse{
		ID: "chatcmpl-0001", Model: "llama3.2:latest", Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Unix(),
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, fake.Reply("hi there")), FinishReason: "stop"}},
		Usage:   &llm.Usage{InputTokens: fake.InputTokens, OutputTokens: fake.OutputTokens},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	r := f.Log.All()[0]
	if r.Path != "/api/chat" || !strings.Contains(string(r.Body), `"stream":false`) || r.Header.Get("Authorization") != "" {
		t.Errorf("sent %s %s (auth %q)", r.Path, r.Body, r.Header.Get("Authorization"))
	}
}

func TestChatStream(t *testing.T) {
	f := fake.NewOllama()
	defer f.Close()
	req := userReq("one two three")
	req.Stream = true
	tc := newTestClient(t, f.URL)
	s, err := tc.ChatStream(context.Background(), permit(tc), req)
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var usages []*llm.Usage
	for _, ch := range chunks {
		text.WriteString(ch.Text)
		if ch.Usage != nil {
			usages = append(usages, ch.Usage)
		}
	}
	if text.String() != fake.Reply("one two three") || chunks[0].Role != llm.RoleAssistant {
		t.Errorf("chunks = %+v", chunks)
	}
	if last := chunks[len(chunks)-1]; last.FinishReason != "stop" {
		t.Errorf("last = %+v", last)
	}
	if diff := cmp.Diff([]*llm.Usage{{InputTokens: fake.InputTokens, OutputTokens: fake.OutputTokens}}, usages); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(f.Log.All()[0].Body), `"stream":true`) {
		t.Errorf("stream not asked: %s", f.Log.All()[0].Body)
	}
}

func TestToolRoundTrip(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "chat", true: "stream"}[stream], func(t *testing.T) {
			f := fake.NewOllama()
			defer f.Close()
			c := newTestClient(t, f.URL)
			req := userReq("weather? [[parallel]]")
			req.Tools = []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}}
			req.Stream = stream
			var calls []llm.ToolCall
			if stream {
				s, err := c.ChatStream(context.Background(), permit(c), req)
				if err != nil {
					t.Fatal(err)
				}
				chunks, err := collect(t, s)
				if err != nil {
					t.Fatal(err)
				}
				for _, ch := range chunks {
					for _, d := range ch.ToolCalls {
						if d.Index != len(calls) {
							t.Fatalf("delta index %d, want %d", d.Index, len(calls))
						}
						calls = append(calls, llm.ToolCall{ID: d.ID, Name: d.Name, Arguments: d.Arguments})
					}
				}
				if fr := chunks[len(chunks)-1].FinishReason; fr != "tool_calls" {
					t.Errorf("finish = %q", fr)
				}
			} else {
				resp, err := c.Chat(context.Background(), permit(c), req)
				if err != nil {
					t.Fatal(err)
				}
				if fr := resp.Choices[0].FinishReason; fr != "tool_calls" {
					t.Errorf("finish = %q", fr)
				}
				calls = resp.Choices[0].Message.ToolCalls
			}
			want := []llm.ToolCall{
				{ID: "call_ollama_1", Name: "get_weather", Arguments: fake.ToolArgs},
				{ID: "call_ollama_2", Name: "get_weather", Arguments: fake.ToolArgs2},
			}
			if diff := cmp.Diff(want, calls); diff != "" {
				t.Fatalf("calls (-want +got):\n%s", diff)
			}
			follow := &llm.ChatRequest{Model: req.Model, Tools: req.Tools, Messages: []llm.Message{
				req.Messages[0],
				{Role: llm.RoleAssistant, ToolCalls: calls},
				{Role: llm.RoleTool, ToolCallID: calls[0].ID, Content: []llm.Part{{Type: llm.PartText, Text: "18C"}}},
			}}
			resp, err := c.Chat(context.Background(), permit(c), follow)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].Message.Text(); got != "Tool said: 18C" {
				t.Errorf("answer = %q", got)
			}
			body := string(f.Log.All()[1].Body)
			for _, s := range []string{`"tool_name":"get_weather"`, `"arguments":{"location":"Paris","unit":"celsius"}`} {
				if !strings.Contains(body, s) {
					t.Errorf("follow-up lacks %s:\n%s", s, body)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		stream     bool
		wantStatus int
		wantCode   string
		wantRetry  time.Duration
	}{
		{"429", "[[429]]", false, 429, "", time.Second},
		{"429 stream", "[[429]]", true, 429, "", time.Second},
		{"500", "[[500]]", false, 500, "", 0},
		{"503 stream", "[[503]]", true, 503, "", 0},
		{"400", "[[400]]", false, 400, "", 0},
		{"malformed", "[[malformed]]", false, 502, "upstream_malformed_response", 0},
		{"cut body", "[[cut]]", false, 502, "upstream_body_cut", 0},
	}
	f := fake.NewOllama()
	defer f.Close()
	c := newTestClient(t, f.URL)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.stream {
				_, err = c.ChatStream(context.Background(), permit(c), userReq(tt.text))
			} else {
				_, err = c.Chat(context.Background(), permit(c), userReq(tt.text))
			}
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want *llm.Error", err)
			}
			if le.Status != tt.wantStatus || le.Code != tt.wantCode || le.RetryAfter != tt.wantRetry || le.Provider != "o" {
				t.Errorf("err = %+v, want status %d code %q retry %v", le, tt.wantStatus, tt.wantCode, tt.wantRetry)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"model \"nope\" not found, try pulling it first"}`)
	}))
	defer srv.Close()
	tc := newTestClient(t, srv.URL)
	_, err := tc.Chat(context.Background(), permit(tc), userReq("hi"))
	le := llm.AsError(err)
	if le.Status != 404 || le.Type != llm.ErrNotFound || !strings.Contains(le.Message, "try pulling it first") {
		t.Errorf("err = %+v", le)
	}
}

func TestStreamFailures(t *testing.T) {
	tests := []struct {
		text       string
		wantChunks int
		wantCode   string
	}{
		{"[[cut]]", 2, "stream_interrupted"},
		{"[[midstream-error]]", 1, "upstream_stream_error"},
		{"[[malformed]]", 0, "upstream_malformed_response"},
	}
	f := fake.NewOllama()
	defer f.Close()
	c := newTestClient(t, f.URL)
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			req := userReq(tt.text)
			req.Stream = true
			s, err := c.ChatStream(context.Background(), permit(c), req)
			if err != nil {
				t.Fatal(err)
			}
			chunks, err := collect(t, s)
			var le *llm.Error
			if !errors.As(err, &le) || le.Status != 502 || le.Code != tt.wantCode {
				t.Fatalf("err = %v, want 502 %s", err, tt.wantCode)
			}
			n := 0
			for _, ch := range chunks {
				if ch.Text != "" {
					n++
				}
				if ch.FinishReason != "" || ch.Usage != nil {
					t.Errorf("failed stream emitted a finish: %+v", ch)
				}
			}
			if n != tt.wantChunks {
				t.Errorf("%d text chunks, want %d", n, tt.wantChunks)
			}
		})
	}
}

func TestSlowFirstByte(t *testing.T) {
	f := fake.NewOllama()
	defer f.Close()
	c := newTestClient(t, f.URL, func(p *config.Provider) { p.Timeouts.FirstByte = config.Duration(100 * time.Millisecond) })
	for _, stream := range []bool{false, true} {
		start := time.Now()
		var err error
		if stream {
			_, err = c.ChatStream(context.Background(), permit(c), userReq("[[slow]]"))
		} else {
			_, err = c.Chat(context.Background(), permit(c), userReq("[[slow]]"))
		}
		if le := llm.AsError(err); le.Status != http.StatusGatewayTimeout {
			t.Fatalf("stream=%v: err = %v, want 504", stream, err)
		}
		if d := time.Since(start); d > fake.SlowDelay/2 {
			t.Errorf("timed out after %v", d)
		}
	}
}

func TestCancel(t *testing.T) {
	f := fake.NewOllama()
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	tc := newTestClient(t, f.URL)
	_, err := tc.Chat(ctx, permit(tc), userReq("[[slow]]"))
	if le := llm.AsError(err); le.Status != 499 {
		t.Errorf("cancelled chat: %v, want 499", err)
	}

	// Mid-stream: one line, then the upstream hangs until the client leaves.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"model":"m","message":{"role":"assistant","content":"Hi"},"done":false}`+"\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer hang.Close()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	tc = newTestClient(t, hang.URL)
	s, err := tc.ChatStream(ctx, permit(tc), userReq("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 2; i++ {
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := s.Recv(); llm.AsError(err).Status != 499 {
		t.Errorf("cancelled stream: %v, want 499", err)
	}
}

func TestEmbed(t *testing.T) {
	f := fake.NewOllama()
	defer f.Close()
	dims := 5
	tc := newTestClient(t, f.URL)
	got, err := tc.Embed(context.Background(), permit(tc), &llm.EmbedRequest{Model: "nomic-embed-text", Input: []string{"a", "b"}, Dimensions: &dims})
	if err != nil {
		t.Fatal(err)
	}
	want := &llm.EmbedResponse{Model: "nomic-embed-text", Vectors: [][]float32{fake.HashVector("a", 5), fake.HashVector("b", 5)},
		Usage: &llm.Usage{InputTokens: fake.InputTokens}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("embed (-want +got):\n%s", diff)
	}
	if b := string(f.Log.All()[0].Body); b != `{"model":"nomic-embed-text","input":["a","b"],"dimensions":5}` {
		t.Errorf("sent %s", b)
	}
}

func TestListModels(t *testing.T) {
	f := fake.NewOllama()
	defer f.Close()
	got, err := newTestClient(t, f.URL, func(p *config.Provider) { p.APIKey = "secret" }).ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fake.OllamaModels, got); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
	if a := f.Log.All()[0].Header.Get("Authorization"); a != "Bearer secret" {
		t.Errorf("Authorization = %q", a)
	}
}

func TestNewAndInfo(t *testing.T) {
	c, err := New(config.Provider{Name: "o", Type: "ollama"})
	if err != nil {
		t.Fatal(err)
	}
	if c.base != "http://127.0.0.1:11434" {
		t.Errorf("base = %s", c.base)
	}
	info := c.Info()
	if info.Type != "ollama" || info.Hosting != provider.SelfHosted || !info.Caps.Embeddings || info.Caps.MultipleChoices {
		t.Errorf("info = %+v", info)
	}
	if _, err := New(config.Provider{Name: "o", BaseURL: "::nope"}); err == nil {
		t.Error("New accepted a bad base_url")
	}
}
