package router

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

func TestResolveUnknownModel(t *testing.T) {
	env := newEnv(t, "", nil)
	_, err := env.r.Resolve("nope")
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Code != "model_not_found" || e.Type != llm.ErrInvalidRequest {
		t.Fatalf("Resolve(nope) = %v, want 404 model_not_found", err)
	}
}

func TestResolveWithNoModels(t *testing.T) {
	r, err := New(&config.Config{}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve("gpt-4o-mini")
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Code != "model_not_found" {
		t.Fatalf("Resolve = %v, want 404 model_not_found", err)
	}
	if !strings.Contains(e.Message, "no models configured") || !strings.Contains(e.Message, "OPENAI_API_KEY") {
		t.Errorf("message %q does not say the gateway has no models nor how to add one", e.Message)
	}
	env := newEnv(t, "", nil)
	if _, err := env.r.Resolve("nope"); err == nil || strings.Contains(err.Error(), "no models configured") {
		t.Errorf("with models configured, Resolve(nope) = %v, want the plain message", err)
	}
}

func TestModels(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: smart, strategy: cascade, targets: [a, b]}
`, nil)
	got := env.r.Models()
	want := []ModelInfo{
		{ID: "a", Kind: "model", OwnedBy: "local", Type: "chat"},
		{ID: "a2", Kind: "model", OwnedBy: "local2", Type: "chat"},
		{ID: "b", Kind: "model", OwnedBy: "cloud", Type: "chat"},
		{ID: "c", Kind: "model", OwnedBy: "cloud", Type: "chat"},
		{ID: "smart", Kind: "route", OwnedBy: "fulcrum", Type: "chat"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Models() (-want +got):\n%s", diff)
	}
}

// refusedErr dials a closed port and maps the failure as adapters do.
func refusedErr(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Close()
		return errors.New("dial unexpectedly succeeded")
	}
	return provider.TransportError(ctx, err)
}

// TestFaults injects one failure into the first target of a fallback route
// and checks that the client gets the fallback's answer (or, for a client
// error, that error and no fallback), and that every attempt is reported
// exactly once.
func TestFaults(t *testing.T) {
	tests := []struct {
		name      string
		fail      func(ctx context.Context) error
		want      string // answer, or "" for an error
		wantErr   int
		attempts  []string
		wantState string
	}{
		{"429 retry-after", func(context.Context) error { return upstreamErr(429, time.Second) }, "from b", 0, []string{"a#1", "b#2"}, StateClosed},
		{"500", func(context.Context) error { return upstreamErr(500, 0) }, "from b", 0, []string{"a#1", "b#2"}, StateClosed},
		{"503", func(context.Context) error { return upstreamErr(503, 0) }, "from b", 0, []string{"a#1", "b#2"}, StateClosed},
		{"slow first byte", func(ctx context.Context) error { <-ctx.Done(); return provider.TransportError(ctx, ctx.Err()) }, "from b", 0, []string{"a#1", "b#2"}, StateClosed},
		{"malformed body", func(context.Context) error {
			return &llm.Error{Status: 502, Type: llm.ErrUpstream, Code: "bad_upstream_response", Message: "upstream sent malformed JSON"}
		}, "from b", 0, []string{"a#1", "b#2"}, StateClosed},
		{"connection refused", refusedErr, "from b", 0, []string{"a#1", "b#2"}, StateClosed},
		{"400 is not retried", func(context.Context) error { return upstreamErr(400, 0) }, "", 400, []string{"a#1"}, StateClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, `
routes:
  - name: r
    strategy: fallback
    targets: [a, b]
    timeouts: {attempt: 50ms}
`, nil)
			p := env.plan(t, "r")
			got, tgt, err := Execute(context.Background(), p, permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (string, error) {
				if tg.Model == "a" {
					return "", tt.fail(ctx)
				}
				return "from " + tg.Model, nil
			})
			if tt.want != "" {
				if err != nil || got != tt.want || tgt.Model != "b" {
					t.Fatalf("Execute = %q, %v, %v; want %q from b", got, tgt, err, tt.want)
				}
			} else {
				var e *llm.Error
				if !errors.As(err, &e) || e.Status != tt.wantErr {
					t.Fatalf("Execute error = %v, want status %d", err, tt.wantErr)
				}
			}
			if diff := cmp.Diff(tt.attempts, env.attempts()); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			if h := env.health("a"); h.State != tt.wantState {
				t.Errorf("breaker of a = %s, want %s", h.State, tt.wantState)
			}
		})
	}
}

// TestRetryAfterLastError: a lone target that keeps answering 429 is
// retried after its Retry-After, and the client finally sees the 429 with
// its Retry-After.
func TestRetryAfterLastError(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [b], retry: {attempts: 3}, breaker: {disabled: true}}
`, nil)
	calls := 0
	_, _, err := Execute(context.Background(), env.plan(t, "r"), permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (int, error) {
		calls++
		return 0, upstreamErr(429, 2*time.Second)
	})
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 429 || e.RetryAfter != 2*time.Second {
		t.Fatalf("err = %v, want 429 with Retry-After 2s", err)
	}
	if calls != 3 {
		t.Errorf("calls = %d, want 3", calls)
	}
	if env.clk.slept < 4*time.Second {
		t.Errorf("slept %s, want at least 2x Retry-After", env.clk.slept)
	}

	// A Retry-After above the cap is not waited for.
	env = newEnv(t, `
routes:
  - {name: r, targets: [b], retry: {attempts: 3, max_retry_after: 1s}}
`, nil)
	calls = 0
	_, _, err = Execute(context.Background(), env.plan(t, "r"), permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (int, error) {
		calls++
		return 0, upstreamErr(429, time.Minute)
	})
	if !errors.As(err, &e) || e.Status != 429 || calls != 1 || env.clk.slept != 0 {
		t.Fatalf("err = %v, calls = %d, slept %s; want one 429 and no wait", err, calls, env.clk.slept)
	}
}

