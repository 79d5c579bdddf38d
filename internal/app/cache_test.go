package app

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/cache"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// testKeys maps test secrets to callers bound to policies.
type testKeys map[string]*gateway.Caller

func (k testKeys) Authenticate(_ context.Context, secret string) (*gateway.Caller, *llm.Error) {
	if c := k[secret]; c != nil {
		return c, nil
	}
	return nil, &llm.Error{Status: 401, Type: llm.ErrAuthentication, Message: "bad key"}
}

// attempts captures what the gateway reports, after the recorder priced it.
type attempts struct {
	*recorder
	mu  sync.Mutex
	all []gateway.Attempt
}

func (a *attempts) Attempt(at *gateway.Attempt) {
	a.recorder.Attempt(at)
	a.mu.Lock()
	a.all = append(a.all, *at)
	a.mu.Unlock()
}

func (a *attempts) list() []gateway.Attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]gateway.Attempt(nil), a.all...)
}

type hybridEnv struct {
	api, gpu *fake.OpenAI
	srv      *httptest.Server
	obs      *attempts
	now      time.Time
	mu       sync.Mutex
	cache    *cache.Cache
	handler  *gateway.Server
}

func (e *hybridEnv) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
func (e *hybridEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// newHybridEnv serves a proprietary fake (api) and a self-hosted fake
// (gpu) through the real policy engine, router, cache and pricer; keys
// "key-open", "key-default" and "key-scrub" are bound to the policies
// open (allow), default (self_hosted_only) and scrub (redact).
func newHybridEnv(t *testing.T, extra string) *hybridEnv {
	return newHybridEnvWith(t, hybridOpts{extra: extra})
}

type hybridOpts struct {
	// gpuURL, when set, is the self-hosted provider's base URL (a wrapper
	// around e.gpu); gpuExtra is added to its provider entry.
	gpuURL, gpuExtra string
	// routes are more route entries; extra is appended to the config.
	routes, extra string
}

func newHybridEnvWith(t *testing.T, o hybridOpts) *hybridEnv {
	t.Helper()
	e := &hybridEnv{api: fake.NewOpenAI(), gpu: fake.NewOpenAI(), now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	t.Cleanup(e.api.Close)
	t.Cleanup(e.gpu.Close)
	if o.gpuURL == "" {
		o.gpuURL = e.gpu.URL
	}
	extra := o.extra
	cfg := parse(t, `
storage: { data_dir: `+t.TempDir()+` }
providers:
  - { name: api, type: openai, base_url: "`+e.api.URL+`", api_key: "`+fake.APIKey+`", hosting: proprietary, region: us }
  - { name: gpu, type: openai, base_url: "`+o.gpuURL+`", api_key: "`+fake.APIKey+`", hosting: self_hosted, region: eu `+o.gpuExtra+` }
models:
  - { name: m-api, provider: api, upstream: gpt-4o, cache: { ttl: 1m } }
  - { name: m-gpu, provider: gpu, upstream: llama }
routes:
  - { name: r, targets: [m-api, m-gpu], cache: { ttl: 1m } }
`+o.routes+`
policy:
  policies:
    - { name: default, on_sensitive: self_hosted_only }
    - { name: open, on_sensitive: allow }
    - { name: scrub, on_sensitive: redact }
`+extra)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	providers, cfg, err := BuildProviders(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{Config: cfg, Providers: providers, log: log}
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
	e.obs = &attempts{recorder: &recorder{log: log}}
	opts := gateway.Options{
		Router: rt, Guard: gd, Observer: e.obs, Pricer: g.prices, Now: e.clock,
		Auth: testKeys{
			"key-open":    {KeyID: "k-open", Policy: "open"},
			"key-default": {KeyID: "k-default"},
			"key-scrub":   {KeyID: "k-scrub", Policy: "scrub"},
		},
	}
	opts.Metrics = gateway.NewMetrics()
	g.wireHybrid(&opts)
	for _, c := range g.collectors {
		opts.Metrics.Registry.MustRegister(c)
	}
	if opts.Cache != nil {
		// The same cache, on the test's clock.
		e.cache = cache.New(cache.Options{Now: e.clock})
		opts.Cache = e.cache
	}
	e.handler = gateway.New(opts)
	e.srv = httptest.NewServer(e.handler)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *hybridEnv) do(t *testing.T, key, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	return postAs(t, e.srv.URL+"/v1/chat/completions", key, body, hdr...)
}

func chatBody(model, text string, stream bool) string {
	b, _ := json.Marshal(map[string]any{"model": model, "stream": stream, "messages": []any{map[string]string{"role": "user", "content": text}}})
	return string(b)
}

func answerText(t *testing.T, body string) string {
	t.Helper()
	var v struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || len(v.Choices) == 0 {
		t.Fatalf("not a chat completion: %s", body)
	}
	return v.Choices[0].Message.Content
}

// streamText concatenates the content deltas of an OpenAI SSE stream and
// checks it ends with [DONE].
func streamText(t *testing.T, body string) string {
	t.Helper()
	var out strings.Builder
	done := false
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			done = true
			continue
		}
		var ch struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatalf("bad chunk %q: %v", line, err)
		}
		for _, c := range ch.Choices {
			out.WriteString(c.Delta.Content)
		}
	}
	if !done {
		t.Fatalf("stream did not end with [DONE]: %s", body)
	}
	return out.String()
}

