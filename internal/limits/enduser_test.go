package limits

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// userTotals is fakeTotals that also sums end users' spend, as the store
// does from its usage rows.
type userTotals struct {
	fakeTotals
	users map[EndUserRef][]store.Total
	calls atomic.Int64
}

func (u *userTotals) EndUserTotals(_ context.Context, keyID, user string, p store.Period, at time.Time) ([]store.Total, error) {
	u.calls.Add(1)
	var out []store.Total
	for _, r := range u.users[EndUserRef{keyID, user}] {
		if r.Period == p && r.PeriodStart.Equal(p.Start(at)) {
			out = append(out, r)
		}
	}
	return out, nil
}

func TestEndUserScope(t *testing.T) {
	valid := regexp.MustCompile(`^user:[a-z0-9_]+:[0-9a-f]{32}$`)
	cases := []struct{ key, user string }{
		{"k1", "bob"}, {"k2", "bob"}, {"k1", "bob:daily:0"}, {"k1", ""}, {"k1", "alice@example.com"},
		{"k1", "x\r\n*1\r\n$3\r\nDEL"}, {"k1", strings.Repeat("é", 300)},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		s := EndUserScope(c.key, c.user)
		if !valid.MatchString(s) {
			t.Errorf("EndUserScope(%q, %q) = %q: not a fixed-alphabet scope", c.key, c.user, s)
		}
		if strings.Contains(s, "bob") || strings.Contains(s, "alice") {
			t.Errorf("scope %q carries the user id", s)
		}
		if seen[s] {
			t.Errorf("EndUserScope(%q, %q) = %q collides", c.key, c.user, s)
		}
		seen[s] = true
	}
}

func TestMemoryEndUser(t *testing.T) { runEndUserSuite(t, memoryFactory(RatePolicy{}), 1) }
func TestRedisEndUser(t *testing.T)  { runEndUserSuite(t, redisFactory(RatePolicy{}), 1) }

// TestRedisEndUserTwoReplicas: the concurrent case with two gates on
// separate Redis clients.
func TestRedisEndUserTwoReplicas(t *testing.T) {
	testEndUserConcurrent(t, redisFactory(RatePolicy{}), 2)
}

func runEndUserSuite(t *testing.T, f factory, replicas int) {
	t.Run("Concurrent", func(t *testing.T) { testEndUserConcurrent(t, f, replicas) })
	t.Run("Refusal", func(t *testing.T) { testEndUserRefusal(t, f) })
	t.Run("Seed", func(t *testing.T) { testEndUserSeed(t, f) })
	t.Run("Require", func(t *testing.T) { testEndUserRequire(t, f) })
}

const userCost = 7_000_000 // $0.007, each request's worst case and actual cost

func userGate(l Limiter, limit int64) *Gate {
	return NewGate(GateOptions{Limiter: l, EndUser: EndUserBudget{Period: store.Daily, LimitNanos: limit}})
}

// testEndUserConcurrent: 50 requests at once from one end user against a
// budget that allows exactly 10 are admitted 10 times, and spend ends at
// the budget, never above; another user of the same key is not affected.
func testEndUserConcurrent(t *testing.T, f factory, replicas int) {
	c := newClock(t0)
	ls := f(t, replicas, c.Now, &userTotals{})
	gates := make([]*Gate, len(ls))
	for i, l := range ls {
		gates[i] = userGate(l, 10*userCost)
	}
	k := &store.Key{ID: "kc"}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := gates[i%len(gates)]
			<-start
			a, le := g.AdmitUser(context.Background(), k, "alice", 10, Amount{ProprietaryNanos: userCost})
			if le != nil {
				if le.Status != http.StatusTooManyRequests || le.Type != "insufficient_quota" {
					t.Errorf("refusal %+v", le)
				}
				refused.Add(1)
				return
			}
			ok.Add(1)
			a.Done(Amount{ProprietaryNanos: userCost}, 10)
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 10 || refused.Load() != 40 {
		t.Errorf("admitted %d, refused %d; want 10, 40", ok.Load(), refused.Load())
	}
	alice := gates[0].EndUserBudgets(k, "alice")
	for i, g := range gates {
		states, err := g.State(context.Background(), alice)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(pos{10 * userCost, 0, 0}, posOf(states[0])); diff != "" {
			t.Errorf("gate %d: alice (-want +got):\n%s", i, diff)
		}
	}
	if _, le := gates[0].AdmitUser(context.Background(), k, "bob", 10, Amount{ProprietaryNanos: userCost}); le != nil {
		t.Errorf("bob refused: %v", le)
	}
	// The same user name on another key is another budget.
	if _, le := gates[0].AdmitUser(context.Background(), &store.Key{ID: "kd"}, "alice", 10, Amount{ProprietaryNanos: userCost}); le != nil {
		t.Errorf("alice of another key refused: %v", le)
	}
}

