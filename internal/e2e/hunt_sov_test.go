package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// Attacks on the sovereignty guarantee from outside, through the real
// binary: each sends a sensitive value somewhere the body scan alone would
// not see it, and checks what the proprietary fakes recorded (path, query,
// headers and body), not just the status.

// TestForwardedQueryAndHeadersScanned: an Anthropic-format request passed
// through to an Anthropic upstream carries the client's query string and
// its anthropic-beta header along with the body. Both leave the building,
// so both are scanned; a value in them cannot be redacted (they are
// forwarded as sent), so it keeps the request on self-hosted providers.
func TestForwardedQueryAndHeadersScanned(t *testing.T) {
	u := startUpstreams(t)
	local := fake.NewOpenAI()
	t.Cleanup(local.Close)
	g := startGateway(t, leakConfig(u, local), "FULCRUM_MASTER_KEY="+masterKey)

	const card, mail = "4111111111111111", "ann.leak@example.com"
	body := func(model string) string {
		return `{"model":"` + model + `","max_tokens":20,"messages":[{"role":"user","content":"hello"}]}`
	}
	cases := []struct {
		name, path, model string
		hdr               []string
		want              int
	}{
		{"query, proprietary-only", "/v1/messages?note=" + card, "m-prop-anthropic", nil, http.StatusForbidden},
		{"escaped query", "/v1/messages?note=ann.leak%40example.com", "m-prop-anthropic", nil, http.StatusForbidden},
		{"query key", "/v1/messages?" + card + "=1", "m-prop-anthropic", nil, http.StatusForbidden},
		{"query, redacting model", "/v1/messages?note=" + card, "m-redact-anthropic", nil, http.StatusForbidden},
		{"beta header", "/v1/messages", "m-prop-anthropic", []string{"Anthropic-Beta", "tools-2024-04-04," + mail}, http.StatusForbidden},
		{"beta header, redacting model", "/v1/messages", "m-redact-anthropic", []string{"Anthropic-Beta", mail}, http.StatusForbidden},
		{"query the upstream could read differently", "/v1/messages?note=ann.leak%zzexample.com", "m-prop-anthropic", nil, http.StatusBadRequest},
		{"query, route with a self-hosted target", "/v1/messages?note=" + card, "r-ok", nil, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u.anthropic.Log.Reset()
			u.openai.Log.Reset()
			resp, out := post(t, g, c.path, body(c.model), c.hdr...)
			if resp.StatusCode != c.want {
				t.Errorf("status %d, want %d: %.300s", resp.StatusCode, c.want, out)
			}
			if c.want == http.StatusForbidden && !strings.Contains(string(out), `"type":"error","error":{"type":"policy_error"`) {
				t.Errorf("refusal is not an Anthropic policy_error: %.300s", out)
			}
			if c.want == http.StatusBadRequest && !strings.Contains(string(out), `"type":"error","error":{"type":"invalid_request_error","message":"the query string could not be parsed`) {
				t.Errorf("refusal is not an Anthropic invalid_request_error about the query: %.300s", out)
			}
			if c.want == http.StatusOK && resp.Header.Get("X-Fulcrum-Provider") != "local" {
				t.Errorf("served by %q, want the self-hosted local", resp.Header.Get("X-Fulcrum-Provider"))
			}
			for _, r := range append(u.anthropic.Log.All(), u.openai.Log.All()...) {
				seen := r.Path + " " + strings.Join(r.Header.Values("Anthropic-Beta"), ",") + " " + string(r.Body)
				if strings.Contains(seen, card) || strings.Contains(seen, mail) || strings.Contains(seen, "ann.leak%40") {
					t.Errorf("proprietary upstream received the value: %s", seen)
				}
			}
		})
	}

	// Clean feature flags still reach the upstream: Claude Code's
	// ?beta=true and a beta header.
	u.anthropic.Log.Reset()
	resp, out := post(t, g, "/v1/messages?beta=true", body("m-prop-anthropic"), "Anthropic-Beta", "prompt-caching-2024-07-31")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("clean request: %d %.300s", resp.StatusCode, out)
	}
	got := u.anthropic.Log.All()
	if len(got) != 1 || got[0].Path != "/v1/messages?beta=true" || got[0].Header.Get("Anthropic-Beta") != "prompt-caching-2024-07-31" {
		t.Errorf("clean flags not forwarded: %+v", got)
	}
}