func TestCacheHitMissTTL(t *testing.T) {
	e := newHybridEnv(t, "")
	body := chatBody("m-api", "what is two and two", false)
	r1, b1 := e.do(t, "key-open", body)
	r2, b2 := e.do(t, "key-open", body)
	if r1.StatusCode != 200 || r2.StatusCode != 200 {
		t.Fatalf("status %d, %d", r1.StatusCode, r2.StatusCode)
	}
	if r1.Header.Get("X-Fulcrum-Cache") != "miss" || r2.Header.Get("X-Fulcrum-Cache") != "hit" {
		t.Fatalf("X-Fulcrum-Cache = %q then %q; want miss then hit", r1.Header.Get("X-Fulcrum-Cache"), r2.Header.Get("X-Fulcrum-Cache"))
	}
	if got := len(e.api.Log.All()); got != 1 {
		t.Fatalf("upstream called %d times; want 1", got)
	}
	if answerText(t, b1) != answerText(t, b2) || answerText(t, b2) != fake.Reply("what is two and two") {
		t.Fatalf("hit answered %q, miss %q", answerText(t, b2), answerText(t, b1))
	}
	if r2.Header.Get("X-Fulcrum-Provider") != "api" {
		t.Errorf("hit provider header %q", r2.Header.Get("X-Fulcrum-Provider"))
	}
	// Metering: the hit is attempt 1 of its request at zero cost, saving
	// exactly what the miss cost.
	as := e.obs.list()
	if len(as) != 2 || as[0].Cached || !as[1].Cached {
		t.Fatalf("attempts = %+v", as)
	}
	if as[0].CostNanos <= 0 || as[1].CostNanos != 0 || as[1].SavedNanos != as[0].CostNanos || as[1].Info.Name != "cache" {
		t.Fatalf("miss cost %d; hit cost %d saved %d provider %q", as[0].CostNanos, as[1].CostNanos, as[1].SavedNanos, as[1].Info.Name)
	}
	// TTL: a minute later the entry is gone.
	e.advance(61 * time.Second)
	if r, _ := e.do(t, "key-open", body); r.Header.Get("X-Fulcrum-Cache") != "miss" {
		t.Fatalf("after the TTL: %q, want miss", r.Header.Get("X-Fulcrum-Cache"))
	}
	if got := len(e.api.Log.All()); got != 2 {
		t.Fatalf("upstream called %d times; want 2", got)
	}
}

