package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/google/go-cmp/cmp"
)

func newTestClient(t *testing.T, f *fake.Gemini, mod ...func(*config.Provider)) *Client {
	t.Helper()
	cfg := config.Provider{Name: "g", Type: "gemini", BaseURL: f.URL, APIKey: fake.APIKey}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg, WithIDs(seqIDs()), WithClock(func() time.Time { return time.Unix(1700000000, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	return c
}

func userReq(text string) *llm.ChatRequest {
	return &llm.ChatRequest{Model: "gemini-2.5-flash", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, text)}}
}

var weatherTool = llm.Tool{Name: "get_weather", Description: "weather", Parameters: json.RawMessage(`{"type":"object"}`)}

// collect reads a stream to its end.
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
	f := fake.NewGemini()
	defer f.Close()
	c := newTestClient(t, f)
	got, err := c.Chat(context.Background(), permit(c), userReq("hi there"))
	if err != nil {
		t.Fatal(err)
	}
	want := &llm.ChatResponse{
		ID: "fake-response-id", Model: fake.GeminiModel, Created: 1700000000,
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, fake.Reply("hi there")), FinishReason: "stop"}},
		Usage:   &llm.Usage{InputTokens: fake.InputTokens, OutputTokens: fake.OutputTokens},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	reqs := f.Log.All()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	if r := reqs[0]; r.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || r.Header.Get("x-goog-api-key") != fake.APIKey {
		t.Errorf("sent %s with key %q", r.Path, r.Header.Get("x-goog-api-key"))
	}
}

func TestChatCandidates(t *testing.T) {
	f := fake.NewGemini()
	defer f.Close()
	req := userReq("two please")
	req.N = 3
	tc := newTestClient(t, f)
	got, err := tc.Chat(context.Background(), permit(tc), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Choices) != 3 || got.Choices[2].Index != 2 || got.Choices[1].Message.Text() != fake.Reply("two please") {
		t.Errorf("choices = %+v", got.Choices)
	}
	if !strings.Contains(string(f.Log.All()[0].Body), `"candidateCount":3`) {
		t.Errorf("candidateCount not sent: %s", f.Log.All()[0].Body)
	}
}

func TestChatStream(t *testing.T) {
	f := fake.NewGemini()
	defer f.Close()
	req := userReq("one two three")
	req.Stream = true
	tc := newTestClient(t, f)
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
	if text.String() != fake.Reply("one two three") {
		t.Errorf("text = %q", text.String())
	}
	if chunks[0].Role != llm.RoleAssistant || len(chunks) < 4 {
		t.Errorf("chunks = %+v", chunks)
	}
	last := chunks[len(chunks)-1]
	if last.FinishReason != "stop" {
		t.Errorf("last chunk = %+v", last)
	}
	// Running totals are not summed: usage appears once, the last value.
	want := []*llm.Usage{{InputTokens: fake.InputTokens, OutputTokens: fake.OutputTokens}}
	if diff := cmp.Diff(want, usages); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if p := f.Log.All()[0].Path; p != "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse" {
		t.Errorf("path = %s", p)
	}
}

