package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/meter"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

func parse(t testing.TB, y string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(y), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPricerExact checks the gateway's pricing (meter.Pricer) against hand computation:
// GPT-4 at its launch price, $0.03 / 1K input and $0.06 / 1K output.
func TestPricerExact(t *testing.T) {
	c := parse(t, `
providers:
  - { name: oa, type: openai, api_key: x }
  - { name: gpu, type: openai, base_url: "http://127.0.0.1:1/v1", hosting: self_hosted, cost: { per_million_usd: 0.5 } }
models:
  - { name: gpt-4, provider: oa, price: { input: 30, output: 60 } }
  - { name: llama, provider: gpu }
`)
	p, err := newPricer(c)
	if err != nil {
		t.Fatal(err)
	}
	oa := &provider.Info{Name: "oa", Type: "openai", Hosting: provider.Proprietary}
	cost, ref := p.Price(oa, "gpt-4", &llm.Usage{InputTokens: 1000, OutputTokens: 500})
	if cost != 60_000_000 || ref != 0 { // $0.03 + $0.03
		t.Errorf("gpt-4 1000/500: cost %d nanos, ref %d; want 60,000,000", cost, ref)
	}
	gpu := &provider.Info{Name: "gpu", Type: "openai", Hosting: provider.SelfHosted}
	cost, ref = p.Price(gpu, "llama", &llm.Usage{InputTokens: 1000, OutputTokens: 2000})
	if cost != 1_000_000 { // 2,000 output tokens at $0.50 per million
		t.Errorf("self-hosted fixed price: cost %d nanos, want 1,000,000", cost)
	}
	if ref <= 0 {
		t.Errorf("self-hosted record has no reference cost")
	}
	if cost, _ := p.Price(oa, "gpt-4", nil); cost != 0 {
		t.Errorf("unknown usage priced at %d", cost)
	}
	price, err := PriceFunc(c)
	if err != nil {
		t.Fatal(err)
	}
	if usd, ok := price("gpt-4", llm.Usage{InputTokens: 1000, OutputTokens: 1000}); !ok || usd != 0.09 {
		t.Errorf("PriceFunc(gpt-4) = %v %v, want 0.09", usd, ok)
	}
	// Mistral's own API prices its models too (not a cloud's resale).
	if usd, ok := price("mistral-large-2402", llm.Usage{InputTokens: 1000, OutputTokens: 1000}); !ok || usd != 0.016 {
		t.Errorf("PriceFunc(mistral-large-2402) = %v %v, want 0.016 ($4 + $12 per M)", usd, ok)
	}
	if _, ok := price("llama", llm.Usage{OutputTokens: 1}); ok {
		t.Errorf("a GPU-priced model must not get a catalogue price")
	}
}

func TestPromptUpperBound(t *testing.T) {
	req := &llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleUser, strings.Repeat("word ", 300))}}
	est := (&meter.Pricer{}).Estimate(req, "")
	if ub := promptTokensUpperBound(req); ub < est.InputTokens {
		t.Errorf("upper bound %d below the tokenizer's count %d", ub, est.InputTokens)
	}
	if !est.Estimated {
		t.Error("estimate not marked estimated")
	}
}

