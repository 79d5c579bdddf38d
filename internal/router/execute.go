package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// ErrAttemptTimeout is the cause of a streaming attempt's context when its
// deadline (timeouts.attempt or timeouts.ttft) passed before the attempt
// returned; Execute reports such attempts as a 504.
var ErrAttemptTimeout = errors.New("router: attempt deadline exceeded")

// errTotalTimeout is the cause when timeouts.total passed.
var errTotalTimeout = errors.New("router: route deadline exceeded")

// Execute calls attempt on the plan's targets until one succeeds.
//
// clr, the clearance of the client request the call is made for, is
// applied to every target before any choice (the zero Clearance permits
// none; see policy.Clearance for how a caller obtains one); when it rejects
// them all, the error wraps ErrNoPermittedTarget and attempt is never
// called. Targets are tried in plan order (tiers, each balanced),
// skipping targets whose breaker is open. A retryable failure (see
// config.Retry.On) moves on to the next untried target at once; once every
// target was tried, failed targets are retried with exponential backoff and
// jitter (or their Retry-After, up to max_retry_after), within the target's
// retry budget and retry.attempts. Any other error is returned at once.
// When every attempt failed, the last upstream error is returned as is
// (a 429 stays a 429 with its RetryAfter).
//
// attempt receives the policy.Permit for t, minted from clr (the only way
// to obtain what t.Provider's methods require), a context bounded by
// timeouts.attempt (for streaming plans: also by TTFT, and only until
// attempt returns, so a stream opened in attempt keeps running afterwards)
// and n, the attempt's number from 1. For
// streams, attempt should return only once the first chunk has arrived:
// fallback is possible only before the first byte reaches the client.
//
// Execute keeps the targets' in-flight counts, latency averages and breakers
// up to date, and calls Options.OnAttempt once per attempt.
func Execute[T any](ctx context.Context, p *Plan, clr policy.Clearance, attempt func(ctx context.Context, t *Target, pm policy.Permit, n int) (T, error)) (T, *Target, error) {
	var out T
	permit := clr.Permits
	var obuf [8]*Target
	t, _, err := p.run(ctx, permit, p.order(obuf[:0], permit), 0, 0, func(ctx context.Context, t *Target, n int) error {
		pm, err := clr.Permit(t.info)
		if err != nil {
			return err
		}
		v, err := attempt(ctx, t, pm, n)
		if err == nil {
			out = v
		}
		return err
	})
	return out, t, err
}

type tenantKey struct{}

// WithTenant tags ctx with the caller a request is made for (a virtual key
// id). Breakers count a tenant's failures on its own breaker first, so one
// tenant's bad requests cannot open a target's breaker for everyone.
func WithTenant(ctx context.Context, tenant string) context.Context {
	if tenant == "" {
		return ctx
	}
	return context.WithValue(ctx, tenantKey{}, tenant)
}

// TenantFrom returns the tenant WithTenant set ("" for none).
func TenantFrom(ctx context.Context) string {
	s, _ := ctx.Value(tenantKey{}).(string)
	return s
}

// retryPolicy is config.Retry compiled for the hot path.
type retryPolicy struct {
	attempts      int
	on429, on5xx  bool
	onTimeout     bool
	onConn        bool
	statuses      [2][100]bool // explicit 4xx and 5xx statuses
	backoff       time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	ratio         float64
	minPerSec     float64
	capacity      float64
}

func compileRetry(c config.Retry) retryPolicy {
	rp := retryPolicy{
		attempts: c.Attempts, backoff: c.Backoff.D(), maxBackoff: c.MaxBackoff.D(),
		maxRetryAfter: c.MaxRetryAfter.D(), ratio: c.BudgetRatio, minPerSec: c.BudgetMin,
	}
	rp.capacity = max(1, 10*c.BudgetMin)
	for _, on := range c.On {
		switch on {
		case "429":
			rp.on429 = true
		case "5xx":
			rp.on5xx = true
		case "timeout":
			rp.onTimeout = true
		case "connection":
			rp.onConn = true
		default:
			var n int
			if _, err := fmt.Sscanf(on, "%d", &n); err == nil && n >= 400 && n < 600 {
				rp.statuses[n/100-4][n%100] = true
			}
		}
	}
	return rp
}

