package anthropic

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	wire "github.com/fulcrumhq/fulcrum/internal/api/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newClient(t *testing.T, f *fake.Anthropic, mod func(*config.Provider)) *Client {
	t.Helper()
	cfg := config.Provider{Name: "claude", Type: "anthropic", BaseURL: f.URL, APIKey: fake.APIKey,
		Headers: map[string]string{"X-Team": "search"}}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg, WithClock(func() time.Time { return fixedNow }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	return c
}

func userReq(text string) *llm.ChatRequest {
	return &llm.ChatRequest{Model: "claude-sonnet-4-5", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, text)}}
}

var weatherTool = llm.Tool{Name: "get_weather", Parameters: []byte(`{"type":"object","properties":{"location":{"type":"string"}}}`)}

// collect reads a stream to its end.
func collect(t *testing.T, s provider.Stream) (text string, calls map[int]*llm.ToolCall, last *llm.Chunk, err error) {
	t.Helper()
	defer s.Close()
	calls = map[int]*llm.ToolCall{}
	for {
		c, rerr := s.Recv()
		if rerr != nil {
			if rerr == io.EOF {
				rerr = nil
			}
			return text, calls, last, rerr
		}
		text += c.Text
		for _, d := range c.ToolCalls {
			tc := calls[d.Index]
			if tc == nil {
				tc = &llm.ToolCall{}
				calls[d.Index] = tc
			}
			tc.ID += d.ID
			tc.Name += d.Name
			tc.Arguments += d.Arguments
		}
		last = c
	}
}

func TestChat(t *testing.T) {
	f := fake.NewAnthropic()
	defer f.Close()
	c := newClient(t, f, nil)
	req := userReq("hi there")
	req.Messages = append([]llm.Message{llm.TextMessage(llm.RoleSystem, "be nice")}, req.Messages...)
	resp, err := c.Chat(context.Background(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	want := &llm.ChatResponse{
		ID: "msg_fake0001", Model: "claude-sonnet-4-5", Created: fixedNow.Unix(),
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, fake.Reply("hi there")), FinishReason: llm.FinishStop}},
		Usage:   &llm.Usage{InputTokens: fake.InputTokens, OutputTokens: fake.OutputTokens},
	}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	// What left the gateway.
	got := f.Log.All()[0]
	hdr := []string{got.Path, got.Header.Get("x-api-key"), got.Header.Get("anthropic-version"), got.Header.Get("Content-Type"), got.Header.Get("X-Team")}
	if diff := cmp.Diff([]string{"/v1/messages", fake.APIKey, "2023-06-01", "application/json", "search"}, hdr); diff != "" {
		t.Errorf("request headers (-want +got):\n%s", diff)
	}
	wantBody := `{"model":"claude-sonnet-4-5","max_tokens":4096,"system":"be nice","messages":[{"role":"user","content":"hi there"}]}`
	if string(got.Body) != wantBody {
		t.Errorf("body = %s\nwant   %s", got.Body, wantBody)
	}
}

func TestChatStream(t *testing.T) {
	f := fake.NewAnthropic()
	defer f.Close()
	c := newClient(t, f, nil)
	s, err := c.ChatStream(context.Background(), permit(c), userReq("stream me"))
	if err != nil {
		t.Fatal(err)
	}
	text, _, last, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if text != fake.Reply("stream me") {
		t.Errorf("text = %q", text)
	}
	wantLast := &llm.Chunk{ID: "msg_fake0001", Model: "claude-sonnet-4-5", FinishReason: llm.FinishStop,
		Usage: &llm.Usage{InputTokens: fake.InputTokens, OutputTokens: fake.OutputTokens}}
	if diff := cmp.Diff(wantLast, last); diff != "" {
		t.Errorf("last chunk (-want +got):\n%s", diff)
	}
	if body := string(f.Log.All()[0].Body); !strings.Contains(body, `"stream":true`) {
		t.Errorf("stream not requested: %s", body)
	}
}

