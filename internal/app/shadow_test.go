package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// shadowEnv is a gateway with a proprietary api (fake OpenAI), a
// self-hosted gpu serving two models, shadow evaluation and a store. The
// gpu is fronted by a handler that can hold requests (to make a slow
// candidate) and that answers "999" instead of the echo for prompts
// holding "odd" (to make a candidate disagree).
type shadowEnv struct {
	api, gpu *fake.OpenAI
	srv      *httptest.Server
	g        *Gateway
	obs      *attempts
	// hold, when set, blocks gpu requests until it is closed; delay
	// slows every gpu request.
	mu      sync.Mutex
	hold    chan struct{}
	delay   time.Duration
	arrived chan struct{}
}

func newShadowEnv(t testing.TB, models, settings string) *shadowEnv {
	t.Helper()
	e := &shadowEnv{api: fake.NewOpenAI(), gpu: fake.NewOpenAI(), arrived: make(chan struct{}, 64)}
	t.Cleanup(e.api.Close)
	t.Cleanup(e.gpu.Close)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case e.arrived <- struct{}{}:
		default:
		}
		e.mu.Lock()
		h, d := e.hold, e.delay
		e.mu.Unlock()
		if h != nil {
			<-h
		}
		if d > 0 {
			time.Sleep(d)
		}
		if strings.Contains(string(body), "odd") {
			// An answer in OpenAI's chat completion format that differs.
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"chatcmpl-odd","object":"chat.completion","created":1700000000,"model":"llama","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! You said: item 999"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":6,"total_tokens":15}}`)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		e.gpu.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	cfg := parse(t, `
storage: { data_dir: `+t.TempDir()+` }
providers:
  - { name: api, type: openai, base_url: "`+e.api.URL+`", api_key: "`+fake.APIKey+`", hosting: proprietary, region: us }
  - { name: gpu, type: openai, base_url: "`+front.URL+`/v1", api_key: "`+fake.APIKey+`", hosting: self_hosted, region: eu }
models:
`+models+`
policy:
  policies:
    - { name: default, on_sensitive: self_hosted_only }
    - { name: open, on_sensitive: allow }
    - { name: scrub, on_sensitive: redact }
`+settings)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	providers, cfg, err := BuildProviders(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{Config: cfg, Providers: providers, log: log}
	t.Cleanup(func() { g.Close() })
	if g.prices, err = newPricer(cfg); err != nil {
		t.Fatal(err)
	}
	rt, err := newRouter(cfg, providers, g.prices, log)
	if err != nil {
		t.Fatal(err)
	}
	gd, err := newGuard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if g.Store, err = openStore(ctx, cfg, log); err != nil {
		t.Fatal(err)
	}
	g.closers = append(g.closers, g.Store.Close)
	e.obs = &attempts{recorder: &recorder{log: log}}
	opts := gateway.Options{
		Router: rt, Guard: gd, Observer: e.obs, Pricer: g.prices, Metrics: gateway.NewMetrics(),
		Auth: testKeys{
			"key-open":    {KeyID: "k-open", Policy: "open"},
			"key-default": {KeyID: "k-default"},
			"key-scrub":   {KeyID: "k-scrub", Policy: "scrub"},
		},
	}
	g.wireShadow(&opts)
	for _, c := range g.collectors {
		opts.Metrics.Registry.MustRegister(c)
	}
	e.g = g
	g.Handler = gateway.New(opts)
	e.srv = httptest.NewServer(g.Handler)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *shadowEnv) do(t *testing.T, key, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	return resp, string(b)
}

func (e *shadowEnv) wait(t *testing.T) []store.ShadowResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The answer leaves before the request's shadow offer is made.
	idle(t, e.g.Handler)
	if err := e.g.shadow.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := e.g.Store.(store.Shadows).ShadowResults(ctx, store.ShadowFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (e *shadowEnv) metric(t *testing.T, name string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestShadowComparesEverySample: with a proprietary primary and a
// self-hosted candidate, N sampled requests (streamed and not) produce N
// comparisons, each with the right verdict: the candidate agrees on the
// even items and answers 999 on the odd ones. Every shadow call is
// recorded as an attempt below zero of its request, priced.
func TestShadowComparesEverySample(t *testing.T) {
	e := newShadowEnv(t, `
  - { name: m-api, provider: api, upstream: gpt-4o, shadow: { candidates: [m-gpu], sample_rate: 1 } }
  - { name: m-gpu, provider: gpu, upstream: llama }
`, "")
	const n = 6
	want := map[string]string{}
	for i := range n {
		text := fmt.Sprintf("even item %d", 10+i)
		if i%2 == 1 {
			text = fmt.Sprintf("odd item %d", 10+i)
		}
		resp, _ := e.do(t, "key-open", chatBody("m-api", text, i%3 == 0))
		if p := resp.Header.Get("X-Fulcrum-Provider"); p != "api" {
			t.Fatalf("live answer from %q", p)
		}
		want[resp.Header.Get("X-Request-Id")] = map[bool]string{true: "disagree", false: "agree"}[i%2 == 1]
	}
	rows := e.wait(t)
	if len(rows) != n {
		t.Fatalf("%d comparisons, want %d", len(rows), n)
	}
	var agree int
	for _, r := range rows {
		if r.Candidate != "m-gpu" || r.Live != "m-api" || r.Route != "m-api" || r.CandidateHosting != "self_hosted" || r.LiveHosting != "proprietary" {
			t.Errorf("row %+v", r)
		}
		if r.Method != "numeric" {
			t.Errorf("method %q, want numeric (auto: the live answer holds a number)", r.Method)
		}
		if r.Verdict == "agree" {
			agree++
		}
		if w, ok := want[r.RequestID]; !ok || r.Verdict != w {
			t.Errorf("request %s: verdict %q, want %q (%s)", r.RequestID, r.Verdict, w, r.Detail)
		}
		if r.CandOutputTokens == 0 || r.LiveOutputTokens == 0 || r.LiveCostNanos == 0 {
			t.Errorf("measurements missing: %+v", r)
		}
	}
	if agree != n/2 {
		t.Errorf("%d agree, want %d", agree, n/2)
	}
	var shadowAttempts int
	for _, a := range e.obs.list() {
		if a.N < 0 {
			shadowAttempts++
			if a.RequestedModel != "shadow:m-gpu" || a.Info.Name != "gpu" {
				t.Errorf("shadow attempt %+v", a)
			}
		}
	}
	if shadowAttempts != n {
		t.Errorf("%d shadow attempts recorded, want %d", shadowAttempts, n)
	}
	if m := e.metric(t, "fulcrum_shadow_comparisons_total"); !strings.Contains(m, `verdict="agree"} 3`) || !strings.Contains(m, `verdict="disagree"} 3`) {
		t.Errorf("metrics:\n%s", m)
	}
}

// TestShadowObeysPolicy: a request carrying an email under
// self_hosted_only is shadowed to the self-hosted candidate only; the
// proprietary candidate receives nothing of it. The same candidate does
// receive a request without sensitive data (so the test can fail), and a
// redacting key's request reaches it redacted: the bytes shadowed are the
// bytes policy scanned.
func TestShadowObeysPolicy(t *testing.T) {
	e := newShadowEnv(t, `
  - { name: m-gpu, provider: gpu, upstream: llama, shadow: { candidates: [m-api, m-gpu2], sample_rate: 1 } }
  - { name: m-gpu2, provider: gpu, upstream: llama-2 }
  - { name: m-api, provider: api, upstream: gpt-4o }
