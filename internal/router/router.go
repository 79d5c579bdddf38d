// Package router turns a model or route name into a plan of upstream
// targets and executes calls against it: fallbacks, retries with backoff
// and a retry budget, per-target circuit breakers, load balancing (weighted,
// least latency, least in-flight, least cost), cascades that escalate when
// an answer fails a check, and a prompt router that sends hard prompts to a
// strong model.
//
// The router never calls a provider itself: the caller passes an attempt
// function (see Execute), so one engine serves the pass-through path, the
// canonical path and streams. A permit filter (the data policy) is applied
// before any choice is made: no retry, fallback or balancing decision can
// reach a target the filter rejects.
//
// See docs/routing.md for the configuration.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// ErrNoPermittedTarget is wrapped by Execute and ExecuteCascade when the
// permit filter rejects every target of the plan. The gateway answers it
// with the policy's own error.
var ErrNoPermittedTarget = errors.New("no permitted target")

// Options configures a Router. Zero fields take the defaults noted.
type Options struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand drives jitter, weighted choice and exploration. It is guarded by
	// the router's own lock. Default: a randomly seeded PCG.
	Rand *rand.Rand
	// Sleep waits for d or until ctx is done (backoff, Retry-After).
	// Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives routing decisions at debug level and breaker
	// transitions at info. Default: discard.
	Logger *slog.Logger
	// OnAttempt, when set, is called once after every upstream attempt.
	// It must not block.
	OnAttempt func(a *Attempt)
	// Price returns a target's cost per call (any unit; only the order
	// matters) for balance: least_cost. Default: every target costs 0.
	Price func(t *Target) float64
	// Judge calls a model with a grading prompt for cascade judge checks
	// and returns its reply text. Nil fails every judge check (the cascade
	// escalates). clr is the clearance of the request being judged: the
	// judge's own call must go through Execute with it, so it reaches only
	// targets that request may reach (the prompt holds its redacted text).
	Judge func(ctx context.Context, clr policy.Clearance, model, prompt string) (string, error)
	// Retry, Breaker and Timeouts apply to plain models (routes carry
	// their own). Zero fields take config's defaults.
	Retry    config.Retry
	Breaker  config.Breaker
	Timeouts config.RouteTimeouts
	// Scorer rates prompt difficulty for strategy router. Default: the
	// embedded GSM8K-trained model (difficulty.Default).
	Scorer Scorer
	// Calibration are prompts whose score quantile turns strong_share into
	// a threshold. Default: the training half of the embedded GSM8K
	// questions.
	Calibration []string
}

// Scorer rates how hard a prompt is, higher is harder. It must be safe for
// concurrent use.
type Scorer interface {
	Score(prompt string) float64
}

// Attempt describes one finished upstream attempt, for OnAttempt.
type Attempt struct {
	// Name is the model or route the client asked for.
	Name   string
	Target *Target
	// N counts attempts within the request, from 1.
	N       int
	Start   time.Time
	Latency time.Duration
	// Err is nil on success; otherwise the attempt's error (deadlines are
	// reported as a 504 *llm.Error).
	Err error
}

// Target is one configured model on its provider. Its health (breaker,
// in-flight count, latency) is shared by every route that uses it.
type Target struct {
	// Model is the client-facing name.
	Model string
	// Upstream is the provider's name for the model.
	Upstream string
	// Type is "chat" or "embedding".
	Type     string
	Provider provider.Provider

	info  *provider.Info
	state targetState
	// capacity, when the provider configures one, is shared by every
	// target on that provider.
	capacity *Capacity
}

// Info is the target's provider description.
func (t *Target) Info() *provider.Info { return t.info }

// ModelInfo is one entry of /v1/models.
type ModelInfo struct {
	ID string
	// Kind is "model" or "route".
	Kind string
	// OwnedBy is the provider's name, or "fulcrum" for routes.
	OwnedBy string
	// Type is "chat" or "embedding".
	Type string
}

