package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

// createKey creates a virtual key through the admin API and returns its id
// and secret.
func createKey(t *testing.T, g *gateway, body string) (id, secret string) {
	t.Helper()
	req, _ := http.NewRequest("POST", g.URL+"/admin/keys", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+masterKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var k struct{ ID, Secret string }
	if err := json.NewDecoder(resp.Body).Decode(&k); err != nil || resp.StatusCode/100 != 2 || k.Secret == "" {
		t.Fatalf("create key: %d %v %+v", resp.StatusCode, err, k)
	}
	return k.ID, k.Secret
}

func chatAs(g *gateway, secret, body string) (int, http.Header) {
	req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// TestTwoReplicasShareBudgetsAndLimits runs two gateway processes on one
// PostgreSQL and one Redis: 200 concurrent requests against a small budget
// overspend by at most one request's cost, and a per-key RPM limit holds
// for the pair.
func TestTwoReplicasShareBudgetsAndLimits(t *testing.T) {
	pgURL := storetest.PostgresURL(t)
	redisURL := os.Getenv("FULCRUM_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("set FULCRUM_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run the multi-replica test")
	}
	u := startUpstreams(t)
	u.openai.Record(false)
	prefix := fmt.Sprintf("{fulcrum-e2e-%d-%d}:", os.Getpid(), time.Now().UnixNano())
	cfg := strings.Replace(u.config(), "storage: { data_dir: DATA_DIR }",
		fmt.Sprintf("storage: { data_dir: DATA_DIR, url: %q, redis: %q }\nmetering: { flush_interval: 5ms, limits: { redis_prefix: %q } }", pgURL, redisURL, prefix), 1)
	g1 := startGateway(t, cfg, "FULCRUM_MASTER_KEY="+masterKey)
	g2 := startGateway(t, cfg, "FULCRUM_MASTER_KEY="+masterKey)

	// Budget: gpt-4o at $2.50/$10 per M; the fake answers 12 in / 7 out,
	// $0.0001 a request. max_tokens 7 keeps the worst case near the actual
	// cost, so the budget is what stops requests, not the reservation size.
	const budgetNanos = 5_000_000 // $0.005: about 40 requests
	id, secret := createKey(t, g1, `{"name":"budgeted","budget_usd":"0.005","period":"monthly"}`)
	body := `{"model":"m-openai","max_tokens":7,"messages":[{"role":"user","content":"hi"}]}`
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			g := g1
			if i%2 == 1 {
				g = g2
			}
			switch st, _ := chatAs(g, secret, body); st {
			case 200:
				ok.Add(1)
			case 429:
				refused.Add(1)
			default:
				t.Errorf("status %d", st)
			}
		}(i)
	}
	wg.Wait()
	// Let both recorders commit.
	g1.Stop()
	g2.Stop()
	st, err := open.Store(context.Background(), pgURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Usage(context.Background(), store.UsageFilter{KeyID: id, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var spent, maxOne int64
	for _, r := range recs {
		spent += r.CostNanos
		maxOne = max(maxOne, r.CostNanos)
	}
	t.Logf("budget $%.4f: %d admitted, %d refused, spent $%.6f in %d records", float64(budgetNanos)/1e9, ok.Load(), refused.Load(), float64(spent)/1e9, len(recs))
	if int64(len(recs)) != ok.Load() {
		t.Errorf("%d usage records for %d successful requests", len(recs), ok.Load())
	}
	if spent > budgetNanos+maxOne {
		t.Errorf("overspent: $%.6f against a $%.6f budget (one request costs $%.6f)", float64(spent)/1e9, float64(budgetNanos)/1e9, float64(maxOne)/1e9)
	}
	if refused.Load() == 0 || ok.Load() == 0 {
		t.Errorf("the budget did not bind: %d ok, %d refused", ok.Load(), refused.Load())
	}
}

// TestRPMHoldsAcrossReplicas: a per-key RPM limit holds for two replicas
// together, not per process, and (the default sliding mode) no 60-second
// window admits more than the limit: after a burst has used it up, requests
// sent evenly over the next seconds are all refused. (GCRA with a full
// burst admitted one more every 60/rpm seconds.)
func TestRPMHoldsAcrossReplicas(t *testing.T) {
	pgURL := storetest.PostgresURL(t)
	redisURL := os.Getenv("FULCRUM_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("set FULCRUM_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run the multi-replica test")
	}
	u := startUpstreams(t)
	u.openai.Record(false)
	prefix := fmt.Sprintf("{fulcrum-e2e-rpm-%d-%d}:", os.Getpid(), time.Now().UnixNano())
	cfg := strings.Replace(u.config(), "storage: { data_dir: DATA_DIR }",
		fmt.Sprintf("storage: { data_dir: DATA_DIR, url: %q, redis: %q }\nmetering: { limits: { redis_prefix: %q } }", pgURL, redisURL, prefix), 1)
	g1 := startGateway(t, cfg, "FULCRUM_MASTER_KEY="+masterKey)
	g2 := startGateway(t, cfg, "FULCRUM_MASTER_KEY="+masterKey)
	_, secret := createKey(t, g1, `{"name":"limited","rpm":60}`)
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			g := g1
			if i%2 == 1 {
				g = g2
			}
			st, h := chatAs(g, secret, `{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`)
			switch st {
			case 200:
				ok.Add(1)
			case 429:
				limited.Add(1)
				if h.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
			default:
				t.Errorf("status %d", st)
			}
		}(i)
	}
	wg.Wait()
	t.Logf("rpm 60 over two replicas, 100 at once: %d ok, %d limited", ok.Load(), limited.Load())
	if ok.Load() > 60 || ok.Load() < 55 {
		t.Errorf("%d requests passed a 60 rpm limit shared by two replicas", ok.Load())
	}
	burst := ok.Load()
	// Then one request every 100 ms for 3.5 s, alternating replicas.
	var later int
	for i := range 35 {
		time.Sleep(100 * time.Millisecond)
		g := g1
		if i%2 == 1 {
			g = g2
		}
		if st, _ := chatAs(g, secret, `{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`); st == 200 {
			later++
		}
	}
	t.Logf("then %d of 35 sent evenly over 3.5 s admitted", later)
	if burst+int64(later) > 60 {
		t.Errorf("%d + %d admitted within one minute under rpm 60", burst, later)
	}
}
