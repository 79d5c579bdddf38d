package router

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// Plan is how one model or route is served: ordered tiers of targets (a
// tier is a group balanced among itself; later tiers are fallbacks) and the
// retry, breaker and timeout settings. Plans are immutable; For returns a
// per-request variant.
type Plan struct {
	r        *Router
	name     string
	strategy string
	tiers    [][]member
	balance  string
	retry    retryPolicy
	breaker  config.Breaker
	timeouts config.RouteTimeouts
	cascade  *CascadeSpec
	cstream  string
	prompt   *promptRouter

	stream   bool
	decision *Decision
}

// member is a target with its weight in one route.
type member struct {
	t      *Target
	weight float64
}

// Decision is the prompt router's verdict for one request.
type Decision struct {
	Score     float64
	Threshold float64
	Strong    bool
}

// Name is the model or route name the plan serves.
func (p *Plan) Name() string { return p.name }

// Strategy is "model" for a plain model, else the route's strategy.
func (p *Plan) Strategy() string { return p.strategy }

// TTFT is the time-to-first-token deadline for streams (0 = none). Execute
// applies it to each attempt of a plan returned by For for a streaming
// request; it is exposed so the gateway can name it in errors and logs.
func (p *Plan) TTFT() time.Duration { return p.timeouts.TTFT.D() }

// Cascade returns the cascade checks, or nil when the plan is not a
// cascade (or is a streaming request with cascade stream mode skip).
func (p *Plan) Cascade() *CascadeSpec { return p.cascade }

// Decision returns the prompt router's verdict, or nil when the plan is not
// a prompt router or For has not been called.
func (p *Plan) Decision() *Decision { return p.decision }

// Targets lists the plan's targets in tier order (before permit filtering
// and balancing), for logs and /admin.
func (p *Plan) Targets() []*Target {
	var out []*Target
	for _, tier := range p.tiers {
		for _, m := range tier {
			out = append(out, m.t)
		}
	}
	return out
}

// For returns the plan specialised for one request: the prompt router's
// choice of tier order, and stream semantics (attempt deadlines end at the
// first chunk and TTFT applies; a cascade with stream: skip goes straight
// to its last tier). It returns p itself when nothing changes.
func (p *Plan) For(req *llm.ChatRequest) *Plan {
	if p.prompt == nil && !req.Stream {
		return p
	}
	q := *p
	if p.prompt != nil {
		d := p.prompt.decide(PromptText(req))
		q.decision = &d
		if d.Strong {
			q.tiers = [][]member{p.tiers[1], p.tiers[0]}
		}
	}
	if req.Stream {
		q.stream = true
		if q.cascade != nil && q.cstream == config.CascadeStreamSkip {
			q.tiers = q.tiers[len(q.tiers)-1:]
			q.cascade = nil
		}
	}
	return &q
}

// PromptText is what the prompt router scores: the text of the last user
// message.
func PromptText(req *llm.ChatRequest) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == llm.RoleUser {
			return req.Messages[i].Text()
		}
	}
	return ""
}