// testEndUserRefusal: the refusal names the end-user budget without the
// user id, retries at the period's end, and holds nothing on the key's
// budget (the reservation is all or nothing).
func testEndUserRefusal(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	l := f(t, 1, c.Now, &userTotals{})[0]
	g := userGate(l, 2*usd)
	k := &store.Key{ID: "kr", BudgetNanos: 100 * usd, Period: store.Monthly}
	a, le := g.AdmitUser(ctx, k, "carol@example.com", 0, Amount{ProprietaryNanos: 2 * usd})
	if le != nil {
		t.Fatal(le)
	}
	a.Done(Amount{ProprietaryNanos: 3 * usd / 2}, 0)
	_, le = g.AdmitUser(ctx, k, "carol@example.com", 0, Amount{ProprietaryNanos: usd})
	if le == nil {
		t.Fatal("admitted over the end-user budget")
	}
	var ex *ExceededError
	if !errors.As(le.Err, &ex) || !ex.Budget.isEndUser() {
		t.Fatalf("refused by %v, want the end-user budget", le.Err)
	}
	if le.Status != 429 || le.Type != "insufficient_quota" || le.Code != "insufficient_quota" {
		t.Errorf("refusal %d %s %s", le.Status, le.Type, le.Code)
	}
	if !strings.Contains(le.Message, "end-user budget") || strings.Contains(le.Message, "carol") ||
		strings.Contains(le.Message, EndUserScope(k.ID, "carol@example.com")[len("user:kr:"):]) {
		t.Errorf("message %q: want the end-user budget named, the user id and its hash not", le.Message)
	}
	if want := 12 * time.Hour; le.RetryAfter != want {
		t.Errorf("Retry-After %v, want %v (to the day's end)", le.RetryAfter, want)
	}
	states, err := g.State(ctx, g.KeyBudgets(k))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pos{3 * usd / 2, 0, 100*usd - 3*usd/2}, posOf(states[0])); diff != "" {
		t.Errorf("key budget after the refusal (-want +got):\n%s", diff)
	}
	// No end user: not limited by it.
	if _, le := g.AdmitUser(ctx, k, "", 0, Amount{ProprietaryNanos: 10 * usd}); le != nil {
		t.Errorf("request without an end user: %v", le)
	}
}

// testEndUserSeed: a fresh limiter (a restart) starts an end user's
// period from the store's sum of that user's usage.
func testEndUserSeed(t *testing.T, f factory) {
	ctx := context.Background()
	c := newClock(t0)
	ts := &userTotals{users: map[EndUserRef][]store.Total{
		{"ks", "dave"}: {
			{Period: store.Daily, PeriodStart: store.Daily.Start(t0), Hosting: HostingProprietary, SpentNanos: 9 * userCost},
			{Period: store.Daily, PeriodStart: store.Daily.Start(t0), Hosting: HostingSelfHosted, SpentNanos: 50 * userCost},
			{Period: store.Daily, PeriodStart: store.Daily.Start(t0.Add(-24 * time.Hour)), Hosting: HostingProprietary, SpentNanos: 99 * userCost},
		},
	}}
	l := f(t, 1, c.Now, ts)[0]
	g := userGate(l, 10*userCost)
	k := &store.Key{ID: "ks"}
	states, err := g.State(ctx, g.EndUserBudgets(k, "dave"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pos{9 * userCost, 0, userCost}, posOf(states[0])); diff != "" {
		t.Errorf("seeded (-want +got):\n%s", diff)
	}
	a, le := g.AdmitUser(ctx, k, "dave", 0, Amount{ProprietaryNanos: userCost})
	if le != nil {
		t.Fatal(le)
	}
	a.Done(Amount{ProprietaryNanos: userCost}, 0)
	if _, le := g.AdmitUser(ctx, k, "dave", 0, Amount{ProprietaryNanos: 1}); le == nil {
		t.Error("admitted past the seeded budget")
	}
	// The next day starts from the store again (nothing stored: zero).
	c.Advance(12 * time.Hour)
	if _, le := g.AdmitUser(ctx, k, "dave", 0, Amount{ProprietaryNanos: 10 * userCost}); le != nil {
		t.Errorf("next day: %v", le)
	}
}

func testEndUserRequire(t *testing.T, f factory) {
	c := newClock(t0)
	l := f(t, 1, c.Now, nil)[0]
	g := NewGate(GateOptions{Limiter: l, EndUser: EndUserBudget{Period: store.Daily, LimitNanos: usd, Require: true}})
	_, le := g.AdmitUser(context.Background(), &store.Key{ID: "kq"}, "", 0, Amount{})
	if le == nil || le.Status != 400 || le.Code != "end_user_required" || le.Param != "user" {
		t.Errorf("no end user with require: %+v", le)
	}
	if _, le := g.AdmitUser(context.Background(), &store.Key{ID: "kq"}, "erin", 0, Amount{}); le != nil {
		t.Errorf("with an end user: %v", le)
	}
}

// TestMemoryEndUserBound: the memory limiter keeps at most MaxEndUsers idle
// end-user states, drops the least recently used first, never one with a
// reservation in flight, and reads a dropped user's spend from the store
// again when the user comes back.
func TestMemoryEndUserBound(t *testing.T) {
	ctx := context.Background()
	c := newClock(t0)
	ts := &userTotals{users: map[EndUserRef][]store.Total{}}
	m := NewMemory(MemoryOptions{Totals: ts, Now: c.Now, MaxEndUsers: 3})
	g := userGate(m, 10*userCost)
	k := &store.Key{ID: "kb"}
	held, le := g.AdmitUser(ctx, k, "u0", 0, Amount{ProprietaryNanos: userCost})
	if le != nil {
		t.Fatal(le)
	}
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
		a, le := g.AdmitUser(ctx, k, u, 0, Amount{ProprietaryNanos: userCost})
		if le != nil {
			t.Fatal(le)
		}
		a.Done(Amount{ProprietaryNanos: userCost}, 0)
		// What the recorder would have stored by now.
		ts.users[EndUserRef{"kb", u}] = []store.Total{{Period: store.Daily, PeriodStart: store.Daily.Start(t0), Hosting: HostingProprietary, SpentNanos: userCost}}
		if n := m.endUserStates(); n > 3+1 {
			t.Fatalf("after %s: %d end-user states, want at most 3 idle + 1 in flight", u, n)
		}
	}
	m.mu.Lock()
	_, u0 := m.budgets[keyOf(g.EndUserBudgets(k, "u0")[0])]
	_, u1 := m.budgets[keyOf(g.EndUserBudgets(k, "u1")[0])]
	m.mu.Unlock()
	if !u0 || u1 {
		t.Errorf("u0 (in flight) kept %v, want true; u1 (least recent) kept %v, want false", u0, u1)
	}
	held.Done(Amount{ProprietaryNanos: userCost}, 0)
	before := ts.calls.Load()
	states, err := g.State(ctx, g.EndUserBudgets(k, "u1"))
	if err != nil {
		t.Fatal(err)
	}
	if ts.calls.Load() != before+1 || states[0].SpentNanos != userCost {
		t.Errorf("u1 back: %d store reads, spent %d; want 1 read, %d", ts.calls.Load()-before, states[0].SpentNanos, userCost)
	}
	// A day later every idle state of the ended period goes as soon as
	// one new user arrives.
	c.Advance(24 * time.Hour)
	if _, le := g.AdmitUser(ctx, k, "u9", 0, Amount{}); le != nil {
		t.Fatal(le)
	}
	if n := m.endUserStates(); n != 1 {
		t.Errorf("after the day ended: %d end-user states, want 1", n)
	}
}

