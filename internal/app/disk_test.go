package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
)

// Under refuse_free every request that would need a record gets a 503 in
// its client's format, with Retry-After, and the upstream is not called;
// under warn_free only the gauge moves; with space again requests pass.
func TestDiskGuardRefusesWhenFull(t *testing.T) {
	oa := fake.NewOpenAI()
	defer oa.Close()
	var hits atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		oa.ServeHTTP(w, r)
	}))
	defer api.Close()
	cfg := parse(t, `
storage: { data_dir: `+t.TempDir()+` }
providers:
  - { name: api, type: openai, base_url: "`+api.URL+`/v1", api_key: "`+fake.APIKey+`" }
models:
  - { name: m, provider: api, upstream: gpt-4o }
`)
	log := slog.New(slog.DiscardHandler)
	providers, cfg, err := BuildProviders(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	prices, _ := newPricer(cfg)
	rt, err := newRouter(cfg, providers, prices, log)
	if err != nil {
		t.Fatal(err)
	}
	var free atomic.Int64
	d := &diskGuard{dir: "x", warn: 2e9, hard: 256e6, free: func(string) (int64, error) { return free.Load(), nil }, log: log}
	srv := httptest.NewServer(gateway.New(gateway.Options{Router: rt, Pricer: prices, Limiter: &diskLimiter{d: d}, Metrics: gateway.NewMetrics()}))
	defer srv.Close()
	post := func(path, body string) (*http.Response, string) {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	chat := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	msgs := `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`

	free.Store(1e9) // under warn_free, over refuse_free
	d.check()
	if d.state.Load() != diskLow {
		t.Fatalf("state %d at 1 GB free, want low", d.state.Load())
	}
	if resp, body := post("/v1/chat/completions", chat); resp.StatusCode != 200 {
		t.Fatalf("low space refused a request: %d %s", resp.StatusCode, body)
	}

	free.Store(100e6)
	d.check()
	calls := hits.Load()
	resp, body := post("/v1/chat/completions", chat)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"code":"insufficient_storage"`) ||
		!strings.Contains(body, "refuse_free") {
		t.Errorf("openai format: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp, body = post("/v1/messages", msgs)
	if resp.StatusCode != 503 || !strings.Contains(body, `"type":"error"`) || !strings.Contains(body, "insufficient_storage") && !strings.Contains(body, "refuse_free") {
		t.Errorf("anthropic format: %d %s", resp.StatusCode, body)
	}
	if hits.Load() != calls {
		t.Errorf("the upstream was called while the disk was full")
	}

	free.Store(10e9)
	d.check()
	if resp, body := post("/v1/chat/completions", chat); resp.StatusCode != 200 {
		t.Fatalf("space freed, still refused: %d %s", resp.StatusCode, body)
	}
}

// The SQLite file (storage.url) and the journal (metering.journal_dir) may
// live outside the data directory, on another volume: the guard watches
// the fullest of them, and refuses when the database's is full though the
// data directory's is not.
func TestDiskGuardWatchesTheDatabaseVolume(t *testing.T) {
	cfg := parse(t, `
storage: { data_dir: /var/lib/fulcrum, url: "sqlite:///mnt/db/fulcrum.db" }
metering: { journal_dir: /mnt/journal }
`)
	dirs := recordDirs(cfg)
	if want := []string{"/mnt/db", "/mnt/journal"}; !slices.Equal(dirs, want) {
		t.Fatalf("recordDirs = %v, want %v", dirs, want)
	}
	if d := recordDirs(parse(t, "storage: { data_dir: /var/lib/fulcrum }\n")); len(d) != 1 || d[0] != "/var/lib/fulcrum/journal" {
		t.Errorf("recordDirs with the defaults = %v, want the journal only", d)
	}
	free := map[string]int64{"/var/lib/fulcrum": 50e9, "/mnt/db": 100e6, "/mnt/journal": 40e9}
	d := &diskGuard{dir: "/var/lib/fulcrum", more: dirs, warn: 2e9, hard: 256e6, log: slog.New(slog.DiscardHandler),
		free: func(dir string) (int64, error) { return free[dir], nil }}
	d.check()
	if d.state.Load() != diskRefuse || d.freeBytes.Load() != 100e6 {
		t.Errorf("state %d, free %d: want refusing on the database's 100 MB", d.state.Load(), d.freeBytes.Load())
	}
}