// error classes.
const (
	classOK = iota
	classClient
	classCancelled
	classRateLimit
	classTimeout
	classConn
	class5xx
)

// classify sorts an attempt error. Transport failures carry the codes
// provider.TransportError gives them.
func classify(err error) (class, status int) {
	if err == nil {
		return classOK, 0
	}
	var e *llm.Error
	if errors.As(err, &e) {
		switch {
		case e.Status == 499:
			return classCancelled, e.Status
		case e.Status == http.StatusTooManyRequests:
			return classRateLimit, e.Status
		case e.Status == http.StatusRequestTimeout || e.Status == http.StatusGatewayTimeout || e.Code == "upstream_timeout":
			return classTimeout, e.Status
		case e.Code == "upstream_unreachable" || e.Code == "upstream_error":
			return classConn, e.Status
		case e.Status >= 500:
			return class5xx, e.Status
		default:
			return classClient, e.Status
		}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return classCancelled, 499
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return classTimeout, http.StatusGatewayTimeout
	case errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET):
		return classConn, http.StatusBadGateway
	}
	// An error that is not an *llm.Error is a failure of the attempt
	// function or the upstream, never the client's fault.
	return classConn, http.StatusBadGateway
}

func (rp *retryPolicy) retryable(class, status int) bool {
	if status >= 400 && status < 600 && rp.statuses[status/100-4][status%100] {
		return true
	}
	switch class {
	case classRateLimit:
		return rp.on429
	case classTimeout:
		return rp.onTimeout
	case classConn:
		return rp.onConn
	case class5xx:
		return rp.on5xx
	}
	return false
}

// candidate is one target's progress within a request.
type candidate struct {
	t         *Target
	tries     int
	notBefore time.Time
	out       bool // not to be tried again
}

