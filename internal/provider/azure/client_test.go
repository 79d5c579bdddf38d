package azure

import (
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

func newFake(t *testing.T) *fake.Azure {
	f := fake.NewAzure(map[string]string{"gpt4o-prod": "gpt-4o", "embed-small": "text-embedding-3-small"})
	t.Cleanup(f.Close)
	return f
}

func newClient(t *testing.T, f *fake.Azure, mod func(*config.Provider)) *Client {
	t.Helper()
	cfg := config.Provider{Name: "azure-eu", Type: "azure_openai", BaseURL: f.URL, APIKey: fake.APIKey, Region: "eu", Retention: "none",
		Azure: &config.Azure{Deployments: map[string]string{"gpt-4o": "gpt4o-prod"}}}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.Client.CloseIdleConnections)
	return c
}

func userReq(text string) *llm.ChatRequest {
	return &llm.ChatRequest{Model: "gpt-4o", Messages: []llm.Message{llm.TextMessage(llm.RoleUser, text)}}
}

func collect(t *testing.T, s provider.Stream) (text string, last *llm.Chunk, n int, err error) {
	t.Helper()
	defer s.Close()
	for {
		c, rerr := s.Recv()
		if rerr != nil {
			if rerr == io.EOF {
				rerr = nil
			}
			return text, last, n, rerr
		}
		n++
		text += c.Text
		if c.FinishReason != "" || c.Usage != nil {
			last = c
		}
	}
}

func TestChatGoesToTheDeployment(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	maxT := 50
	req := userReq("Hello Azure")
	req.MaxTokens = &maxT
	resp, err := c.Chat(t.Context(), permit(c), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != fake.Reply("Hello Azure") {
		t.Errorf("text = %q", got)
	}
	if resp.Usage == nil || resp.Usage.InputTokens != fake.InputTokens {
		t.Errorf("usage = %+v", resp.Usage)
	}
	r := f.Log.All()[0]
	if r.Path != "/openai/deployments/gpt4o-prod/chat/completions?api-version="+config.DefaultAzureAPIVersion {
		t.Errorf("path = %q", r.Path)
	}
	if r.Header.Get("Api-Key") != fake.APIKey || r.Header.Get("Authorization") != "" {
		t.Errorf("auth headers: api-key %q authorization %q", r.Header.Get("Api-Key"), r.Header.Get("Authorization"))
	}
	if !strings.Contains(string(r.Body), `"max_completion_tokens":50`) {
		t.Errorf("body = %s", r.Body)
	}
}

func TestStreamSkipsPromptFilterChunk(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, func(p *config.Provider) { p.APIVersion = "2025-04-01-preview" })
	s, err := c.ChatStream(t.Context(), permit(c), userReq("one two three"))
	if err != nil {
		t.Fatal(err)
	}
	text, last, _, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if text != fake.Reply("one two three") || last == nil || last.Usage == nil || last.Usage.OutputTokens != fake.OutputTokens {
		t.Errorf("text %q last %+v", text, last)
	}
	if p := f.Log.All()[0].Path; !strings.HasSuffix(p, "api-version=2025-04-01-preview") {
		t.Errorf("path = %q", p)
	}
}

func TestContentFilter(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	_, err := c.Chat(t.Context(), permit(c), userReq("[[filtered]]"))
	e := llm.AsError(err)
	if e == nil || e.Status != http.StatusBadRequest || e.Code != "content_filter" || !strings.Contains(e.Message, "hate: high") {
		t.Fatalf("filtered prompt: %#v", err)
	}
	if _, err := c.ChatStream(t.Context(), permit(c), userReq("[[filtered]]")); llm.AsError(err) == nil || llm.AsError(err).Code != "content_filter" {
		t.Fatalf("filtered prompt, streamed: %v", err)
	}
	// A completion stopped by the filter ends with finish_reason content_filter.
	resp, err := c.Chat(t.Context(), permit(c), userReq("[[filtered-output]]"))
	if err != nil || resp.Choices[0].FinishReason != llm.FinishContentFilter {
		t.Fatalf("filtered output: %v %+v", err, resp)
	}
	s, err := c.ChatStream(t.Context(), permit(c), userReq("[[filtered-output]]"))
	if err != nil {
		t.Fatal(err)
	}
	_, last, _, err := collect(t, s)
	if err != nil || last == nil || last.FinishReason != llm.FinishContentFilter {
		t.Fatalf("filtered output streamed: %v %+v", err, last)
	}
}