`, "")
	for i := range 3 {
		e.do(t, "key-default", chatBody("m-gpu", fmt.Sprintf("mail carol%d@example.com item %d", i, i), false))
	}
	rows := e.wait(t)
	if len(rows) != 3 {
		t.Fatalf("%d comparisons, want 3 (to m-gpu2 only)", len(rows))
	}
	for _, r := range rows {
		if r.Candidate != "m-gpu2" || len(r.DataClasses) == 0 {
			t.Errorf("row %+v", r)
		}
	}
	if n := len(e.api.Log.All()); n != 0 {
		t.Fatalf("the proprietary candidate received %d sensitive requests", n)
	}
	if m := e.metric(t, "fulcrum_shadow_skipped_total"); !strings.Contains(m, `candidate="m-api",reason="policy"} 3`) {
		t.Errorf("skips not counted:\n%s", m)
	}

	e.do(t, "key-default", chatBody("m-gpu", "nothing sensitive, item 7", false))
	e.do(t, "key-scrub", chatBody("m-gpu", "mail dave@example.com item 8", false))
	rows = e.wait(t)
	if len(rows) != 3+4 {
		t.Fatalf("%d comparisons, want 7", len(rows))
	}
	got := e.api.Log.All()
	if len(got) != 2 {
		t.Fatalf("api received %d shadow requests, want 2", len(got))
	}
	redacted := false
	for _, r := range got {
		if strings.Contains(string(r.Body), "@example.com") {
			t.Errorf("a sensitive value reached the proprietary candidate: %s", r.Body)
		}
		redacted = redacted || strings.Contains(string(r.Body), "item 8")
	}
	if !redacted {
		t.Errorf("the redacted request did not reach the candidate: %q", got)
	}
}

// TestShadowCandidatePolicyApplies: a candidate's own data policy applies
// to the shadow call. The live model's policy (open) lets an email go to a
// proprietary provider; the candidate m-api-strict names the default
// policy (self_hosted_only), so it gets nothing of such a request, while
// a candidate without a stricter policy does, and a clean request reaches
// the strict one. Before, the shadow call carried only the live model's
// verdict and the email reached m-api-strict.
func TestShadowCandidatePolicyApplies(t *testing.T) {
	e := newShadowEnv(t, `
  - { name: m-live, provider: api, upstream: gpt-4o, policy: open, shadow: { candidates: [m-api-strict, m-gpu2], sample_rate: 1 } }
  - { name: m-gpu2, provider: gpu, upstream: llama-2 }
  - { name: m-api-strict, provider: api, upstream: gpt-4o-strict, policy: default }
