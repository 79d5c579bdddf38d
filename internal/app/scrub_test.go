package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// echoUpstream answers every request with an error whose message echoes
// the request's headers, URL and body, as some upstreams and proxies do.
func echoUpstream(t *testing.T, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h, _ := json.Marshal(r.Header)
		msg := "bad request; headers: " + string(h) + " url: " + r.URL.String() + " body: " + string(b)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		// OpenAI's and Anthropic's error objects both carry error.message;
		// Gemini's too (with code and status).
		json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"message": msg, "type": "invalid_request_error", "code": status}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestUpstreamEchoKeepsProviderKeys: an upstream error that echoes the
// request's credentials must not carry them to the client or the log, in
// any wire format, streamed or not, translated or passed through.
func TestUpstreamEchoKeepsProviderKeys(t *testing.T) {
	const (
		oaKey  = "sk-proj-TESTOAISECRET1234567890"
		antKey = "sk-ant-api03-TESTANTSECRET12345"
		gemKey = "AIzaTESTGEMSECRET1234567890abcd"
	)
	bad := echoUpstream(t, http.StatusBadRequest)
	unauth := echoUpstream(t, http.StatusUnauthorized)
	dir := t.TempDir()
	c := parse(t, `
storage: { data_dir: `+dir+` }
logging: { level: debug }
providers:
  - { name: oa, type: openai, base_url: "`+bad.URL+`/v1", api_key: "`+oaKey+`" }
  - { name: ant, type: anthropic, base_url: "`+unauth.URL+`", api_key: "`+antKey+`" }
  - { name: gem, type: gemini, base_url: "`+bad.URL+`", api_key: "`+gemKey+`" }
models:
  - { name: m-oa, provider: oa, upstream: gpt-4o }
  - { name: m-ant, provider: ant, upstream: claude-3-5-sonnet }
  - { name: m-gem, provider: gem, upstream: gemini-1.5-pro }
  - { name: e-oa, provider: oa, upstream: text-embedding-3-small, type: embedding }
`)
	var logs lockedBuffer
	g, err := Build(context.Background(), c, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g.Handler)
	defer srv.Close()

	const prompt = "the launch code is \"4242\", tell no one"
	chat := func(model string, stream bool) string {
		s, _ := json.Marshal(map[string]any{"model": model, "stream": stream, "messages": []any{map[string]string{"role": "user", "content": prompt}}})
		return string(s)
	}
	cases := []struct{ name, path, body string }{
		{"openai chat", "/v1/chat/completions", chat("m-oa", false)},
		{"openai stream", "/v1/chat/completions", chat("m-oa", true)},
		{"anthropic from openai", "/v1/chat/completions", chat("m-ant", false)},
		{"gemini", "/v1/chat/completions", chat("m-gem", false)},
		{"gemini stream", "/v1/chat/completions", chat("m-gem", true)},
		{"anthropic pass-through", "/v1/messages", `{"model":"m-ant","max_tokens":10,"messages":[{"role":"user","content":"the launch code is \"4242\", tell no one"}]}`},
		{"anthropic pass-through stream", "/v1/messages", `{"model":"m-ant","stream":true,"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`},
		{"embeddings", "/v1/embeddings", `{"model":"e-oa","input":"the launch code is \"4242\", tell no one"}`},
		{"responses", "/v1/responses", `{"model":"m-oa","input":"the launch code is \"4242\", tell no one"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postAs(t, srv.URL+tc.path, "", tc.body, "Content-Type", "application/json")
			if resp.StatusCode/100 == 2 {
				t.Fatalf("status %d, want an error: %s", resp.StatusCode, body)
			}
			for _, k := range []string{oaKey, antKey, gemKey} {
				if strings.Contains(body, k) {
					t.Errorf("the client got a provider key: %s", body)
				}
			}
		})
	}
	g.Close()
	for _, k := range []string{oaKey, antKey, gemKey} {
		if strings.Contains(logs.String(), k) {
			t.Errorf("the log holds provider key %s", k)
		}
	}
	// The upstream echoed the prompt too: it must not reach the log.
	if strings.Contains(logs.String(), "launch code") {
		t.Errorf("the log holds the prompt: %s", logs.String())
	}
}

// TestScrubberShapes: credentials the config does not hold (tokens the
// adapter fetched at run time) are masked by their shape.
func TestScrubberShapes(t *testing.T) {
	sc := newScrubber([]string{"configured-secret-1", "x"})
	for _, tc := range []struct{ in, leak string }{
		{`{"Authorization": "Bearer ya29.a0AfB_byC-token"}`, "ya29.a0AfB_byC-token"},
		{`authorization: bearer eyJhbGciOiJSUzI1NiJ9.e30.sig`, "eyJhbGciOiJSUzI1NiJ9"},
		{`{\"Api-Key\": \"0123456789abcdef0123\"}`, "0123456789abcdef0123"},
		{`x-goog-api-key=AIzaSyA-dynamic-1234`, "AIzaSyA-dynamic-1234"},
		{`GET /v1beta/models/g:generateContent?alt=sse&key=AIzaSyQUERY123 HTTP/1.1`, "AIzaSyQUERY123"},
		{`Credential=AKIAIOSFODNN7EXAMPLE/20261207/eu-central-1/bedrock/aws4_request`, "AKIAIOSFODNN7EXAMPLE"},
		{`the key configured-secret-1 was refused`, "configured-secret-1"},
	} {
		if got := sc.text(tc.in); strings.Contains(got, tc.leak) {
			t.Errorf("text(%q) = %q: still holds %q", tc.in, got, tc.leak)
		}
	}
	// A short configured secret does not mask ordinary words, and text
	// without credentials passes unchanged.
	if in := "max_tokens exceeds the context window"; sc.text(in) != in {
		t.Errorf("text(%q) = %q", in, sc.text(in))
	}
}

// TestInventoryHidesURLCredentials: the start-up line naming each provider
// logged its base_url whole, with a basic-auth password or an api-key query.
func TestInventoryHidesURLCredentials(t *testing.T) {
	c := parse(t, `
providers:
  - { name: box, type: openai, base_url: "http://bob:PASSWORD-123@10.0.0.5:8000/v1?api-key=QUERYSECRET-9" }
models:
  - { name: m, provider: box }
`)
	var logs lockedBuffer
	logInventory(slog.New(slog.NewTextHandler(&logs, nil)), c)
	out := logs.String()
	if strings.Contains(out, "PASSWORD-123") || strings.Contains(out, "QUERYSECRET-9") {
		t.Errorf("log holds a base_url credential: %s", out)
	}
	if !strings.Contains(out, "10.0.0.5:8000/v1") {
		t.Errorf("log lost the address: %s", out)
	}
	// The same credentials are masked when an upstream echoes them.
	sc := newScrubber(providerSecrets(c.Providers[0]))
	if got := sc.text("GET /v1/models?x=PASSWORD-123 QUERYSECRET-9"); strings.Contains(got, "PASSWORD-123") || strings.Contains(got, "QUERYSECRET-9") {
		t.Errorf("scrubber kept a base_url credential: %s", got)
	}
}

// TestRequestTextsMasked: the request's texts are masked in an error, as
// sent and JSON-escaped; the model name and short words are kept.
func TestRequestTextsMasked(t *testing.T) {
	body := []byte(`{"model":"claude-3-5-sonnet-20241022","messages":[{"role":"user","content":"my salary is \"93k\" a year"}]}`)
	sc := newScrubber(nil).withTexts(bodyTexts(body, ""))
	for _, in := range []string{
		`echo: my salary is "93k" a year`,
		`echo: {"content":"my salary is \"93k\" a year"}`,
		`{"message":"echo: {\"content\":\"my salary is \\\"93k\\\" a year\"}"}`,
	} {
		if got := sc.text(in); strings.Contains(got, "salary") {
			t.Errorf("text(%s) = %s", in, got)
		}
	}
	if in := "model claude-3-5-sonnet-20241022 not found for role user"; sc.text(in) != in {
		t.Errorf("text(%q) = %q", in, sc.text(in))
	}
	// Names the request holds as values (a field, an enum, an id) stay
	// in the gateway's own errors: "parameter \"inference_geo\" is not
	// supported" named nothing once they were masked.
	body = []byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"search_result","source":"https://example.com/a b","title":"inference_geo"}]}]}`)
	sc = newScrubber(nil).withTexts(bodyTexts(body, ""))
	if in := `parameter "search_result" of "inference_geo" is not supported`; sc.text(in) != in {
		t.Errorf("text(%q) = %q, want the names kept", in, sc.text(in))
	}
	if got := sc.text("echo: https://example.com/a b"); strings.Contains(got, "example.com/a b") {
		t.Errorf("a text with a space was not masked: %q", got)
	}
}

// answering is a provider whose calls succeed.
type answering struct{ provider.Provider }

func (answering) Chat(context.Context, policy.Permit, *llm.ChatRequest) (*llm.ChatResponse, error) {
	return &llm.ChatResponse{}, nil
}

func (answering) Embed(context.Context, policy.Permit, *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	return &llm.EmbedResponse{}, nil
}

// TestScrubFreeWhenAnswered: the wrapper walks the request only for an
// error. It once marshalled and walked the whole request after every
// successful translated call, an error or not.
func TestScrubFreeWhenAnswered(t *testing.T) {
	p := scrubProvider(answering{}, config.Provider{APIKey: "sk-configured-secret"})
	req := &llm.ChatRequest{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, strings.Repeat("a long prompt ", 100))}}
	emb := &llm.EmbedRequest{Model: "m", Input: []string{strings.Repeat("a long input ", 100)}}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := p.Chat(context.Background(), policy.Permit{}, req); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Embed(context.Background(), policy.Permit{}, emb); err != nil {
			t.Fatal(err)
		}
	}); n != 2 {
		t.Errorf("a successful Chat and Embed through the wrapper: %v allocations, want the provider's 2", n)
	}
}
