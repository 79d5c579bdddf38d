package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/cache"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
)

// TestBetasOnTranslatedPath: an Anthropic client's anthropic-beta header
// (Claude Code sends several: the 1M context window, interleaved thinking,
// context management) reaches an Anthropic upstream when the request takes
// the translated path (here a cached model's stream, which must be
// decoded to be assembled into an entry; redaction takes the same path),
// as it does on pass-through. Before, it was sent only on pass-through:
// the translated request re-emitted context_management without the flag
// that lets Anthropic accept it. Requests with different betas do not
// share a cache entry.
func TestBetasOnTranslatedPath(t *testing.T) {
	e, _ := newResponsesEnvWith(t, func(o *gateway.Options) {
		o.Cache = cache.New(cache.Options{})
		o.CacheRules = map[string]gateway.CacheRule{"m-anthropic": {TTL: time.Hour}}
	})
	const body = `{"model":"m-anthropic","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}],"context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]}}`
	send := func(beta string) string {
		t.Helper()
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/messages", strings.NewReader(body))
		req.Header.Set("anthropic-version", "2023-06-01")
		if beta != "" {
			req.Header.Set("anthropic-beta", beta)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(out), "event: message_stop") {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
		return resp.Header.Get("X-Fulcrum-Cache")
	}
	const betas = "context-management-2025-06-27,interleaved-thinking-2025-05-14"
	if c := send(betas); c != "miss" {
		t.Fatalf("X-Fulcrum-Cache %q, want miss (the translated path)", c)
	}
	sent := e.an.Log.All()
	if len(sent) != 1 {
		t.Fatalf("%d upstream requests", len(sent))
	}
	if got := sent[0].Header.Get("Anthropic-Beta"); got != betas {
		t.Errorf("translated request's anthropic-beta %q, want %q", got, betas)
	}
	if !strings.Contains(string(sent[0].Body), `"context_management"`) {
		t.Errorf("context_management not re-emitted: %s", sent[0].Body)
	}
	if c := send(betas); c != "hit" {
		t.Errorf("same request and betas: X-Fulcrum-Cache %q, want hit", c)
	}
	if c := send("context-management-2025-06-27"); c != "miss" {
		t.Errorf("other betas: X-Fulcrum-Cache %q, want miss", c)
	}
	sent = e.an.Log.All()
	if len(sent) != 2 || sent[1].Header.Get("Anthropic-Beta") != "context-management-2025-06-27" {
		t.Errorf("second upstream request: %d requests, last beta %q", len(sent), sent[len(sent)-1].Header.Get("Anthropic-Beta"))
	}
}
