package app

import (
	"context"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/limits"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/shadow"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// shadowRules lists the models' and routes' shadow rules.
func shadowRules(cfg *config.Config) []shadow.Rule {
	var rules []shadow.Rule
	add := func(name string, s *config.Shadow) {
		if s == nil {
			return
		}
		rules = append(rules, shadow.Rule{
			Name: name, Candidates: s.Candidates, SampleRate: s.SampleRate,
			Keys: s.Keys, Teams: s.Teams, DataClasses: s.DataClasses, Judge: s.Judge, Compare: s.Compare,
			RecordPrompts: s.RecordPrompts,
		})
	}
	for i := range cfg.Models {
		add(cfg.Models[i].Name, cfg.Models[i].Shadow)
	}
	for i := range cfg.Routes {
		add(cfg.Routes[i].Name, cfg.Routes[i].Shadow)
	}
	return rules
}

// wireShadow starts shadow evaluation when a model or route names
// candidates. Off, nothing is added to the request path.
func (g *Gateway) wireShadow(o *gateway.Options) {
	rules := shadowRules(g.Config)
	if len(rules) == 0 {
		return
	}
	s := g.Config.ShadowSettings
	so := shadow.Options{
		Router: o.Router, Rules: rules, QueueSize: s.QueueSize, Workers: s.Workers, Timeout: s.Timeout.D(),
		Pricer: o.Pricer, Observer: o.Observer, Estimate: o.Estimate, Logger: g.log,
	}
	if sh, ok := g.Store.(store.Shadows); ok {
		so.Sink = sh
	}
	if gl, ok := o.Limiter.(*gateLimiter); ok {
		so.Budget = shadowBudget{gl}
	}
	if gd, ok := o.Guard.(*guard); ok {
		so.Clear = gd.clearFor
	}
	e := shadow.New(so)
	e.Start()
	g.closers = append(g.closers, e.Close)
	g.collectors = append(g.collectors, e.Collector())
	o.Shadow = e
	g.shadow = e
}

// shadowBudget reserves a shadow call's worst case against the budgets of
// the request's key (and team) before the call, and settles it with what
// the call cost, like the request's own admission but without counting a
// request against its rate limits: issue 16's "judge and shadow calls
// settle against the request's budget". The worst case is the admission's
// (gateLimiter.worstCase) over the targets the clearance permits. A judge
// call reserves its own worst case the same way, on a hold of its own.
type shadowBudget struct{ l *gateLimiter }

func (b shadowBudget) Reserve(ctx context.Context, c *gateway.Caller, plan *router.Plan, clr policy.Clearance, req *llm.ChatRequest) (shadow.Hold, error) {
	if c == nil || c.KeyID == "" || c.KeyID == "master" {
		return noHold{}, nil
	}
	p, err := b.l.ks.Lookup(ctx, c.KeyID)
	if err != nil {
		return nil, err
	}
	budgets := b.l.gate.KeyBudgets(&p.Key)
	if len(budgets) == 0 {
		return noHold{}, nil
	}
	worst := b.l.worstCase(plan, req, clr.Permits)
	lim := b.l.gate.Limiter()
	res, err := lim.Reserve(ctx, budgets, worst)
	if err != nil {
		return nil, err
	}
	return limitHold{lim: lim, res: res}, nil
}

type limitHold struct {
	lim limits.Limiter
	res *limits.Reservation
}

func (h limitHold) Done(s gateway.Spend) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.lim.Settle(ctx, h.res, limits.Amount{ProprietaryNanos: s.ProprietaryNanos, SelfHostedNanos: s.SelfHostedNanos})
}

type noHold struct{}

func (noHold) Done(gateway.Spend) {}
