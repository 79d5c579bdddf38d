package openai

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

	"github.com/google/go-cmp/cmp"

	api "github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

func newClient(t *testing.T, base, key string, timeouts config.Timeouts) *Client {
	t.Helper()
	c, err := New(config.Provider{
		Name: "gpu-box", Type: "openai", BaseURL: base, APIKey: key,
		Hosting: "self_hosted", Region: "eu", Retention: "none",
		Headers:  map[string]string{"OpenAI-Project": "proj_fake"},
		Timeouts: timeouts,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Idle keep-alive connections hold transport goroutines; goleak
	// must not see them.
	t.Cleanup(c.http.Client.CloseIdleConnections)
	return c
}

func newFake(t *testing.T) (*fake.OpenAI, *Client) {
	t.Helper()
	f := fake.NewOpenAI()
	t.Cleanup(f.Close)
	return f, newClient(t, f.URL, fake.APIKey, config.Timeouts{})
}

func chatReq(text string, tools bool) *llm.ChatRequest {
	mt := 100
	r := &llm.ChatRequest{
		Model:     "meta-llama/Llama-3.1-8B-Instruct",
		Messages:  []llm.Message{llm.TextMessage(llm.RoleSystem, "Be brief."), llm.TextMessage(llm.RoleUser, text)},
		MaxTokens: &mt,
	}
	if tools {
		r.Tools = []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}}
	}
	return r
}

// collect drains a stream into its text, tool calls, finish, usage and
// final error.
type collected struct {
	Role      llm.Role
	Text      string
	Calls     map[int]*llm.ToolCall
	Finish    string
	Usage     *llm.Usage
	UsageSeen int
	Err       error
}

func collect(t *testing.T, s provider.Stream) collected {
	t.Helper()
	defer s.Close()
	out := collected{Calls: map[int]*llm.ToolCall{}}
	for {
		c, err := s.Recv()
		if err != nil {
			if err != io.EOF {
				out.Err = err
			}
			return out
		}
		if c.Role != "" {
			out.Role = c.Role
		}
		out.Text += c.Text
		for _, d := range c.ToolCalls {
			tc := out.Calls[d.Index]
			if tc == nil {
				tc = &llm.ToolCall{}
				out.Calls[d.Index] = tc
			}
			if d.ID != "" {
				tc.ID = d.ID
			}
			tc.Name += d.Name
			tc.Arguments += d.Arguments
		}
		if c.FinishReason != "" {
			out.Finish = c.FinishReason
		}
		if c.Usage != nil {
			out.Usage = c.Usage
			out.UsageSeen++
		}
	}
}

func TestInfo(t *testing.T) {
	_, c := newFake(t)
	info := c.Info()
	if info.Name != "gpu-box" || info.Type != "openai" || info.Hosting != provider.SelfHosted || info.Region != "eu" || info.Retention != "none" {
		t.Errorf("info = %+v", info)
	}
	if !info.Caps.Embeddings || !info.Caps.MultipleChoices || info.Caps.Passthrough != "openai" {
		t.Errorf("caps = %+v", info.Caps)
	}
	if _, err := New(config.Provider{Name: "x", BaseURL: "ftp://host"}); err == nil {
		t.Error("want an error for a non-http base_url")
	}
}