func TestEntraClientCredentials(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, func(p *config.Provider) {
		p.APIKey = ""
		p.Azure.Entra = &config.AzureEntra{TenantID: fake.AzureTenant, ClientID: fake.AzureClientID, ClientSecret: fake.AzureClientSecret, TokenURL: f.TokenURL()}
	})
	for range 3 {
		if _, err := c.Chat(t.Context(), permit(c), userReq("hi")); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.TokensIssued(); n != 1 {
		t.Errorf("%d tokens issued for 3 calls, want 1 (cached)", n)
	}
	reqs := f.Log.All()
	tokReq := reqs[0]
	if !strings.Contains(string(tokReq.Body), "grant_type=client_credentials") || !strings.Contains(string(tokReq.Body), "scope=https%3A%2F%2Fcognitiveservices.azure.com%2F.default") {
		t.Errorf("token request = %s", tokReq.Body)
	}
	if h := reqs[1].Header; !strings.HasPrefix(h.Get("Authorization"), "Bearer eyJ") || h.Get("Api-Key") != "" {
		t.Errorf("chat auth = %q / %q", h.Get("Authorization"), h.Get("Api-Key"))
	}

	bad := newClient(t, f, func(p *config.Provider) {
		p.APIKey = ""
		p.Azure.Entra = &config.AzureEntra{TenantID: fake.AzureTenant, ClientID: fake.AzureClientID, ClientSecret: "wrong", TokenURL: f.TokenURL()}
	})
	_, err := bad.Chat(t.Context(), permit(bad), userReq("hi"))
	e := llm.AsError(err)
	if e == nil || e.Status != http.StatusBadGateway || e.Code != "upstream_auth_failed" {
		t.Fatalf("bad secret: %v", err)
	}
	if strings.Contains(e.Message, "wrong") {
		t.Errorf("the error reveals the secret: %s", e.Message)
	}
}

func TestTokenFromEnvAndCommand(t *testing.T) {
	f := newFake(t)
	t.Setenv("AZURE_OPENAI_TOKEN", fake.AzureStaticToken)
	c := newClient(t, f, func(p *config.Provider) { p.APIKey = ""; p.Azure.TokenEnv = "AZURE_OPENAI_TOKEN" })
	if _, err := c.Chat(t.Context(), permit(c), userReq("hi")); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "token.sh")
	count := filepath.Join(t.TempDir(), "count")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho x >> "+count+"\necho "+fake.AzureStaticToken+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	c = newClient(t, f, func(p *config.Provider) { p.APIKey = ""; p.Azure.TokenCommand = []string{script} })
	for range 2 {
		if _, err := c.Chat(t.Context(), permit(c), userReq("hi")); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(count); strings.Count(string(b), "x") != 1 {
		t.Errorf("token command ran %d times for 2 calls, want 1", strings.Count(string(b), "x"))
	}
	t.Setenv("AZURE_OPENAI_TOKEN", "")
	c = newClient(t, f, func(p *config.Provider) { p.APIKey = ""; p.Azure.TokenEnv = "AZURE_OPENAI_TOKEN" })
	if _, err := c.Chat(t.Context(), permit(c), userReq("hi")); llm.AsError(err) == nil || llm.AsError(err).Code != "upstream_auth_failed" {
		t.Errorf("empty token: %v", err)
	}
}

func TestErrors(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	_, err := c.Chat(t.Context(), permit(c), userReq("[[429]]"))
	if e := llm.AsError(err); e == nil || e.Status != 429 || e.RetryAfter.Seconds() != 1 {
		t.Errorf("429: %#v", err)
	}
	req := userReq("hi")
	req.Model = "no-such-deployment"
	_, err = c.Chat(t.Context(), permit(c), req)
	if e := llm.AsError(err); e == nil || e.Status != 404 || e.Code != "model_not_found" {
		t.Errorf("unknown deployment: %#v", err)
	}
	bad := newClient(t, f, func(p *config.Provider) { p.APIKey = "wrong" })
	_, err = bad.Chat(t.Context(), permit(bad), userReq("hi"))
	if e := llm.AsError(err); e == nil || e.Status != 502 || e.Code != "upstream_auth_failed" {
		t.Errorf("wrong key: %#v", err)
	}
}

