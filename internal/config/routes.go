package config

import (
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"
)

// Route strategies.
const (
	StrategyFallback = "fallback"
	StrategyBalance  = "balance"
	StrategyCascade  = "cascade"
	StrategyRouter   = "router"
)

// Balance policies.
const (
	BalanceWeighted      = "weighted"
	BalanceLeastLatency  = "least_latency"
	BalanceLeastInFlight = "least_in_flight"
	BalanceLeastCost     = "least_cost"
)

// Cascade stream modes.
const (
	CascadeStreamBuffer = "buffer"
	CascadeStreamSkip   = "skip"
)

// Route is a name clients send as "model" that picks among several models.
// See docs/routing.md.
type Route struct {
	// Name is what clients send as "model". Required; must not also be a
	// model name.
	Name string `yaml:"name"`
	// Strategy is fallback (targets in order), balance (spread over the
	// targets), cascade (cheapest first, escalate when the answer fails the
	// checks) or router (a prompt-difficulty score picks the weak or the
	// strong target). Default fallback.
	Strategy string `yaml:"strategy"`
	// Policy names a data policy for requests to this route. The key's
	// policy, this one and the policies of the route's target (and judge)
	// models all apply: class by class, the strictest wins. Default: none
	// (the target models' policies, or the default policy).
	Policy string `yaml:"policy"`
	// Targets are model names, in order for fallback and cascade, [weak,
	// strong] for router. Written as a name or as {model, weight}.
	// Consecutive targets with the same upstream model form one group that
	// is balanced by Balance.
	Targets []Target `yaml:"targets"`
	// Balance picks among targets of one group (for strategy balance: among
	// all targets): weighted (random by weight), least_latency (EWMA of
	// attempt latency), least_in_flight or least_cost. Default weighted.
	Balance string `yaml:"balance"`
	// Retry configures retries and fallbacks.
	Retry Retry `yaml:"retry"`
	// Breaker configures the per-target circuit breakers' thresholds for
	// this route's attempts. The breaker state itself is per target and
	// shared by every route using that target.
	Breaker Breaker `yaml:"breaker"`
	// Timeouts bound attempts and the whole request.
	Timeouts RouteTimeouts `yaml:"timeouts"`
	// Cascade configures strategy cascade.
	Cascade *Cascade `yaml:"cascade"`
	// StrongShare is, for strategy router, the share of prompts sent to the
	// strong target (0..1); the threshold is the matching quantile of the
	// difficulty scores of a calibration set. Default 0.3 unless Threshold
	// is set.
	StrongShare *float64 `yaml:"strong_share"`
	// Threshold is, for strategy router, the difficulty score (0..1) at or
	// above which the strong target is called. Overrides StrongShare.
	Threshold *float64 `yaml:"threshold"`
	// RouterFile is, for strategy router, a router written by `fulcrum
	// route-train` (JSON), used instead of the embedded one; relative paths
	// are relative to the working directory.
	RouterFile string `yaml:"router_file"`
	// Cache opts this route into the response cache. Default: not cached.
	Cache *CacheRule `yaml:"cache"`
	// Shadow sends a sample of this route's requests to candidates too.
	Shadow *Shadow `yaml:"shadow"`
}

// Target is one model of a route.
type Target struct {
	// Model names a configured model. Required.
	Model string `yaml:"model"`
	// Weight is the relative share for weighted balancing. Default 1.
	Weight float64 `yaml:"weight"`
}

// UnmarshalYAML accepts a bare model name as well as {model, weight}.
func (t *Target) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		t.Model = n.Value
		return nil
	}
	type plain Target
	return n.Decode((*plain)(t))
}

// Retry configures retries. Zero fields take the defaults noted.
type Retry struct {
	// Attempts is the most upstream calls one request may make, counting
	// the first and every fallback. Default 3, or the number of targets
	// when larger.
	Attempts int `yaml:"attempts"`
	// On lists what is retried: any of "429", "5xx" (500-599), "timeout"
	// (408, 504 and attempt deadlines), "connection" (refused, reset), or a
	// specific status such as "503". Other 4xx are never retried. Default
	// [429, 5xx, timeout, connection].
	On []string `yaml:"on"`
	// Backoff is the first retry's delay before jitter; it doubles each
	// retry up to MaxBackoff. Default 200ms.
	Backoff Duration `yaml:"backoff"`
	// MaxBackoff caps the backoff. Default 5s.
	MaxBackoff Duration `yaml:"max_backoff"`
	// MaxRetryAfter caps how long an upstream's Retry-After is honoured; a
	// target asking for longer is not retried (other targets still are).
	// Default 10s.
	MaxRetryAfter Duration `yaml:"max_retry_after"`
	// BudgetRatio is the retry budget: retries of a target may add at most
	// this share of its requests (token bucket). Default 0.2.
	BudgetRatio float64 `yaml:"budget_ratio"`
	// BudgetMin is the budget's floor: retries per second always allowed
	// per target, however few requests there are. Default 1.
	BudgetMin float64 `yaml:"budget_min"`
}