`, "")
	e.do(t, "key-open", chatBody("m-live", "mail erin@example.com item 1", false))
	rows := e.wait(t)
	if len(rows) != 1 || rows[0].Candidate != "m-gpu2" {
		t.Fatalf("comparisons %+v, want one, with m-gpu2", rows)
	}
	for _, r := range e.api.Log.All() {
		if strings.Contains(string(r.Body), "gpt-4o-strict") {
			t.Errorf("the strict candidate received the email: %s", r.Body)
		}
	}
	if m := e.metric(t, "fulcrum_shadow_skipped_total"); !strings.Contains(m, `candidate="m-api-strict",reason="policy"} 1`) {
		t.Errorf("skip not counted:\n%s", m)
	}
	e.do(t, "key-open", chatBody("m-live", "nothing sensitive, item 2", false))
	if rows = e.wait(t); len(rows) != 3 {
		t.Fatalf("%d comparisons, want 3", len(rows))
	}
	strict := 0
	for _, r := range e.api.Log.All() {
		if strings.Contains(string(r.Body), "gpt-4o-strict") {
			strict++
		}
	}
	if strict != 1 {
		t.Errorf("the strict candidate received %d clean requests, want 1", strict)
	}
}

// TestShadowNeverHoldsTheLiveAnswer: the candidate holds every request;
// live answers still come back (Offer never waits), and a full queue drops
// the samples and counts them.
func TestShadowNeverHoldsTheLiveAnswer(t *testing.T) {
	e := newShadowEnv(t, `
  - { name: m-api, provider: api, upstream: gpt-4o, shadow: { candidates: [m-gpu], sample_rate: 1 } }
  - { name: m-gpu, provider: gpu, upstream: llama }
`, "shadow: { queue_size: 1, workers: 1 }\n")
	hold := make(chan struct{})
	e.mu.Lock()
	e.hold = hold
	e.mu.Unlock()
	e.do(t, "key-open", chatBody("m-api", "item 1", false))
	<-e.arrived // the worker is now held by the candidate
	for i := range 4 {
		_, body := e.do(t, "key-open", chatBody("m-api", fmt.Sprintf("item %d", 2+i), false))
		if !strings.Contains(answerText(t, body), fmt.Sprint(2+i)) {
			t.Fatalf("live answer %s", body)
		}
	}
	// One sample waits in the queue, three were dropped (offered after
	// each answer left).
	idle(t, e.g.Handler)
	if d := e.g.shadow.Dropped(); d != 3 {
		t.Errorf("dropped %d, want 3", d)
	}
	if m := e.metric(t, "fulcrum_shadow_dropped_total"); !strings.HasSuffix(m, " 3") {
		t.Errorf("metric: %s", m)
	}
	close(hold)
	if rows := e.wait(t); len(rows) != 2 {
		t.Errorf("%d comparisons, want 2", len(rows))
	}
}

// TestShadowConfigFilters: a key filter samples only that key's requests.
func TestShadowConfigFilters(t *testing.T) {
	e := newShadowEnv(t, `
  - { name: m-api, provider: api, upstream: gpt-4o, shadow: { candidates: [m-gpu], sample_rate: 1, keys: [k-scrub] } }
  - { name: m-gpu, provider: gpu, upstream: llama }
`, "")
	e.do(t, "key-open", chatBody("m-api", "item 1", false))
	e.do(t, "key-scrub", chatBody("m-api", "item 2", false))
	rows := e.wait(t)
	if len(rows) != 1 || rows[0].KeyID != "k-scrub" {
		b, _ := json.Marshal(rows)
		t.Fatalf("rows %s; want the k-scrub request only", b)
	}
}