// TestBuildServesAndRecords builds the whole gateway in process on a SQLite
// store and serves a request through it.
func TestBuildServesAndRecords(t *testing.T) {
	oa := fake.NewOpenAI()
	defer oa.Close()
	dir := t.TempDir()
	c := parse(t, `
storage: { data_dir: `+dir+` }
providers:
  - { name: oa, type: openai, base_url: "`+oa.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m, provider: oa, upstream: gpt-4o }
`)
	g, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler)
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	srv.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if resp.Header.Get("X-Fulcrum-Policy-Action") != "none" {
		t.Errorf("policy not wired: %q", resp.Header.Get("X-Fulcrum-Policy-Action"))
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	g2, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	recs, err := g2.Store.Usage(context.Background(), storeFilterAll())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Provider != "oa" || recs[0].CostNanos == 0 || recs[0].InputTokens != fake.InputTokens {
		t.Errorf("usage records: %+v", recs)
	}
}

// postAs POSTs body to url with secret as the bearer key and the header
// pairs hdr, and returns the response with its body read.
func postAs(t *testing.T, url, secret, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// serve builds the gateway c describes and serves it; both are closed
// when the test ends.
func serve(t *testing.T, c *config.Config) (*Gateway, *httptest.Server) {
	t.Helper()
	g, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	srv := httptest.NewServer(g.Handler)
	t.Cleanup(srv.Close)
	return g, srv
}

func storeFilterAll() store.UsageFilter { return store.UsageFilter{Limit: 100} }

// A request for n choices can be billed for n times its max_tokens, and
// one without max_tokens for the model's output limit: the budget's
// worst-case reservation counts all of it. The budget below holds
// one request's worst case for one choice (gpt-4o, max_tokens 1000: about
// $0.01) but not for eight, so the first request is admitted and the
// second refused before any upstream call.
func TestBudgetReservesEveryChoice(t *testing.T) {
	oa := fake.NewOpenAI()
	defer oa.Close()
	c := parse(t, `
server: { master_key: sk-master-test }
storage: { data_dir: `+t.TempDir()+` }
providers:
  - { name: oa, type: openai, base_url: "`+oa.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m, provider: oa, upstream: gpt-4o }
`)
	_, srv := serve(t, c)
	post := func(path, secret, body string) (*http.Response, string) { return postAs(t, srv.URL+path, secret, body) }
	resp, body := post("/admin/keys", "sk-master-test", `{"name":"n-test","budget_usd":"0.05","period":"monthly"}`)
	var k struct{ Secret string }
	if err := json.Unmarshal([]byte(body), &k); err != nil || resp.StatusCode != 201 || k.Secret == "" {
		t.Fatalf("create key: %d %s", resp.StatusCode, body)
	}
	one := `{"model":"m","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}`
	if resp, body := post("/v1/chat/completions", k.Secret, one); resp.StatusCode != 200 {
		t.Fatalf("n=1: %d %s", resp.StatusCode, body)
	}
	eight := `{"model":"m","max_tokens":1000,"n":8,"messages":[{"role":"user","content":"hi"}]}`
	resp, body = post("/v1/chat/completions", k.Secret, eight)
	if resp.StatusCode != 429 || !strings.Contains(body, "budget") {
		t.Fatalf("n=8 against a $0.05 budget (worst case 8 × 1000 output tokens at $10/M = $0.08): %d %s", resp.StatusCode, body)
	}
	if got := len(oa.Log.All()); got != 1 {
		t.Errorf("upstream called %d times, want 1 (the refused request must not reach it)", got)
	}
	// Without max_tokens the model may write up to its output limit
	// (gpt-4o: 16,384 tokens, $0.16 at $10/M), which the $0.05 budget
	// cannot hold either: refused, where a 4,096-token guess ($0.04) would
	// have admitted a request that can cost four times that.
	unset := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	resp, body = post("/v1/chat/completions", k.Secret, unset)
	if resp.StatusCode != 429 || !strings.Contains(body, "budget") {
		t.Fatalf("no max_tokens against a $0.05 budget (gpt-4o's 16,384-token limit: $0.16): %d %s", resp.StatusCode, body)
	}
	if got := len(oa.Log.All()); got != 1 {
		t.Errorf("upstream called %d times, want 1", got)
	}
}

// listening runs Serve on c (whose server.listen is a loopback address
// with port 0) until the test ends, and returns the address it bound.
func listening(t *testing.T, c *config.Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, c, io.Discard, func(a string) { addrc <- a }) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case addr := <-addrc:
		return addr
	case err := <-done:
		t.Fatal(err)
		return ""
	}
}
