package router

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

func ok(ctx context.Context, t *Target, _ policy.Permit, n int) (string, error) { return t.Model, nil }

func TestBalanceWeights(t *testing.T) {
	env := newEnv(t, `
routes:
  - name: r
    strategy: balance
    targets: [{model: a, weight: 3}, {model: b, weight: 1}, {model: c, weight: 0.000001}]
`, nil)
	p := env.plan(t, "r")
	const n = 8000
	count := map[string]int{}
	for range n {
		got, _, err := Execute(context.Background(), p, permitAll, ok)
		if err != nil {
			t.Fatal(err)
		}
		count[got]++
	}
	for model, want := range map[string]float64{"a": 0.75, "b": 0.25, "c": 0} {
		if got := float64(count[model]) / n; math.Abs(got-want) > 0.02 {
			t.Errorf("%s share %.3f, want %.2f±0.02", model, got, want)
		}
	}
}

func TestBalanceLeastLatency(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, strategy: balance, balance: least_latency, targets: [a, b]}
`, nil)
	p := env.plan(t, "r")
	delay := map[string]time.Duration{"a": 10 * time.Millisecond, "b": 20 * time.Millisecond}
	run := func(n int) map[string]int {
		count := map[string]int{}
		for range n {
			got, _, _ := Execute(context.Background(), p, permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (string, error) {
				env.clk.Advance(delay[tg.Model])
				return tg.Model, nil
			})
			count[got]++
		}
		return count
	}
	if c := run(200); c["a"] < 180 {
		t.Fatalf("a is faster but got %v", c)
	}
	delay["a"] = 200 * time.Millisecond // a slows down
	if c := run(400); c["b"] < 340 {
		t.Fatalf("a slowed down but traffic stayed: %v", c)
	}
	if h := env.health("a"); h.EWMALatency < 100*time.Millisecond {
		t.Errorf("a's EWMA %s did not follow the slowdown", h.EWMALatency)
	}
}

func TestBalanceLeastInFlight(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, strategy: balance, balance: least_in_flight, targets: [a, b]}
`, nil)
	p := env.plan(t, "r")
	// Hold 3 requests open on whatever target they get; the fourth must go
	// to the less loaded one.
	release := make(chan struct{})
	started := make(chan string)
	done := make(chan struct{})
	for range 3 {
		go func() {
			Execute(context.Background(), p, permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (string, error) {
				started <- tg.Model
				<-release
				return tg.Model, nil
			})
			done <- struct{}{}
		}()
		<-started
	}
	in := map[string]int64{}
	for _, h := range env.r.Health() {
		in[h.Model] = h.InFlight
	}
	if in["a"]+in["b"] != 3 || in["a"] == in["b"] {
		t.Fatalf("in flight %v", in)
	}
	want := "a"
	if in["a"] > in["b"] {
		want = "b"
	}
	got, _, _ := Execute(context.Background(), p, permitAll, ok)
	if got != want {
		t.Errorf("fourth request went to %s (in flight %v), want %s", got, in, want)
	}
	close(release)
	for range 3 {
		<-done
	}
}