func (r *Router) buildRoute(rt *config.Route, byName map[string]*Target) (*Plan, error) {
	if len(rt.Targets) == 0 {
		return nil, fmt.Errorf("no targets")
	}
	retry := rt.Retry
	retry.ApplyDefaults(len(rt.Targets))
	brk := rt.Breaker
	brk.ApplyDefaults()
	p := &Plan{
		r: r, name: rt.Name, strategy: rt.Strategy, balance: rt.Balance,
		retry: compileRetry(retry), breaker: brk, timeouts: rt.Timeouts,
	}
	if p.strategy == "" {
		p.strategy = config.StrategyFallback
	}
	if p.balance == "" {
		p.balance = config.BalanceWeighted
	}
	var ms []member
	for _, ct := range rt.Targets {
		t := byName[ct.Model]
		if t == nil {
			return nil, fmt.Errorf("unknown model %q", ct.Model)
		}
		w := ct.Weight
		if w == 0 {
			w = 1
		}
		ms = append(ms, member{t: t, weight: w})
	}
	switch p.strategy {
	case config.StrategyBalance:
		p.tiers = [][]member{ms}
	case config.StrategyRouter:
		if len(ms) != 2 {
			return nil, fmt.Errorf("strategy router needs [weak, strong] targets")
		}
		p.tiers = [][]member{ms[:1], ms[1:]}
		pr, err := r.newPromptRouter(rt)
		if err != nil {
			return nil, err
		}
		p.prompt = pr
	case config.StrategyFallback, config.StrategyCascade:
		// Consecutive targets serving the same upstream model are one
		// balanced group: the same model deployed on several providers.
		for i, m := range ms {
			if i > 0 && m.t.Upstream == ms[i-1].t.Upstream {
				last := len(p.tiers) - 1
				p.tiers[last] = append(p.tiers[last], m)
				continue
			}
			p.tiers = append(p.tiers, []member{m})
		}
	default:
		return nil, fmt.Errorf("unknown strategy %q", p.strategy)
	}
	if p.strategy == config.StrategyCascade {
		c := rt.Cascade
		if c == nil {
			c = &config.Cascade{}
		}
		spec := &CascadeSpec{MinLength: max(c.MinLength, 1), AllowRefusals: c.AllowRefusals}
		if c.Regex != "" {
			re, err := regexp.Compile(c.Regex)
			if err != nil {
				return nil, fmt.Errorf("cascade.regex: %w", err)
			}
			spec.Regex = re
		}
		if c.Judge != nil {
			spec.JudgeModel, spec.JudgeMinScore = c.Judge.Model, c.Judge.MinScore
			if spec.JudgeMinScore == 0 {
				spec.JudgeMinScore = 7
			}
		}
		p.cascade = spec
		p.cstream = c.Stream
		if p.cstream == "" {
			p.cstream = config.CascadeStreamBuffer
		}
	}
	return p, nil
}

// order returns the permitted targets of the plan: tiers in order, each
// tier ordered by the plan's balance policy. permit is applied first, so
// no later choice can reach a rejected target. They are appended to out,
// which the caller can back with an array of its own.
func (p *Plan) order(out []*Target, permit func(*provider.Info) bool) []*Target {
	var buf [8]member
	for _, tier := range p.tiers {
		ok := buf[:0]
		for _, m := range tier {
			if permit == nil || permit(m.t.info) {
				ok = append(ok, m)
			}
		}
		out = p.r.arrange(out, ok, p.balance)
	}
	return out
}

// explore is the chance that least_latency tries a random target first, so
// a target that was slow once gets measured again.
const explore = 0.05

// arrange appends ms to out in the balance policy's order. ms is reordered.
func (r *Router) arrange(out []*Target, ms []member, balance string) []*Target {
	if len(ms) == 1 {
		return append(out, ms[0].t)
	}
	if len(ms) == 0 {
		return out
	}
	r.mu.Lock()
	// Weighted random order without replacement: the first pick follows
	// the weights; it is also the tie-break for the other policies.
	for i := range ms {
		var total float64
		for _, m := range ms[i:] {
			total += m.weight
		}
		x := r.rnd.Float64() * total
		j := i
		for ; j < len(ms)-1; j++ {
			x -= ms[j].weight
			if x < 0 {
				break
			}
		}
		ms[i], ms[j] = ms[j], ms[i]
	}
	exploring := r.rnd.Float64() < explore
	r.mu.Unlock()
	var key func(m member) float64
	switch balance {
	case config.BalanceLeastLatency:
		if exploring {
			break
		}
		key = func(m member) float64 { return float64(m.t.state.latency()) }
	case config.BalanceLeastInFlight:
		key = func(m member) float64 { return float64(m.t.state.inflight.Load()) }
	case config.BalanceLeastCost:
		if price := r.opts.Price; price != nil {
			key = func(m member) float64 {
				v := price(m.t)
				if math.IsNaN(v) {
					return math.Inf(1)
				}
				return v
			}
		}
	}
	if key != nil {
		// A generic sort on a local array: sort.Stable's interface made ms
		// (the caller's stack array) and the keys escape, two allocations
		// a request.
		var buf [8]keyed
		ks := buf[:0]
		for _, m := range ms {
			ks = append(ks, keyed{m, key(m)})
		}
		slices.SortStableFunc(ks, func(a, b keyed) int {
			switch {
			case a.k < b.k:
				return -1
			case b.k < a.k:
				return 1
			}
			return 0
		})
		for i := range ks {
			ms[i] = ks[i].m
		}
	}
	for _, m := range ms {
		out = append(out, m.t)
	}
	return out
}

// keyed is a member with its sort key.
type keyed struct {
	m member
	k float64
}
