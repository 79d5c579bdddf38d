package limits

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeTotals is store.Totals over a fixed table.
type fakeTotals struct {
	mu    sync.Mutex
	rows  []store.Total
	calls int
}

func (f *fakeTotals) Totals(_ context.Context, scope string, p store.Period, at time.Time) ([]store.Total, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	var out []store.Total
	for _, r := range f.rows {
		if r.Scope == scope && r.Period == p && r.PeriodStart.Equal(p.Start(at)) {
			out = append(out, r)
		}
	}
	return out, nil
}

// factory builds n limiters sharing state (n>1 only for Redis: separate
// clients, as separate processes would have).
type factory func(t *testing.T, n int, now func() time.Time, totals Totals) []Limiter

// policyFactory builds factories for a rate policy.
type policyFactory func(p RatePolicy) factory

// t0 is a Wednesday.
var t0 = time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)

const usd = 1_000_000_000

func runSuite(t *testing.T, pf policyFactory, replicas int) {
	f := pf(RatePolicy{})
	gcra := pf(RatePolicy{Mode: ModeGCRA})
	t.Run("SettleReleaseExact", func(t *testing.T) { testSettleRelease(t, f) })
	t.Run("Refusal", func(t *testing.T) { testRefusal(t, f) })
	t.Run("HugeWorstCase", func(t *testing.T) { testHugeWorstCase(t, f) })
	t.Run("ConcurrentBudget", func(t *testing.T) { testConcurrentBudget(t, f, replicas) })
	t.Run("PeriodRollover", func(t *testing.T) { testRollover(t, f) })
	t.Run("SeedHosting", func(t *testing.T) { testSeedHosting(t, f) })
	t.Run("Hosting", func(t *testing.T) { testHosting(t, f) })
	t.Run("SlidingRPM", func(t *testing.T) { testSlidingRPM(t, f) })
	t.Run("SlidingEven", func(t *testing.T) { testSlidingEven(t, f) })
	t.Run("SlidingTPM", func(t *testing.T) { testSlidingTPM(t, f) })
	t.Run("GCRARPM", func(t *testing.T) { testRPM(t, gcra) })
	t.Run("GCRATPM", func(t *testing.T) { testTPM(t, gcra) })
	t.Run("GCRABurst", func(t *testing.T) { testGCRABurst(t, pf(RatePolicy{Mode: ModeGCRA, BurstPercent: 10})) })
	t.Run("ConcurrentRPM", func(t *testing.T) { testConcurrentRPM(t, f, replicas) })
	t.Run("ConcurrentRPMGCRA", func(t *testing.T) { testConcurrentRPM(t, gcra, replicas) })
	t.Run("Gate", func(t *testing.T) { testGate(t, f) })
	t.Run("GateGCRA", func(t *testing.T) { testGate(t, gcra) })
}

func state(t *testing.T, l Limiter, b Budget) BudgetState {
	t.Helper()
	s, err := l.Budgets(context.Background(), []Budget{b})
	if err != nil {
		t.Fatal(err)
	}
	return s[0]
}

type pos struct{ Spent, Reserved, Remaining int64 }

func posOf(s BudgetState) pos { return pos{s.SpentNanos, s.ReservedNanos, s.RemainingNanos} }