func TestBalanceLeastCost(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: r, strategy: balance, balance: least_cost, targets: [b, c, a]}
`, func(o *Options) {
		o.Price = func(t *Target) float64 { return map[string]float64{"a": 0.5, "b": 10, "c": 0.6}[t.Model] }
	})
	p := env.plan(t, "r")
	for range 50 {
		if got, _, _ := Execute(context.Background(), p, permitAll, ok); got != "a" {
			t.Fatalf("got %s, want the cheapest (a)", got)
		}
	}
	// When the cheapest fails, the next cheapest serves.
	got, _, _ := Execute(context.Background(), p, permitAll, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (string, error) {
		if tg.Model == "a" {
			return "", upstreamErr(503, 0)
		}
		return tg.Model, nil
	})
	if got != "c" {
		t.Fatalf("got %s, want c", got)
	}
}

// selfHostedOnly is the clearance of a request carrying an e-mail address
// under the default policy.
var selfHostedOnly = func() policy.Clearance {
	e, err := policy.New(config.Policy{})
	if err != nil {
		panic(err)
	}
	d, err := e.EvaluateBody(policy.Input{Body: []byte(`{"user":"ann@example.com"}`)})
	if err != nil {
		panic(err)
	}
	return d.Clearance()
}()

// permitAll permits every target.
var permitAll = policy.Unrestricted()

// TestSovereignty: a request that may only go to self-hosted targets fails
// when the self-hosted target is down; the proprietary target is never
// attempted, across retries, fallbacks, balancing, cascades and the prompt
// router.
func TestSovereignty(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: fb, strategy: fallback, targets: [a, b, c], retry: {attempts: 6}}
  - {name: bal, strategy: balance, balance: least_latency, targets: [b, a, c], retry: {attempts: 6}}
  - {name: cas, strategy: cascade, targets: [a, b]}
  - {name: rt, strategy: router, targets: [a, b], threshold: 0}
  - {name: cloud, strategy: fallback, targets: [b, c]}
`, nil)
	for _, name := range []string{"fb", "bal", "cas", "rt", "b"} {
		t.Run(name, func(t *testing.T) {
			calledCloud := false
			attempt := func(ctx context.Context, tg *Target, _ policy.Permit, n int) (*llm.ChatResponse, error) {
				if tg.Info().Hosting != provider.SelfHosted {
					calledCloud = true
					return &llm.ChatResponse{}, nil
				}
				return nil, upstreamErr(503, 0)
			}
			req := &llm.ChatRequest{Messages: []llm.Message{llm.TextMessage(llm.RoleUser, "hard question")}}
			p := env.plan(t, name).For(req)
			var err error
			for range 5 {
				if p.Cascade() != nil {
					_, _, _, err = ExecuteCascade(context.Background(), p, req, selfHostedOnly, attempt)
				} else {
					_, _, err = Execute(context.Background(), p, selfHostedOnly, attempt)
				}
				if err == nil {
					t.Fatal("request succeeded although the only self-hosted target is down")
				}
			}
			if calledCloud {
				t.Fatal("a proprietary target was attempted")
			}
			var e *llm.Error
			if name == "b" {
				if !errors.Is(err, ErrNoPermittedTarget) {
					t.Fatalf("err = %v, want ErrNoPermittedTarget", err)
				}
			} else if !errors.As(err, &e) || e.Status != 503 {
				t.Fatalf("err = %v, want the self-hosted upstream's 503 (or circuit_open)", err)
			}
		})
	}
	_, _, err := Execute(context.Background(), env.plan(t, "cloud"), selfHostedOnly, func(ctx context.Context, tg *Target, _ policy.Permit, n int) (int, error) {
		t.Fatal("attempt called with no permitted target")
		return 0, nil
	})
	if !errors.Is(err, ErrNoPermittedTarget) {
		t.Fatalf("err = %v, want ErrNoPermittedTarget", err)
	}
}

// TestOrderAllocations: ordering a plan's targets, sorted by a balance key
// or not, allocates nothing (it took 2 allocations a request: the result,
// and the targets and keys that sort.Stable's interface moved to the heap).
func TestOrderAllocations(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: lat, strategy: balance, balance: least_latency, targets: [a, b, c]}
  - {name: one, strategy: fallback, targets: [a]}
`, nil)
	for _, name := range []string{"lat", "one"} {
		p := env.plan(t, name)
		var buf [8]*Target
		if n := testing.AllocsPerRun(100, func() {
			if got := p.order(buf[:0], permitAll.Permits); len(got) == 0 {
				t.Fatal("no target")
			}
		}); n != 0 {
			t.Errorf("%s: order: %v allocations, want 0", name, n)
		}
	}
}