func TestBreaker(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a], retry: {attempts: 1}, breaker: {failures: 3, cooldown: 10s}}
  - {name: fb, targets: [a, b], retry: {attempts: 2}, breaker: {failures: 3, cooldown: 10s}}
`, nil)
	p := env.plan(t, "r")
	fail := true
	calls := 0
	call := func() error {
		_, _, err := Execute(context.Background(), p, permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (int, error) {
			calls++
			if fail {
				return 0, upstreamErr(503, 0)
			}
			return 1, nil
		})
		return err
	}
	for i := range 3 {
		if err := call(); err == nil {
			t.Fatalf("call %d succeeded", i)
		}
	}
	if h := env.health("a"); h.State != StateOpen || h.Failures != 3 || h.Opened != 1 {
		t.Fatalf("after 3 failures: %+v, want open", h)
	}
	// Open: the attempt is not called; the error says so.
	err := call()
	var e *llm.Error
	if !errors.As(err, &e) || e.Code != "circuit_open" || e.Status != 503 || e.RetryAfter <= 0 || calls != 3 {
		t.Fatalf("open breaker: err %v, calls %d", err, calls)
	}
	// A route with a fallback skips the open target.
	got, tgt, err := Execute(context.Background(), env.plan(t, "fb"), permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (string, error) {
		return tg.Model, nil
	})
	if err != nil || got != "b" || tgt.Model != "b" {
		t.Fatalf("fallback past open breaker = %q, %v", got, err)
	}
	// After the cool-down: half-open, one probe; a failure re-opens.
	env.clk.Advance(10 * time.Second)
	if h := env.health("a"); h.State != StateHalfOpen {
		t.Fatalf("after cool-down: %s, want half_open", h.State)
	}
	if err := call(); err == nil || calls != 4 {
		t.Fatalf("probe: err %v calls %d", err, calls)
	}
	if h := env.health("a"); h.State != StateOpen || h.Opened != 2 {
		t.Fatalf("failed probe: %+v, want open again", h)
	}
	// Next probe succeeds: closed.
	env.clk.Advance(10 * time.Second)
	fail = false
	if err := call(); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if h := env.health("a"); h.State != StateClosed || h.Consecutive != 0 {
		t.Fatalf("after good probe: %+v, want closed", h)
	}
}

// TestBreakerHalfOpenProbes: a half-open breaker lets only `probes`
// attempts through at once.
func TestBreakerHalfOpenProbes(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a], retry: {attempts: 1}, breaker: {failures: 1, cooldown: 1s, probes: 1}}
`, nil)
	p := env.plan(t, "r")
	Execute(context.Background(), p, permitAll, func(context.Context, *Target, policy.Permit, int) (int, error) { return 0, upstreamErr(500, 0) })
	env.clk.Advance(time.Second)
	inProbe := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		_, _, err := Execute(context.Background(), p, permitAll, func(context.Context, *Target, policy.Permit, int) (int, error) {
			close(inProbe)
			<-release
			return 1, nil
		})
		done <- err
	}()
	<-inProbe
	_, _, err := Execute(context.Background(), p, permitAll, func(context.Context, *Target, policy.Permit, int) (int, error) {
		t.Error("second attempt passed a half-open breaker with one probe in flight")
		return 1, nil
	})
	var e *llm.Error
	if !errors.As(err, &e) || e.Code != "circuit_open" {
		t.Errorf("second call err = %v, want circuit_open", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h := env.health("a"); h.State != StateClosed {
		t.Fatalf("state %s, want closed", h.State)
	}
}

// TestFailureRate opens the breaker on the share of failures in the window
// even without a long run of consecutive failures.
func TestFailureRate(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a], retry: {attempts: 1}, breaker: {failures: 100, window: 10, failure_rate: 0.5}}
`, nil)
	p := env.plan(t, "r")
	for i := range 10 {
		Execute(context.Background(), p, permitAll, func(context.Context, *Target, policy.Permit, int) (int, error) {
			if i%2 == 1 { // the 10th outcome, completing the window, fails
				return 0, upstreamErr(500, 0)
			}
			return 1, nil
		})
	}
	if h := env.health("a"); h.State != StateOpen {
		t.Fatalf("state %s after 5/10 failures, want open", h.State)
	}
}

// TestRetryBudget: a failing upstream gets at most ~20% extra attempts (plus
// the floor), however many retries each request may make.
func TestRetryBudget(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a], retry: {attempts: 5, budget_ratio: 0.2, budget_min: 1}, breaker: {disabled: true}}
`, nil)
	p := env.plan(t, "r")
	calls := 0
	const requests = 200
	for range requests {
		Execute(context.Background(), p, permitAll, func(context.Context, *Target, policy.Permit, int) (int, error) {
			calls++
			return 0, upstreamErr(500, 0)
		})
	}
	// The fake sleep advances the clock by the backoffs (a few seconds in
	// all), which refills the floor at 1/s.
	limit := requests + int(0.2*requests) + 10 + int(env.clk.slept.Seconds()) + 1
	if calls > limit {
		t.Fatalf("%d attempts for %d requests, budget allows %d", calls, requests, limit)
	}
	if calls <= requests {
		t.Fatalf("no retries at all (%d attempts)", calls)
	}
	t.Logf("%d attempts for %d requests", calls, requests)
}