// TestToolRoundTrip: the model calls a tool, the result goes back, the
// model answers from it — whole and streamed.
func TestToolRoundTrip(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		t.Run(map[bool]string{false: "whole", true: "streamed"}[streamed], func(t *testing.T) {
			f := fake.NewAnthropic()
			defer f.Close()
			c := newClient(t, f, nil)
			req := userReq("weather in Paris and London [[parallel]]")
			req.Tools = []llm.Tool{weatherTool}
			var calls []llm.ToolCall
			var finish string
			if streamed {
				s, err := c.ChatStream(context.Background(), permit(c), req)
				if err != nil {
					t.Fatal(err)
				}
				_, m, last, err := collect(t, s)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < len(m); i++ {
					calls = append(calls, *m[i])
				}
				finish = last.FinishReason
			} else {
				resp, err := c.Chat(context.Background(), permit(c), req)
				if err != nil {
					t.Fatal(err)
				}
				calls, finish = resp.Choices[0].Message.ToolCalls, resp.Choices[0].FinishReason
			}
			want := []llm.ToolCall{
				{ID: "toolu_fake0001_0", Name: "get_weather", Arguments: fake.ToolArgs},
				{ID: "toolu_fake0001_1", Name: "get_weather", Arguments: fake.ToolArgs2},
			}
			if diff := cmp.Diff(want, calls); diff != "" || finish != llm.FinishToolCalls {
				t.Fatalf("calls (-want +got):\n%s finish %q", diff, finish)
			}
			req.Messages = append(req.Messages,
				llm.Message{Role: llm.RoleAssistant, ToolCalls: calls},
				llm.Message{Role: llm.RoleTool, ToolCallID: calls[0].ID, Content: []llm.Part{{Type: llm.PartText, Text: "15C"}}},
				llm.Message{Role: llm.RoleTool, ToolCallID: calls[1].ID, Content: []llm.Part{{Type: llm.PartText, Text: "11C"}}},
			)
			resp, err := c.Chat(context.Background(), permit(c), req)
			if err != nil {
				t.Fatal(err)
			}
			// The fake answers from the last tool result of the one user
			// turn both results were merged into.
			if got := resp.Choices[0].Message.Text(); got != "Tool said: 11C" {
				t.Errorf("answer = %q", got)
			}
			sent := string(f.Log.All()[1].Body)
			wantTail := `{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_fake0001_0","content":"15C"},{"type":"tool_result","tool_use_id":"toolu_fake0001_1","content":"11C"}]}]`
			if !strings.Contains(sent, wantTail) {
				t.Errorf("tool results sent as %s", sent)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	f := fake.NewAnthropic()
	defer f.Close()
	tests := []struct {
		name       string
		text       string
		key        string
		status     int
		typ        string
		retryAfter time.Duration
		msg        string
	}{
		{"rate limit", "[[429]]", fake.APIKey, 429, llm.ErrRateLimit, time.Second, "per-minute rate limit"},
		{"overloaded 529 -> 503", "[[503]]", fake.APIKey, 503, llm.ErrOverloaded, 0, "Overloaded"},
		{"server error", "[[500]]", fake.APIKey, 500, llm.ErrUpstream, 0, "Internal server error"},
		{"bad request", "[[400]]", fake.APIKey, 400, llm.ErrInvalidRequest, 0, "valid list"},
		{"provider key rejected -> 502", "hi", "wrong", 502, llm.ErrUpstream, 0, "invalid x-api-key"},
	}
	for _, tt := range tests {
		for _, streamed := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "", true: "/stream"}[streamed], func(t *testing.T) {
				c := newClient(t, f, func(p *config.Provider) { p.APIKey = tt.key })
				var err error
				if streamed {
					_, err = c.ChatStream(context.Background(), permit(c), userReq(tt.text))
				} else {
					_, err = c.Chat(context.Background(), permit(c), userReq(tt.text))
				}
				var e *llm.Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v, want *llm.Error", err)
				}
				got := []any{e.Status, e.Type, e.RetryAfter, e.Provider, strings.Contains(e.Message, tt.msg)}
				if diff := cmp.Diff([]any{tt.status, tt.typ, tt.retryAfter, "claude", true}, got); diff != "" {
					t.Errorf("(-want +got):\n%s\nmessage: %s", diff, e.Message)
				}
			})
		}
	}
}

