package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/store"
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
	g, srv := serve(t, c)
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

// TestTagsAttributeCost: tags from x-fulcrum-tags and OpenAI metadata and
// the end user reach the usage records, and usage groups by tag and user;
// malformed tags are a 400 in the client's wire format.
func TestTagsAttributeCost(t *testing.T) {
	oa := fake.NewOpenAI()
	defer oa.Close()
	an := fake.NewAnthropic()
	defer an.Close()
	dir := t.TempDir()
	c := parse(t, `
storage: { data_dir: `+dir+` }
providers:
  - { name: oa, type: openai, base_url: "`+oa.URL+`", api_key: "`+fake.APIKey+`" }
  - { name: an, type: anthropic, base_url: "`+an.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m, provider: oa, upstream: gpt-4o, price: { input: 2.5, output: 10 } }
  - { name: c, provider: an, upstream: claude-sonnet-4-5, price: { input: 3, output: 15 } }
`)
	g, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler)
	for _, r := range []struct {
		path, body string
		h          map[string]string
	}{
		{"/v1/chat/completions", `{"model":"m","user":"alice","messages":[{"role":"user","content":"hi"}]}`, map[string]string{"x-fulcrum-tags": "team=search,feature=summaries"}},
		{"/v1/chat/completions", `{"model":"m","metadata":{"team":"search"},"messages":[{"role":"user","content":"hi"}]}`, nil},
		{"/v1/messages", `{"model":"c","max_tokens":50,"metadata":{"user_id":"bob"},"messages":[{"role":"user","content":"hi"}]}`, map[string]string{"x-fulcrum-tags": "team=ads"}},
		{"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, nil},
	} {
		if resp := post(t, srv.URL+r.path, r.body, r.h); resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", r.body, resp.StatusCode)
		}
	}
	// Malformed tags: 400 in each client's format, naming the header.
	for path, body := range map[string]string{
		"/v1/chat/completions": `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		"/v1/messages":         `{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
	} {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("x-fulcrum-tags", "team")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := `"param":"x-fulcrum-tags"`
		if path == "/v1/messages" {
			want = `"type":"error"`
		}
		if resp.StatusCode != 400 || !strings.Contains(string(b), want) || !strings.Contains(string(b), "key=value") {
			t.Errorf("%s with a malformed tag: %d %s", path, resp.StatusCode, b)
		}
	}
	srv.Close()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	g2, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	ctx := context.Background()
	recs, err := g2.Store.Usage(ctx, storeFilterAll())
	if err != nil || len(recs) != 4 {
		t.Fatalf("records %d, %v", len(recs), err)
	}
	sum, err := g2.Store.UsageSummary(ctx, storeFilterAll(), []store.GroupBy{store.ByTag("team"), store.ByUser})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sum {
		got = append(got, fmt.Sprintf("%s/%s:%d:%d", s.Keys[0], s.Keys[1], s.Requests, s.CostNanos))
	}
	// gpt-4o: 12 in at $2.50/M + 7 out at $10/M = 100,000 nanos;
	// claude: 12 × 3 + 7 × 15 = 141,000.
	want := []string{"/:1:100000", "ads/bob:1:141000", "search/:1:100000", "search/alice:1:100000"}
	if !slices.Equal(got, want) {
		t.Errorf("usage by tag:team,user = %v, want %v", got, want)
	}
}