func TestEmbeddings(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)
	out, err := c.Embed(t.Context(), permit(c), &llm.EmbedRequest{Model: "embed-small", Input: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Vectors) != 2 || out.Usage == nil {
		t.Fatalf("out = %+v", out)
	}
	if p := f.Log.All()[0].Path; !strings.HasPrefix(p, "/openai/deployments/embed-small/embeddings?api-version=") {
		t.Errorf("path = %q", p)
	}
	var body map[string]any
	_ = json.Unmarshal(f.Log.All()[0].Body, &body)
	if body["input"] == nil {
		t.Errorf("body = %v", body)
	}
}

func responsesOn(p *config.Provider) {
	on := true
	p.Responses = &on
}

// TestResponsesPassThrough: with responses: true, a Responses API body goes
// to the resource's v1 Responses API (no api-version) with the deployment
// name as its model, streamed and not, and comes back as Azure sent it.
func TestResponsesPassThrough(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, responsesOn)
	caps := c.Info().Caps
	if !caps.Responses || caps.Passthrough != "" {
		t.Fatalf("caps = %+v: want Responses pass-through only (chat stays translated)", caps)
	}
	resp, err := c.Forward(t.Context(), permit(c), &provider.RawRequest{Path: "/responses?client=query", Body: []byte(`{"model":"gpt-4o","input":"Hello Azure"}`)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out struct {
		Object string `json:"object"`
		Model  string `json:"model"`
		Output []struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"output"`
		Usage struct {
			InputTokens int64 `json:"input_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if out.Object != "response" || out.Model != "gpt-4o" || out.Usage.InputTokens != fake.InputTokens ||
		len(out.Output) == 0 || len(out.Output[0].Content) == 0 || out.Output[0].Content[0].Text != fake.Reply("Hello Azure") {
		t.Errorf("response = %s", b)
	}
	r := f.Log.All()[0]
	if r.Path != "/openai/v1/responses" {
		t.Errorf("path = %q, want /openai/v1/responses (no api-version, no client query)", r.Path)
	}
	if !strings.Contains(string(r.Body), `"model":"gpt4o-prod"`) || r.Header.Get("api-key") != fake.APIKey {
		t.Errorf("sent %s with api-key %q: want the deployment name as model", r.Body, r.Header.Get("api-key"))
	}

	resp, err = c.Forward(t.Context(), permit(c), &provider.RawRequest{Path: "/responses", Stream: true, Body: []byte(`{"model":"gpt-4o","input":"Hello stream","stream":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") || !strings.Contains(string(b), "response.completed") {
		t.Errorf("stream: %s\n%s", ct, b)
	}
}

// TestResponsesPreviewAndErrors: azure.responses_api_version selects the
// preview surface; the content filter is a 400 content_filter; an unknown
// deployment a 404 model_not_found; without responses: true nothing is
// passed through.
func TestResponsesPreviewAndErrors(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, func(p *config.Provider) {
		responsesOn(p)
		p.Azure.ResponsesAPIVersion = "2025-04-01-preview"
	})
	resp, err := c.Forward(t.Context(), permit(c), &provider.RawRequest{Path: "/responses", Body: []byte(`{"model":"gpt-4o","input":"hi"}`)})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p := f.Log.All()[0].Path; p != "/openai/responses?api-version=2025-04-01-preview" {
		t.Errorf("preview path = %q", p)
	}
	tests := []struct {
		body   string
		status int
		code   string
	}{
		{`{"model":"gpt-4o","input":"[[filtered]] text"}`, 400, "content_filter"},
		{`{"model":"no-such-model","input":"hi"}`, 404, "model_not_found"},
	}
	for _, tt := range tests {
		_, err := c.Forward(t.Context(), permit(c), &provider.RawRequest{Path: "/responses", Body: []byte(tt.body)})
		e := llm.AsError(err)
		if err == nil || e.Status != tt.status || e.Code != tt.code {
			t.Errorf("%s: err = %v (%d %s), want %d %s", tt.body, err, e.Status, e.Code, tt.status, tt.code)
		}
	}
	if _, err := c.Forward(t.Context(), permit(c), &provider.RawRequest{Path: "/chat/completions", Body: []byte(`{"model":"gpt-4o"}`)}); llm.AsError(err).Status != 400 {
		t.Errorf("chat pass-through: %v, want a 400", err)
	}
	off := newClient(t, f, nil)
	if caps := off.Info().Caps; caps.Responses {
		t.Errorf("responses unset: caps = %+v", caps)
	}
}
