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
	"time"

	"github.com/fulcrumhq/fulcrum/internal/admin"
	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// TestSavingsLedgerWired builds the whole gateway with a self-hosted
// provider that has a cost model, serves two requests on it and one on the
// API, and reads the ledger from GET /admin/savings and /metrics; a second
// gateway on the same store reads the history back from the records.
func TestSavingsLedgerWired(t *testing.T) {
	gpu, api := fake.NewOpenAI(), fake.NewOpenAI()
	defer gpu.Close()
	defer api.Close()
	// The engine's own metrics: always one request running.
	engine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"llama\"} 1\n"+
			"# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"llama\"} 0\n")
	}))
	defer engine.Close()
	c := parse(t, `
server: { master_key: mk-test }
storage: { data_dir: `+t.TempDir()+` }
metering: { flush_interval: 1ms }
providers:
  - { name: api, type: openai, base_url: "`+api.URL+`", api_key: "`+fake.APIKey+`" }
  - { name: gpu, type: openai, base_url: "`+gpu.URL+`", api_key: "`+fake.APIKey+`", hosting: self_hosted,
      cost: { gpu_hourly_usd: 2, gpus: 1, setup_usd: 500, reference_model: gpt-4o },
      capacity: { max_concurrency: 8, metrics_url: "`+engine.URL+`/metrics", metrics_interval: 10ms } }
models:
  - { name: llama, provider: gpu, upstream: llama }
  - { name: m-api, provider: api, upstream: gpt-4o }
`)
	ledger := func(srv *httptest.Server) admin.SavingsView {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/savings", nil)
		req.Header.Set("Authorization", "Bearer mk-test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v admin.SavingsView
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("GET /admin/savings: %d %s", resp.StatusCode, b)
		}
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	g, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler)
	for _, m := range []string{"llama", "llama", "m-api"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"`+m+`","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer mk-test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", m, resp.StatusCode)
		}
	}
	// Unauthenticated: refused.
	if resp, err := http.Get(srv.URL + "/admin/savings"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthenticated /admin/savings: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	v := ledger(srv)
	// Only the self-hosted provider with a cost model is in the ledger:
	// two requests of the fake's 12 input and 7 output tokens, priced on
	// gpt-4o for the reference.
	if len(v.Providers) != 1 {
		t.Fatalf("providers = %+v", v.Providers)
	}
	l := v.Providers[0]
	if l.Provider != "gpu" || l.Requests != 2 || l.Tokens != 2*(fake.InputTokens+fake.OutputTokens) || !l.ReferenceKnown ||
		l.Billing != "gpu_hours" || l.PaidNanos <= 0 || l.ReferenceModel != "gpt-4o" {
		t.Errorf("live line = %+v", l)
	}
	// The engine reports a request running at every sample: its busy
	// share is 1 once two samples are in.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if u := ledger(srv).Providers[0].EngineUtilisation; u != nil && *u == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no engine utilisation: %+v", ledger(srv).Providers[0])
		}
	}
	mreq, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	mreq.Header.Set("Authorization", "Bearer mk-test")
	mresp, err := http.DefaultClient.Do(mreq)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{`fulcrum_savings_tokens{provider="gpu",type="output"} 14`, `fulcrum_savings_paid_usd{provider="gpu"}`, `fulcrum_savings_engine_busy_ratio{provider="gpu"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(body), `fulcrum_savings_paid_usd{provider="api"}`) {
		t.Error("a proprietary provider is in the ledger")
	}
	srv.Close()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	// A new process: the ledger starts from the records.
	g2, err := Build(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	srv2 := httptest.NewServer(g2.Handler)
	defer srv2.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l2 := ledger(srv2).Providers[0]
		if l2.Requests == 2 && l2.Tokens == l.Tokens && l2.ReferenceNanos == l.ReferenceNanos && !l2.From.After(l.From.Add(time.Second)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history not read back: %+v (before restart %+v)", l2, l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