// TestToolRoundTrip asks for a tool call, answers it, and checks the
// follow-up carries the function name, the result and Gemini's real
// thought signature: the answer's tool call carries it (Signature, which
// the gateway keeps), and the follow-up sends it back on its part. The
// adapter itself keeps nothing: a follow-up whose call has no signature
// gets Google's documented placeholder.
func TestToolRoundTrip(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "chat", true: "stream"}[stream], func(t *testing.T) {
			f := fake.NewGemini()
			defer f.Close()
			c := newTestClient(t, f)
			req := userReq("weather? [[parallel]]")
			req.Tools = []llm.Tool{weatherTool}
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
						calls = append(calls, llm.ToolCall{ID: d.ID, Name: d.Name, Arguments: d.Arguments, Signature: d.Signature})
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
				if resp.Choices[0].FinishReason != "tool_calls" {
					t.Errorf("finish = %q", resp.Choices[0].FinishReason)
				}
				calls = resp.Choices[0].Message.ToolCalls
			}
			want := []llm.ToolCall{
				{ID: "call_0001", Name: "get_weather", Arguments: fake.ToolArgs, Signature: fake.GeminiSignature},
				{ID: "call_0002", Name: "get_weather", Arguments: fake.ToolArgs2},
			}
			if diff := cmp.Diff(want, calls); diff != "" {
				t.Fatalf("calls (-want +got):\n%s", diff)
			}

			follow := &llm.ChatRequest{Model: "gemini-2.5-flash", Tools: req.Tools, Messages: []llm.Message{
				req.Messages[0],
				{Role: llm.RoleAssistant, ToolCalls: calls},
				{Role: llm.RoleTool, ToolCallID: calls[0].ID, Content: []llm.Part{{Type: llm.PartText, Text: "18C"}}},
				{Role: llm.RoleTool, ToolCallID: calls[1].ID, Content: []llm.Part{{Type: llm.PartText, Text: "12C"}}},
			}}
			resp, err := c.Chat(context.Background(), permit(c), follow)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].Message.Text(); got != "Tool said: 18C12C" {
				t.Errorf("answer = %q", got)
			}
			body := string(f.Log.All()[1].Body)
			for _, s := range []string{`"thoughtSignature":"` + fake.GeminiSignature + `"`, `"functionResponse":{"name":"get_weather","response":{"result":"18C"}}`} {
				if !strings.Contains(body, s) {
					t.Errorf("follow-up lacks %s:\n%s", s, body)
				}
			}

			// The same turn without the signature (the gateway no longer
			// holds it): the placeholder, on the first call only.
			unsigned := slices.Clone(calls)
			unsigned[0].Signature = ""
			follow.Messages[1].ToolCalls = unsigned
			if _, err := c.Chat(context.Background(), permit(c), follow); err != nil {
				t.Fatal(err)
			}
			body = string(f.Log.All()[2].Body)
			if strings.Contains(body, fake.GeminiSignature) || strings.Count(body, `"thoughtSignature":"skip_thought_signature_validator"`) != 1 {
				t.Errorf("follow-up without a signature, want the placeholder once:\n%s", body)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		stream     bool
		key        string
		wantStatus int
		wantCode   string
		wantRetry  time.Duration
	}{
		{"429", "[[429]]", false, "", 429, "", time.Second},
		{"429 stream", "[[429]]", true, "", 429, "", time.Second},
		{"500", "[[500]]", false, "", 500, "", 0},
		{"503 stream", "[[503]]", true, "", 503, "", 0},
		{"400", "[[400]]", false, "", 400, "", 0},
		{"bad key", "hi", false, "wrong", 502, "upstream_auth_failed", 0},
		{"malformed", "[[malformed]]", false, "", 502, "upstream_malformed_response", 0},
		{"cut body", "[[cut]]", false, "", 502, "upstream_body_cut", 0},
	}
	f := fake.NewGemini()
	defer f.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, f, func(p *config.Provider) {
				if tt.key != "" {
					p.APIKey = tt.key
				}
			})
			req := userReq(tt.text)
			var err error
			if tt.stream {
				_, err = c.ChatStream(context.Background(), permit(c), req)
			} else {
				_, err = c.Chat(context.Background(), permit(c), req)
			}
			var le *llm.Error
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want *llm.Error", err)
			}
			if le.Status != tt.wantStatus || le.Code != tt.wantCode || le.RetryAfter != tt.wantRetry || le.Provider != "g" {
				t.Errorf("err = %+v, want status %d code %q retry %v", le, tt.wantStatus, tt.wantCode, tt.wantRetry)
			}
		})
	}
}

