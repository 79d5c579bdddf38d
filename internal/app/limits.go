package app

import (
	"context"
	"fmt"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/fulcrumhq/fulcrum/internal/admin"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/keys"
	"github.com/fulcrumhq/fulcrum/internal/limits"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// wireKeys adds virtual keys, budgets, rate limits and the admin API.
func (g *Gateway) wireKeys(ctx context.Context, o *gateway.Options, st store.Store, rt *router.Router) error {
	cfg := g.Config
	ks := keys.New(st, keys.Options{PositiveTTL: cfg.Metering.Limits.KeyCacheTTL.D(), Logger: g.log})
	var lim limits.Limiter
	rate := limits.RatePolicy{Mode: cfg.Metering.Limits.RateMode, BurstPercent: cfg.Metering.Limits.RateBurstPercent}
	if cfg.Storage.Redis != "" {
		opt, err := redis.ParseURL(cfg.Storage.Redis)
		if err != nil {
			return fmt.Errorf("storage.redis: %w", err)
		}
		rdb := redis.NewClient(opt)
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			return fmt.Errorf("storage.redis: %w", err)
		}
		g.closers = append(g.closers, rdb.Close)
		lim = limits.NewRedis(rdb, limits.RedisOptions{
			Prefix: cfg.Metering.Limits.RedisPrefix, Totals: st, ReservationTTL: cfg.Metering.Limits.ReservationTTL.D(),
			Rate: rate,
		})
	} else {
		mo := limits.MemoryOptions{Totals: st, Rate: rate}
		if eu := cfg.Metering.Limits.EndUserBudget; eu != nil {
			mo.MaxEndUsers = eu.MaxTrackedUsers
		}
		lim = limits.NewMemory(mo)
	}
	gate := limits.NewGate(limits.GateOptions{
		Limiter:          lim,
		KeyBudgetHosting: cfg.Metering.Limits.BudgetHosting,
		Teams:            limits.TeamBudgetsFromConfig(cfg.Metering.Limits.Teams),
		EndUser:          limits.EndUserBudgetFromConfig(cfg.Metering.Limits.EndUserBudget),
		FailOpen:         cfg.Metering.Limits.FailOpen,
		Logger:           g.log,
	})
	o.Auth = keyAuth{ks}
	o.Limiter = &gateLimiter{ks: ks, gate: gate, router: rt, prices: g.prices}
	o.Admin = admin.New(admin.Options{Keys: ks, Budgets: gate, Savings: g.adminLedger(), Usage: st, Logger: g.log})
	g.keys, g.gate = ks, gate
	g.collectors = append(g.collectors, limits.NewCollector(gate))
	return nil
}

// keyAuth adapts keys.Service to the gateway's Authenticator.
type keyAuth struct{ ks *keys.Service }

func (a keyAuth) Authenticate(ctx context.Context, secret string) (*gateway.Caller, *llm.Error) {
	p, err := a.ks.Authenticate(ctx, secret)
	if err != nil {
		return nil, keys.LLMError(err)
	}
	return &gateway.Caller{KeyID: p.Key.ID, Team: p.Key.Team, Allowed: p.Allowed}, nil
}

// gateLimiter reserves a request's worst-case cost and checks its key's
// rate limits before any upstream call. The master key is not limited.
type gateLimiter struct {
	ks     *keys.Service
	gate   *limits.Gate
	router *router.Router
	prices *pricer
}

func (l *gateLimiter) Admit(ctx context.Context, c *gateway.Caller, req *llm.ChatRequest, endUser string) (gateway.Admission, error) {
	if c == nil || c.KeyID == "" || c.KeyID == "master" {
		return noAdmission{}, nil
	}
	p, err := l.ks.Lookup(ctx, c.KeyID)
	if err != nil {
		return nil, keys.LLMError(err)
	}
	prompt := promptTokensUpperBound(req)
	maxTokens, choices := outputBound(req)
	var worst limits.Amount
	if plan, err := l.router.Resolve(req.Model); err == nil {
		for _, t := range plan.Targets() {
			info := t.Provider.Info()
			n := int64(l.prices.worstCase(info, t.Upstream, prompt, maxTokens, choices))
			if info.Hosting == provider.SelfHosted {
				worst.SelfHostedNanos = max(worst.SelfHostedNanos, n)
			} else {
				worst.ProprietaryNanos = max(worst.ProprietaryNanos, n)
			}
		}
	}
	a, le := l.gate.AdmitUser(ctx, &p.Key, endUser, prompt, worst)
	if le != nil {
		return nil, le
	}
	return admission{a}, nil
}

// outputBound is what bounds a request's billed output: its max_tokens (0
// when it sets none: the worst case then takes the model's output limit)
// and its n choices, which the upstream generates and bills separately.
// Both are range-checked before decoding (gateway.scanBody).
func outputBound(req *llm.ChatRequest) (maxTokens, choices int64) {
	if req.MaxTokens != nil {
		maxTokens = int64(*req.MaxTokens)
	}
	return maxTokens, int64(max(req.N, 1))
}

// promptTokensUpperBound over-counts the prompt cheaply (a token is at
// least about three bytes of text in every tokenizer in use; chat
// templates add framing per message and per request), so the reservation
// is a worst case without running a tokenizer per request.
func promptTokensUpperBound(req *llm.ChatRequest) int64 {
	n := int64(32)
	for i := range req.Messages {
		m := &req.Messages[i]
		n += 16
		for _, p := range m.Content {
			n += int64(len(p.Text)/3 + 1)
			if p.Image != nil {
				n += 1600
			}
		}
		for _, tc := range m.ToolCalls {
			n += int64((len(tc.Arguments)+len(tc.Name))/3 + 8)
		}
	}
	for _, t := range req.Tools {
		n += int64((len(t.Parameters)+len(t.Description)+len(t.Name))/3 + 8)
	}
	return n
}

type admission struct{ a *limits.Admission }

func (x admission) SetHeaders(h http.Header) { x.a.SetHeaders(h) }
func (x admission) Done(s gateway.Spend) {
	x.a.Done(limits.Amount{ProprietaryNanos: s.ProprietaryNanos, SelfHostedNanos: s.SelfHostedNanos}, s.Tokens)
}

type noAdmission struct{}

func (noAdmission) SetHeaders(http.Header) {}
func (noAdmission) Done(gateway.Spend)     {}
