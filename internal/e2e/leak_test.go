package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// sensitive values of several classes; none may reach a proprietary
// upstream when policy keeps them on self-hosted models or redacts them.
var sensitive = []string{
	"jane.roe@example.org",
	"4111 1111 1111 1111",         // Visa, Luhn-valid
	"DE89 3704 0044 0532 0130 00", // IBAN
	"+44 20 7946 0958",            // UK phone
	"078-05-1120",                 // US SSN format
	"sk-proj-abcDEF1234567890abcDEF1234567890abcd",
	"MRN: 00123456",
}

func leakConfig(u *upstreams, local *fake.OpenAI) string {
	return fmt.Sprintf(`
storage: { data_dir: DATA_DIR }
providers:
  - { name: prop-openai, type: openai, base_url: %q, api_key: %q, hosting: proprietary }
  - { name: prop-anthropic, type: anthropic, base_url: %q, api_key: %q, hosting: proprietary }
  - { name: local-down, type: openai, base_url: "http://127.0.0.1:1/v1", hosting: self_hosted }
  - { name: local, type: openai, base_url: %q, api_key: %q, hosting: self_hosted }
models:
  - { name: m-prop, provider: prop-openai, upstream: gpt-4o }
  - { name: m-prop-anthropic, provider: prop-anthropic, upstream: claude-sonnet-4-5 }
  - { name: m-down, provider: local-down, upstream: llama }
  - { name: m-local, provider: local, upstream: llama }
  - { name: m-redact, provider: prop-openai, upstream: gpt-4o, policy: scrub }
  - { name: m-redact-anthropic, provider: prop-anthropic, upstream: claude-sonnet-4-5, policy: scrub }
routes:
  - { name: r-down, strategy: fallback, targets: [m-down, m-prop] }
  - { name: r-ok, strategy: fallback, targets: [m-local, m-prop-anthropic] }
policy:
  policies:
    - { name: default, on_sensitive: self_hosted_only }
    - { name: scrub, on_sensitive: redact }
`, u.openai.URL, fake.APIKey, u.anthropic.URL, fake.APIKey, local.URL, fake.APIKey)
}