func TestCacheControlNoStore(t *testing.T) {
	e := newHybridEnv(t, "")
	body := chatBody("m-api", "do not keep this", false)
	r, _ := e.do(t, "key-open", body, "Cache-Control", "no-store")
	if r.Header.Get("X-Fulcrum-Cache") != "bypass" {
		t.Fatalf("no-store: %q", r.Header.Get("X-Fulcrum-Cache"))
	}
	r, _ = e.do(t, "key-open", body)
	if r.Header.Get("X-Fulcrum-Cache") != "miss" {
		t.Fatalf("after a no-store request: %q, want miss (nothing was stored)", r.Header.Get("X-Fulcrum-Cache"))
	}
	r, _ = e.do(t, "key-open", body, "Cache-Control", "no-store")
	if r.Header.Get("X-Fulcrum-Cache") != "bypass" || len(e.api.Log.All()) != 3 {
		t.Fatalf("no-store was answered from the cache (%q, %d upstream calls)", r.Header.Get("X-Fulcrum-Cache"), len(e.api.Log.All()))
	}
	r, _ = e.do(t, "key-open", body, "Cache-Control", "no-cache")
	if r.Header.Get("X-Fulcrum-Cache") != "miss" || len(e.api.Log.All()) != 4 {
		t.Fatalf("no-cache was answered from the cache")
	}
}

// TestCachePolicyPartitioning: the same prompt, carrying an email address,
// from a key whose policy allows it anywhere (served and cached by the
// proprietary api) and from a key whose policy keeps it self-hosted: the
// second is a miss, served by the self-hosted provider; the cached api
// answer never reaches it, and its prompt never reaches the api.
func TestCachePolicyPartitioning(t *testing.T) {
	e := newHybridEnv(t, "")
	body := chatBody("r", "write to bob.jones@example.com about the invoice", false)
	r, _ := e.do(t, "key-open", body)
	if r.StatusCode != 200 || r.Header.Get("X-Fulcrum-Provider") != "api" || r.Header.Get("X-Fulcrum-Cache") != "miss" {
		t.Fatalf("open key: %d %q %q", r.StatusCode, r.Header.Get("X-Fulcrum-Provider"), r.Header.Get("X-Fulcrum-Cache"))
	}
	if r, _ = e.do(t, "key-open", body); r.Header.Get("X-Fulcrum-Cache") != "hit" {
		t.Fatalf("open key again: %q, want hit", r.Header.Get("X-Fulcrum-Cache"))
	}
	for range 2 {
		r, _ = e.do(t, "key-default", body)
		if r.StatusCode != 200 || r.Header.Get("X-Fulcrum-Provider") != "gpu" {
			t.Fatalf("default key: %d from %q; want 200 from gpu", r.StatusCode, r.Header.Get("X-Fulcrum-Provider"))
		}
	}
	if r.Header.Get("X-Fulcrum-Cache") != "hit" {
		t.Fatalf("default key's second request: %q; want a hit of its own (gpu) entry", r.Header.Get("X-Fulcrum-Cache"))
	}
	if len(e.api.Log.All()) != 1 || len(e.gpu.Log.All()) != 1 {
		t.Fatalf("api saw %d requests, gpu %d; want 1 and 1", len(e.api.Log.All()), len(e.gpu.Log.All()))
	}
	// Redacting policy: its own partition; the answer is restored per
	// caller from the redacted entry.
	for i := range 2 {
		r, b := e.do(t, "key-scrub", body)
		if r.StatusCode != 200 || !strings.Contains(answerText(t, b), "bob.jones@example.com") {
			t.Fatalf("scrub key #%d: %d %s", i, r.StatusCode, b)
		}
		if want := []string{"miss", "hit"}[i]; r.Header.Get("X-Fulcrum-Cache") != want {
			t.Fatalf("scrub key #%d: %q, want %s", i, r.Header.Get("X-Fulcrum-Cache"), want)
		}
	}
	for _, req := range e.api.Log.All() {
		if strings.Contains(string(req.Body), "bob.jones") && !strings.Contains(string(req.Body), "write to bob.jones@example.com") {
			t.Fatalf("unexpected api body %s", req.Body)
		}
	}
	if n := len(e.api.Log.All()); n != 2 || strings.Contains(string(e.api.Log.All()[1].Body), "bob.jones@example.com") {
		t.Fatalf("the redacting key's request reached the api unredacted (or not at all): %d requests", n)
	}
}

