package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// TestCostHeader: a non-streaming answer says what it cost in
// x-fulcrum-cost-usd (the catalogue price of its usage), a stream in a
// trailer of the same name.
func TestCostHeader(t *testing.T) {
	oa := fake.NewOpenAI()
	defer oa.Close()
	c := parse(t, `
storage: { data_dir: `+t.TempDir()+` }
providers:
  - { name: oa, type: openai, base_url: "`+oa.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m, provider: oa, upstream: gpt-4o, price: { input: 2.5, output: 10 } }
`)
	g, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g.Handler)
	defer srv.Close()
	// 12 input tokens at $2.50/M + 7 output at $10/M = $0.0001
	cost, _ := g.prices.Price(&provider.Info{Name: "oa", Type: "openai", Hosting: provider.Proprietary}, "gpt-4o",
		&llm.Usage{InputTokens: fake.InputTokens, OutputTokens: fake.OutputTokens})
	if cost != 100_000 {
		t.Fatalf("price %d nanos, want 100,000", cost)
	}
	resp := post(t, srv.URL+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, nil)
	if got := resp.Header.Get("X-Fulcrum-Cost-Usd"); got != "0.0001" {
		t.Errorf("x-fulcrum-cost-usd = %q, want 0.0001", got)
	}
	sresp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// Go's client moves the declared trailer names to resp.Trailer.
	if _, ok := sresp.Trailer["X-Fulcrum-Cost-Usd"]; !ok {
		t.Errorf("stream does not declare the cost trailer: %v", sresp.Trailer)
	}
	io.Copy(io.Discard, sresp.Body)
	sresp.Body.Close()
	if got := sresp.Trailer.Get("X-Fulcrum-Cost-Usd"); got != "0.0001" {
		t.Errorf("stream cost trailer = %q, want 0.0001", got)
	}
}