func testSettleRelease(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, &fakeTotals{})[0]
	b := Budget{Scope: "key:a", Period: store.Monthly, LimitNanos: 10 * usd}
	steps := []struct {
		name string
		do   func(r []*Reservation) []*Reservation
		want pos
	}{
		{"reserve 3", func(r []*Reservation) []*Reservation {
			x, err := l.Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: 3 * usd})
			if err != nil {
				t.Fatal(err)
			}
			return append(r, x)
		}, pos{0, 3 * usd, 7 * usd}},
		{"reserve 2", func(r []*Reservation) []*Reservation {
			x, err := l.Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: 2 * usd})
			if err != nil {
				t.Fatal(err)
			}
			return append(r, x)
		}, pos{0, 5 * usd, 5 * usd}},
		{"settle first at 1.234567891", func(r []*Reservation) []*Reservation {
			if err := l.Settle(ctx, r[0], Amount{ProprietaryNanos: 1_234_567_891}); err != nil {
				t.Fatal(err)
			}
			return r
		}, pos{1_234_567_891, 2 * usd, 10*usd - 1_234_567_891 - 2*usd}},
		{"settle first again is a no-op", func(r []*Reservation) []*Reservation {
			if err := l.Settle(ctx, r[0], Amount{ProprietaryNanos: usd}); err != nil {
				t.Fatal(err)
			}
			return r
		}, pos{1_234_567_891, 2 * usd, 10*usd - 1_234_567_891 - 2*usd}},
		{"release second", func(r []*Reservation) []*Reservation {
			if err := l.Release(ctx, r[1]); err != nil {
				t.Fatal(err)
			}
			return r
		}, pos{1_234_567_891, 0, 10*usd - 1_234_567_891}},
		{"settle nil", func(r []*Reservation) []*Reservation {
			if err := l.Settle(ctx, nil, Amount{ProprietaryNanos: usd}); err != nil {
				t.Fatal(err)
			}
			return r
		}, pos{1_234_567_891, 0, 10*usd - 1_234_567_891}},
	}
	var rs []*Reservation
	for _, s := range steps {
		rs = s.do(rs)
		if diff := cmp.Diff(s.want, posOf(state(t, l, b))); diff != "" {
			t.Fatalf("after %s (-want +got):\n%s", s.name, diff)
		}
	}
}

func testRefusal(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, &fakeTotals{})[0]
	key := Budget{Scope: "key:a", Period: store.Daily, LimitNanos: 10 * usd}
	team := Budget{Scope: "team:x", Period: store.Weekly, LimitNanos: 4 * usd}
	both := []Budget{key, team}
	if _, err := l.Reserve(ctx, both, Amount{ProprietaryNanos: 3 * usd}); err != nil {
		t.Fatal(err)
	}
	_, err := l.Reserve(ctx, both, Amount{ProprietaryNanos: 2 * usd})
	var ex *ExceededError
	if !errors.As(err, &ex) {
		t.Fatalf("err = %v, want *ExceededError", err)
	}
	want := ExceededError{Kind: KindBudget, Budget: team, ReservedNanos: 3 * usd, RequestNanos: 2 * usd,
		ResetsAt: time.Date(2026, 3, 23, 0, 0, 0, 0, time.UTC), RetryAfter: 4*24*time.Hour + 12*time.Hour}
	if diff := cmp.Diff(want, *ex, cmp.AllowUnexported(Reservation{})); diff != "" {
		t.Errorf("refusal (-want +got):\n%s", diff)
	}
	le := ex.LLM()
	if le.Status != http.StatusTooManyRequests || le.Type != "insufficient_quota" || le.RetryAfter != want.RetryAfter {
		t.Errorf("LLM() = %+v", le)
	}
	// The message says why a budget with money left refused: this
	// request's worst case is more than what is left.
	if wantMsg := "budget exceeded for team:x (weekly, proprietary spend): this request could cost up to $2.00 " +
		"(every output token it may produce), more than the $1.00 left of $4.00 (and $3.00 reserved by requests in flight); " +
		"a lower max_tokens (max_output_tokens) reserves less; it resets at 2026-03-23T00:00:00Z"; le.Message != wantMsg {
		t.Errorf("message:\n got %s\nwant %s", le.Message, wantMsg)
	}
	// The refused reservation held nothing, on either budget.
	if got := state(t, l, key).ReservedNanos; got != 3*usd {
		t.Errorf("key reserved = %d, want %d", got, 3*usd)
	}
	// Exactly filling the budget is allowed.
	if _, err := l.Reserve(ctx, both, Amount{ProprietaryNanos: 1 * usd}); err != nil {
		t.Errorf("filling to the limit: %v", err)
	}
	// A budget used up says so, not that the request is too large.
	_, err = l.Reserve(ctx, both, Amount{ProprietaryNanos: 1})
	if !errors.As(err, &ex) {
		t.Fatalf("err = %v, want *ExceededError", err)
	}
	if got, want := ex.LLM().Message, "budget exceeded for team:x (weekly, proprietary spend): $0.00 of $4.00 spent (and $4.00 reserved by requests in flight); it resets at 2026-03-23T00:00:00Z"; got != want {
		t.Errorf("used-up message:\n got %s\nwant %s", got, want)
	}
}

