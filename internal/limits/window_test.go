package limits

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// testHugeWorstCase: a worst case near 2^63 (what max_tokens
// 9223372036854775807 prices to) is refused and leaves the budget as it
// was; before, spent+reserved+worst wrapped negative and every request was
// admitted while it was in flight.
func testHugeWorstCase(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, &fakeTotals{})[0]
	b := []Budget{{Scope: "key:huge", Period: store.Daily, LimitNanos: 1_000_000}} // $0.001
	if _, err := l.Reserve(ctx, b, Amount{ProprietaryNanos: 1000}); err != nil {
		t.Fatal(err)
	}
	_, err := l.Reserve(ctx, b, Amount{ProprietaryNanos: math.MaxInt64})
	var ex *ExceededError
	if !errors.As(err, &ex) {
		t.Fatalf("worst case 2^63-1 on a $0.001 budget: err = %v, want a refusal", err)
	}
	// Waiting for the period to end will not help a request larger than
	// the whole budget: no Retry-After (it said until midnight).
	if !ex.TooLarge || ex.RetryAfter != 0 || ex.LLM().RetryAfter != 0 || !strings.Contains(ex.LLM().Message, "more than the whole $0.001 budget") {
		t.Errorf("a request larger than the budget: too large %v, Retry-After %v, %q", ex.TooLarge, ex.RetryAfter, ex.LLM().Message)
	}
	st := state(t, l, b[0])
	if st.ReservedNanos != 1000 || st.RemainingNanos != 1_000_000-1000 {
		t.Errorf("after the refusal: %+v", st)
	}
	// The budget still refuses what does not fit.
	_, err = l.Reserve(ctx, b, Amount{ProprietaryNanos: 999_001})
	if !errors.As(err, &ex) {
		t.Fatalf("admitted past the limit: %v", err)
	}
	// This one fits the budget once the period's spend is gone.
	if ex.TooLarge || ex.RetryAfter != 12*time.Hour {
		t.Errorf("a request that fits the limit: too large %v, Retry-After %v, want until midnight", ex.TooLarge, ex.RetryAfter)
	}
}

// testSlidingRPM: the sliding window's headers and Retry-After.
func testSlidingRPM(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, nil)[0]
	r := Rates{RPM: 3}
	for i, want := range []int64{2, 1, 0} {
		st, err := l.Rate(ctx, "key:srpm", r, 0)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if st.Requests != (RateWindow{Limit: 3, Remaining: want, Reset: time.Minute}) {
			t.Errorf("request %d: %+v", i, st.Requests)
		}
		c.Advance(10 * time.Second)
	}
	// At 30s the window holds 3: the oldest (t0) leaves at 60s.
	_, err := l.Rate(ctx, "key:srpm", r, 0)
	var ex *ExceededError
	if !errors.As(err, &ex) || ex.Kind != KindRequests || ex.RetryAfter != 30*time.Second {
		t.Fatalf("4th request: %v", err)
	}
	c.Advance(30*time.Second - time.Microsecond)
	if _, err := l.Rate(ctx, "key:srpm", r, 0); err == nil {
		t.Error("admitted before the oldest left the window")
	}
	c.Advance(time.Microsecond)
	if _, err := l.Rate(ctx, "key:srpm", r, 0); err != nil {
		t.Errorf("at 60s: %v", err)
	}
	// A refund gives a request back.
	if err := l.AdjustRate(ctx, "key:srpm", r, -1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Rate(ctx, "key:srpm", r, 0); err != nil {
		t.Errorf("after refund: %v", err)
	}
	if _, err := l.Rate(ctx, "key:other", r, 0); err != nil {
		t.Errorf("other key: %v", err)
	}
}

// testSlidingEven: requests sent evenly never get more than the limit into
// any 60 s window. With GCRA and a full burst, rpm 10 admitted 12 of 30
// requests sent every 0.5 s (about 19 in some 60 s window).
func testSlidingEven(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, nil)[0]
	r := Rates{RPM: 10}
	var admitted []time.Time
	for i := range 30 {
		if _, err := l.Rate(ctx, "key:even", r, 0); err == nil {
			admitted = append(admitted, c.Now())
		}
		if i < 29 {
			c.Advance(500 * time.Millisecond)
		}
	}
	if len(admitted) != 10 {
		t.Errorf("rpm 10: %d of 30 requests over 14.5 s admitted, want 10", len(admitted))
	}
	// Keep sending for three minutes; check every window.
	for range 360 {
		c.Advance(500 * time.Millisecond)
		if _, err := l.Rate(ctx, "key:even", r, 0); err == nil {
			admitted = append(admitted, c.Now())
		}
	}
	if got := maxInWindow(admitted, time.Minute); got != 10 {
		t.Errorf("most admitted in a 60 s window: %d, want 10", got)
	}
}

// maxInWindow is the most times in any half-open window [t, t+w).
func maxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// testSlidingTPM: tokens count in the window; a correction makes room.
func testSlidingTPM(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, nil)[0]
	r := Rates{TPM: 1000}
	if _, err := l.Rate(ctx, "key:stpm", r, 900); err != nil {
		t.Fatal(err)
	}
	c.Advance(15 * time.Second)
	_, err := l.Rate(ctx, "key:stpm", r, 200)
	var ex *ExceededError
	if !errors.As(err, &ex) || ex.Kind != KindTokens || ex.RetryAfter != 45*time.Second {
		t.Fatalf("over TPM: %v (%+v)", err, ex)
	}
	if err := l.AdjustRate(ctx, "key:stpm", r, 0, 500-900); err != nil {
		t.Fatal(err)
	}
	st, err := l.Rate(ctx, "key:stpm", r, 200)
	if err != nil {
		t.Fatalf("after correction: %v", err)
	}
	if st.Tokens.Remaining != 300 || st.Tokens.Reset != time.Minute {
		t.Errorf("tokens %+v, want 300 remaining, reset 1m", st.Tokens)
	}
	_, err = l.Rate(ctx, "key:stpm2", r, 1001)
	if !errors.As(err, &ex) || !ex.TooLarge || ex.RetryAfter != 0 {
		t.Errorf("too large: %v", err)
	}
}

// testGCRABurst: a 10% burst lets 6 of rpm 60 through at once, then one a
// second; no 60 s window holds more than limit + burst.
func testGCRABurst(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, nil)[0]
	r := Rates{RPM: 60}
	n := 0
	for range 20 {
		if _, err := l.Rate(ctx, "key:burst", r, 0); err == nil {
			n++
		}
	}
	if n != 6 {
		t.Errorf("at once: %d admitted, want 6 (10%% of 60)", n)
	}
	var admitted []time.Time
	for range 1200 {
		c.Advance(100 * time.Millisecond)
		if _, err := l.Rate(ctx, "key:burst", r, 0); err == nil {
			admitted = append(admitted, c.Now())
		}
	}
	if got := maxInWindow(admitted, time.Minute); got > 60 {
		t.Errorf("%d in a 60 s window under rpm 60", got)
	}
	if _, err := (RatePolicy{Mode: ModeGCRA, BurstPercent: 101}).normal(); err == nil {
		t.Error("burst 101% accepted")
	}
}