// TestNoSensitiveValueReachesProprietary sends hundreds of requests
// carrying sensitive values through both ingress formats, streaming and
// not, and checks the proprietary fakes never saw a value: a route whose
// self-hosted target is down fails rather than falling back, and redacted
// requests come back restored.
func TestNoSensitiveValueReachesProprietary(t *testing.T) {
	u := startUpstreams(t)
	local := fake.NewOpenAI()
	t.Cleanup(local.Close)
	g := startGateway(t, leakConfig(u, local), "FULCRUM_MASTER_KEY="+masterKey)

	type reqCase struct {
		path, model string
		stream      bool
		wantStatus  int
		restored    bool // the answer must echo the original value
	}
	var cases []reqCase
	for _, stream := range []bool{false, true} {
		cases = append(cases,
			reqCase{"/v1/chat/completions", "r-down", stream, 503, false},
			reqCase{"/v1/messages", "r-down", stream, 503, false},
			reqCase{"/v1/chat/completions", "m-prop", stream, 403, false},
			reqCase{"/v1/messages", "m-prop-anthropic", stream, 403, false},
			reqCase{"/v1/chat/completions", "r-ok", stream, 200, true},
			reqCase{"/v1/messages", "r-ok", stream, 200, true},
			reqCase{"/v1/chat/completions", "m-redact", stream, 200, true},
			reqCase{"/v1/messages", "m-redact", stream, 200, true},
			reqCase{"/v1/chat/completions", "m-redact-anthropic", stream, 200, true},
			reqCase{"/v1/messages", "m-redact-anthropic", stream, 200, true},
		)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	var mu sync.Mutex
	var failures []string
	n := 0
	for round := 0; round < 3; round++ {
		for _, v := range sensitive {
			for _, c := range cases {
				n++
				wg.Add(1)
				sem <- struct{}{}
				go func(c reqCase, v string) {
					defer wg.Done()
					defer func() { <-sem }()
					text := "Please update my record, the value is " + v + " thanks"
					var body string
					if c.path == "/v1/messages" {
						body = fmt.Sprintf(`{"model":%q,"max_tokens":100,"stream":%v,"system":"be brief","messages":[{"role":"user","content":%s}]}`, c.model, c.stream, jsonString(text))
					} else {
						body = fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":%s}]}`, c.model, c.stream, jsonString(text))
					}
					resp, out := post(t, g, c.path, body)
					fail := func(format string, args ...any) {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("%s %s stream=%v %q: ", c.path, c.model, c.stream, v)+fmt.Sprintf(format, args...))
						mu.Unlock()
					}
					// A route whose only permitted (self-hosted) target is
					// down fails with 503, a model that policy excludes
					// entirely with 403: both policy_error
					// no_compliant_target, never a fallback.
					if resp.StatusCode != c.wantStatus {
						fail("status %d, want %d: %.300s", resp.StatusCode, c.wantStatus, out)
						return
					}
					if c.wantStatus != 200 && !strings.Contains(string(out), `"policy_error"`) {
						fail("refusal is not a policy_error: %.300s", out)
					}
					if c.wantStatus != 200 && c.path == "/v1/chat/completions" && !strings.Contains(string(out), `"no_compliant_target"`) {
						fail("refusal lacks code no_compliant_target: %.300s", out)
					}
					if resp.Header.Get("X-Fulcrum-Data-Classes") == "" {
						fail("no x-fulcrum-data-classes header")
					}
					if strings.Contains(string(out), v) != c.restored && c.wantStatus == 200 {
						// Streams split the value across chunks; compare
						// the concatenated text deltas instead.
						if !c.stream || !strings.Contains(streamText(string(out)), v) {
							fail("answer does not contain the restored value: %.400s", out)
						}
					}
					if c.wantStatus != 200 && strings.Contains(string(out), v) {
						fail("error body echoes the sensitive value")
					}
				}(c, v)
			}
		}
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if n < 200 {
		t.Fatalf("only %d requests", n)
	}

	// The proprietary fakes got the redacted requests, and nothing else
	// carrying a value.
	propReqs := append(u.openai.Log.All(), u.anthropic.Log.All()...)
	if len(propReqs) == 0 {
		t.Fatal("proprietary fakes received nothing: redaction path untested")
	}
	for _, r := range propReqs {
		for _, v := range sensitive {
			if strings.Contains(string(r.Body), v) || strings.Contains(string(r.Body), strings.ReplaceAll(v, " ", "")) {
				t.Errorf("proprietary upstream %s received %q", r.Path, v)
			}
		}
		if !strings.Contains(string(r.Body), "[") {
			t.Errorf("proprietary request without a placeholder: %.200s", r.Body)
		}
	}
	if len(local.Log.All()) == 0 {
		t.Error("self-hosted fake received nothing")
	}
	// A clean request still falls back to the proprietary target: the
	// boundary is policy, not a broken route.
	resp, out := post(t, g, "/v1/chat/completions", `{"model":"r-down","messages":[{"role":"user","content":"hello there"}]}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Fulcrum-Provider") != "prop-openai" {
		t.Errorf("clean request on r-down: %d %s %s", resp.StatusCode, resp.Header.Get("X-Fulcrum-Provider"), out)
	}
}

// streamText concatenates the text deltas of an OpenAI or Anthropic stream.
func streamText(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		for _, key := range []string{`"content":"`, `"text":"`} {
			if i := strings.Index(line, key); i >= 0 {
				rest := line[i+len(key):]
				if j := strings.Index(rest, `"`); j >= 0 {
					b.WriteString(rest[:j])
				}
			}
		}
	}
	return b.String()
}