func TestStreamFaults(t *testing.T) {
	f := fake.NewAnthropic()
	defer f.Close()
	c := newClient(t, f, nil)
	tests := []struct {
		text     string
		wantText string
		status   int
		code     string
	}{
		{"[[cut]]", "Hello! You ", 502, "stream_interrupted"},
		{"[[midstream-error]]", "Hello! ", 503, ""},
		{"[[malformed]]", "Hello! ", 502, "upstream_malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			s, err := c.ChatStream(context.Background(), permit(c), userReq(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			text, _, _, err := collect(t, s)
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *llm.Error", err)
			}
			got := []any{text, e.Status, e.Code, e.Provider}
			if diff := cmp.Diff([]any{tt.wantText, tt.status, tt.code, "claude"}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNonStreamFaults(t *testing.T) {
	f := fake.NewAnthropic()
	defer f.Close()
	c := newClient(t, f, nil)
	for text, code := range map[string]string{"[[cut]]": "upstream_error", "[[malformed]]": "upstream_malformed"} {
		_, err := c.Chat(context.Background(), permit(c), userReq(text))
		var e *llm.Error
		if !errors.As(err, &e) || e.Status != 502 || e.Code != code {
			t.Errorf("%s: err = %v, want 502 %s", text, err, code)
		}
	}
}

func TestSlowFirstByte(t *testing.T) {
	f := fake.NewAnthropic()
	defer f.Close()
	c := newClient(t, f, func(p *config.Provider) { p.Timeouts.FirstByte = config.Duration(100 * time.Millisecond) })
	for _, streamed := range []bool{false, true} {
		start := time.Now()
		var err error
		if streamed {
			_, err = c.ChatStream(context.Background(), permit(c), userReq("[[slow]]"))
		} else {
			_, err = c.Chat(context.Background(), permit(c), userReq("[[slow]]"))
		}
		var e *llm.Error
		if !errors.As(err, &e) || e.Status != http.StatusGatewayTimeout {
			t.Errorf("stream=%v: err = %v, want 504", streamed, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("stream=%v: took %v, want about the 100ms first-byte timeout", streamed, d)
		}
	}
}

func TestCancel(t *testing.T) {
	f := fake.NewAnthropic()
	defer f.Close()
	c := newClient(t, f, nil)

	// Before the headers: the call returns 499 at once.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := c.Chat(ctx, permit(c), userReq("[[slow]]"))
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 499 {
		t.Errorf("cancelled chat: err = %v, want 499", err)
	}

	// Mid-stream: an upstream that stalls after message_start. Cancelling
	// makes Recv fail at once with 499 instead of hanging, and nothing leaks.
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"model\":\"m\",\"usage\":{\"input_tokens\":3}}}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer stall.Close()
	sc, err := New(config.Provider{Name: "claude", BaseURL: stall.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.http.Client.CloseIdleConnections()
	ctx, cancel = context.WithCancel(context.Background())
	s, err := sc.ChatStream(ctx, permit(sc), userReq("hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, err := s.Recv(); err != nil || c.ID != "msg_s" {
		t.Fatalf("first chunk: %v %v", c, err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = s.Recv()
	if !errors.As(err, &e) || e.Status != 499 {
		t.Errorf("cancelled stream: err = %v, want 499", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Recv returned %v after cancel", d)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

func TestForward(t *testing.T) {
	f := fake.NewAnthropic()
	defer f.Close()
	c := newClient(t, f, nil)
	if c.Info().Caps.Passthrough != "anthropic" {
		t.Fatal("no pass-through capability")
	}
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"fwd"}],"thinking":{"type":"enabled","budget_tokens":1024}}`)
	hdr := http.Header{"Anthropic-Beta": {"prompt-caching-2024-07-31"}, "X-Api-Key": {"client-key-must-not-leak"}}
	resp, err := c.Forward(context.Background(), permit(c), &provider.RawRequest{Path: "/messages", Body: body, Header: hdr})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || wire.ResponseUsage(b).OutputTokens != fake.OutputTokens {
		t.Errorf("forward: %d %s", resp.StatusCode, b)
	}
	got := f.Log.All()[0]
	sent := []string{string(got.Body), got.Header.Get("x-api-key"), got.Header.Get("anthropic-beta"), got.Header.Get("anthropic-version")}
	if diff := cmp.Diff([]string{string(body), fake.APIKey, "prompt-caching-2024-07-31", "2023-06-01"}, sent); diff != "" {
		t.Errorf("forwarded request (-want +got):\n%s", diff)
	}

	// An upstream error comes back unread; MapError turns it into the
	// canonical error.
	resp, err = c.Forward(context.Background(), permit(c), &provider.RawRequest{Path: "/messages",
		Body: []byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"[[503]]"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 529 {
		t.Errorf("status = %d, want 529 unchanged", resp.StatusCode)
	}
	if e := c.MapError(resp); e.Status != 503 || e.Type != llm.ErrOverloaded {
		t.Errorf("MapError = %v", e)
	}

	// Streamed pass-through, usage read on the side.
	resp, err = c.Forward(context.Background(), permit(c), &provider.RawRequest{Path: "/messages", Stream: true,
		Body: []byte(`{"model":"m","max_tokens":1,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(raw), "event: message_stop") {
		t.Errorf("stream body: %s", raw)
	}
}

func TestEmbedAndInfo(t *testing.T) {
	c, err := New(config.Provider{Name: "a", Type: "anthropic", APIKey: "k", Region: "us"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.http.Client.CloseIdleConnections()
	_, err = c.Embed(context.Background(), permit(c), &llm.EmbedRequest{Model: "x", Input: []string{"a"}})
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 400 || !errors.Is(err, provider.ErrNoEmbeddings) {
		t.Errorf("Embed err = %v", err)
	}
	info := c.Info()
	got := []any{info.Type, info.Hosting, info.Region, info.Caps.Embeddings, c.base, c.versionHdr[0]}
	want := []any{"anthropic", provider.Proprietary, "us", false, "https://api.anthropic.com/v1", "2023-06-01"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := New(config.Provider{Name: "b", BaseURL: "ftp://x"}); err == nil {
		t.Error("accepted a non-http base_url")
	}
}

func TestUnsupportedIs400(t *testing.T) {
	f := fake.NewAnthropic()
	defer f.Close()
	c := newClient(t, f, nil)
	req := userReq("hi")
	req.N = 2
	_, err := c.Chat(context.Background(), permit(c), req)
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Param != "n" || e.Provider != "claude" {
		t.Errorf("err = %v", err)
	}
	if n := len(f.Log.All()); n != 0 {
		t.Errorf("%d requests reached the upstream", n)
	}
}

// TestForwardDropsUnsignedThinking: a thinking block relayed from a
// provider that signs nothing is removed before the body is forwarded (the
// fake, like Anthropic, rejects it); signed blocks and the rest stay.
func TestForwardDropsUnsignedThinking(t *testing.T) {
	f := fake.NewAnthropic()
	defer f.Close()
	c := newClient(t, f, nil)
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[` +
		`{"role":"user","content":"q1"},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"from vllm","signature":""},{"type":"text","text":"a1"}]},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"signed","signature":"sig"},{"type":"text","text":"a2"}]},` +
		`{"role":"user","content":"q2"}]}`)
	// Sent as it is, the fake refuses it as Anthropic does.
	hr, _ := http.NewRequest("POST", f.URL+"/messages", strings.NewReader(string(body)))
	hr.Header.Set("x-api-key", fake.APIKey)
	hr.Header.Set("anthropic-version", "2023-06-01")
	raw, _ := http.DefaultClient.Do(hr)
	if raw != nil {
		raw.Body.Close()
		if raw.StatusCode != 400 {
			t.Fatalf("fake accepted an unsigned thinking block: %d", raw.StatusCode)
		}
	}
	resp, err := c.Forward(context.Background(), permit(c), &provider.RawRequest{Path: "/messages", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("forward: %d %s", resp.StatusCode, b)
	}
	sent := string(f.Log.All()[len(f.Log.All())-1].Body)
	if strings.Contains(sent, "from vllm") || !strings.Contains(sent, `"signature":"sig"`) || !strings.Contains(sent, "a1") || !strings.Contains(sent, "q2") {
		t.Errorf("forwarded %s", sent)
	}
}