// TestDeadlineStreamKeepsRunning: a streaming plan's attempt deadline (TTFT)
// moves on from a target that sends no first chunk, and the winning
// attempt's context stays alive after Execute returns, for the rest of the
// stream.
func TestDeadlineStreamKeepsRunning(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a, b], timeouts: {ttft: 30ms, total: 400ms}}
`, nil)
	p := env.plan(t, "r").For(&llm.ChatRequest{Stream: true})
	if p.TTFT() != 30*time.Millisecond {
		t.Fatalf("TTFT = %s", p.TTFT())
	}
	var streamCtx context.Context
	got, _, err := Execute(context.Background(), p, permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (string, error) {
		if tg.Model == "a" {
			<-ctx.Done()
			if !errors.Is(context.Cause(ctx), ErrAttemptTimeout) {
				t.Errorf("cause = %v", context.Cause(ctx))
			}
			return "", provider.TransportError(ctx, ctx.Err())
		}
		streamCtx = ctx
		return "first chunk", nil
	})
	if err != nil || got != "first chunk" {
		t.Fatalf("Execute = %q, %v", got, err)
	}
	time.Sleep(450 * time.Millisecond) // past both deadlines (wide apart: a loaded CI machine fires timers late)
	if streamCtx.Err() != nil {
		t.Fatalf("stream context cancelled after first chunk: %v", context.Cause(streamCtx))
	}
	if h := env.health("a"); h.Failures != 1 || h.LastError != "504 upstream_timeout" {
		t.Errorf("a: %+v, want one timeout", h)
	}
}

func TestClientCancelStops(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a, b]}
`, nil)
	ctx, cancel := context.WithCancel(context.Background())
	_, _, err := Execute(ctx, env.plan(t, "r"), permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (int, error) {
		cancel()
		return 0, provider.TransportError(ctx, ctx.Err())
	})
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 499 {
		t.Fatalf("err = %v, want 499", err)
	}
	if got := env.attempts(); len(got) != 1 {
		t.Fatalf("attempts %v, want only the first", got)
	}
	if h := env.health("a"); h.Failures != 0 {
		t.Fatalf("client cancel counted against the upstream: %+v", h)
	}
}

func TestSameUpstreamIsOneGroup(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a, a2, b]}
`, nil)
	p := env.plan(t, "r")
	if len(p.tiers) != 2 || len(p.tiers[0]) != 2 {
		t.Fatalf("tiers %d, first %d; want [a a2] [b]", len(p.tiers), len(p.tiers[0]))
	}
	first := map[string]int{}
	for range 400 {
		_, tg, _ := Execute(context.Background(), p, permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (int, error) { return 1, nil })
		first[tg.Model]++
	}
	if first["b"] != 0 || first["a"] < 150 || first["a2"] < 150 {
		t.Fatalf("first choices %v, want a and a2 balanced, b never", first)
	}
}

func TestNotRetriedCodes(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a, b], retry: {on: ["429"]}}
`, nil)
	_, _, err := Execute(context.Background(), env.plan(t, "r"), permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (int, error) {
		return 0, upstreamErr(http.StatusInternalServerError, 0)
	})
	if got := env.attempts(); len(got) != 1 || err == nil {
		t.Fatalf("attempts %v err %v: 500 must not be retried with on: [429]", got, err)
	}
}