// testConcurrentBudget: 200 goroutines (spread over the replicas) reserve
// and settle against a budget that fits 10; spent+reserved never exceeds
// the budget and exactly 10 succeed.
func testConcurrentBudget(t *testing.T, f factory, replicas int) {
	ctx := context.Background()
	c := newClock(t0)
	ls := f(t, replicas, c.Now, &fakeTotals{})
	const cost = 7_000_000 // $0.007 worst case
	b := Budget{Scope: "key:conc", Period: store.Monthly, LimitNanos: 10 * cost}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := ls[i%len(ls)]
			<-start
			r, err := l.Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: cost})
			var ex *ExceededError
			switch {
			case errors.As(err, &ex):
				refused.Add(1)
				return
			case err != nil:
				t.Error(err)
				return
			}
			ok.Add(1)
			s := state(t, l, b)
			if s.SpentNanos+s.ReservedNanos > b.LimitNanos {
				t.Errorf("spent %d + reserved %d > budget %d", s.SpentNanos, s.ReservedNanos, b.LimitNanos)
			}
			if err := l.Settle(ctx, r, Amount{ProprietaryNanos: cost}); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 10 || refused.Load() != 190 {
		t.Errorf("admitted %d, refused %d; want 10, 190", ok.Load(), refused.Load())
	}
	for i, l := range ls {
		if diff := cmp.Diff(pos{10 * cost, 0, 0}, posOf(state(t, l, b))); diff != "" {
			t.Errorf("replica %d final (-want +got):\n%s", i, diff)
		}
	}
}

func testRollover(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(time.Date(2026, 3, 31, 23, 59, 0, 0, time.UTC))
	totals := &fakeTotals{rows: []store.Total{
		{Scope: "key:r", Period: store.Monthly, PeriodStart: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Hosting: "proprietary", SpentNanos: 2 * usd},
	}}
	l := f(t, 1, c.Now, totals)[0]
	b := Budget{Scope: "key:r", Period: store.Monthly, LimitNanos: 5 * usd}
	r, err := l.Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: 5 * usd})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: 1}); err == nil {
		t.Fatal("March: reserved past the budget")
	}
	c.Advance(2 * time.Minute) // April: seeded from the store's April total
	s := state(t, l, b)
	if diff := cmp.Diff(pos{2 * usd, 0, 3 * usd}, posOf(s)); diff != "" {
		t.Errorf("April (-want +got):\n%s", diff)
	}
	if !s.PeriodStart.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) || !s.ResetsAt.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("period %v..%v", s.PeriodStart, s.ResetsAt)
	}
	// The March reservation settles into March, not April.
	if err := l.Settle(ctx, r, Amount{ProprietaryNanos: 4 * usd}); err != nil {
		t.Fatal(err)
	}
	if got := state(t, l, b).SpentNanos; got != 2*usd {
		t.Errorf("April spent after a March settlement = %d, want %d", got, 2*usd)
	}
	if _, err := l.Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: 3 * usd}); err != nil {
		t.Errorf("April reserve: %v", err)
	}
}

