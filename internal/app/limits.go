package app

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fulcrumhq/fulcrum/internal/admin"
	"github.com/fulcrumhq/fulcrum/internal/config"
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
	ko := keys.Options{PositiveTTL: cfg.Metering.Limits.KeyCacheTTL.D(), Logger: g.log}
	var lim limits.Limiter
	var bus *keys.RedisBus
	var extend time.Duration
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
		// Key revocations and rotations reach the other replicas'
		// caches through Redis, not after key_cache_ttl.
		bus = keys.NewRedisBus(rdb, cfg.Metering.Limits.RedisPrefix, g.log)
		// The thinking kept for Chat Completions clients is found by
		// whichever replica gets the tool results.
		o.Thoughts = redisThoughts{rdb: rdb, prefix: cfg.Metering.Limits.RedisPrefix + "thought:"}
		ko.Changed = bus.Publish
		// A request running longer than reservation_ttl (a long stream)
		// keeps its hold: extended every third of the TTL.
		extend = cfg.Metering.Limits.ReservationTTL.D() / 3
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
	ks := keys.New(st, ko)
	if bus != nil {
		bctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			bus.Run(bctx, ks, nil)
		}()
		// Closers run in reverse: the bus stops before rdb closes.
		g.closers = append(g.closers, func() error { cancel(); <-done; return nil })
	}
	gate := limits.NewGate(limits.GateOptions{
		Limiter:          lim,
		KeyBudgetHosting: cfg.Metering.Limits.BudgetHosting,
		Teams:            limits.TeamBudgetsFromConfig(cfg.Metering.Limits.Teams),
		EndUser:          limits.EndUserBudgetFromConfig(cfg.Metering.Limits.EndUserBudget),
		FailOpen:         cfg.Metering.Limits.FailOpen,
		ExtendEvery:      extend,
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
	var worst limits.Amount
	if plan, err := l.router.Resolve(req.Model); err == nil {
		worst = l.worstCase(plan, req, nil)
	}
	a, le := l.gate.AdmitUser(ctx, &p.Key, endUser, rateTokens(req), worst)
	if le != nil {
		return nil, le
	}
	return admission{a}, nil
}

// worstCase is the most req may cost: what its budgets reserve. A plain
// model or a fallback route bills one answer, so the worst case is its
// dearest target's. A cascade may bill every tier (the cheap answers it
// escalated past, each judged, and the last), so the worst case is the sum
// of each tier's dearest target plus a judge call per tier but the last.
// Split by hosting kind, each part bounded on its own. permit, when not
// nil, leaves out the targets the request may not reach.
func (l *gateLimiter) worstCase(plan *router.Plan, req *llm.ChatRequest, permit func(*provider.Info) bool) limits.Amount {
	prompt, images := promptTokensBound(req)
	maxTokens, choices := outputBound(req)
	one := func(t *router.Target, prompt, maxTokens, choices int64) limits.Amount {
		info := t.Provider.Info()
		// Images cost what the target's model makes of them.
		prompt = satAdd(prompt, images*imageTokensFor(t.Upstream))
		n := int64(l.prices.worstCase(info, t.Upstream, prompt, maxTokens, choices))
		if info.Hosting == provider.SelfHosted {
			return limits.Amount{SelfHostedNanos: n}
		}
		return limits.Amount{ProprietaryNanos: n}
	}
	dearest := func(ts []*router.Target, prompt, maxTokens, choices int64) limits.Amount {
		var w limits.Amount
		for _, t := range ts {
			if permit != nil && !permit(t.Provider.Info()) {
				continue
			}
			a := one(t, prompt, maxTokens, choices)
			w.ProprietaryNanos = max(w.ProprietaryNanos, a.ProprietaryNanos)
			w.SelfHostedNanos = max(w.SelfHostedNanos, a.SelfHostedNanos)
		}
		return w
	}
	ts := plan.Targets()
	spec := plan.Cascade()
	if spec == nil || plan.Strategy() != config.StrategyCascade {
		return dearest(ts, prompt, maxTokens, choices)
	}
	tiers := cascadeTiers(ts)
	var judge limits.Amount
	if spec.JudgeModel != "" {
		if jp, err := l.router.Resolve(spec.JudgeModel); err == nil {
			// The judge reads the conversation and one answer, each cut
			// to judgeAnswerBytes by router.JudgePrompt, and sets no
			// max_tokens: it may write up to its model's output limit.
			jprompt := int64(len(router.JudgePrompt(req, nil))) + judgeAnswerBytes + promptFraming
			judge = dearest(jp.Targets(), jprompt, 0, 1)
		}
	}
	var w limits.Amount
	for i, tier := range tiers {
		a := dearest(tier, prompt, maxTokens, choices)
		if i < len(tiers)-1 {
			a = addAmount(a, judge)
		}
		w = addAmount(w, a)
	}
	return w
}

// judgeAnswerBytes bounds the answer router.JudgePrompt quotes (it cuts
// the answer at 6,000 bytes and adds "...").
const judgeAnswerBytes = 6000 + 3

// promptFraming bounds what a chat template adds around a prompt.
const promptFraming = 32

// cascadeTiers groups a cascade's targets as the router does: consecutive
// targets serving the same upstream model are one tier (one answer).
func cascadeTiers(ts []*router.Target) [][]*router.Target {
	var tiers [][]*router.Target
	for i, t := range ts {
		if i > 0 && t.Upstream == ts[i-1].Upstream {
			tiers[len(tiers)-1] = append(tiers[len(tiers)-1], t)
			continue
		}
		tiers = append(tiers, []*router.Target{t})
	}
	return tiers
}

// addAmount adds without wrapping (a wrapped sum would reserve nothing).
func addAmount(a, b limits.Amount) limits.Amount {
	return limits.Amount{ProprietaryNanos: satAdd(a.ProprietaryNanos, b.ProprietaryNanos), SelfHostedNanos: satAdd(a.SelfHostedNanos, b.SelfHostedNanos)}
}

// satAdd adds non-negative counts, saturating at math.MaxInt64.
func satAdd(x, y int64) int64 {
	if y > 0 && x > math.MaxInt64-y {
		return math.MaxInt64
	}
	return x + y
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

// promptTokensBound is the most input tokens req may be billed for, what
// budgets reserve: no tokenizer in use (byte-level BPE, SentencePiece with
// byte fallback) makes more than one token of a byte, and text such as
// "1 1 1" or emoji comes close (the tokenizer's count of 1,000 bytes of
// "1 " is 1,000 tokens), so every byte of text the model reads counts as a
// token, plus template framing per message and per request; and how many
// images it holds, which cost what the target's model makes of them
// (imageTokensFor).
func promptTokensBound(req *llm.ChatRequest) (n, images int64) {
	n = int64(promptFraming)
	for i := range req.Messages {
		m := &req.Messages[i]
		n += 16 + int64(len(m.Name)+len(m.ToolCallID))
		for _, p := range m.Content {
			n += int64(len(p.Text))
			if p.Image != nil {
				images++
			}
		}
		for _, tc := range m.ToolCalls {
			n += int64(len(tc.Arguments)+len(tc.Name)) + 8
		}
		for _, th := range m.Thoughts {
			n += int64(len(th.Text)+len(th.Signature)) + 8
		}
	}
	for _, t := range req.Tools {
		n += int64(len(t.Parameters)+len(t.Description)+len(t.Name)) + 8
	}
	if rf := req.ResponseFormat; rf != nil {
		n += int64(len(rf.Schema) + len(rf.Name))
	}
	return n, images
}

// imageTokens is what an image usually costs in input tokens (OpenAI's
// high-detail tiles for the largest image gpt-4o accepts, Anthropic's
// ~1.15 megapixels): what rate limits count at admission.
const imageTokens = 1600

// imageTokensFor is the most input tokens one image may be billed as by
// model, what budgets reserve. OpenAI's gpt-4o-mini counts an image's
// tiles 33 times over, for a price per image like gpt-4o's: 2,833 +
// 5,667 per 512-pixel tile, and the largest image it takes (2048 × 768
// after scaling) has 8 tiles. Models billed by 32-pixel patches take at
// most 1,536 of them, times up to 2.46 (gpt-4.1-nano, gpt-5-nano): 3,779;
// Gemini counts 258 per 768-pixel tile of a large image (16 for 3072
// square: 4,128); Anthropic about 1,600. Reserving 1,600 for every model
// let image requests to gpt-4o-mini spend up to 30 times what was held.
// https://platform.openai.com/docs/guides/images-vision#calculating-costs
func imageTokensFor(model string) int64 {
	if strings.Contains(strings.ToLower(model), "4o-mini") {
		return 2833 + 8*5667
	}
	return 4200
}

// rateTokens is what a request counts against its key's tpm at admission:
// its estimated prompt plus every output token it allows (max_tokens × n),
// as OpenAI counts its own limits. Counting the prompt alone let a burst
// of concurrent requests through on their prompts and then bill their
// outputs: 200 at once with max_tokens 400 used 8.2 times a tpm of 2,000.
// The actual tokens replace the count when the call ends. A request that
// sets no max_tokens counts its prompt, and its output when it ends.
func rateTokens(req *llm.ChatRequest) int64 {
	maxTokens, choices := outputBound(req)
	out := int64(math.MaxInt64)
	if maxTokens <= math.MaxInt64/choices {
		out = maxTokens * choices
	}
	return satAdd(promptTokensUpperBound(req), out)
}

// promptTokensUpperBound estimates the prompt cheaply (a token is
// usually three bytes of text or more; chat templates add framing per
// message and per request): what rate limits count at admission, corrected
// with the actual usage when the call ends. Budgets reserve
// promptTokensBound, a bound that holds for any text.
func promptTokensUpperBound(req *llm.ChatRequest) int64 {
	n := int64(32)
	for i := range req.Messages {
		m := &req.Messages[i]
		n += 16
		for _, p := range m.Content {
			n += int64(len(p.Text)/3 + 1)
			if p.Image != nil {
				n += imageTokens
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
