package router

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// fakeProvider is a Provider whose calls are never made: router tests pass
// their own attempt functions, as the gateway does.
type fakeProvider struct{ info provider.Info }

func (f *fakeProvider) Info() *provider.Info { return &f.info }
func (f *fakeProvider) Chat(context.Context, policy.Permit, *llm.ChatRequest) (*llm.ChatResponse, error) {
	return nil, errors.New("not used")
}
func (f *fakeProvider) ChatStream(context.Context, policy.Permit, *llm.ChatRequest) (provider.Stream, error) {
	return nil, errors.New("not used")
}
func (f *fakeProvider) Embed(context.Context, policy.Permit, *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	return nil, errors.New("not used")
}
func (f *fakeProvider) Forward(context.Context, policy.Permit, *provider.RawRequest) (*http.Response, error) {
	return nil, errors.New("not used")
}

// clock is a fake clock; Sleep advances it.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	slept time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.slept += d
	c.mu.Unlock()
	return ctx.Err()
}

// testConfig has providers local (self-hosted) and cloud (proprietary),
// models a, b, c on them and whatever routes the test adds (YAML).
const testProviders = `
providers:
  - {name: local, type: openai, base_url: "http://127.0.0.1:1/v1", hosting: self_hosted, region: eu}
  - {name: local2, type: openai, base_url: "http://127.0.0.1:2/v1", hosting: self_hosted, region: eu}
  - {name: cloud, type: openai, base_url: "http://127.0.0.1:3/v1", hosting: proprietary, region: us}
models:
  - {name: a, provider: local, upstream: llama}
  - {name: a2, provider: local2, upstream: llama}
  - {name: b, provider: cloud, upstream: gpt-4o}
  - {name: c, provider: cloud, upstream: gpt-4o-mini}
`

type testEnv struct {
	r     *Router
	clk   *clock
	mu    sync.Mutex
	tries []string // "model#n" per OnAttempt
}

func (e *testEnv) attempts() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.tries...)
}

func newEnv(t testing.TB, routes string, tweak func(o *Options)) *testEnv {
	t.Helper()
	cfg, err := config.Parse([]byte(testProviders+routes), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	provs := map[string]provider.Provider{}
	for _, p := range cfg.Providers {
		provs[p.Name] = &fakeProvider{info: provider.Info{Name: p.Name, Type: p.Type, Hosting: provider.Hosting(p.Hosting), Region: p.Region}}
	}
	env := &testEnv{clk: &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}
	opts := Options{
		Now:   env.clk.Now,
		Sleep: env.clk.Sleep,
		Rand:  rand.New(rand.NewPCG(1, 2)),
		OnAttempt: func(a *Attempt) {
			env.mu.Lock()
			env.tries = append(env.tries, a.Target.Model+"#"+itoa(a.N))
			env.mu.Unlock()
		},
	}
	if tweak != nil {
		tweak(&opts)
	}
	env.r, err = New(cfg, provs, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return env
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func (e *testEnv) plan(t testing.TB, name string) *Plan {
	t.Helper()
	p, err := e.r.Resolve(name)
	if err != nil {
		t.Fatalf("Resolve(%q): %v", name, err)
	}
	return p
}

func (e *testEnv) health(model string) TargetHealth {
	for _, h := range e.r.Health() {
		if h.Model == model {
			return h
		}
	}
	return TargetHealth{}
}

func upstreamErr(status int, retryAfter time.Duration) *llm.Error {
	return &llm.Error{Status: status, Type: llm.StatusType(status), Message: http.StatusText(status), RetryAfter: retryAfter, Provider: "x"}
}