func testSeedHosting(t *testing.T, f factory) {
	start := store.Monthly.Start(t0)
	totals := &fakeTotals{rows: []store.Total{
		{Scope: "team:t", Period: store.Monthly, PeriodStart: start, Hosting: "proprietary", SpentNanos: 3 * usd},
		{Scope: "team:t", Period: store.Monthly, PeriodStart: start, Hosting: "self_hosted", SpentNanos: 1 * usd},
		{Scope: "team:t", Period: store.Daily, PeriodStart: store.Daily.Start(t0), Hosting: "proprietary", SpentNanos: 7},
	}}
	c := newClock(t0)
	l := f(t, 1, c.Now, totals)[0]
	for _, tc := range []struct {
		hosting string
		want    int64
	}{{"", 3 * usd}, {HostingProprietary, 3 * usd}, {HostingSelfHosted, usd}, {HostingAll, 4 * usd}} {
		b := Budget{Scope: "team:t", Period: store.Monthly, Hosting: tc.hosting, LimitNanos: 10 * usd}
		if got := state(t, l, b).SpentNanos; got != tc.want {
			t.Errorf("hosting %q: spent %d, want %d", tc.hosting, got, tc.want)
		}
	}
}

func testHosting(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, &fakeTotals{})[0]
	api := Budget{Scope: "key:h", Period: store.Daily, LimitNanos: usd}
	local := Budget{Scope: "key:h", Period: store.Daily, Hosting: HostingSelfHosted, LimitNanos: 2 * usd}
	r, err := l.Reserve(ctx, []Budget{api, local}, Amount{ProprietaryNanos: usd})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Settle(ctx, r, Amount{ProprietaryNanos: usd}); err != nil {
		t.Fatal(err)
	}
	// The API budget is spent; a self-hosted-only request still passes.
	if _, err := l.Reserve(ctx, []Budget{api, local}, Amount{SelfHostedNanos: usd}); err != nil {
		t.Errorf("self-hosted request blocked by a spent API budget: %v", err)
	}
	if _, err := l.Reserve(ctx, []Budget{api, local}, Amount{ProprietaryNanos: 1}); err == nil {
		t.Error("proprietary request admitted past the API budget")
	}
	if got := posOf(state(t, l, local)); got != (pos{0, usd, usd}) {
		t.Errorf("self-hosted budget %+v", got)
	}
}

func testRPM(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, nil)[0]
	r := Rates{RPM: 3}
	wantRemaining := []int64{2, 1, 0}
	for i, want := range wantRemaining {
		st, err := l.Rate(ctx, "key:rpm", r, 0)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		wantReset := time.Duration(i+1) * 20 * time.Second
		if st.Requests != (RateWindow{Limit: 3, Remaining: want, Reset: wantReset}) {
			t.Errorf("request %d: %+v", i, st.Requests)
		}
	}
	_, err := l.Rate(ctx, "key:rpm", r, 0)
	var ex *ExceededError
	if !errors.As(err, &ex) || ex.Kind != KindRequests || ex.RetryAfter != 20*time.Second {
		t.Fatalf("4th request: %v", err)
	}
	c.Advance(19 * time.Second)
	if _, err := l.Rate(ctx, "key:rpm", r, 0); err == nil {
		t.Error("admitted at 19s")
	}
	c.Advance(time.Second)
	if _, err := l.Rate(ctx, "key:rpm", r, 0); err != nil {
		t.Errorf("at 20s: %v", err)
	}
	// Other keys are independent.
	if _, err := l.Rate(ctx, "key:other", r, 0); err != nil {
		t.Errorf("other key: %v", err)
	}
	// A refund gives a request back.
	if err := l.AdjustRate(ctx, "key:rpm", r, -1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Rate(ctx, "key:rpm", r, 0); err != nil {
		t.Errorf("after refund: %v", err)
	}
	h := http.Header{}
	st, _ := l.Rate(ctx, "key:hdr", Rates{RPM: 60, TPM: 1000}, 250)
	st.SetHeaders(h)
	wantH := http.Header{
		"X-Ratelimit-Limit-Requests": {"60"}, "X-Ratelimit-Remaining-Requests": {"59"}, "X-Ratelimit-Reset-Requests": {"1s"},
		"X-Ratelimit-Limit-Tokens": {"1000"}, "X-Ratelimit-Remaining-Tokens": {"750"}, "X-Ratelimit-Reset-Tokens": {"15s"},
	}
	if diff := cmp.Diff(wantH, h); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}