// TestGateEndUserNotInMetrics: end-user budgets are not tracked for the
// collector (their number is the clients' choice).
func TestGateEndUserNotInMetrics(t *testing.T) {
	g := userGate(NewMemory(MemoryOptions{}), usd)
	k := &store.Key{ID: "km", BudgetNanos: usd}
	for _, u := range []string{"a", "b", "c"} {
		a, le := g.AdmitUser(context.Background(), k, u, 0, Amount{ProprietaryNanos: 1})
		if le != nil {
			t.Fatal(le)
		}
		a.Done(Amount{}, 0)
	}
	if got := g.seenBudgets(); len(got) != 1 || got[0].Scope != "key:km" {
		t.Errorf("seen %+v, want only key:km", got)
	}
}

// TestKeyEndUserBudget: a key's own end-user budget replaces the
// gateway's for its users, and applies without one.
func TestKeyEndUserBudget(t *testing.T) {
	ctx := context.Background()
	c := newClock(t0)
	for _, tc := range []struct {
		name string
		def  EndUserBudget
	}{
		{"over the gateway's", EndUserBudget{Period: store.Monthly, LimitNanos: 100 * usd}},
		{"alone", EndUserBudget{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGate(GateOptions{Limiter: NewMemory(MemoryOptions{Now: c.Now}), EndUser: tc.def})
			k := &store.Key{ID: "kk", UserBudgetNanos: 2 * usd, UserPeriod: store.Weekly}
			bs := g.EndUserBudgets(k, "u")
			if len(bs) != 1 || bs[0].LimitNanos != 2*usd || bs[0].Period != store.Weekly || bs[0].hosting() != HostingProprietary {
				t.Fatalf("budgets %+v", bs)
			}
			a, le := g.AdmitUser(ctx, k, "u", 0, Amount{ProprietaryNanos: 2 * usd})
			if le != nil {
				t.Fatal(le)
			}
			a.Done(Amount{ProprietaryNanos: 2 * usd}, 0)
			_, le = g.AdmitUser(ctx, k, "u", 0, Amount{ProprietaryNanos: 1})
			if le == nil || !strings.Contains(le.Message, "weekly") {
				t.Errorf("over the key's user budget: %v", le)
			}
			if got := g.EndUserBudgets(&store.Key{ID: "other"}, "u"); len(got) != 0 && got[0].LimitNanos != tc.def.LimitNanos {
				t.Errorf("a key without its own: %+v", got)
			}
		})
	}
}