// Breaker configures circuit breakers. Zero fields take the defaults noted.
type Breaker struct {
	// Disabled turns the breaker off for this route. Default false.
	Disabled bool `yaml:"disabled"`
	// Failures is the number of consecutive failures that opens the
	// breaker. Default 5.
	Failures int `yaml:"failures"`
	// FailureRate opens the breaker when this share of the last Window
	// attempts failed (once Window attempts were seen). Default 0.5.
	FailureRate float64 `yaml:"failure_rate"`
	// Window is how many recent attempts FailureRate looks at. Default 20.
	Window int `yaml:"window"`
	// Cooldown is how long an open breaker stays open before letting
	// probes through. Default 30s.
	Cooldown Duration `yaml:"cooldown"`
	// Probes is how many concurrent attempts a half-open breaker allows; a
	// success closes it, a failure opens it again. Default 1.
	Probes int `yaml:"probes"`
}

// RouteTimeouts bound a routed request. Zero means no bound beyond the
// providers' own timeouts.
type RouteTimeouts struct {
	// Attempt bounds one upstream call (for streams: until the first
	// chunk). Default 0.
	Attempt Duration `yaml:"attempt"`
	// Total bounds the whole request across retries and fallbacks (for
	// streams: until the first chunk). Default 0.
	Total Duration `yaml:"total"`
	// TTFT is the time-to-first-token deadline for streams: a target that
	// sends no first chunk in time is abandoned for the next. Default 0.
	TTFT Duration `yaml:"ttft"`
}

// Cascade configures the checks an answer must pass to be accepted.
type Cascade struct {
	// Stream is what a streaming request does: "buffer" runs the cascade
	// without streaming and replays the accepted answer as a stream;
	// "skip" goes straight to the last (strongest) target. Default buffer.
	Stream string `yaml:"stream"`
	// Regex, when set, must match the answer text.
	Regex string `yaml:"regex"`
	// MinLength is the least number of characters of an accepted answer.
	// Default 1 (non-empty).
	MinLength int `yaml:"min_length"`
	// AllowRefusals accepts answers that read as refusals ("I can't help
	// with that"). Default false.
	AllowRefusals bool `yaml:"allow_refusals"`
	// Judge, when set, has a model grade the answer.
	Judge *Judge `yaml:"judge"`
}

// Judge grades an answer with a model.
type Judge struct {
	// Model names the grading model or route. Required.
	Model string `yaml:"model"`
	// MinScore is the least grade (1..10) that accepts. Default 7.
	MinScore float64 `yaml:"min_score"`
}

func (r *Route) applyDefaults() {
	if r.Strategy == "" {
		r.Strategy = StrategyFallback
	}
	if r.Balance == "" {
		r.Balance = BalanceWeighted
	}
	for i := range r.Targets {
		if r.Targets[i].Weight == 0 {
			r.Targets[i].Weight = 1
		}
	}
	r.Retry.ApplyDefaults(len(r.Targets))
	r.Breaker.ApplyDefaults()
	if r.Strategy == StrategyCascade && r.Cascade == nil {
		r.Cascade = &Cascade{}
	}
	if c := r.Cascade; c != nil {
		if c.Stream == "" {
			c.Stream = CascadeStreamBuffer
		}
		if c.MinLength == 0 {
			c.MinLength = 1
		}
		if c.Judge != nil && c.Judge.MinScore == 0 {
			c.Judge.MinScore = 7
		}
	}
	if r.Strategy == StrategyRouter && r.StrongShare == nil && r.Threshold == nil {
		s := 0.3
		r.StrongShare = &s
	}
}

// ApplyDefaults fills unset retry fields; targets is the route's size.
func (r *Retry) ApplyDefaults(targets int) {
	if r.Attempts == 0 {
		r.Attempts = max(3, targets)
	}
	if len(r.On) == 0 {
		r.On = []string{"429", "5xx", "timeout", "connection"}
	}
	if r.Backoff == 0 {
		r.Backoff = Duration(200e6)
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = Duration(5e9)
	}
	if r.MaxRetryAfter == 0 {
		r.MaxRetryAfter = Duration(10e9)
	}
	if r.BudgetRatio == 0 {
		r.BudgetRatio = 0.2
	}
	if r.BudgetMin == 0 {
		r.BudgetMin = 1
	}
}