func testTPM(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, nil)[0]
	r := Rates{TPM: 1000}
	if _, err := l.Rate(ctx, "key:tpm", r, 900); err != nil {
		t.Fatal(err)
	}
	_, err := l.Rate(ctx, "key:tpm", r, 200)
	var ex *ExceededError
	if !errors.As(err, &ex) || ex.Kind != KindTokens || ex.RetryAfter != 6*time.Second {
		t.Fatalf("over TPM: %v (%+v)", err, ex)
	}
	// The call actually used 500: the correction makes room for 200 more.
	if err := l.AdjustRate(ctx, "key:tpm", r, 0, 500-900); err != nil {
		t.Fatal(err)
	}
	st, err := l.Rate(ctx, "key:tpm", r, 200)
	if err != nil {
		t.Fatalf("after correction: %v", err)
	}
	if st.Tokens.Remaining != 300 {
		t.Errorf("remaining tokens %d, want 300", st.Tokens.Remaining)
	}
	// More than the whole limit can never pass.
	_, err = l.Rate(ctx, "key:tpm2", r, 1001)
	if !errors.As(err, &ex) || !ex.TooLarge || ex.RetryAfter != 0 {
		t.Errorf("too large: %v", err)
	}
}

func testConcurrentRPM(t *testing.T, f factory, replicas int) {
	ctx := context.Background()
	c := newClock(t0)
	ls := f(t, replicas, c.Now, nil)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ls[i%len(ls)].Rate(ctx, "key:crpm", Rates{RPM: 50}, 10)
			if err == nil {
				ok.Add(1)
			} else if !errors.As(err, new(*ExceededError)) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 50 {
		t.Errorf("admitted %d of 200 under rpm 50", ok.Load())
	}
}

func testGate(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, &fakeTotals{})[0]
	g := NewGate(GateOptions{Limiter: l, Teams: []Budget{{Scope: "team:ml", Period: store.Monthly, LimitNanos: 3 * usd}}})
	k := &store.Key{ID: "g1", Team: "ml", BudgetNanos: 2 * usd, Period: store.Daily, RPM: 10, TPM: 1000}
	a, le := g.Admit(ctx, k, 100, Amount{ProprietaryNanos: usd})
	if le != nil {
		t.Fatal(le)
	}
	h := http.Header{}
	a.SetHeaders(h)
	if h.Get("X-Ratelimit-Remaining-Requests") != "9" || h.Get("X-Ratelimit-Remaining-Tokens") != "900" {
		t.Errorf("headers %v", h)
	}
	a.Done(Amount{ProprietaryNanos: usd / 2}, 300)
	states, err := g.State(ctx, g.KeyBudgets(k))
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 || states[0].SpentNanos != usd/2 || states[1].SpentNanos != usd/2 || states[0].ReservedNanos != 0 {
		t.Errorf("states %+v", states)
	}
	// Over the key budget: 429 insufficient_quota, and the rate share is
	// given back (remaining requests stays at 8 after two admissions).
	if _, le := g.Admit(ctx, k, 100, Amount{ProprietaryNanos: 2 * usd}); le == nil || le.Type != "insufficient_quota" {
		t.Fatalf("over budget: %v", le)
	}
	a, le = g.Admit(ctx, k, 0, Amount{})
	if le != nil {
		t.Fatal(le)
	}
	if got := a.RateState().Requests.Remaining; got != 8 {
		t.Errorf("remaining requests %d, want 8", got)
	}
	// Tokens were corrected from 100 to 300.
	if got := a.RateState().Tokens.Remaining; got != 700 {
		t.Errorf("remaining tokens %d, want 700", got)
	}
	a.Done(Amount{}, -1)
}

func TestFormatUSD(t *testing.T) {
	for n, want := range map[int64]string{0: "0.00", 10 * usd: "10.00", 1: "0.000000001", 123_400_000: "0.1234", -1_500_000_000: "-1.50", 12_345_678_901: "12.345678901"} {
		if got := FormatUSD(n); got != want {
			t.Errorf("FormatUSD(%d) = %q, want %q", n, got, want)
		}
	}
}
