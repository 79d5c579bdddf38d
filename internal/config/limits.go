package config

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Limits configures keys, budgets and rate limits (metering.limits). With
// storage.redis set, budgets and rate limits are shared by every replica;
// otherwise each process keeps its own.
type Limits struct {
	// BudgetHosting is which spend a key's budget counts: "proprietary"
	// (default: a spent API budget does not block self-hosted models),
	// "self_hosted" or "all".
	BudgetHosting string `yaml:"budget_hosting"`
	// Teams are team budgets. A team may have several, e.g. one for
	// proprietary spend and one for self-hosted. Default none.
	Teams []TeamBudget `yaml:"teams"`
	// EndUserBudget, when set, gives each distinct end user of a virtual
	// key (OpenAI user, Anthropic metadata.user_id) its own budget
	// (enduser.go). Default none.
	EndUserBudget *EndUserBudget `yaml:"end_user_budget"`
	// ReservationTTL is how long a budget reservation is held if its
	// replica dies before settling it (Redis only). Default 15m.
	ReservationTTL Duration `yaml:"reservation_ttl"`
	// KeyCacheTTL is how long an authenticated key is served from memory;
	// a revocation reaches other replicas within it. Default 10s.
	KeyCacheTTL Duration `yaml:"key_cache_ttl"`
	// FailOpen admits requests when Redis is unreachable. Default false:
	// they get a 503 rather than escape their budgets.
	FailOpen bool `yaml:"fail_open"`
	// RedisPrefix starts every Redis key. Default "fulcrum:"; with Redis
	// Cluster use a hash tag such as "{fulcrum}:".
	RedisPrefix string `yaml:"redis_prefix"`
	// RateMode is how keys' rpm and tpm are counted: "sliding" (default:
	// no 60-second window, wherever it starts, admits more than the limit)
	// or "gcra" (a bucket of rate_burst_percent of the limit refilled at
	// the limit per minute: smoother, but a 60-second window may admit up
	// to limit + burst). See docs/keys.md.
	RateMode string `yaml:"rate_mode"`
	// RateBurstPercent is, with rate_mode gcra, the bucket's size in
	// percent of the limit (1-100). Default 100.
	RateBurstPercent int64 `yaml:"rate_burst_percent"`
}

// TeamBudget is one budget of a team.
type TeamBudget struct {
	// Team is the team name keys carry.
	Team string `yaml:"team"`
	// BudgetUSD is the limit per period, in dollars ("250", "99.50").
	BudgetUSD USD `yaml:"budget_usd"`
	// Period is daily, weekly, monthly (default) or total. Periods start
	// at 00:00 UTC; weeks on Monday.
	Period string `yaml:"period"`
	// Hosting is which spend counts: proprietary (default), self_hosted
	// or all.
	Hosting string `yaml:"hosting"`
}

// USD is an amount of dollars held exactly as nanodollars (USD × 1e9).
type USD int64

// UnmarshalYAML reads the scalar's text, so "0.1" is exactly 100000000.
func (u *USD) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseUSD(n.Value)
	if err != nil {
		return err
	}
	*u = USD(v)
	return nil
}

// ParseUSD parses a non-negative dollar amount ("10", "10.00", "$0.25")
// into nanodollars exactly; more than nine decimals is an error.
func ParseUSD(s string) (int64, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "$")
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" && frac == "" || len(frac) > 9 || len(whole) > 9 {
		return 0, fmt.Errorf("invalid dollar amount %q (want e.g. 10.00, at most 9 decimals, under $1e9)", s)
	}
	var n int64
	for _, part := range []string{whole, frac + strings.Repeat("0", 9-len(frac))} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("invalid dollar amount %q", s)
			}
			n = n*10 + int64(c-'0')
		}
	}
	return n, nil
}

func (l *Limits) applyDefaults() {
	if l.BudgetHosting == "" {
		l.BudgetHosting = "proprietary"
	}
	if l.ReservationTTL == 0 {
		l.ReservationTTL = Duration(15 * time.Minute)
	}
	if l.KeyCacheTTL == 0 {
		l.KeyCacheTTL = Duration(10 * time.Second)
	}
	if l.RedisPrefix == "" {
		l.RedisPrefix = "fulcrum:"
	}
	l.EndUserBudget.applyDefaults()
	for i := range l.Teams {
		if l.Teams[i].Period == "" {
			l.Teams[i].Period = "monthly"
		}
		if l.Teams[i].Hosting == "" {
			l.Teams[i].Hosting = "proprietary"
		}
	}
}

func validBudgetHosting(h string) bool {
	return h == "proprietary" || h == "self_hosted" || h == "all"
}

func (l *Limits) validate(path string) []error {
	var errs []error
	if !validBudgetHosting(l.BudgetHosting) {
		errs = append(errs, errorf(path+".budget_hosting", "must be proprietary, self_hosted or all, not %q", l.BudgetHosting))
	}
	if l.ReservationTTL < 0 {
		errs = append(errs, errorf(path+".reservation_ttl", "must not be negative"))
	}
	switch l.RateMode {
	case "", "sliding", "gcra":
	default:
		errs = append(errs, errorf(path+".rate_mode", "must be sliding or gcra, not %q", l.RateMode))
	}
	if l.RateBurstPercent < 0 || l.RateBurstPercent > 100 {
		errs = append(errs, errorf(path+".rate_burst_percent", "must be between 1 and 100 (0 for the default, 100), not %d", l.RateBurstPercent))
	}
	errs = append(errs, l.EndUserBudget.validate(path+".end_user_budget")...)
	for i, t := range l.Teams {
		p := fmt.Sprintf("%s.teams[%d]", path, i)
		if strings.TrimSpace(t.Team) == "" {
			errs = append(errs, errorf(p+".team", "required"))
		}
		if t.BudgetUSD <= 0 {
			errs = append(errs, errorf(p+".budget_usd", "must be positive"))
		}
		switch t.Period {
		case "daily", "weekly", "monthly", "total":
		default:
			errs = append(errs, errorf(p+".period", "must be daily, weekly, monthly or total, not %q", t.Period))
		}
		if !validBudgetHosting(t.Hosting) {
			errs = append(errs, errorf(p+".hosting", "must be proprietary, self_hosted or all, not %q", t.Hosting))
		}
	}
	return errs
}
