package router

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// Breaker states.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half_open"
)

// ewmaAlpha weighs the newest latency sample.
const ewmaAlpha = 0.3

// targetState is a target's health: its circuit breaker, retry budget,
// in-flight count and latency average.
type targetState struct {
	inflight atomic.Int64

	mu sync.Mutex // guards the following fields
	// state is closed, open or half_open. An open breaker turns half-open
	// lazily, when an attempt asks after openUntil.
	state     string
	openUntil time.Time
	probes    int    // half-open probes in flight
	consec    int    // consecutive failures
	window    []bool // ring of recent outcomes, true = failure
	wpos      int
	wfails    int
	ewma      time.Duration
	samples   int64
	requests  int64
	failures  int64
	opened    int64
	budget    float64 // retry tokens
	budgetAt  time.Time
	lastError string
	// coolUntil is set by an upstream 429 with Retry-After: the target is
	// skipped until then. Back-pressure, not failure: the breaker is not
	// touched.
	coolUntil time.Time
	// failTenants holds, per window slot, the tenant of a failure; and
	// runTenants the tenants of the current run of consecutive failures
	// (two are enough to know it is more than one).
	failTenants []string
	runTenants  [2]string
	runSpread   bool
	// tenants are per-tenant breakers: a tenant's failures open its own
	// breaker on the target; the shared one needs failures from more than
	// one tenant (see spreadLocked).
	tenants map[string]*tenantBreaker
}

// tenantBreaker is one tenant's breaker on one target.
type tenantBreaker struct {
	consec    int
	openUntil time.Time
}

// maxTenants bounds the per-tenant breakers kept per target; past it,
// closed ones are dropped.
const maxTenants = 4096

// maxCool caps how long a Retry-After may cool a target.
const maxCool = 10 * time.Minute

// Why allow refused an attempt.
const (
	denyNone = iota
	denyOpen
	denyCooling
)

// allow reports whether an attempt for tenant may start (denyNone),
// reserving a probe when the breaker is half-open, and else why not and
// until when. A cooling target (an upstream 429's Retry-After) is skipped
// whatever its breaker; a disabled breaker allows everything else.
func (s *targetState) allow(now time.Time, b *config.Breaker, tenant string) (deny int, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.coolUntil) {
		return denyCooling, s.coolUntil
	}
	if b.Disabled {
		return denyNone, time.Time{}
	}
	if tb := s.tenants[tenant]; tb != nil && now.Before(tb.openUntil) {
		return denyOpen, tb.openUntil
	}
	switch s.state {
	case StateOpen:
		if now.Before(s.openUntil) {
			return denyOpen, s.openUntil
		}
		s.state, s.probes = StateHalfOpen, 0
		fallthrough
	case StateHalfOpen:
		if s.probes >= b.Probes {
			return denyOpen, now.Add(time.Second)
		}
		s.probes++
	}
	return denyNone, time.Time{}
}

// cool marks the target cooling for d (capped at maxCool).
func (s *targetState) cool(now time.Time, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at := now.Add(min(d, maxCool)); at.After(s.coolUntil) {
		s.coolUntil = at
	}
}

// outcome kinds for record.
const (
	outSuccess = iota
	outFailure
	outCancelled // the client went away: says nothing about the upstream
)

// record books an attempt's outcome for tenant ("" when the caller is not
// known). It returns the shared breaker's state after it and whether it
// changed.
//
// A failure always counts on the tenant's own breaker. It opens the shared
// breaker only when the failures that would open it come from more than
// one tenant (or from unknown callers, who cannot be told apart): one
// tenant's bad requests trip that tenant's breaker, not everyone's.
func (s *targetState) record(now time.Time, b *config.Breaker, out int, latency time.Duration, timedOut bool, errText, tenant string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == "" {
		s.state = StateClosed
	}
	before := s.state
	if s.state == StateHalfOpen && s.probes > 0 {
		s.probes--
	}
	if out == outCancelled {
		return s.state, false
	}
	s.requests++
	if out == outSuccess || timedOut {
		if s.samples == 0 {
			s.ewma = latency
		} else {
			s.ewma = time.Duration(ewmaAlpha*float64(latency) + (1-ewmaAlpha)*float64(s.ewma))
		}
		s.samples++
	}
	if b.Disabled {
		if out == outFailure {
			s.failures++
			s.lastError = errText
		}
		return s.state, false
	}
	if cap(s.window) != b.Window {
		s.window, s.wpos, s.wfails = make([]bool, 0, b.Window), 0, 0
		s.failTenants = make([]string, b.Window)
	}
	failed := out == outFailure
	if len(s.window) < b.Window {
		s.failTenants[len(s.window)] = tenant
		s.window = append(s.window, failed)
	} else {
		if s.window[s.wpos] {
			s.wfails--
		}
		s.window[s.wpos] = failed
		s.failTenants[s.wpos] = tenant
		s.wpos = (s.wpos + 1) % b.Window
	}
	s.recordTenantLocked(now, b, tenant, failed)
	if failed {
		s.wfails++
		s.failures++
		s.consec++
		s.lastError = errText
		switch {
		case s.consec == 1:
			s.runTenants, s.runSpread = [2]string{tenant}, tenant == ""
		case tenant == "" || tenant != s.runTenants[0]:
			s.runSpread = true
		}
	} else {
		s.consec = 0
	}
	switch {
	case failed && s.state == StateHalfOpen,
		failed && s.state == StateClosed && ((s.consec >= b.Failures && s.runSpread) ||
			(len(s.window) == b.Window && float64(s.wfails) >= b.FailureRate*float64(b.Window) && s.windowSpreadLocked())):
		s.state = StateOpen
		s.openUntil = now.Add(b.Cooldown.D())
		s.opened++
	case !failed && s.state == StateHalfOpen:
		s.state, s.consec = StateClosed, 0
		s.window, s.wpos, s.wfails = s.window[:0], 0, 0
	}
	return s.state, s.state != before
}

