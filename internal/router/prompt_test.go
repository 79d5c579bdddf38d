package router

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

func userReq(text string) *llm.ChatRequest {
	return &llm.ChatRequest{Messages: []llm.Message{
		llm.TextMessage(llm.RoleSystem, "be brief"),
		llm.TextMessage(llm.RoleUser, text),
	}}
}

// TestPromptRouterShare: with strong_share 0.3 the threshold sends about
// 30% of the (held-out) GSM8K questions to the strong target, and a plan
// for a strong prompt puts the strong target first (the weak one stays as
// fallback).
func TestPromptRouterShare(t *testing.T) {
	env := newEnv(t, `
routes:
  - {name: rt, strategy: router, targets: [a, b], strong_share: 0.3}
`, nil)
	all, err := difficulty.LoadGSM8K()
	if err != nil {
		t.Fatal(err)
	}
	_, held := difficulty.Split(all)
	p := env.plan(t, "rt")
	strong := 0
	for _, e := range held {
		q := p.For(userReq(e.Prompt))
		d := q.Decision()
		if d == nil {
			t.Fatal("no decision")
		}
		first := q.Targets()[0].Model
		if d.Strong != (first == "b") {
			t.Fatalf("decision %+v but first target %s", d, first)
		}
		if len(q.Targets()) != 2 {
			t.Fatalf("targets %d, want both (the other as fallback)", len(q.Targets()))
		}
		if d.Strong {
			strong++
		}
	}
	share := float64(strong) / float64(len(held))
	if math.Abs(share-0.3) > 0.06 {
		t.Fatalf("strong share on held-out %.3f, want 0.3±0.06", share)
	}
	got, _, _ := Execute(context.Background(), p.For(userReq("hi")), permitAll, ok)
	if got != "a" {
		t.Errorf("a trivial prompt went to %s, want the weak target", got)
	}
}

// TestEvaluateMetrics checks APGR and gap shares on a tiny hand-made set.
func TestEvaluateMetrics(t *testing.T) {
	ex := func(w, s bool) difficulty.Example { return difficulty.Example{Weak: b2f(w), Strong: b2f(s)} }
	// weak 2/4 correct, strong 3/4: gap 0.25.
	set := []difficulty.Example{ex(false, true), ex(false, true), ex(true, true), ex(true, false)}
	tests := []struct {
		name            string
		scores          []float64
		apgr, s50, s80  float64
		weak, strongAcc float64
	}{
		// Oracle order: gains first, the loss last. Curve: 0.5, 0.75, 1,
		// 1, 0.75 at shares 0, .25, .5, .75, 1.
		// Area = .25*(.625+.875+1+.875) = 0.84375; APGR = (0.84375-.5)/.25.
		// 50% of the gap (.625) at share .125, 80% (.7) at .2.
		{"oracle", []float64{4, 3, 2, 1}, 1.375, 0.125, 0.2, 0.5, 0.75},
		// Worst order: the loss first. Curve: .5, .25, .5, .75, .75.
		// Area = .25*(.375+.375+.625+.75) = 0.53125; APGR .125; .625 is
		// reached at share .625, .7 at .7.
		{"worst", []float64{2, 3, 1, 4}, 0.125, 0.625, 0.7, 0.5, 0.75},
		// All tied: the expected random curve, a straight line.
		{"random", []float64{0, 0, 0, 0}, 0.5, 0.5, 0.8, 0.5, 0.75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := difficulty.Evaluate(set, tt.scores)
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
			if !near(m.APGR, tt.apgr) || !near(m.Share50, tt.s50) || !near(m.Share80, tt.s80) || !near(m.WeakAccuracy, 0.5) || !near(m.StrongAccuracy, tt.strongAcc) {
				t.Fatalf("got APGR %v s50 %v s80 %v weak %v strong %v; want %v %v %v", m.APGR, m.Share50, m.Share80, m.WeakAccuracy, m.StrongAccuracy, tt.apgr, tt.s50, tt.s80)
			}
		})
	}
	_ = tests[0].weak
}

// TestRouteEval checks the baselines on the real recordings and reports the
// router's held-out APGR, with a floor just under what it reaches.
func TestRouteEval(t *testing.T) {
	all, err := RouteEval(context.Background(), io.Discard, RouteEvalOptions{Split: "all"})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]float64{}
	for _, r := range all.Rows {
		rows[r.Name] = r.APGR
	}
	if got := rows["longer prompt to strong"]; math.Abs(got-0.60) > 0.02 {
		t.Errorf("length baseline APGR on the full set %.3f, want ≈0.60", got)
	}
	if got := rows["random"]; math.Abs(got-0.5) > 1e-9 {
		t.Errorf("random APGR %.3f, want 0.5", got)
	}
	if got := rows["oracle (upper bound)"]; got < 1 {
		t.Errorf("oracle APGR %.3f, want above 1", got)
	}
	// Random scores: APGR ≈ 0.5 in expectation.
	rng := rand.New(rand.NewPCG(7, 7))
	var sum float64
	const reps = 20
	for range reps {
		res, err := RouteEval(context.Background(), nil, RouteEvalOptions{Split: "all", Scorer: scorerFunc(func(string) float64 { return rng.Float64() })})
		if err != nil {
			t.Fatal(err)
		}
		sum += res.Router.APGR
	}
	if mean := sum / reps; math.Abs(mean-0.5) > 0.03 {
		t.Errorf("random scorer mean APGR %.3f, want ≈0.5", mean)
	}

	held, err := RouteEval(context.Background(), io.Discard, RouteEvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := held.Router
	t.Logf("held-out (%d questions): APGR %.3f, 50%% of gap at %.1f%% strong, 80%% at %.1f%%; decision %s",
		held.N, m.APGR, 100*m.Share50, 100*m.Share80, held.DecideTime)
	if m.APGR < 0.60 {
		t.Errorf("held-out APGR %.3f fell below the floor 0.60 (measured 0.621 when trained)", m.APGR)
	}
}

type scorerFunc func(string) float64

func (f scorerFunc) Score(s string) float64 { return f(s) }

func BenchmarkRouterDecide(b *testing.B) {
	env := newEnv(b, `
routes:
  - {name: rt, strategy: router, targets: [a, b], strong_share: 0.3}
`, nil)
	p := env.plan(b, "rt")
	req := userReq("Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?")
	b.ReportAllocs()
	for b.Loop() {
		p.For(req)
	}
}

func BenchmarkExecute(b *testing.B) {
	env := newEnv(b, `
routes:
  - {name: r, strategy: balance, targets: [a, a2]}
`, func(o *Options) { o.OnAttempt = nil })
	p := env.plan(b, "r")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		Execute(ctx, p, permitAll, ok)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