func TestStreamFailures(t *testing.T) {
	tests := []struct {
		text       string
		wantChunks int // text chunks before the error
		wantCode   string
	}{
		{"[[cut]]", 2, "stream_interrupted"},
		{"[[midstream-error]]", 1, "upstream_stream_error"},
		{"[[malformed]]", 0, "upstream_malformed_response"},
	}
	f := fake.NewGemini()
	defer f.Close()
	c := newTestClient(t, f)
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
	f := fake.NewGemini()
	defer f.Close()
	c := newTestClient(t, f, func(p *config.Provider) { p.Timeouts.FirstByte = config.Duration(100 * time.Millisecond) })
	for _, stream := range []bool{false, true} {
		start := time.Now()
		var err error
		if stream {
			_, err = c.ChatStream(context.Background(), permit(c), userReq("[[slow]]"))
		} else {
			_, err = c.Chat(context.Background(), permit(c), userReq("[[slow]]"))
		}
		var le *llm.Error
		if !errors.As(err, &le) || le.Status != http.StatusGatewayTimeout {
			t.Fatalf("stream=%v: err = %v, want 504", stream, err)
		}
		if d := time.Since(start); d > fake.SlowDelay/2 {
			t.Errorf("timed out after %v", d)
		}
	}
}

func TestCancel(t *testing.T) {
	f := fake.NewGemini()
	defer f.Close()
	c := newTestClient(t, f)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := c.Chat(ctx, permit(c), userReq("[[slow]]"))
	if le := llm.AsError(err); le.Status != 499 {
		t.Errorf("cancelled chat: %v, want 499", err)
	}

	// Cancelled mid-stream: Recv reports 499, not a cut stream. This
	// upstream sends one chunk and then hangs until the client leaves.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"},\"index\":0}]}\r\n\r\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer hang.Close()
	hc, err := New(config.Provider{Name: "g", BaseURL: hang.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	defer hc.http.Client.CloseIdleConnections()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	s, err := hc.ChatStream(ctx, permit(hc), userReq("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 2; i++ { // role chunk, text chunk
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = s.Recv()
	if le := llm.AsError(err); le.Status != 499 {
		t.Errorf("cancelled stream: %v, want 499", err)
	}
}

func TestEmbed(t *testing.T) {
	f := fake.NewGemini()
	defer f.Close()
	dims := 4
	tc := newTestClient(t, f)
	got, err := tc.Embed(context.Background(), permit(tc), &llm.EmbedRequest{Model: "gemini-embedding-001", Input: []string{"a", "b"}, Dimensions: &dims})
	if err != nil {
		t.Fatal(err)
	}
	want := &llm.EmbedResponse{Model: "gemini-embedding-001", Vectors: [][]float32{fake.HashVector("a", 4), fake.HashVector("b", 4)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("embed (-want +got):\n%s", diff)
	}
	r := f.Log.All()[0]
	if r.Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" || !strings.Contains(string(r.Body), `"outputDimensionality":4`) {
		t.Errorf("sent %s %s", r.Path, r.Body)
	}
}

func TestNewAndInfo(t *testing.T) {
	if _, err := New(config.Provider{Name: "g", Type: "gemini"}); err == nil {
		t.Error("New without api_key succeeded")
	}
	c, err := New(config.Provider{Name: "g", Type: "gemini", APIKey: "k", Region: "eu"})
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Info{Name: "g", Type: "gemini", Hosting: provider.Proprietary, Region: "eu",
		Caps: provider.Capabilities{Embeddings: true, MultipleChoices: true}}
	if diff := cmp.Diff(&want, c.Info(), cmp.Comparer(func(a, b func(context.Context, *provider.RawRequest) (*http.Response, error)) bool {
		return a == nil && b == nil
	})); diff != "" {
		t.Errorf("info (-want +got):\n%s", diff)
	}
	if c.base != "https://generativelanguage.googleapis.com/v1beta" {
		t.Errorf("base = %s", c.base)
	}
}

func TestStatusErrorRetryInfo(t *testing.T) {
	resp := &http.Response{StatusCode: 429, Header: http.Header{}}
	body := `{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[
		{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},
		{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"34.5s"}]}}`
	e := statusError("g", resp, []byte(body))
	if e.Status != 429 || e.Type != llm.ErrRateLimit || e.RetryAfter != 34500*time.Millisecond || !strings.Contains(e.Message, "quota") {
		t.Errorf("err = %+v", e)
	}
}
