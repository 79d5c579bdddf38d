package router

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

func capacityEnv(t *testing.T, capacity string) *Router {
	t.Helper()
	y := `
providers:
  - {name: gpu, type: openai, base_url: "http://127.0.0.1:1/v1", hosting: self_hosted, capacity: ` + capacity + `}
  - {name: cloud, type: openai, base_url: "http://127.0.0.1:3/v1", hosting: proprietary}
models:
  - {name: llama, provider: gpu}
  - {name: gpt, provider: cloud}
routes:
  - {name: hybrid, targets: [llama, gpt]}
`
	cfg, err := config.Parse([]byte(y), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	provs := map[string]provider.Provider{}
	for _, p := range cfg.Providers {
		provs[p.Name] = &fakeProvider{info: provider.Info{Name: p.Name, Type: p.Type, Hosting: provider.Hosting(p.Hosting)}}
	}
	r, err := New(cfg, provs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSpillover: with two slots on the GPU box, a burst of six requests
// that policy allows anywhere puts two on the box and spills four to the
// API; of six that must stay self-hosted, three queue (queue_size 3) and
// are served as slots free up, three are refused at once with a clean 503
// + Retry-After. No self-hosted-only request ever reaches the proprietary
// target. (TestQueueTimeout covers the queue's deadline.)
func TestSpillover(t *testing.T) {
	r := capacityEnv(t, "{max_concurrency: 2, queue_size: 3, queue_timeout: 300ms}")
	plan, _ := r.Resolve("hybrid")
	release := make(chan struct{})
	var (
		mu     sync.Mutex
		served = map[string]int{}
		leak   atomic.Int64
	)
	call := func(permit policy.Clearance, sensitive bool) (string, error) {
		_, t, err := Execute(context.Background(), plan, permit, func(ctx context.Context, t *Target, _ policy.Permit, n int) (struct{}, error) {
			if sensitive && t.Info().Hosting != provider.SelfHosted {
				leak.Add(1)
			}
			if t.Model == "llama" {
				<-release
			}
			return struct{}{}, nil
		})
		if err != nil {
			return "", err
		}
		mu.Lock()
		served[t.Model]++
		mu.Unlock()
		return t.Model, nil
	}

	// Fill both slots.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); call(permitAll, false) }()
	}
	waitFor(t, func() bool { return r.Capacities()[0].InFlight() == 2 })
	// Permitted anywhere: spill at once.
	for range 4 {
		if m, err := call(permitAll, false); err != nil || m != "gpt" {
			t.Fatalf("permitted request: served by %q, err %v; want a spill to gpt", m, err)
		}
	}
	// Self-hosted only: queue (3 places), the 4th..6th are refused now.
	errs := make(chan error, 6)
	for range 6 {
		wg.Add(1)
		go func() { defer wg.Done(); _, err := call(selfHostedOnly, true); errs <- err }()
	}
	waitFor(t, func() bool { return r.Capacities()[0].Stats().QueueFull == 3 })
	// Free the two slots: the queued requests get them in turn.
	close(release)
	wg.Wait()
	close(errs)
	var ok, full, timeout int
	for err := range errs {
		var e *llm.Error
		switch {
		case err == nil:
			ok++
		case errors.As(err, &e) && e.Status == 503 && e.Code == "capacity_queue_full" && e.RetryAfter > 0:
			full++
		case errors.As(err, &e) && e.Status == 503 && e.Code == "capacity_timeout" && e.RetryAfter > 0:
			timeout++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if full != 3 || ok < 2 {
		t.Fatalf("sensitive requests: %d served, %d refused for a full queue, %d timed out; want >=2 served, 3 refused", ok, full, timeout)
	}
	if leak.Load() != 0 {
		t.Fatalf("%d self-hosted-only requests reached the proprietary target", leak.Load())
	}
	st := r.Capacities()[0].Stats()
	if st.Spilled != 4 || st.InFlight != 0 || st.Waiting != 0 {
		t.Fatalf("stats = %+v; want 4 spilled, nothing in flight or waiting", st)
	}
	if served["gpt"] != 4 {
		t.Fatalf("served = %v", served)
	}
}

// TestQueueTimeout: a self-hosted-only request waits at most queue_timeout
// and then gets a 503 with Retry-After.
func TestQueueTimeout(t *testing.T) {
	r := capacityEnv(t, "{max_concurrency: 1, queue_timeout: 100ms}")
	plan, _ := r.Resolve("hybrid")
	hold := make(chan struct{})
	defer close(hold)
	go Execute(context.Background(), plan, permitAll, func(ctx context.Context, t *Target, _ policy.Permit, n int) (int, error) { <-hold; return 0, nil })
	waitFor(t, func() bool { return r.Capacities()[0].InFlight() == 1 })
	start := time.Now()
	_, _, err := Execute(context.Background(), plan, selfHostedOnly, func(ctx context.Context, t *Target, _ policy.Permit, n int) (int, error) {
		t2 := t
		return 0, fmt.Errorf("attempt on %s should not run", t2.Model)
	})
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 503 || e.Code != "capacity_timeout" || e.RetryAfter < time.Second {
		t.Fatalf("err = %v; want 503 capacity_timeout with Retry-After", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Fatalf("waited %v; want about the 100ms queue timeout", d)
	}
	if !strings.Contains(e.Message, "gpu") {
		t.Fatalf("message %q does not name the provider", e.Message)
	}
}

// TestEngineMetrics: the provider counts as saturated while vLLM reports
// more waiting requests than max_waiting, whatever Fulcrum has in flight.
func TestEngineMetrics(t *testing.T) {
	var waiting atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"+
			"# TYPE vllm:num_requests_waiting gauge\n"+
			"vllm:num_requests_waiting_total 99\n"+
			"vllm:num_requests_waiting{engine=\"0\",model_name=\"llama\"} %d.0\n"+
			"vllm:num_requests_running{engine=\"0\",model_name=\"llama\"} 8.0\n", waiting.Load())
	}))
	defer srv.Close()
	r := capacityEnv(t, "{metrics_url: \""+srv.URL+"/metrics\", max_waiting: 2}")
	plan, _ := r.Resolve("hybrid")
	cp := r.Capacities()[0]
	serve := func() string {
		_, t, err := Execute(context.Background(), plan, permitAll, func(ctx context.Context, t *Target, _ policy.Permit, n int) (int, error) { return 0, nil })
		if err != nil {
			return err.Error()
		}
		return t.Model
	}
	waiting.Store(2)
	if err := cp.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := serve(); m != "llama" {
		t.Fatalf("2 waiting (max 2): served by %s, want llama", m)
	}
	waiting.Store(3)
	cp.Poll(context.Background())
	if m := serve(); m != "gpt" {
		t.Fatalf("3 waiting (max 2): served by %s, want a spill to gpt", m)
	}
	if st := cp.Stats(); st.Spilled != 1 || st.EngineWaiting != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestParseGauge(t *testing.T) {
	in := "vllm:num_requests_waiting{model_name=\"a\"} 2\nvllm:num_requests_waiting{model_name=\"b\"} 3.0 1700000000\nother 5\n"
	v, err := ParseGauge(bufio.NewScanner(strings.NewReader(in)), "vllm:num_requests_waiting")
	if err != nil || v != 5 {
		t.Fatalf("ParseGauge = %d, %v; want 5", v, err)
	}
	if _, err := ParseGauge(bufio.NewScanner(strings.NewReader("other 1\n")), "vllm:num_requests_waiting"); err == nil {
		t.Fatal("missing gauge not reported")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