// TestTracestateScanned: with tracing on, the client's W3C tracestate is
// passed on to every upstream (docs/tracing.md), proprietary ones too. It
// is client text that leaves the building, so it is scanned like the
// body; a value found in it keeps the request on self-hosted providers.
func TestTracestateScanned(t *testing.T) {
	u := startUpstreams(t)
	local := fake.NewOpenAI()
	t.Cleanup(local.Close)
	g := startGateway(t, leakConfig(u, local), "FULCRUM_MASTER_KEY="+masterKey, "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1")
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	cases := []struct {
		name, path, body, state string
		want                    int
	}{
		{"chat, card", "/v1/chat/completions", `{"model":"m-prop","messages":[{"role":"user","content":"hello"}]}`, "acme=4111111111111111", http.StatusForbidden},
		{"messages, email", "/v1/messages", `{"model":"m-prop-anthropic","max_tokens":20,"messages":[{"role":"user","content":"hello"}]}`, "acme=ann.leak@example.com", http.StatusForbidden},
		{"redacting model", "/v1/chat/completions", `{"model":"m-redact","messages":[{"role":"user","content":"hello"}]}`, "acme=ann.leak@example.com", http.StatusForbidden},
		{"clean", "/v1/chat/completions", `{"model":"m-prop","messages":[{"role":"user","content":"hello"}]}`, "acme=00f067aa0ba902b7", http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u.anthropic.Log.Reset()
			u.openai.Log.Reset()
			resp, out := post(t, g, c.path, c.body, "Traceparent", parent, "Tracestate", c.state)
			if resp.StatusCode != c.want {
				t.Errorf("status %d, want %d: %.300s", resp.StatusCode, c.want, out)
			}
			if c.want == http.StatusForbidden && !strings.Contains(string(out), `"policy_error"`) {
				t.Errorf("refusal is not a policy_error: %.300s", out)
			}
			got := append(u.anthropic.Log.All(), u.openai.Log.All()...)
			for _, r := range got {
				if ts := r.Header.Get("Tracestate"); c.want != http.StatusOK && ts != "" {
					t.Errorf("proprietary upstream received tracestate %q", ts)
				}
			}
			if c.want == http.StatusOK && (len(got) != 1 || got[0].Header.Get("Tracestate") != c.state) {
				t.Errorf("a clean tracestate is still passed on: %d requests", len(got))
			}
		})
	}
}

// TestSplitValueKeptHome: a card split across two content parts, or two
// messages, reaches the model as one number; it is found at the seam and
// cannot be redacted in one piece, so it never reaches a proprietary
// upstream, even for a redacting model.
func TestSplitValueKeptHome(t *testing.T) {
	u := startUpstreams(t)
	local := fake.NewOpenAI()
	t.Cleanup(local.Close)
	g := startGateway(t, leakConfig(u, local), "FULCRUM_MASTER_KEY="+masterKey)
	cases := []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"m-prop","messages":[{"role":"user","content":[{"type":"text","text":"card 4111 1111 "},{"type":"text","text":"1111 1111"}]}]}`},
		{"/v1/chat/completions", `{"model":"m-redact","messages":[{"role":"user","content":"card 4111 1111"},{"role":"user","content":"1111 1111"}]}`},
		{"/v1/messages", `{"model":"m-redact-anthropic","max_tokens":20,"messages":[{"role":"user","content":[{"type":"text","text":"mail ann.leak@"},{"type":"text","text":"example.com"}]}]}`},
	}
	for _, c := range cases {
		u.anthropic.Log.Reset()
		u.openai.Log.Reset()
		resp, out := post(t, g, c.path, c.body)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(out), `"policy_error"`) {
			t.Errorf("%s: %d %.300s, want 403 policy_error", c.body, resp.StatusCode, out)
		}
		if n := len(u.anthropic.Log.All()) + len(u.openai.Log.All()); n != 0 {
			t.Errorf("%s: %d requests reached a proprietary upstream", c.body, n)
		}
	}
}