// Router resolves names to plans. It is safe for concurrent use; build a
// new one on config reload.
type Router struct {
	opts    Options
	targets []*Target
	plans   map[string]*Plan
	models  []ModelInfo
	log     *slog.Logger

	calib calibration
	// capacities are the providers' capacity limits, in config order.
	capacities []*Capacity

	mu  sync.Mutex // guards rnd
	rnd *rand.Rand
}

// New builds the router for cfg. providers maps provider names to adapters.
func New(cfg *config.Config, providers map[string]provider.Provider, opts Options) (*Router, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Rand == nil {
		opts.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	opts.Retry.ApplyDefaults(1)
	opts.Breaker.ApplyDefaults()
	r := &Router{opts: opts, plans: map[string]*Plan{}, log: opts.Logger, rnd: opts.Rand}

	caps := map[string]*Capacity{}
	for _, pc := range cfg.Providers {
		if pc.Capacity != nil && providers[pc.Name] != nil {
			caps[pc.Name] = newCapacity(pc.Name, *pc.Capacity, opts.Now)
			r.capacities = append(r.capacities, caps[pc.Name])
		}
	}
	byName := map[string]*Target{}
	for _, m := range cfg.Models {
		p := providers[m.Provider]
		if p == nil {
			return nil, fmt.Errorf("router: model %q: provider %q is not built", m.Name, m.Provider)
		}
		t := &Target{Model: m.Name, Upstream: m.Upstream, Type: m.Type, Provider: p, info: p.Info(), capacity: caps[m.Provider]}
		if t.Upstream == "" {
			t.Upstream = m.Name
		}
		if t.Type == "" {
			t.Type = "chat"
		}
		byName[m.Name] = t
		r.targets = append(r.targets, t)
		r.plans[m.Name] = &Plan{
			r: r, name: m.Name, strategy: "model",
			tiers:    [][]member{{{t: t, weight: 1}}},
			balance:  config.BalanceWeighted,
			retry:    compileRetry(opts.Retry),
			breaker:  opts.Breaker,
			timeouts: opts.Timeouts,
		}
		r.models = append(r.models, ModelInfo{ID: m.Name, Kind: "model", OwnedBy: t.info.Name, Type: t.Type})
	}
	for i := range cfg.Routes {
		rt := &cfg.Routes[i]
		if _, dup := r.plans[rt.Name]; dup {
			return nil, fmt.Errorf("router: route %q: name already used", rt.Name)
		}
		p, err := r.buildRoute(rt, byName)
		if err != nil {
			return nil, fmt.Errorf("router: route %q: %w", rt.Name, err)
		}
		r.plans[rt.Name] = p
		typ := p.tiers[0][0].t.Type
		r.models = append(r.models, ModelInfo{ID: rt.Name, Kind: "route", OwnedBy: "fulcrum", Type: typ})
	}
	sort.Slice(r.models, func(i, j int) bool { return r.models[i].ID < r.models[j].ID })
	return r, nil
}

// Resolve returns the plan for a model or route name. An unknown name is a
// 404 *llm.Error with code model_not_found, as OpenAI answers. When the
// gateway has no model at all (embedded defaults with no provider key in
// the environment) the message says so, rather than leaving a first-time
// user to guess why every model "does not exist".
func (r *Router) Resolve(model string) (*Plan, error) {
	if p := r.plans[model]; p != nil {
		return p, nil
	}
	msg := fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model)
	if len(r.plans) == 0 {
		msg = fmt.Sprintf("The model `%s` does not exist: this gateway has no models configured "+
			"(set OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY or OLLAMA_HOST, or start it with --config).", model)
	}
	return nil, &llm.Error{
		Status:  http.StatusNotFound,
		Type:    llm.ErrInvalidRequest,
		Code:    "model_not_found",
		Param:   "model",
		Message: msg,
	}
}

// Models lists every model and route, sorted by ID.
func (r *Router) Models() []ModelInfo { return append([]ModelInfo(nil), r.models...) }

// Capacities lists the providers' capacity limits, in config order.
func (r *Router) Capacities() []*Capacity { return append([]*Capacity(nil), r.capacities...) }

// Targets lists every configured target, in config order.
func (r *Router) Targets() []*Target { return append([]*Target(nil), r.targets...) }

func (r *Router) float64() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rnd.Float64()
}