// windowSpreadLocked reports whether the window's failures come from more
// than one tenant or from unknown callers.
func (s *targetState) windowSpreadLocked() bool {
	first, seen := "", false
	for i, f := range s.window {
		if !f {
			continue
		}
		t := s.failTenants[i]
		if t == "" || (seen && t != first) {
			return true
		}
		first, seen = t, true
	}
	return false
}

// recordTenantLocked books an outcome on tenant's own breaker.
func (s *targetState) recordTenantLocked(now time.Time, b *config.Breaker, tenant string, failed bool) {
	if tenant == "" {
		return
	}
	tb := s.tenants[tenant]
	if !failed {
		if tb != nil {
			tb.consec = 0
		}
		return
	}
	if tb == nil {
		if s.tenants == nil {
			s.tenants = map[string]*tenantBreaker{}
		}
		if len(s.tenants) >= maxTenants {
			for k, v := range s.tenants {
				if !now.Before(v.openUntil) {
					delete(s.tenants, k)
				}
			}
		}
		tb = &tenantBreaker{}
		s.tenants[tenant] = tb
	}
	tb.consec++
	if tb.consec >= b.Failures {
		tb.openUntil = now.Add(b.Cooldown.D())
	}
}

// deposit credits the retry budget for one first attempt and lets the
// floor refill with time.
func (s *targetState) deposit(now time.Time, rp *retryPolicy) {
	s.mu.Lock()
	s.refillLocked(now, rp)
	s.budget = min(s.budget+rp.ratio, rp.capacity)
	s.mu.Unlock()
}

// withdraw takes one retry token, reporting false when the budget is spent.
func (s *targetState) withdraw(now time.Time, rp *retryPolicy) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refillLocked(now, rp)
	if s.budget < 1 {
		return false
	}
	s.budget--
	return true
}

// refund returns a token that was not used.
func (s *targetState) refund(rp *retryPolicy) {
	s.mu.Lock()
	s.budget = min(s.budget+1, rp.capacity)
	s.mu.Unlock()
}

func (s *targetState) refillLocked(now time.Time, rp *retryPolicy) {
	if s.budgetAt.IsZero() {
		s.budget, s.budgetAt = rp.capacity, now
		return
	}
	if dt := now.Sub(s.budgetAt); dt > 0 {
		s.budget = min(s.budget+dt.Seconds()*rp.minPerSec, rp.capacity)
		s.budgetAt = now
	}
}

func (s *targetState) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ewma
}

// TargetHealth is a snapshot of one target's health, for GET /admin/health
// and metrics.
type TargetHealth struct {
	Model    string
	Upstream string
	Provider string
	Hosting  string
	// State is closed, open or half_open.
	State string
	// OpenUntil is when an open breaker lets probes through.
	OpenUntil time.Time
	InFlight  int64
	// EWMALatency is the moving average of attempt latency (0 before the
	// first sample).
	EWMALatency time.Duration
	// Requests and Failures count attempts since start; Consecutive is the
	// current run of failures; Opened counts breaker openings.
	Requests    int64
	Failures    int64
	Consecutive int
	Opened      int64
	// LastError is the last failure's short description (no prompt text).
	LastError string
	// CoolingUntil is set while an upstream 429's Retry-After keeps the
	// target aside (zero otherwise).
	CoolingUntil time.Time
}

// Health returns a snapshot of every target, in config order. An open
// breaker whose cool-down has passed is reported as half_open.
func (r *Router) Health() []TargetHealth {
	now := r.opts.Now()
	out := make([]TargetHealth, 0, len(r.targets))
	for _, t := range r.targets {
		s := &t.state
		s.mu.Lock()
		h := TargetHealth{
			Model: t.Model, Upstream: t.Upstream, Provider: t.info.Name, Hosting: string(t.info.Hosting),
			State: s.state, InFlight: s.inflight.Load(), EWMALatency: s.ewma,
			Requests: s.requests, Failures: s.failures, Consecutive: s.consec, Opened: s.opened,
			LastError: s.lastError,
		}
		if now.Before(s.coolUntil) {
			h.CoolingUntil = s.coolUntil
		}
		if h.State == "" {
			h.State = StateClosed
		}
		if h.State == StateOpen {
			h.OpenUntil = s.openUntil
			if !now.Before(s.openUntil) {
				h.State = StateHalfOpen
			}
		}
		s.mu.Unlock()
		out = append(out, h)
	}
	return out
}