// run is Execute without the type parameter. maxAttempts overrides the
// plan's retry.attempts when positive; attempts are numbered from
// offset+1. It also returns the number of attempts made.
func (p *Plan) run(ctx context.Context, permit func(*provider.Info) bool, order []*Target, maxAttempts, offset int, attempt func(ctx context.Context, t *Target, n int) error) (*Target, int, error) {
	if len(order) == 0 {
		return nil, 0, fmt.Errorf("router: %q: %w", p.name, ErrNoPermittedTarget)
	}
	r := p.r
	if maxAttempts <= 0 {
		maxAttempts = max(p.retry.attempts, 1)
	}
	tctx := ctx
	if d := p.timeouts.Total.D(); d > 0 {
		var stop func()
		tctx, stop = p.deadline(ctx, d, errTotalTimeout)
		defer stop()
	}
	var cbuf [8]candidate
	cands := cbuf[:0]
	for _, t := range order {
		cands = append(cands, candidate{t: t})
	}
	tenant := TenantFrom(ctx)
	var (
		last    error
		n       int
		wakeAt  time.Time // earliest moment a skipped target may be tried
		cooling bool      // every skipped target was cooling (upstream 429)
		skipped int
	)
	for n < maxAttempts {
		now := r.opts.Now()
		c := pickCandidate(cands)
		if c == nil {
			break
		}
		if c.tries > 0 {
			if wait := c.notBefore.Sub(now); wait > 0 {
				if dl, ok := tctx.Deadline(); ok && now.Add(wait).After(dl) {
					break // the route's deadline passes before the retry could start
				}
				if err := r.opts.Sleep(tctx, wait); err != nil {
					break
				}
				now = r.opts.Now()
			}
			if !c.t.state.withdraw(now, &p.retry) {
				r.log.Debug("router: retry budget spent", "route", p.name, "model", c.t.Model)
				c.out = true
				continue
			}
		}
		// A saturated provider is passed over while the request has
		// another permitted target (it spills); with none left, the
		// request queues for a slot or is refused with a 503.
		var slot *Capacity
		if cp := c.t.capacity; cp != nil {
			if !cp.tryAcquire() {
				if othersLeft(cands, c) {
					cp.spilled.Add(1)
					if h, _ := ctx.Value(slotsKey{}).(*SlotHolder); h != nil {
						h.spill(cp)
					}
					r.log.Debug("router: spill", "route", p.name, "model", c.t.Model, "provider", c.t.info.Name)
					if c.tries > 0 {
						c.t.state.refund(&p.retry)
					}
					c.out = true
					continue
				}
				if err := cp.wait(tctx); err != nil {
					if c.tries > 0 {
						c.t.state.refund(&p.retry)
					}
					return nil, n, err
				}
			}
			slot = cp
		}
		if deny, at := c.t.state.allow(now, &p.breaker, tenant); deny != denyNone {
			if slot != nil {
				slot.release()
			}
			if c.tries > 0 {
				c.t.state.refund(&p.retry)
			}
			if wakeAt.IsZero() || at.Before(wakeAt) {
				wakeAt = at
			}
			cooling = (skipped == 0 || cooling) && deny == denyCooling
			skipped++
			c.out = true
			continue
		}
		if c.tries == 0 {
			c.t.state.deposit(now, &p.retry)
		}
		c.tries++
		n++
		err := p.try(tctx, c.t, offset+n, slot, tenant, attempt)
		if err == nil {
			return c.t, n, nil
		}
		if ctx.Err() != nil {
			return nil, n, err // the client went away
		}
		if errors.Is(context.Cause(tctx), errTotalTimeout) {
			return nil, n, routeTimeout(p.name, last, err)
		}
		class, status := classify(err)
		if !p.retry.retryable(class, status) {
			return nil, n, err
		}
		last = err
		c.notBefore = now.Add(p.backoff(c.tries))
		var e *llm.Error
		if errors.As(err, &e) && e.RetryAfter > 0 {
			if e.RetryAfter > p.retry.maxRetryAfter {
				c.out = true // asks for longer than we wait: only other targets
			} else if at := r.opts.Now().Add(e.RetryAfter); at.After(c.notBefore) {
				c.notBefore = at
			}
		}
	}
	if last != nil {
		return nil, n, last
	}
	if cooling {
		// Every target asked us to wait: pass the back-pressure on.
		return nil, n, &llm.Error{
			Status: http.StatusTooManyRequests, Type: llm.ErrRateLimit, Code: "upstream_rate_limited",
			Message:    fmt.Sprintf("every target of %q is rate limited upstream; retry after the Retry-After delay", p.name),
			RetryAfter: max(wakeAt.Sub(r.opts.Now()), time.Second),
		}
	}
	e := &llm.Error{
		Status:  http.StatusServiceUnavailable,
		Type:    llm.ErrOverloaded,
		Code:    "circuit_open",
		Message: fmt.Sprintf("every target of %q is unavailable (circuit breaker open); try again later", p.name),
	}
	if !wakeAt.IsZero() {
		e.RetryAfter = max(wakeAt.Sub(r.opts.Now()), time.Second)
	}
	return nil, n, e
}

// othersLeft reports whether a candidate besides c may still be tried.
func othersLeft(cands []candidate, c *candidate) bool {
	for i := range cands {
		if o := &cands[i]; o != c && !o.out {
			return true
		}
	}
	return false
}

// pickCandidate returns the first untried candidate, else the retryable one
// that may go soonest, else nil.
func pickCandidate(cands []candidate) *candidate {
	var best *candidate
	for i := range cands {
		c := &cands[i]
		if c.out {
			continue
		}
		if c.tries == 0 {
			return c
		}
		if best == nil || c.notBefore.Before(best.notBefore) {
			best = c
		}
	}
	return best
}

