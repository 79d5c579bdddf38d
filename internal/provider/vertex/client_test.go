package vertex

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// stubGemini records what New handed the Gemini factory; the Gemini path
// itself is tested through the real wiring in internal/app.
type stubGemini struct {
	provider.Provider
	info     provider.Info
	endpoint func(model, method string) string
	auth     func(context.Context, http.Header) error
}

func (g *stubGemini) Info() *provider.Info { return &g.info }

func newFake(t *testing.T) *fake.Vertex {
	f := fake.NewVertex("fake-project", "europe-west4")
	t.Cleanup(f.Close)
	return f
}

func saFile(t *testing.T, f *fake.Vertex) string {
	p := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(p, f.ServiceAccountJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newClient(t *testing.T, f *fake.Vertex, mod func(*config.Provider)) (*Client, *stubGemini) {
	t.Helper()
	cfg := config.Provider{Name: "vertex-eu", Type: "vertex", BaseURL: f.URL, Region: "eu", Retention: "none",
		Vertex: &config.Vertex{Project: "fake-project", Location: "europe-west4", CredentialsFile: saFile(t, f)}}
	if mod != nil {
		mod(&cfg)
	}
	g := &stubGemini{}
	c, err := New(cfg, func(_ config.Provider, endpoint func(string, string) string, auth func(context.Context, http.Header) error) (provider.Provider, error) {
		g.endpoint, g.auth = endpoint, auth
		return g, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	return c, g
}

const claude = "claude-sonnet-4-5@20250929"

func userReq(text string) *llm.ChatRequest {
	mt := 100
	return &llm.ChatRequest{Model: claude, MaxTokens: &mt, Messages: []llm.Message{llm.TextMessage(llm.RoleUser, text)}}
}

func TestClaudeRawPredict(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, nil)
	resp, err := c.Chat(t.Context(), permit(c), userReq("Bonjour"))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != fake.Reply("Bonjour") || resp.Usage == nil || resp.Usage.OutputTokens != fake.OutputTokens {
		t.Errorf("answer %q usage %+v", got, resp.Usage)
	}
	reqs := f.Log.All()
	if len(reqs) != 2 || reqs[0].Path != "/token" {
		t.Fatalf("requests: %+v", reqs)
	}
	r := reqs[1]
	if r.Path != "/v1/projects/fake-project/locations/europe-west4/publishers/anthropic/models/"+claude+":rawPredict" {
		t.Errorf("path = %q", r.Path)
	}
	var body map[string]any
	_ = json.Unmarshal(r.Body, &body)
	if body["anthropic_version"] != AnthropicVersion || body["model"] != nil {
		t.Errorf("body = %s", r.Body)
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ya29.") {
		t.Errorf("authorization = %q", r.Header.Get("Authorization"))
	}
}

func TestClaudeStreamAndTools(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, nil)
	req := userReq("Weather?")
	req.Tools = []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}}
	s, err := c.ChatStream(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var args, finish string
	var usage *llm.Usage
	for {
		ch, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ch.ToolCalls {
			args += d.Arguments
		}
		if ch.FinishReason != "" {
			finish = ch.FinishReason
		}
		if ch.Usage != nil {
			usage = ch.Usage
		}
	}
	if args != fake.ToolArgs || finish != llm.FinishToolCalls || usage == nil {
		t.Errorf("args %q finish %q usage %+v", args, finish, usage)
	}
	if p := f.Log.All()[1].Path; !strings.HasSuffix(p, ":streamRawPredict") {
		t.Errorf("path = %q", p)
	}
	if n := f.TokensIssued(); n != 1 {
		t.Errorf("%d tokens issued", n)
	}
}

func TestTokenReusedAndErrors(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, nil)
	for range 3 {
		if _, err := c.Chat(t.Context(), permit(c), userReq("hi")); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.TokensIssued(); n != 1 {
		t.Errorf("%d tokens for 3 calls, want 1", n)
	}
	_, err := c.Chat(t.Context(), permit(c), userReq("[[429]]"))
	if e := llm.AsError(err); e == nil || e.Status != 429 || e.RetryAfter == 0 {
		t.Errorf("429: %#v", err)
	}
	// A key the token endpoint does not know: no token, 502.
	other := fake.NewVertex("fake-project", "europe-west4")
	defer other.Close()
	bad, _ := newClient(t, f, func(p *config.Provider) {
		p.Vertex.CredentialsFile = saFile(t, other)
		p.Vertex.TokenURL = f.TokenURL()
	})
	_, err = bad.Chat(t.Context(), permit(bad), userReq("hi"))
	if e := llm.AsError(err); e == nil || e.Status != http.StatusBadGateway || e.Code != "upstream_auth_failed" {
		t.Errorf("bad key: %#v", err)
	}
	missing, _ := newClient(t, f, func(p *config.Provider) { p.Vertex.CredentialsFile = "/nonexistent/sa.json" })
	if _, err := missing.Chat(t.Context(), permit(missing), userReq("hi")); llm.AsError(err) == nil || llm.AsError(err).Code != "upstream_auth_failed" {
		t.Errorf("missing file: %v", err)
	}
}

func TestTokenURLOverride(t *testing.T) {
	f := newFake(t)
	// A key file whose token_uri points elsewhere; token_url wins.
	var sa map[string]any
	_ = json.Unmarshal(f.ServiceAccountJSON(), &sa)
	sa["token_uri"] = "http://127.0.0.1:1/token"
	b, _ := json.Marshal(sa)
	p := filepath.Join(t.TempDir(), "sa.json")
	_ = os.WriteFile(p, b, 0o600)
	c, g := newClient(t, f, func(pc *config.Provider) { pc.Vertex.CredentialsFile = p; pc.Vertex.TokenURL = f.TokenURL() })
	if _, err := c.Chat(t.Context(), permit(c), userReq("hi")); err != nil {
		t.Fatal(err)
	}
	// The Gemini half gets Vertex's URL and the same credentials.
	if u := g.endpoint("gemini-2.5-flash", ":generateContent"); u != f.URL+"/projects/fake-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent" {
		t.Errorf("gemini endpoint = %q", u)
	}
	h := http.Header{}
	if err := g.auth(t.Context(), h); err != nil || !strings.HasPrefix(h.Get("Authorization"), "Bearer ya29.") {
		t.Errorf("gemini auth: %v %q", err, h.Get("Authorization"))
	}
}

func TestEmbeddings(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f, nil)
	out, err := c.Embed(t.Context(), permit(c), &llm.EmbedRequest{Model: "gemini-embedding-001", Input: []string{"a b", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Vectors) != 2 || out.Usage == nil || out.Usage.InputTokens != 3 {
		t.Fatalf("out = %+v", out)
	}
	out, err = c.Embed(t.Context(), permit(c), &llm.EmbedRequest{Model: "text-embedding-005", Input: []string{"a", "b", "c"}})
	if err != nil || len(out.Vectors) != 3 {
		t.Fatalf("text-embedding-005: %v %+v", err, out)
	}
	// 1 token + 2 gemini-embedding calls + 1 batched call.
	if n := len(f.Log.All()); n != 4 {
		t.Errorf("%d requests", n)
	}
	if _, err := c.Embed(t.Context(), permit(c), &llm.EmbedRequest{Model: claude, Input: []string{"x"}}); llm.AsError(err) == nil || llm.AsError(err).Status != 400 {
		t.Errorf("claude embed: %v", err)
	}
}
