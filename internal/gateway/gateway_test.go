package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/provider/openai"
	"github.com/fulcrumhq/fulcrum/internal/router"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

type env struct {
	oa  *fake.OpenAI
	an  *fake.Anthropic
	srv *httptest.Server
}

func newEnv(t testing.TB) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith builds the env with tweak applied to the gateway's options.
func newEnvWith(t testing.TB, tweak func(o *gateway.Options)) *env {
	t.Helper()
	e := &env{oa: fake.NewOpenAI(), an: fake.NewAnthropic()}
	po, err := openai.New(config.Provider{Name: "p-openai", Type: "openai", BaseURL: e.oa.URL, APIKey: fake.APIKey, Hosting: "proprietary"})
	if err != nil {
		t.Fatal(err)
	}
	pa, err := anthropic.New(config.Provider{Name: "p-anthropic", Type: "anthropic", BaseURL: e.an.URL, APIKey: fake.APIKey, Hosting: "proprietary", APIVersion: "2023-06-01"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Providers: []config.Provider{{Name: "p-openai", Type: "openai"}, {Name: "p-anthropic", Type: "anthropic"}},
		Models: []config.Model{
			{Name: "m-openai", Provider: "p-openai", Upstream: "gpt-4o", Type: "chat"},
			{Name: "m-anthropic", Provider: "p-anthropic", Upstream: "claude-sonnet-4-5", Type: "chat"},
		},
	}
	r, err := router.New(cfg, map[string]provider.Provider{"p-openai": po, "p-anthropic": pa}, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := gateway.Options{Router: r}
	if tweak != nil {
		tweak(&o)
	}
	e.srv = httptest.NewServer(gateway.New(o))
	t.Cleanup(func() {
		e.srv.Close()
		e.oa.Close()
		e.an.Close()
		for _, p := range []provider.Provider{po, pa} {
			if c, ok := p.(interface{ CloseIdleConnections() }); ok {
				c.CloseIdleConnections()
			}
		}
		http.DefaultClient.CloseIdleConnections()
	})
	return e
}

// postKey POSTs a JSON body to url with key as its bearer token and the
// given header pairs, and returns the status and the answer.
func postKey(t testing.TB, url, key, body string, hdr ...string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (e *env) post(t *testing.T, path, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(e.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestPassThroughForwardsBytes: an OpenAI client calling an OpenAI-format
// upstream has its body forwarded unchanged but for the model name.
func TestPassThroughForwardsBytes(t *testing.T) {
	e := newEnv(t)
	body := `{"model":"m-openai",  "messages":[{"role":"user","content":"hi \u00e9"}],"logprobs":true,"x_vendor_field":{"a":[1,2]}}`
	resp, out := e.post(t, "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	got := e.oa.Log.All()
	if len(got) != 1 {
		t.Fatalf("upstream got %d requests", len(got))
	}
	want := strings.Replace(body, `"m-openai"`, `"gpt-4o"`, 1)
	if string(got[0].Body) != want {
		t.Errorf("upstream body re-encoded:\n got %s\nwant %s", got[0].Body, want)
	}
}

// TestStreamUsageStripped: a client that streams without asking for usage
// does not see the usage chunk Fulcrum asked the upstream for.
func TestStreamUsageStripped(t *testing.T) {
	e := newEnv(t)
	_, out := e.post(t, "/v1/chat/completions", `{"model":"m-openai","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if strings.Contains(out, `"usage":{`) {
		t.Errorf("usage chunk reached a client that did not ask for it:\n%s", out)
	}
	if !strings.HasSuffix(out, "data: [DONE]\n\n") {
		t.Errorf("stream does not end with [DONE]:\n%s", out)
	}
	sent := e.oa.Log.All()[0].Body
	if !bytes.Contains(sent, []byte(`"include_usage":true`)) {
		t.Errorf("upstream was not asked for usage: %s", sent)
	}
	_, out = e.post(t, "/v1/chat/completions", `{"model":"m-openai","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	if strings.Count(out, `"usage":{`) != 1 {
		t.Errorf("want exactly one usage chunk:\n%s", out)
	}
}

// TestUnsupportedParameter: a parameter the target cannot honour is a 400,
// not silently dropped.
func TestUnsupportedParameter(t *testing.T) {
	e := newEnv(t)
	resp, out := e.post(t, "/v1/chat/completions", `{"model":"m-anthropic","logprobs":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 400 || !strings.Contains(out, "logprobs") {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	if n := len(e.an.Log.All()); n != 0 {
		t.Errorf("upstream was called %d times", n)
	}
}

// TestCrossFormatStreamNoLeak streams Anthropic-in/OpenAI-out and back, and
// (through TestMain's goleak) checks no goroutine outlives the requests.
func TestCrossFormatStreamNoLeak(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 20; i++ {
		_, out := e.post(t, "/v1/messages", `{"model":"m-openai","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		if !strings.Contains(out, "event: message_stop") {
			t.Fatalf("anthropic stream from openai upstream incomplete:\n%s", out)
		}
		_, out = e.post(t, "/v1/chat/completions", `{"model":"m-anthropic","stream":true,"messages":[{"role":"user","content":"[[cut]]"}]}`)
		if strings.Contains(out, "[DONE]") {
			t.Fatalf("cut stream ended with [DONE]:\n%s", out)
		}
	}
}

func TestOperationalEndpoints(t *testing.T) {
	e := newEnv(t)
	e.post(t, "/v1/chat/completions", `{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`)
	for path, want := range map[string]string{
		"/healthz":   `"ok"`,
		"/readyz":    `"ready"`,
		"/metrics":   `fulcrum_requests_total{model="m-openai",provider="p-openai",status="200"} 1`,
		"/v1/models": `"m-anthropic"`,
	} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d, want %q in:\n%.2000s", path, resp.StatusCode, want, b)
		}
	}
	resp, out := e.post(t, "/v1/nonsense", `{}`)
	var er struct{ Error struct{ Message string } }
	if resp.StatusCode != 404 || json.Unmarshal([]byte(out), &er) != nil || er.Error.Message == "" {
		t.Errorf("unknown path: %d %s", resp.StatusCode, out)
	}
}

func TestAdminHealthNeedsMasterKey(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/admin/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("admin without a master key configured: %d, want 403", resp.StatusCode)
	}
}

func TestCountTokens(t *testing.T) {
	e := newEnv(t)
	resp, out := e.post(t, "/v1/messages/count_tokens", `{"model":"m-anthropic","system":"be brief","messages":[{"role":"user","content":"Hello there, how are you today?"}]}`)
	var got struct {
		InputTokens int64 `json:"input_tokens"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(out), &got) != nil || got.InputTokens < 5 {
		t.Fatalf("count_tokens: %d %s", resp.StatusCode, out)
	}
	if n := len(e.an.Log.All()); n != 0 {
		t.Errorf("count_tokens called the upstream %d times", n)
	}
	resp, out = e.post(t, "/v1/messages/count_tokens", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 404 || !strings.Contains(out, "not_found_error") {
		t.Errorf("unknown model: %d %s", resp.StatusCode, out)
	}
}
