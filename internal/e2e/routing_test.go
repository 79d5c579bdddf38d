package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

// TestFallbackRecordsEveryAttempt: a route whose first target is down
// answers from the second; the client sees one response, both attempts are
// recorded (the failed one at no cost), and the dead target's breaker opens.
func TestFallbackRecordsEveryAttempt(t *testing.T) {
	u := startUpstreams(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
storage: { data_dir: DATA_DIR }
metering: { flush_interval: 5ms }
providers:
  - { name: dead, type: openai, base_url: "http://127.0.0.1:1/v1", hosting: proprietary }
  - { name: p-anthropic, type: anthropic, base_url: %q, api_key: %q }
models:
  - { name: m-dead, provider: dead, upstream: gpt-4o }
  - { name: m-anthropic, provider: p-anthropic, upstream: claude-sonnet-4-5 }
routes:
  - name: r
    strategy: fallback
    targets: [m-dead, m-anthropic]
    breaker: { failures: 3, cooldown: 1m }
`, u.anthropic.URL, fake.APIKey)
	g := startGatewayIn(t, dir, cfg, "FULCRUM_MASTER_KEY="+masterKey)
	var ids []string
	for i := 0; i < 6; i++ {
		resp, body := post(t, g, "/v1/chat/completions", `{"model":"r","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != 200 || resp.Header.Get("X-Fulcrum-Provider") != "p-anthropic" || !strings.Contains(string(body), fake.Reply("hi")) {
			t.Fatalf("request %d: %d %s %s", i, resp.StatusCode, resp.Header.Get("X-Fulcrum-Provider"), body)
		}
		ids = append(ids, resp.Header.Get("X-Request-Id"))
	}
	req, _ := http.NewRequest("GET", g.URL+"/admin/health", nil)
	req.Header.Set("Authorization", "Bearer "+masterKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Targets []struct{ Model, State string }
	}
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	for _, tg := range h.Targets {
		if tg.Model == "m-dead" && tg.State != "open" {
			t.Errorf("dead target's breaker is %q after repeated failures", tg.State)
		}
	}
	if err := g.Stop(); err != nil {
		t.Fatal(err)
	}
	st, err := open.Store(context.Background(), "sqlite://"+filepath.Join(dir, "fulcrum.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Usage(context.Background(), store.UsageFilter{RequestID: ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("first request: %d attempt records, want 2: %+v", len(recs), recs)
	}
	failed, served := recs[0], recs[1]
	if failed.Provider != "dead" || failed.Status < 500 || failed.CostNanos != 0 || failed.Attempt != 1 {
		t.Errorf("failed attempt: %+v", failed)
	}
	if served.Provider != "p-anthropic" || served.Status != 200 || served.CostNanos == 0 || served.Attempt != 2 || served.Model != "r" {
		t.Errorf("served attempt: %+v", served)
	}
	// Once the breaker is open, later requests skip the dead target: one
	// attempt each.
	last, err := st.Usage(context.Background(), store.UsageFilter{RequestID: ids[5]})
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != 1 {
		t.Errorf("with the breaker open: %d attempts, want 1", len(last))
	}
}

// TestDemoRoutes serves examples/demo.yaml (replayed GPT-4 and Mixtral
// answers) and checks the cascade and the prompt router pick real targets,
// and that a sensitive prompt stays on the self-hosted model.
func TestDemoRoutes(t *testing.T) {
	demo, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	g := startGatewayIn(t, dir, string(demo), "FULCRUM_MASTER_KEY="+masterKey, "FULCRUM_DATA_DIR="+dir)
	q := "A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total does it take?"
	for _, tc := range []struct {
		model, extra, wantProvider string
		stream                     bool
	}{
		{"cascade", "", "mixtral-8x7b", false}, // Mixtral's answer has a number: accepted
		{"cascade", "", "mixtral-8x7b", true},  // stream: buffer replays the accepted answer
		{"smart", " Reply to ann@example.com", "mixtral-8x7b", false},
		{"gpt-4", "", "gpt-4", false},
	} {
		body := fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":%s}]}`, tc.model, tc.stream, jsonString(q+tc.extra))
		resp, out := post(t, g, "/v1/chat/completions", body)
		if resp.StatusCode != 200 || resp.Header.Get("X-Fulcrum-Provider") != tc.wantProvider {
			t.Errorf("%s stream=%v: %d from %q, want %q: %.300s", tc.model, tc.stream, resp.StatusCode, resp.Header.Get("X-Fulcrum-Provider"), tc.wantProvider, out)
			continue
		}
		if tc.stream && !strings.Contains(string(out), "[DONE]") {
			t.Errorf("cascade stream incomplete: %s", out)
		}
	}
	resp, out := post(t, g, "/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":`+jsonString(q)+`}]}`)
	if resp.StatusCode != 200 || (resp.Header.Get("X-Fulcrum-Provider") != "gpt-4" && resp.Header.Get("X-Fulcrum-Provider") != "mixtral-8x7b") {
		t.Errorf("prompt router: %d %s %.200s", resp.StatusCode, resp.Header.Get("X-Fulcrum-Provider"), out)
	}
	resp, out = post(t, g, "/v1/chat/completions", `{"model":"gpt-4","messages":[{"role":"user","content":"a question nobody recorded"}]}`)
	if resp.StatusCode != 404 || !strings.Contains(string(out), "no recorded answer") {
		t.Errorf("unknown prompt: %d %s", resp.StatusCode, out)
	}
}

// TestCascadeJudgeIsMetered: a cascade judge's own call is recorded as
// attempt 0 of the request it judged.
func TestCascadeJudgeIsMetered(t *testing.T) {
	u := startUpstreams(t)
	dir := t.TempDir()
	cfg := strings.Replace(u.config(), "storage: { data_dir: DATA_DIR }", "storage: { data_dir: DATA_DIR }\nmetering: { flush_interval: 5ms }", 1) + `
routes:
  - name: judged
    strategy: cascade
    targets: [m-openai, m-anthropic]
    cascade: { judge: { model: m-gemini, min_score: 7 } }
`
	g := startGatewayIn(t, dir, cfg, "FULCRUM_MASTER_KEY="+masterKey)
	resp, body := post(t, g, "/v1/chat/completions", `{"model":"judged","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	id := resp.Header.Get("X-Request-Id")
	if err := g.Stop(); err != nil {
		t.Fatal(err)
	}
	st, err := open.Store(context.Background(), "sqlite://"+filepath.Join(dir, "fulcrum.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Usage(context.Background(), store.UsageFilter{RequestID: id})
	if err != nil {
		t.Fatal(err)
	}
	var judged bool
	for _, r := range recs {
		if r.Attempt == 0 && r.Provider == "p-gemini" && r.InputTokens > 0 && r.CostNanos > 0 {
			judged = true
		}
	}
	if !judged {
		t.Errorf("no metered judge call among the request's records: %+v", recs)
	}
}