// try runs one attempt with its deadline, keeping the target's books.
func (p *Plan) try(ctx context.Context, t *Target, n int, slot *Capacity, tenant string, attempt func(ctx context.Context, t *Target, n int) error) error {
	r := p.r
	actx, stop := ctx, func() {}
	if d := p.attemptTimeout(); d > 0 {
		actx, stop = p.deadline(ctx, d, ErrAttemptTimeout)
	}
	t.state.inflight.Add(1)
	start := r.opts.Now()
	err := attempt(actx, t, n)
	stop()
	lat := r.opts.Now().Sub(start)
	t.state.inflight.Add(-1)
	if slot != nil {
		// A stream keeps its slot until it ends when the caller holds
		// slots (HoldSlots); otherwise the slot is free again now.
		if h, _ := ctx.Value(slotsKey{}).(*SlotHolder); err == nil && p.stream && h != nil {
			h.keep(slot)
		} else {
			slot.release()
		}
	}

	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), ErrAttemptTimeout) {
		// Our deadline, not the client's: a timeout of this target.
		err = &llm.Error{
			Status: http.StatusGatewayTimeout, Type: llm.ErrTimeout, Code: "upstream_timeout",
			Message:  fmt.Sprintf("upstream %s did not answer within %s", t.info.Name, p.attemptTimeout()),
			Provider: t.info.Name, Err: err,
		}
	}
	class, _ := classify(err)
	out := outSuccess
	switch {
	case class == classCancelled || (err != nil && ctx.Err() != nil):
		out = outCancelled
	case class == classRateLimit:
		// Back-pressure, not failure: the upstream answered. Its
		// Retry-After sets the target aside for that long, no longer.
		var e *llm.Error
		if errors.As(err, &e) && e.RetryAfter > 0 {
			t.state.cool(r.opts.Now(), e.RetryAfter)
		}
	case class > classRateLimit:
		out = outFailure
	}
	var errText string
	if err != nil {
		errText = shortError(err)
	}
	// A failure the request could have caused (a 5xx answer, a timeout)
	// is the tenant's first; a connection that failed is everyone's.
	by := tenant
	if class == classConn {
		by = ""
	}
	state, changed := t.state.record(r.opts.Now(), &p.breaker, out, lat, class == classTimeout, errText, by)
	if changed {
		r.log.Info("router: breaker "+state, "model", t.Model, "provider", t.info.Name, "error", errText)
	}
	if r.opts.OnAttempt != nil {
		r.opts.OnAttempt(&Attempt{Name: p.name, Target: t, N: n, Start: start, Latency: lat, Err: err})
	}
	return err
}

// attemptTimeout is the per-attempt deadline: timeouts.attempt, and for
// streams the tighter of it and TTFT.
func (p *Plan) attemptTimeout() time.Duration {
	d := p.timeouts.Attempt.D()
	if ttft := p.timeouts.TTFT.D(); p.stream && ttft > 0 && (d == 0 || ttft < d) {
		d = ttft
	}
	return d
}

// deadline bounds ctx by d. For a non-streaming plan it is an ordinary
// timeout. For a streaming plan the deadline covers only the time until
// stop is called (the first chunk): stop disarms it without cancelling, so
// the stream opened under the context keeps running.
func (p *Plan) deadline(ctx context.Context, d time.Duration, cause error) (context.Context, func()) {
	if !p.stream {
		return context.WithTimeoutCause(ctx, d, cause)
	}
	cctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(d, func() { cancel(cause) })
	return cctx, func() { timer.Stop() }
}

// backoff is the delay before the tries-th retry of a target: exponential
// from retry.backoff, capped, with "equal jitter" (half fixed, half random)
// so synchronized clients spread out.
func (p *Plan) backoff(tries int) time.Duration {
	d := p.retry.backoff
	for i := 1; i < tries && d < p.retry.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.retry.maxBackoff)
	return d/2 + time.Duration(p.r.float64()*float64(d/2))
}

func routeTimeout(name string, last, err error) error {
	if last == nil {
		last = err
	}
	return &llm.Error{
		Status: http.StatusGatewayTimeout, Type: llm.ErrTimeout, Code: "route_timeout",
		Message: fmt.Sprintf("no target of %q answered within the route's deadline", name), Err: last,
	}
}

func shortError(err error) string {
	var e *llm.Error
	if errors.As(err, &e) {
		if e.Code != "" {
			return fmt.Sprintf("%d %s", e.Status, e.Code)
		}
		return fmt.Sprintf("%d %s", e.Status, e.Type)
	}
	return "attempt failed"
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
