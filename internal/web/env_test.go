package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/app"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

const masterKey = "mk-ui-test-0123456789"

// gw is the whole gateway (app.Build: store, metering, policy, keys, the
// dashboard) over fake upstreams: one proprietary, one self-hosted.
type gw struct {
	URL   string
	store store.Store
}

func startGateway(t *testing.T) *gw {
	t.Helper()
	oa, self := fake.NewOpenAI(), fake.NewOpenAI()
	t.Cleanup(oa.Close)
	t.Cleanup(self.Close)
	dir := t.TempDir()
	y := fmt.Sprintf(`
server: { master_key: %q }
storage: { data_dir: %q }
metering: { flush_interval: 5ms }
providers:
  - { name: openai, type: openai, base_url: %q, api_key: %q, hosting: proprietary }
  - { name: gpu, type: openai, base_url: %q, api_key: %q, hosting: self_hosted, cost: { per_million_usd: 0.5 } }
models:
  - { name: m-openai, provider: openai, upstream: gpt-4o }
  - { name: m-llama, provider: gpu, upstream: llama-3.1-8b }
policy:
  policies:
    - name: default
      on_sensitive: self_hosted_only
      classes: { email: redact, payment_card: block }
`, masterKey, dir, oa.URL, fake.APIKey, self.URL, fake.APIKey)
	cfg, err := config.Parse([]byte(y), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g, err := app.Build(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler)
	t.Cleanup(func() { srv.Close(); g.Close() })
	return &gw{URL: srv.URL, store: g.Store}
}

func (g *gw) chat(t *testing.T, key, model, text string) int {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}]}`, model, text)
	req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// traffic puts known requests through the gateway and waits until the
// recorder has committed them: 3 proprietary, 2 self-hosted, one with an
// email address (redacted), one with a card number (refused).
func (g *gw) traffic(t *testing.T) {
	t.Helper()
	for i := 0; i < 3; i++ {
		if st := g.chat(t, masterKey, "m-openai", "hello"); st != 200 {
			t.Fatalf("m-openai: %d", st)
		}
	}
	for i := 0; i < 2; i++ {
		if st := g.chat(t, masterKey, "m-llama", "hello"); st != 200 {
			t.Fatalf("m-llama: %d", st)
		}
	}
	if st := g.chat(t, masterKey, "m-openai", "write to jane.doe@example.com"); st != 200 {
		t.Fatalf("email request: %d", st)
	}
	if st := g.chat(t, masterKey, "m-openai", "my card is 4111 1111 1111 1111"); st < 400 || st >= 500 {
		t.Fatalf("card request: %d, want a 4xx refusal", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, err := g.store.Usage(context.Background(), store.UsageFilter{})
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := g.store.Audit(context.Background(), store.AuditFilter{})
		if len(recs) >= 6 && len(rows) >= 7 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("recorder committed %d usage records and %d audit rows; want 6 and 7", len(recs), len(rows))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outDir is where screenshots go: $FULCRUM_TEST_OUTPUT when set (CI keeps
// it), else the test's artifact directory (go test -artifacts).
func outDir(t *testing.T) string {
	if d := os.Getenv("FULCRUM_TEST_OUTPUT"); d != "" {
		d += "/web"
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.ArtifactDir()
}