func TestChat(t *testing.T) {
	f, c := newFake(t)
	tests := []struct {
		name       string
		text       string
		tools      bool
		wantText   string
		wantCalls  []llm.ToolCall
		wantFinish string
	}{
		{"answer", "hi", false, fake.Reply("hi"), nil, llm.FinishStop},
		{"tool call", "weather?", true, "", []llm.ToolCall{{Name: "get_weather", Arguments: fake.ToolArgs}}, llm.FinishToolCalls},
		{"parallel tool calls", "weather? [[parallel]]", true, "", []llm.ToolCall{{Name: "get_weather", Arguments: fake.ToolArgs}, {Name: "get_weather", Arguments: fake.ToolArgs2}}, llm.FinishToolCalls},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Log.Reset()
			resp, err := c.Chat(context.Background(), permit(c), chatReq(tt.text, tt.tools))
			if err != nil {
				t.Fatal(err)
			}
			ch := resp.Choices[0]
			if got := ch.Message.Text(); got != tt.wantText || ch.FinishReason != tt.wantFinish {
				t.Errorf("text %q finish %q", got, ch.FinishReason)
			}
			var calls []llm.ToolCall
			for _, tc := range ch.Message.ToolCalls {
				if !strings.HasPrefix(tc.ID, "call_") {
					t.Errorf("tool call id %q", tc.ID)
				}
				calls = append(calls, llm.ToolCall{Name: tc.Name, Arguments: tc.Arguments})
			}
			if diff := cmp.Diff(tt.wantCalls, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(&llm.Usage{InputTokens: fake.InputTokens, OutputTokens: fake.OutputTokens}, resp.Usage); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
			// What left the gateway.
			sent := f.Log.All()[0]
			if sent.Path != "/v1/chat/completions" || sent.Header.Get("Authorization") != "Bearer "+fake.APIKey || sent.Header.Get("OpenAI-Project") != "proj_fake" {
				t.Errorf("sent %s with headers %v", sent.Path, sent.Header)
			}
			var body map[string]any
			if err := json.Unmarshal(sent.Body, &body); err != nil {
				t.Fatal(err)
			}
			if body["model"] != "meta-llama/Llama-3.1-8B-Instruct" || body["max_tokens"] != 100.0 || body["stream"] != nil {
				t.Errorf("body = %s", sent.Body)
			}
		})
	}
}

