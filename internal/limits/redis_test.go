package limits

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// redisFactory returns limiters on separate clients (as separate gateway
// processes would have) sharing a key prefix unique to the test, removed
// when it ends.
func redisFactory(p RatePolicy) factory {
	return func(t *testing.T, n int, now func() time.Time, totals Totals) []Limiter {
		return newRedisLimiters(t, n, now, totals, p)
	}
}

func newRedisLimiters(t testing.TB, n int, now func() time.Time, totals Totals, p RatePolicy) []Limiter {
	url := os.Getenv("FULCRUM_TEST_REDIS_URL")
	if url == "" {
		t.Skip("FULCRUM_TEST_REDIS_URL not set; run with FULCRUM_TEST_REDIS_URL=redis://127.0.0.1:6379/0 (as .ci/run does)")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "fulcrumtest:" + hex.EncodeToString(b[:]) + ":"
	var out []Limiter
	for range n {
		rdb := redis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
		out = append(out, NewRedis(rdb, RedisOptions{Prefix: prefix, Totals: totals, Now: now, ReservationTTL: time.Minute, Rate: p}))
	}
	t.Cleanup(func() {
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return out
}

func TestRedis(t *testing.T) { runSuite(t, redisFactory, 1) }

// TestRedisTwoReplicas runs the concurrency cases with two limiters on
// separate clients: the budget and the RPM limit hold for the pair.
func TestRedisTwoReplicas(t *testing.T) {
	t.Run("ConcurrentBudget", func(t *testing.T) { testConcurrentBudget(t, redisFactory(RatePolicy{}), 2) })
	t.Run("ConcurrentRPM", func(t *testing.T) { testConcurrentRPM(t, redisFactory(RatePolicy{}), 2) })
	t.Run("ConcurrentRPMGCRA", func(t *testing.T) { testConcurrentRPM(t, redisFactory(RatePolicy{Mode: ModeGCRA}), 2) })
}

// TestRedisReservationExpires: a replica that dies leaves its reservation
// behind; it stops holding budget after the TTL.
func TestRedisReservationExpires(t *testing.T) {
	ctx := context.Background()
	c := newClock(t0)
	ls := redisFactory(RatePolicy{})(t, 2, c.Now, nil)
	b := Budget{Scope: "key:ttl", Period: store.Monthly, LimitNanos: usd}
	if _, err := ls[0].Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: usd}); err != nil {
		t.Fatal(err) // never settled: replica 0 "dies"
	}
	if _, err := ls[1].Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: 1}); err == nil {
		t.Fatal("reserved past a live reservation")
	}
	c.Advance(time.Minute + time.Millisecond)
	if got := posOf(state(t, ls[1], b)); got != (pos{0, 0, usd}) {
		t.Errorf("after TTL: %+v", got)
	}
	if _, err := ls[1].Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: usd}); err != nil {
		t.Errorf("after TTL: %v", err)
	}
}

// TestRedisSeedOnce: replicas seed a period once (SET NX); a later seed
// does not overwrite spend settled since.
func TestRedisSeedOnce(t *testing.T) {
	ctx := context.Background()
	c := newClock(t0)
	totals := &fakeTotals{rows: []store.Total{{Scope: "key:s", Period: store.Daily, PeriodStart: store.Daily.Start(t0), Hosting: "proprietary", SpentNanos: 5}}}
	ls := redisFactory(RatePolicy{})(t, 2, c.Now, totals)
	b := Budget{Scope: "key:s", Period: store.Daily, LimitNanos: usd}
	r, err := ls[0].Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := ls[0].Settle(ctx, r, Amount{ProprietaryNanos: 10}); err != nil {
		t.Fatal(err)
	}
	if err := ls[1].(*Redis).seedBudget(ctx, b, t0); err != nil {
		t.Fatal(err)
	}
	if got := state(t, ls[1], b).SpentNanos; got != 15 {
		t.Errorf("spent %d, want 15", got)
	}
}

// TestRedisLargeAmounts: amounts of 15+ digits survive the scripts intact.
func TestRedisLargeAmounts(t *testing.T) {
	ctx := context.Background()
	c := newClock(t0)
	l := redisFactory(RatePolicy{})(t, 1, c.Now, nil)[0]
	b := Budget{Scope: "key:big", Period: store.AllTime, LimitNanos: 5_000_000 * usd}
	r, err := l.Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: 1_234_567_890_123_457})
	if err != nil {
		t.Fatal(err)
	}
	if got := state(t, l, b).ReservedNanos; got != 1_234_567_890_123_457 {
		t.Errorf("reserved %d", got)
	}
	if err := l.Settle(ctx, r, Amount{ProprietaryNanos: 1_234_567_890_123_451}); err != nil {
		t.Fatal(err)
	}
	if got := posOf(state(t, l, b)); got != (pos{1_234_567_890_123_451, 0, 5_000_000*usd - 1_234_567_890_123_451}) {
		t.Errorf("after settle %+v", got)
	}
}

// TestRedisGateExtendsRunningReservation: a request that runs longer than
// the reservation TTL (a long stream) keeps holding its budget, since the
// gate extends its reservation while it runs; the other replica cannot
// reserve into it. Before, the reservation expired under the running
// request and the budget was reserved twice.
func TestRedisGateExtendsRunningReservation(t *testing.T) {
	ctx := context.Background()
	c := newClock(t0)
	ls := redisFactory(RatePolicy{})(t, 2, c.Now, nil) // TTL: one minute
	g := NewGate(GateOptions{Limiter: ls[0], ExtendEvery: 5 * time.Millisecond})
	k := &store.Key{ID: "long", BudgetNanos: usd, Period: store.Monthly}
	b := g.KeyBudgets(k)[0]
	a, le := g.Admit(ctx, k, 10, Amount{ProprietaryNanos: usd})
	if le != nil {
		t.Fatal(le)
	}
	c.Advance(50 * time.Second)
	time.Sleep(200 * time.Millisecond) // extensions at t0+50s hold until t0+110s
	c.Advance(20 * time.Second)        // past the first expiry (t0+60s)
	if _, err := ls[1].Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: 1}); err == nil {
		t.Fatal("the other replica reserved into a running request's budget: its reservation expired")
	}
	a.Done(Amount{}, 0)
	time.Sleep(20 * time.Millisecond) // a tick racing Done must not bring the hold back
	if _, err := ls[1].Reserve(ctx, []Budget{b}, Amount{ProprietaryNanos: usd}); err != nil {
		t.Errorf("after the request ended: %v", err)
	}
}
