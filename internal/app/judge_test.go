package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// spendLimiter admits everything and keeps what each request settled.
type spendLimiter struct {
	mu    sync.Mutex
	spent []gateway.Spend
}

func (l *spendLimiter) Admit(context.Context, *gateway.Caller, *llm.ChatRequest, string) (gateway.Admission, error) {
	return &spendAdmission{l}, nil
}

type spendAdmission struct{ l *spendLimiter }

func (a *spendAdmission) SetHeaders(http.Header) {}
func (a *spendAdmission) Done(s gateway.Spend) {
	a.l.mu.Lock()
	a.l.spent = append(a.l.spent, s)
	a.l.mu.Unlock()
}

// The gateway prices every attempt itself, the cascade judge's included
// (attempt 0), and settles the request's budget with all of them: the
// spend equals the sum of the priced attempts, judge first.
func TestJudgeCallIsPricedAndSettled(t *testing.T) {
	api, judge := fake.NewOpenAI(), fake.NewOpenAI()
	defer api.Close()
	defer judge.Close()
	cfg := parse(t, `
storage: { data_dir: `+t.TempDir()+` }
providers:
  - { name: api, type: openai, base_url: "`+api.URL+`", api_key: "`+fake.APIKey+`" }
  - { name: jp, type: openai, base_url: "`+judge.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: m-api, provider: api, upstream: gpt-4o }
  - { name: m-api2, provider: api, upstream: gpt-4.1 }
  - { name: m-judge, provider: jp, upstream: gpt-4o-mini }
routes:
  - name: judged
    strategy: cascade
    targets: [m-api, m-api2]
    cascade: { judge: { model: m-judge, min_score: 7 } }
`)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	providers, cfg, err := BuildProviders(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	prices, err := newPricer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := newRouter(cfg, providers, prices, log)
	if err != nil {
		t.Fatal(err)
	}
	gd, err := newGuard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	obs := &attempts{recorder: &recorder{log: log}}
	lim := &spendLimiter{}
	gw := gateway.New(gateway.Options{Router: rt, Guard: gd, Observer: obs, Pricer: prices,
		Limiter: lim, Auth: testKeys{"key": {KeyID: "k1"}}, Metrics: gateway.NewMetrics()})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(chatBody("judged", "what is 2+2?", false)))
	req.Header.Set("Authorization", "Bearer key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	idle(t, gw) // the answer leaves before the request settles
	as := obs.list()
	var judged, total int64
	for _, a := range as {
		total += a.CostNanos
		if a.N == 0 && a.Info.Name == "jp" && a.RequestedModel == "m-judge" {
			judged = a.CostNanos
		}
		if a.CostNanos <= 0 {
			t.Errorf("attempt %d on %s not priced", a.N, a.Info.Name)
		}
	}
	if judged <= 0 {
		t.Fatalf("no priced judge attempt among %+v", as)
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if len(lim.spent) != 1 || lim.spent[0].ProprietaryNanos != total {
		t.Fatalf("settled %+v, want %d nanos (judge %d included)", lim.spent, total, judged)
	}
}

// idle waits until gw serves no request: a non-streaming answer reaches
// the client before its request has settled its budget and made its
// shadow offer.
func idle(t *testing.T, gw *gateway.Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for gw.InFlight() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("requests still in flight after 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
