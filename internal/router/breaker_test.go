package router

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
)

// TestRateLimitIsNotFailure: two client requests answered 429 with
// Retry-After: 1 on every attempt (six upstream attempts) used to open the
// breaker, and every client then got 503 circuit_open for the cool-down. A
// 429 is back-pressure: the breaker stays closed and the target is set
// aside for the Retry-After only.
func TestRateLimitIsNotFailure(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a], retry: {attempts: 3, on: ["429"]}, breaker: {failures: 3, cooldown: 30s}}
  - {name: fb, targets: [a, b], retry: {attempts: 1}}
`, nil)
	p := env.plan(t, "r")
	limited := true
	calls := 0
	call := func(p *Plan) (string, error) {
		out, _, err := Execute(context.Background(), p, permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (string, error) {
			calls++
			if limited && tg.Model == "a" {
				return "", upstreamErr(429, time.Second)
			}
			return tg.Model, nil
		})
		return out, err
	}
	for i := range 2 {
		if i > 0 {
			env.clk.Advance(time.Second) // past the first one's Retry-After
		}
		_, err := call(p)
		var e *llm.Error
		if !errors.As(err, &e) || e.Status != 429 {
			t.Fatalf("request %d: %v, want the upstream's 429", i, err)
		}
	}
	if calls != 6 {
		t.Fatalf("%d upstream attempts, want 6", calls)
	}
	h := env.health("a")
	if h.State != StateClosed || h.Failures != 0 || h.Opened != 0 {
		t.Fatalf("after six 429s: %+v, want closed with no failures", h)
	}
	if h.CoolingUntil.IsZero() {
		t.Error("a 429 with Retry-After did not mark the target cooling")
	}
	// While cooling, a new request is not sent to the target: 429 with the
	// remaining wait; a route with a fallback uses the other target.
	_, err := call(p)
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 429 || e.Code != "upstream_rate_limited" || e.RetryAfter <= 0 || e.RetryAfter > time.Second || calls != 6 {
		t.Fatalf("while cooling: %v (%+v), calls %d", err, e, calls)
	}
	if got, err := call(env.plan(t, "fb")); err != nil || got != "b" {
		t.Fatalf("fallback while cooling: %q, %v", got, err)
	}
	// Cooling lasts the Retry-After, no longer.
	env.clk.Advance(time.Second)
	limited = false
	if got, err := call(p); err != nil || got != "a" {
		t.Fatalf("after Retry-After: %q, %v", got, err)
	}
}

// TestClientErrorsNeverCount: a 4xx caused by the request (here 400 and a
// policy refusal) never moves the breaker, however many there are.
func TestClientErrorsNeverCount(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a], retry: {attempts: 1}, breaker: {failures: 2, cooldown: 30s}}
`, nil)
	p := env.plan(t, "r")
	for i := range 10 {
		err := upstreamErr(400, 0)
		if i%2 == 1 {
			err = &llm.Error{Status: 403, Type: llm.ErrPermission, Code: "policy_error", Message: "refused by policy"}
		}
		ctx := WithTenant(context.Background(), "key_bad")
		Execute(ctx, p, permitAll, func(context.Context, *Target, policy.Permit, int) (int, error) { return 0, err })
	}
	if h := env.health("a"); h.State != StateClosed || h.Failures != 0 {
		t.Fatalf("after ten 4xx: %+v, want closed", h)
	}
	called := false
	Execute(WithTenant(context.Background(), "key_bad"), p, permitAll, func(context.Context, *Target, policy.Permit, int) (int, error) { called = true; return 1, nil })
	if !called {
		t.Error("the tenant that sent 4xx requests was blocked")
	}
}

// TestTenantIsolation: one tenant's failures open its own breaker, not the
// shared one; failures from a second tenant open the shared one.
func TestTenantIsolation(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a], retry: {attempts: 1}, breaker: {failures: 3, cooldown: 10s}}
`, nil)
	p := env.plan(t, "r")
	calls := map[string]int{}
	call := func(tenant string, fail bool) error {
		_, _, err := Execute(WithTenant(context.Background(), tenant), p, permitAll, func(context.Context, *Target, policy.Permit, int) (int, error) {
			calls[tenant]++
			if fail {
				return 0, upstreamErr(500, 0)
			}
			return 1, nil
		})
		return err
	}
	for range 5 {
		call("key_a", true)
	}
	if calls["key_a"] != 3 {
		t.Errorf("key_a reached the upstream %d times, want 3 (then its own breaker opened)", calls["key_a"])
	}
	if h := env.health("a"); h.State != StateClosed {
		t.Fatalf("one tenant's failures opened the shared breaker: %+v", h)
	}
	var e *llm.Error
	if err := call("key_a", false); !errors.As(err, &e) || e.Code != "circuit_open" {
		t.Errorf("key_a after its failures: %v, want circuit_open", err)
	}
	if err := call("key_b", false); err != nil || calls["key_b"] != 1 {
		t.Fatalf("key_b blocked by key_a's failures: %v", err)
	}
	// Failures from several tenants in a row: the shared breaker opens.
	call("key_b", true)
	call("key_c", true)
	call("key_b", true)
	if h := env.health("a"); h.State != StateOpen {
		t.Fatalf("failures from two tenants: %+v, want open", h)
	}
	if err := call("key_d", false); !errors.As(err, &e) || e.Code != "circuit_open" || calls["key_d"] != 0 {
		t.Errorf("key_d with the shared breaker open: %v", err)
	}
	// Cool-down passes: key_a's own breaker lets it probe again.
	env.clk.Advance(10 * time.Second)
	if err := call("key_a", false); err != nil {
		t.Errorf("key_a after the cool-down: %v", err)
	}
}

// TestConnectionFailuresShared: an upstream that cannot be reached opens
// the shared breaker whoever's requests found it out.
func TestConnectionFailuresShared(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, targets: [a], retry: {attempts: 1}, breaker: {failures: 3, cooldown: 10s}}
`, nil)
	p := env.plan(t, "r")
	for range 3 {
		Execute(WithTenant(context.Background(), "key_a"), p, permitAll, func(context.Context, *Target, policy.Permit, int) (int, error) {
			return 0, &llm.Error{Status: 502, Type: llm.ErrUpstream, Code: "upstream_unreachable", Message: "connection refused"}
		})
	}
	if h := env.health("a"); h.State != StateOpen {
		t.Fatalf("after three refused connections: %+v, want open", h)
	}
}
