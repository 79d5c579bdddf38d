package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// flaky is a self-hosted upstream whose failure mode a test sets: a 500,
// a 429, an answer slower than the route's attempt timeout, a stream cut
// after its first chunk, or a plain answer.
type flaky struct {
	*httptest.Server
	mode atomic.Value // string
	hits atomic.Int64
}

func newFlaky(t *testing.T) *flaky {
	f := &flaky{}
	f.mode.Store("ok")
	ok := fake.NewOpenAI()
	t.Cleanup(ok.Close)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		switch f.mode.Load().(string) {
		case "500":
			http.Error(w, `{"error":{"message":"boom","type":"server_error"}}`, http.StatusInternalServerError)
		case "429":
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":{"message":"slow down","type":"rate_limit_error"}}`, http.StatusTooManyRequests)
		case "hang":
			select {
			case <-r.Context().Done():
			case <-time.After(1500 * time.Millisecond):
			}
		case "cut":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"llama\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n")
			w.(http.Flusher).Flush()
			if hj, ok := w.(http.Hijacker); ok {
				c, _, _ := hj.Hijack()
				c.Close()
			}
		default:
			ok.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func sov2Config(u *upstreams, f *flaky) string {
	return fmt.Sprintf(`
storage: { data_dir: DATA_DIR }
providers:
  - { name: prop-openai, type: openai, base_url: %q, api_key: %q, hosting: proprietary, responses: true }
  - { name: prop-anthropic, type: anthropic, base_url: %q, api_key: %q, hosting: proprietary }
  - { name: flaky, type: openai, base_url: "%s/v1", api_key: %q, hosting: self_hosted, capacity: { max_concurrency: 1, queue_size: 1, queue_timeout: 50ms } }
models:
  - { name: m-flaky, provider: flaky, upstream: llama, shadow: { candidates: [m-prop], sample_rate: 1 } }
  - { name: m-prop, provider: prop-openai, upstream: gpt-4o }
  - { name: m-prop-anthropic, provider: prop-anthropic, upstream: claude-sonnet-4-5 }
routes:
  - { name: r-fallback, strategy: fallback, targets: [m-flaky, m-prop], retry: { attempts: 3, backoff: 1ms }, timeouts: { attempt: 300ms }, breaker: { disabled: true } }
  - { name: r-balance, strategy: balance, targets: [m-flaky, m-prop-anthropic], timeouts: { attempt: 300ms }, breaker: { disabled: true } }
  - { name: r-cascade, strategy: cascade, targets: [m-flaky, m-prop], cascade: { judge: { model: m-prop-anthropic, min_score: 10 } }, timeouts: { attempt: 300ms }, breaker: { disabled: true } }
  - { name: r-cached, strategy: fallback, targets: [m-flaky, m-prop], cache: { ttl: 10m }, breaker: { disabled: true } }
policy:
  policies:
    - { name: default, on_sensitive: self_hosted_only }
`, u.openai.URL, fake.APIKey, u.anthropic.URL, fake.APIKey, f.URL, fake.APIKey)
}

// TestSelfHostedFailureNeverSpills: a request policy keeps on self-hosted
// providers is never sent to a proprietary one when the self-hosted
// target fails in any way (500, 429, a timeout, a stream cut after its
// first chunk), through a fallback with retries, a balance, a cascade
// with a proprietary judge and next target, a cached route, or a model
// shadowed by a proprietary candidate.
func TestSelfHostedFailureNeverSpills(t *testing.T) {
	u := startUpstreams(t)
	f := newFlaky(t)
	g := startGateway(t, sov2Config(u, f), "FULCRUM_MASTER_KEY="+masterKey)
	const value = "ann.leak@example.com"
	statuses := map[string]int{}
	for _, mode := range []string{"ok", "500", "429", "hang", "cut"} {
		f.mode.Store(mode)
		for _, model := range []string{"r-fallback", "r-balance", "r-cascade", "r-cached", "m-flaky"} {
			for _, stream := range []string{"false", "true"} {
				for _, path := range []string{"/v1/chat/completions", "/v1/messages"} {
					body := fmt.Sprintf(`{"model":%q,"max_tokens":20,"stream":%s,"messages":[{"role":"user","content":"write to %s"}]}`, model, stream, value)
					resp, _ := post(t, g, path, body)
					statuses[fmt.Sprintf("%s:%s:%d", mode, model, resp.StatusCode)]++
				}
			}
		}
	}
	// A clean request answered by the proprietary target and cached,
	// then the same body with a declared class.
	f.mode.Store("500")
	clean := `{"model":"r-cached","messages":[{"role":"user","content":"say hi"}]}`
	post(t, g, "/v1/chat/completions", clean)
	resp, out := post(t, g, "/v1/chat/completions", clean, "X-Fulcrum-Data-Class", "phi")
	if resp.StatusCode == http.StatusOK {
		t.Errorf("a declared class was answered from a proprietary answer in the cache: %.300s", out)
	}
	time.Sleep(300 * time.Millisecond) // the shadow queue
	fellBack := false
	for _, r := range u.openai.Log.All() {
		fellBack = fellBack || strings.Contains(string(r.Body), "say hi")
	}
	if !fellBack {
		t.Error("clean data did not fall back to the proprietary target: the test proves nothing")
	}
	t.Logf("statuses by mode: %v; self-hosted hits %d", statuses, f.hits.Load())
	for _, r := range append(u.openai.Log.All(), u.anthropic.Log.All()...) {
		if strings.Contains(string(r.Body), "leak") {
			t.Errorf("proprietary upstream %s received the value: %.300s", r.Path, r.Body)
		}
	}
	if f.hits.Load() == 0 {
		t.Error("the self-hosted upstream was never called")
	}
}

// TestEveryFormatFieldScanned sends a value in fields of each client
// format that reach the upstream (Responses, embeddings, count_tokens,
// Anthropic mcp_servers and documents) to a proprietary-only model: each
// is refused before any upstream call.
func TestEveryFormatFieldScanned(t *testing.T) {
	u := startUpstreams(t)
	f := newFlaky(t)
	g := startGateway(t, sov2Config(u, f), "FULCRUM_MASTER_KEY="+masterKey)
	b64 := base64.StdEncoding.EncodeToString([]byte("Customer: ann.leak@example.com, card 4111 1111 1111 1111"))
	tok := strings.Repeat("a8Fk29dLq0ZxP3mN7vB1Qw4Er5Ty6Ui7Op8As9D", 3)[:100]
	cases := []struct{ name, path, body string }{
		{"responses instructions", "/v1/responses", `{"model":"m-prop","instructions":"mail ann.leak@example.com","input":"hi"}`},
		{"responses input_text", "/v1/responses", `{"model":"m-prop","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"ann.leak@example.com"}]}]}`},
		{"responses input_file text", "/v1/responses", `{"model":"m-prop","input":[{"type":"message","role":"user","content":[{"type":"input_file","filename":"a.txt","file_data":"data:text/plain;base64,` + b64 + `"}]}]}`},
		{"responses schema enum", "/v1/responses", `{"model":"m-prop","input":"hi","text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object","properties":{"a":{"type":"string","enum":["ann.leak@example.com"]}}}}}}`},
		{"responses tool description", "/v1/responses", `{"model":"m-prop","input":"hi","tools":[{"type":"function","name":"f","description":"cc ann.leak@example.com","parameters":{"type":"object","properties":{}}}]}`},
		{"responses mcp authorization", "/v1/responses", `{"model":"m-prop","input":"hi","tools":[{"type":"mcp","server_label":"x","server_url":"https://mcp.example.com","authorization":"` + tok + `","require_approval":"never"}]}`},
		{"responses reasoning summary", "/v1/responses", `{"model":"m-prop","input":[{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"user is ann.leak@example.com"}]},{"type":"message","role":"user","content":"hi"}]}`},
		{"responses function_call_output", "/v1/responses", `{"model":"m-prop","input":[{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"ann.leak@example.com"}]}`},
		{"responses metadata", "/v1/responses", `{"model":"m-prop","input":"hi","metadata":{"who":"ann.leak@example.com"}}`},
		{"responses prompt variables", "/v1/responses", `{"model":"m-prop","input":"hi","prompt":{"id":"pmpt_1","variables":{"who":"ann.leak@example.com"}}}`},
		{"embeddings string", "/v1/embeddings", `{"model":"m-prop","input":"ann.leak@example.com"}`},
		{"embeddings array", "/v1/embeddings", `{"model":"m-prop","input":["hi","ann.leak@example.com"]}`},
		{"count_tokens system array", "/v1/messages/count_tokens", `{"model":"m-prop-anthropic","system":[{"type":"text","text":"mail ann.leak@example.com","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}`},
		{"count_tokens mcp token", "/v1/messages/count_tokens", `{"model":"m-prop-anthropic","messages":[{"role":"user","content":"hi"}],"mcp_servers":[{"type":"url","url":"https://mcp.example.com/sse","name":"x","authorization_token":"` + tok + `"}]}`},
		{"messages mcp token", "/v1/messages", `{"model":"m-prop-anthropic","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"mcp_servers":[{"type":"url","url":"https://mcp.example.com/sse","name":"x","authorization_token":"` + tok + `"}]}`},
		{"messages document content source", "/v1/messages", `{"model":"m-prop-anthropic","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"content","content":[{"type":"text","text":"ann.leak@example.com"}]}},{"type":"text","text":"sum"}]}]}`},
		{"messages document base64 text", "/v1/messages", `{"model":"m-prop-anthropic","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"text/plain","data":"` + b64 + `"}},{"type":"text","text":"sum"}]}]}`},
		{"messages tool_result nested", "/v1/messages", `{"model":"m-prop-anthropic","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"ann.leak@example.com"}]}]}]}`},
		{"messages container", "/v1/messages", `{"model":"m-prop-anthropic","max_tokens":5,"container":"ann.leak@example.com","messages":[{"role":"user","content":"hi"}]}`},
		{"messages styled card", "/v1/messages", `{"model":"m-prop-anthropic","max_tokens":5,"messages":[{"role":"user","content":"card \u2779\u2776\u2776\u2776 \u2776\u2776\u2776\u2776 \u2776\u2776\u2776\u2776 \u2776\u2776\u2776\u2776"}]}`},
		{"chat context split", "/v1/chat/completions", `{"model":"m-prop","messages":[{"role":"user","content":"my ssn"},{"role":"user","content":"is 078051120"}]}`},
		{"chat prediction", "/v1/chat/completions", `{"model":"m-prop","messages":[{"role":"user","content":"hi"}],"prediction":{"type":"content","content":[{"type":"text","text":"ann.leak@example.com"}]}}`},
		{"completions escaped", "/v1/completions", `{"model":"m-prop","prompt":"ann.leak\u0040example\u002ecom"}`},
	}
	for _, c := range cases {
		before := len(u.openai.Log.All()) + len(u.anthropic.Log.All())
		resp, out := post(t, g, c.path, c.body)
		after := len(u.openai.Log.All()) + len(u.anthropic.Log.All())
		t.Logf("%-34s %s -> %d", c.name, c.path, resp.StatusCode)
		// count_tokens is answered by Fulcrum's own estimate when policy
		// excludes the upstream: a 200 with nothing sent.
		if resp.StatusCode == http.StatusOK && !strings.HasSuffix(c.path, "count_tokens") || after != before {
			t.Errorf("%s: %d (%d upstream requests) %.300s", c.name, resp.StatusCode, after-before, out)
		}
	}
}