// ApplyDefaults fills unset breaker fields.
func (b *Breaker) ApplyDefaults() {
	if b.Failures == 0 {
		b.Failures = 5
	}
	if b.FailureRate == 0 {
		b.FailureRate = 0.5
	}
	if b.Window == 0 {
		b.Window = 20
	}
	if b.Cooldown == 0 {
		b.Cooldown = Duration(30e9)
	}
	if b.Probes == 0 {
		b.Probes = 1
	}
}

func (r *Route) validate(path string, models map[string]bool) []error {
	var errs []error
	add := func(p, format string, args ...any) { errs = append(errs, errorf(path+p, format, args...)) }
	if r.Name == "" {
		add(".name", "required")
	}
	switch r.Strategy {
	case StrategyFallback, StrategyBalance, StrategyCascade:
	case StrategyRouter:
		if len(r.Targets) != 2 {
			add(".targets", "strategy router needs exactly two targets [weak, strong], not %d", len(r.Targets))
		}
	default:
		add(".strategy", "must be fallback, balance, cascade or router, not %q", r.Strategy)
	}
	switch r.Balance {
	case BalanceWeighted, BalanceLeastLatency, BalanceLeastInFlight, BalanceLeastCost:
	default:
		add(".balance", "must be weighted, least_latency, least_in_flight or least_cost, not %q", r.Balance)
	}
	if len(r.Targets) == 0 {
		add(".targets", "required")
	}
	for i, t := range r.Targets {
		p := fmt.Sprintf(".targets[%d]", i)
		if !models[t.Model] {
			add(p+".model", "unknown model %q", t.Model)
		}
		if t.Weight < 0 {
			add(p+".weight", "must not be negative")
		}
	}
	if r.Retry.Attempts < 1 {
		add(".retry.attempts", "must be at least 1")
	}
	for i, on := range r.Retry.On {
		if !validRetryOn(on) {
			add(fmt.Sprintf(".retry.on[%d]", i), "must be 429, 5xx, timeout, connection or a 4xx/5xx status, not %q", on)
		}
	}
	if r.Retry.Backoff < 0 || r.Retry.MaxBackoff < 0 || r.Retry.MaxRetryAfter < 0 {
		add(".retry", "durations must not be negative")
	}
	if r.Retry.BudgetRatio < 0 || r.Retry.BudgetMin < 0 {
		add(".retry", "budget must not be negative")
	}
	if r.Breaker.Failures < 1 || r.Breaker.Window < 1 || r.Breaker.Probes < 1 {
		add(".breaker", "failures, window and probes must be at least 1")
	}
	if r.Breaker.FailureRate <= 0 || r.Breaker.FailureRate > 1 {
		add(".breaker.failure_rate", "must be in (0, 1]")
	}
	if r.Timeouts.Attempt < 0 || r.Timeouts.Total < 0 || r.Timeouts.TTFT < 0 {
		add(".timeouts", "must not be negative")
	}
	if c := r.Cascade; c != nil {
		if r.Strategy != StrategyCascade {
			add(".cascade", "only for strategy cascade")
		}
		if c.Stream != CascadeStreamBuffer && c.Stream != CascadeStreamSkip {
			add(".cascade.stream", "must be buffer or skip, not %q", c.Stream)
		}
		if c.Regex != "" {
			if _, err := regexp.Compile(c.Regex); err != nil {
				add(".cascade.regex", "%v", err)
			}
		}
		if c.MinLength < 0 {
			add(".cascade.min_length", "must not be negative")
		}
		if j := c.Judge; j != nil {
			if j.Model == "" {
				add(".cascade.judge.model", "required")
			} else if !models[j.Model] {
				add(".cascade.judge.model", "unknown model %q", j.Model)
			}
			if j.MinScore < 0 || j.MinScore > 10 {
				add(".cascade.judge.min_score", "must be in [0, 10]")
			}
		}
	}
	if r.StrongShare != nil && (*r.StrongShare < 0 || *r.StrongShare > 1) {
		add(".strong_share", "must be in [0, 1]")
	}
	if r.RouterFile != "" && r.Strategy != StrategyRouter {
		add(".router_file", "only for strategy router")
	}
	if r.Threshold != nil && (*r.Threshold < 0 || *r.Threshold > 1) {
		add(".threshold", "must be in [0, 1]")
	}
	return errs
}

func validRetryOn(s string) bool {
	switch s {
	case "429", "5xx", "timeout", "connection":
		return true
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || fmt.Sprint(n) != s {
		return false
	}
	return n >= 400 && n < 600
}