// TestCacheStreamReplay: a streamed miss is cached; a streamed hit replays
// it as SSE whose text is byte-equal to the original stream's, and a
// non-streamed request for the same prompt hits the same entry.
func TestCacheStreamReplay(t *testing.T) {
	e := newHybridEnv(t, "")
	prompt := "stream me a few words, ünïcode included ✓"
	r1, b1 := e.do(t, "key-open", chatBody("m-api", prompt, true))
	r2, b2 := e.do(t, "key-open", chatBody("m-api", prompt, true))
	if r1.Header.Get("X-Fulcrum-Cache") != "miss" || r2.Header.Get("X-Fulcrum-Cache") != "hit" {
		t.Fatalf("cache %q then %q", r1.Header.Get("X-Fulcrum-Cache"), r2.Header.Get("X-Fulcrum-Cache"))
	}
	if ct := r2.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("hit content type %q", ct)
	}
	t1, t2 := streamText(t, b1), streamText(t, b2)
	if t1 != t2 || t1 != fake.Reply(prompt) {
		t.Fatalf("replayed text %q, original %q", t2, t1)
	}
	r3, b3 := e.do(t, "key-open", chatBody("m-api", prompt, false))
	if r3.Header.Get("X-Fulcrum-Cache") != "hit" || answerText(t, b3) != t1 {
		t.Fatalf("non-streamed request for the streamed answer: %q %q", r3.Header.Get("X-Fulcrum-Cache"), answerText(t, b3))
	}
	if len(e.api.Log.All()) != 1 {
		t.Fatalf("upstream called %d times", len(e.api.Log.All()))
	}
}

// TestCachePassThroughReplay: a cached model's non-streamed answer keeps
// pass-through (the entry holds the bytes sent), a hit in the same format
// replays those bytes exactly, and a streamed hit decodes them.
func TestCachePassThroughReplay(t *testing.T) {
	e := newHybridEnv(t, "")
	prompt := "say something worth caching"
	r1, b1 := e.do(t, "key-open", chatBody("m-api", prompt, false))
	r2, b2 := e.do(t, "key-open", chatBody("m-api", prompt, false))
	if r1.Header.Get("X-Fulcrum-Cache") != "miss" || r2.Header.Get("X-Fulcrum-Cache") != "hit" {
		t.Fatalf("cache %q then %q", r1.Header.Get("X-Fulcrum-Cache"), r2.Header.Get("X-Fulcrum-Cache"))
	}
	// service_tier is a field of OpenAI's answer the canonical path does
	// not carry: its presence shows the miss was passed through.
	if !strings.Contains(b1, `"service_tier":"default"`) {
		t.Fatalf("the miss was not passed through: %s", b1)
	}
	if b1 != b2 {
		t.Fatalf("hit body differs from the miss body:\n%s\n%s", b1, b2)
	}
	r3, b3 := e.do(t, "key-open", chatBody("m-api", prompt, true))
	if r3.Header.Get("X-Fulcrum-Cache") != "hit" || streamText(t, b3) != fake.Reply(prompt) {
		t.Fatalf("streamed hit: %q %q", r3.Header.Get("X-Fulcrum-Cache"), streamText(t, b3))
	}
	if len(e.api.Log.All()) != 1 {
		t.Fatalf("upstream called %d times", len(e.api.Log.All()))
	}
}

// metering.retention.cache bounds how long an entry lives: with 30s it
// caps the model's 1m ttl, so 31 s later the same request is a miss.
func TestCacheRetentionCapsTTL(t *testing.T) {
	e := newHybridEnv(t, "metering: { retention: { cache: 30s } }\n")
	body := chatBody("m-api", "what is three and three", false)
	for i, want := range []string{"miss", "hit"} {
		if r, _ := e.do(t, "key-open", body); r.Header.Get("X-Fulcrum-Cache") != want {
			t.Fatalf("request %d: %q, want %s", i+1, r.Header.Get("X-Fulcrum-Cache"), want)
		}
	}
	e.advance(29 * time.Second)
	if r, _ := e.do(t, "key-open", body); r.Header.Get("X-Fulcrum-Cache") != "hit" {
		t.Fatalf("29 s later: %q, want hit", r.Header.Get("X-Fulcrum-Cache"))
	}
	e.advance(2 * time.Second)
	if r, _ := e.do(t, "key-open", body); r.Header.Get("X-Fulcrum-Cache") != "miss" {
		t.Fatalf("31 s later (retention 30s, ttl 1m): %q, want miss", r.Header.Get("X-Fulcrum-Cache"))
	}
}