func TestChatStream(t *testing.T) {
	f, c := newFake(t)
	tests := []struct {
		name         string
		text         string
		tools        bool
		includeUsage bool
		wantText     string
		wantCalls    map[int]*llm.ToolCall
		wantFinish   string
	}{
		{"answer", "hello there", false, false, fake.Reply("hello there"), map[int]*llm.ToolCall{}, llm.FinishStop},
		{"answer, client wants usage", "hi", false, true, fake.Reply("hi"), map[int]*llm.ToolCall{}, llm.FinishStop},
		{"parallel tool calls", "weather? [[parallel]]", true, false, "", map[int]*llm.ToolCall{
			0: {Name: "get_weather", Arguments: fake.ToolArgs},
			1: {Name: "get_weather", Arguments: fake.ToolArgs2},
		}, llm.FinishToolCalls},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Log.Reset()
			req := chatReq(tt.text, tt.tools)
			req.Stream, req.IncludeUsage = true, tt.includeUsage
			s, err := c.ChatStream(context.Background(), permit(c), req)
			if err != nil {
				t.Fatal(err)
			}
			got := collect(t, s)
			if got.Err != nil {
				t.Fatal(got.Err)
			}
			for _, tc := range got.Calls {
				if !strings.HasPrefix(tc.ID, "call_") {
					t.Errorf("tool call id %q", tc.ID)
				}
				tc.ID = ""
			}
			if got.Role != llm.RoleAssistant || got.Text != tt.wantText || got.Finish != tt.wantFinish {
				t.Errorf("role %q text %q finish %q", got.Role, got.Text, got.Finish)
			}
			if diff := cmp.Diff(tt.wantCalls, got.Calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			// Usage is metered whatever the client asked for, once.
			if got.UsageSeen != 1 || got.Usage.InputTokens != fake.InputTokens || got.Usage.OutputTokens != fake.OutputTokens {
				t.Errorf("usage seen %d times: %+v", got.UsageSeen, got.Usage)
			}
			if body := string(f.Log.All()[0].Body); !strings.Contains(body, `"stream":true,"stream_options":{"include_usage":true}`) {
				t.Errorf("body = %s", body)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	f, c := newFake(t)
	wrongKey := newClient(t, f.URL, "sk-wrong-key", config.Timeouts{})
	noKey := newClient(t, f.URL, "", config.Timeouts{})
	tests := []struct {
		name       string
		client     *Client
		text       string
		status     int
		typ, code  string
		retryAfter time.Duration
		message    string
		// param is the upstream's, kept with its code on a 4xx.
		param string
	}{
		{"429", c, "x [[429]]", 429, llm.ErrRateLimit, "rate_limit_exceeded", time.Second, "upstream gpu-box: Rate limit reached for", ""},
		{"500", c, "x [[500]]", 500, llm.ErrUpstream, "", 0, "upstream gpu-box: The server had an error", ""},
		{"503", c, "x [[503]]", 503, llm.ErrOverloaded, "", 0, "overloaded", ""},
		{"400", c, "x [[400]]", 400, llm.ErrInvalidRequest, "invalid_value", 0, "Invalid value for 'temperature'", "temperature"},
		{"401 wrong key", wrongKey, "hi", 502, llm.ErrUpstream, "upstream_auth_failed", 0, "Incorrect API key provided", ""},
		{"401 no key", noKey, "hi", 502, llm.ErrUpstream, "upstream_auth_failed", 0, "You didn't provide an API key", ""},
		{"malformed body", c, "x [[malformed]]", 502, llm.ErrUpstream, "bad_upstream_response", 0, "upstream gpu-box: upstream returned a malformed chat completion", ""},
		{"cut body", c, "x [[cut]]", 502, llm.ErrUpstream, "upstream_error", 0, "upstream connection failed", ""},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			if stream && (tt.name == "malformed body" || tt.name == "cut body") {
				continue // stream faults are TestStreamFaults'
			}
			t.Run(tt.name, func(t *testing.T) {
				req := chatReq(tt.text, false)
				var err error
				if stream {
					_, err = tt.client.ChatStream(context.Background(), permit(tt.client), req)
				} else {
					_, err = tt.client.Chat(context.Background(), permit(tt.client), req)
				}
				var e *llm.Error
				if !errors.As(err, &e) {
					t.Fatalf("stream=%v: err = %v, want *llm.Error", stream, err)
				}
				if e.Status != tt.status || e.Type != tt.typ || e.Code != tt.code || e.RetryAfter != tt.retryAfter ||
					e.Provider != "gpu-box" || !strings.Contains(e.Message, tt.message) || e.Param != tt.param {
					t.Errorf("stream=%v: got %d %s %q param %q retry %v provider %q: %q", stream, e.Status, e.Type, e.Code, e.Param, e.RetryAfter, e.Provider, e.Message)
				}
			})
		}
	}
	if h := f.Log.All(); len(h) == 0 {
		t.Fatal("nothing logged")
	}
	for _, r := range f.Log.All() {
		if strings.Contains(string(r.Body), "[[") && r.Header.Get("Authorization") == "" {
			t.Error("keyed client sent no Authorization")
		}
	}
}

func TestNoKeySendsNoAuthorization(t *testing.T) {
	f := fake.NewOpenAI()
	defer f.Close()
	c := newClient(t, f.URL, "", config.Timeouts{})
	_, _ = c.Chat(context.Background(), permit(c), chatReq("hi", false))
	if got := f.Log.All()[0].Header.Values("Authorization"); len(got) != 0 {
		t.Errorf("Authorization = %q, want none", got)
	}
}

func TestFirstByteTimeout(t *testing.T) {
	f := fake.NewOpenAI()
	defer f.Close()
	c := newClient(t, f.URL, fake.APIKey, config.Timeouts{FirstByte: config.Duration(100 * time.Millisecond)})
	for _, stream := range []bool{false, true} {
		start := time.Now()
		var err error
		if stream {
			_, err = c.ChatStream(context.Background(), permit(c), chatReq("x [[slow]]", false))
		} else {
			_, err = c.Chat(context.Background(), permit(c), chatReq("x [[slow]]", false))
		}
		var e *llm.Error
		if !errors.As(err, &e) || e.Status != http.StatusGatewayTimeout || e.Type != llm.ErrTimeout || e.Provider != "gpu-box" {
			t.Fatalf("stream=%v: err = %v, want a 504 timeout", stream, err)
		}
		if d := time.Since(start); d > fake.SlowDelay/2 {
			t.Errorf("stream=%v: took %v, want about the first-byte timeout", stream, d)
		}
	}
}

func TestStreamFaults(t *testing.T) {
	_, c := newFake(t)
	tests := []struct {
		name     string
		text     string
		wantText string
		status   int
		code     string
		message  string
	}{
		{"cut", "one two three [[cut]]", "Hello! You ", 502, "stream_interrupted", "ended the stream before it was complete"},
		{"midstream error", "x [[midstream-error]]", "Hello", 502, "", "upstream gpu-box: The server had an error"},
		{"malformed chunk", "x [[malformed]]", "", 502, "bad_upstream_response", "malformed stream chunk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := chatReq(tt.text, false)
			req.Stream = true
			s, err := c.ChatStream(context.Background(), permit(c), req)
			if err != nil {
				t.Fatal(err)
			}
			got := collect(t, s)
			var e *llm.Error
			if !errors.As(got.Err, &e) {
				t.Fatalf("err = %v, want *llm.Error", got.Err)
			}
			if got.Text != tt.wantText || e.Status != tt.status || e.Code != tt.code || e.Provider != "gpu-box" || !strings.Contains(e.Message, tt.message) {
				t.Errorf("text %q; err %d %q %q", got.Text, e.Status, e.Code, e.Message)
			}
			// The error is sticky.
			if _, err2 := s.Recv(); err2 != got.Err {
				t.Errorf("second Recv = %v", err2)
			}
		})
	}
}

// scripted serves one SSE body in parts: the parts before a "" entry are
// flushed at once, then the handler waits for the client to go away.
func scripted(t *testing.T, parts ...string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, p := range parts {
			if p == "" {
				<-r.Context().Done()
				return
			}
			io.WriteString(w, p)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

const chunk0 = `data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}` + "\n\n"

func TestStreamEndings(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // "" for a clean end, else the error code
	}{
		{"clean", chunk0 + `data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n", ""},
		{"no [DONE]", chunk0 + `data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n", "stream_interrupted"},
		{"[DONE] without finish_reason", chunk0 + "data: [DONE]\n\n", "stream_interrupted"},
		{"cut mid-event", chunk0 + `data: {"id":"c1","choi`, "stream_interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := scripted(t, tt.body)
			c := newClient(t, srv.URL+"/v1", "", config.Timeouts{})
			s, err := c.ChatStream(context.Background(), permit(c), chatReq("hi", false))
			if err != nil {
				t.Fatal(err)
			}
			got := collect(t, s)
			code := ""
			var e *llm.Error
			if errors.As(got.Err, &e) {
				code = e.Code
			} else if got.Err != nil {
				t.Fatalf("err = %v", got.Err)
			}
			if code != tt.want || got.Text != "Hi" {
				t.Errorf("code %q, text %q", code, got.Text)
			}
		})
	}
}

// TestClientCancel cancels the caller's context while the upstream holds
// the stream open: Recv must return a 499 promptly and no goroutine may
// outlive the call (goleak checks in TestMain).
func TestClientCancel(t *testing.T) {
	srv := scripted(t, chunk0, "")
	c := newClient(t, srv.URL+"/v1", "", config.Timeouts{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := c.ChatStream(ctx, permit(c), chatReq("hi", false))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, err := s.Recv(); err != nil || c.Text != "Hi" {
		t.Fatalf("first chunk: %v %v", c, err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = s.Recv()
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 499 {
		t.Fatalf("err = %v, want 499", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Recv returned after %v", d)
	}
}

// TestCloseUnblocksRecv closes the stream from another goroutine while
// Recv waits for the upstream.
func TestCloseUnblocksRecv(t *testing.T) {
	srv := scripted(t, chunk0, "")
	c := newClient(t, srv.URL+"/v1", "", config.Timeouts{})
	s, err := c.ChatStream(context.Background(), permit(c), chatReq("hi", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { s.Close() })
	if _, err := s.Recv(); err == nil {
		t.Fatal("Recv after Close returned no error")
	}
	s.Close()
}

func TestUnsupportedParameter(t *testing.T) {
	f, c := newFake(t)
	req := chatReq("hi", false)
	req.Unsupported = []string{"logprobs"}
	_, err := c.Chat(context.Background(), permit(c), req)
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Param != "logprobs" || e.Code != "unsupported_parameter" {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.Log.All()); n != 0 {
		t.Errorf("%d requests left the gateway", n)
	}
}

func TestMaxCompletionTokensForOpenAI(t *testing.T) {
	c, err := New(config.Provider{Name: "openai", BaseURL: "https://api.openai.com/v1", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.reqOpts.MaxCompletionTokens || c.Info().Hosting != provider.Proprietary {
		t.Errorf("reqOpts = %+v, hosting %q", c.reqOpts, c.Info().Hosting)
	}
}

func TestEmbed(t *testing.T) {
	f, c := newFake(t)
	dims := 4
	resp, err := c.Embed(context.Background(), permit(c), &llm.EmbedRequest{Model: "text-embedding-3-small", Input: []string{"a b", "c"}, Dimensions: &dims, EncodingFormat: "base64"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{fake.OpenAIVector("a b", 4), fake.OpenAIVector("c", 4)}
	if diff := cmp.Diff(want, resp.Vectors); diff != "" {
		t.Errorf("vectors (-want +got):\n%s", diff)
	}
	if resp.Usage == nil || resp.Usage.InputTokens != 3 || resp.Model != "text-embedding-3-small" {
		t.Errorf("usage %+v model %q", resp.Usage, resp.Model)
	}
	if body := string(f.Log.All()[0].Body); body != `{"model":"text-embedding-3-small","input":["a b","c"],"dimensions":4}` {
		t.Errorf("sent %s", body)
	}
	_, err = c.Embed(context.Background(), permit(c), &llm.EmbedRequest{Model: "m", Input: []string{"[[500]]"}})
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 500 {
		t.Errorf("err = %v", err)
	}
}

func TestForward(t *testing.T) {
	f, c := newFake(t)
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"logprobs":true}`)
	hdr := http.Header{"Authorization": {"Bearer client-virtual-key"}, "X-Custom": {"1"}, "Accept-Encoding": {"gzip"}}
	resp, err := c.Forward(context.Background(), permit(c), &provider.RawRequest{Path: "/chat/completions", Body: body, Header: hdr})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	if u := api.ResponseUsage(out); u == nil || u.InputTokens != fake.InputTokens {
		t.Errorf("usage from forwarded body: %+v", u)
	}
	sent := f.Log.All()[0]
	if string(sent.Body) != string(body) {
		t.Errorf("body changed: %s", sent.Body)
	}
	if sent.Header.Get("Authorization") != "Bearer "+fake.APIKey || sent.Header.Get("X-Custom") != "1" ||
		sent.Header.Get("OpenAI-Project") != "proj_fake" || sent.Header.Get("Accept-Encoding") == "gzip" {
		t.Errorf("headers sent: %v", sent.Header)
	}

	// A non-2xx answer comes back as is; MapError reads it.
	resp, err = c.Forward(context.Background(), permit(c), &provider.RawRequest{Path: "/chat/completions",
		Body: []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"[[429]]"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	e := c.MapError(resp)
	if resp.StatusCode != 429 || e.Status != 429 || e.RetryAfter != time.Second || !strings.Contains(e.Message, "Rate limit reached") {
		t.Errorf("status %d, mapped %+v", resp.StatusCode, e)
	}

	// A streamed pass-through arrives as the upstream's own SSE bytes.
	resp, err = c.Forward(context.Background(), permit(c), &provider.RawRequest{Path: "/chat/completions", Stream: true,
		Body: []byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	out, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasSuffix(string(out), "data: [DONE]\n\n") {
		t.Errorf("stream body: %s", out)
	}
}

func TestConfigHeadersOverrideKey(t *testing.T) {
	f := fake.NewOpenAI()
	defer f.Close()
	c, err := New(config.Provider{Name: "p", BaseURL: f.URL, APIKey: "sk-other",
		Headers: map[string]string{"authorization": "Bearer " + fake.APIKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.http.Client.CloseIdleConnections()
	if _, err := c.Chat(context.Background(), permit(c), chatReq("hi", false)); err != nil {
		t.Fatalf("configured Authorization header was not used: %v", err)
	}
}

func TestMaxCompletionTokensSent(t *testing.T) {
	f := fake.NewOpenAI()
	defer f.Close()
	c, err := New(config.Provider{Name: "p", BaseURL: f.URL, APIKey: fake.APIKey},
		WithRequestOptions(api.RequestOptions{MaxCompletionTokens: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.http.Client.CloseIdleConnections()
	if _, err := c.Chat(context.Background(), permit(c), chatReq("hi", false)); err != nil {
		t.Fatal(err)
	}
	body := string(f.Log.All()[0].Body)
	if !strings.Contains(body, `"max_completion_tokens":100`) || strings.Contains(body, `"max_tokens"`) {
		t.Errorf("body = %s", body)
	}
}
