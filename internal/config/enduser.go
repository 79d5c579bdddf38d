package config

import (
	"time"
)

// EndUserBudget is the budget each distinct end user of a virtual key
// gets (metering.limits.end_user_budget):
//
//	metering:
//	  limits:
//	    end_user_budget:
//	      budget_usd: "1.00"    # per end user and period
//	      period: daily         # daily (default), weekly or monthly
//	      hosting: proprietary  # which spend counts (default proprietary)
//	      require_user: false   # refuse key requests naming no end user
//	      max_tracked_users: 100000
//
// An end user is counted per key: "bob" of one key and "bob" of another
// are two budgets. Requests with the master key, or without an end user
// (unless require_user), are not limited by it.
type EndUserBudget struct {
	// BudgetUSD is the limit per end user and period; required.
	BudgetUSD USD `yaml:"budget_usd"`
	// Period is daily (default), weekly or monthly. A total period is
	// refused: its spend would be re-read from raw usage rows the
	// retention has pruned.
	Period string `yaml:"period"`
	// Hosting is which spend counts: proprietary (default), self_hosted
	// or all.
	Hosting string `yaml:"hosting"`
	// RequireUser refuses a virtual key's request that names no end user
	// with a 400 (code end_user_required). Default false: such requests
	// are limited only by the key's and team's budgets.
	RequireUser bool `yaml:"require_user"`
	// MaxTrackedUsers bounds how many end users' budget states one
	// process keeps in memory without Redis (least recently used idle ones
	// go first and are re-read from the store). Default 100000.
	MaxTrackedUsers int `yaml:"max_tracked_users"`
}

func (e *EndUserBudget) applyDefaults() {
	if e == nil {
		return
	}
	if e.Period == "" {
		e.Period = "daily"
	}
	if e.Hosting == "" {
		e.Hosting = "proprietary"
	}
	if e.MaxTrackedUsers == 0 {
		e.MaxTrackedUsers = 100_000
	}
}

func (e *EndUserBudget) validate(path string) []error {
	if e == nil {
		return nil
	}
	var errs []error
	if e.BudgetUSD <= 0 {
		errs = append(errs, errorf(path+".budget_usd", "must be positive"))
	}
	switch e.Period {
	case "daily", "weekly", "monthly":
	default:
		errs = append(errs, errorf(path+".period", "must be daily, weekly or monthly, not %q", e.Period))
	}
	if !validBudgetHosting(e.Hosting) {
		errs = append(errs, errorf(path+".hosting", "must be proprietary, self_hosted or all, not %q", e.Hosting))
	}
	if e.MaxTrackedUsers < 0 {
		errs = append(errs, errorf(path+".max_tracked_users", "must not be negative"))
	}
	return errs
}

// checkRetention refuses a period longer than the raw usage rows are
// kept: an end user's spend is re-read from them after a restart.
func (e *EndUserBudget) checkRetention(path string, r Retention) []error {
	if e == nil {
		return nil
	}
	need := map[string]time.Duration{"daily": 24 * time.Hour, "weekly": 7 * 24 * time.Hour, "monthly": 31 * 24 * time.Hour}[e.Period]
	if keep := r.Usage.D(); keep > 0 && keep < need {
		return []error{errorf(path, "%s needs metering.retention.usage of at least %s (end users' spend is re-read from raw usage rows), not %s",
			e.Period, need, keep)}
	}
	return nil
}
