// Package limits enforces budgets and rate limits before an upstream call.
//
// Budgets are reservations: before a call the caller reserves the worst-case
// cost (prompt tokens × input price + max output tokens × output price)
// against budget − spent − outstanding reservations; when the call's usage is
// known, Settle replaces the reservation by the actual cost; on failure,
// Release drops it. A reservation is admitted only when it fits entirely, so
// spend can exceed a budget only by what requests already admitted cost
// beyond their worst case (an estimate that was wrong), never by the requests
// in flight themselves.
//
// Rate limits are GCRA (the generic cell rate algorithm): per key, one
// "theoretical arrival time" for requests and one for tokens. It behaves
// like a token bucket of capacity limit that refills at limit per minute,
// needs one number of state per limit, and yields OpenAI's x-ratelimit-*
// header values directly.
//
// Two implementations share the Limiter interface and one test suite:
// Memory (in-process, for a single replica) and Redis (Lua scripts, so
// check-and-reserve is atomic across replicas). Gate puts them together for
// the gateway: rate limit, then reserve; settle or release after.
package limits

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Hosting kinds a budget counts. A budget counts proprietary spend by
// default, so a spent API budget does not block self-hosted models.
const (
	HostingProprietary = "proprietary"
	HostingSelfHosted  = "self_hosted"
	HostingAll         = "all"
)

// Budget is a spend limit for one scope and period.
type Budget struct {
	// Scope is store.ScopeKey(id), store.ScopeTeam(name) or, for an
	// end-user budget, EndUserScope(keyID, user).
	Scope  string
	Period store.Period
	// Hosting is which spend counts: HostingProprietary (the default when
	// empty), HostingSelfHosted or HostingAll.
	Hosting string
	// LimitNanos is the budget in USD × 1e9; must be positive.
	LimitNanos int64
	// EndUser is set on an end-user budget: whose stored spend seeds it
	// (its Scope carries only a hash of the user id).
	EndUser EndUserRef
}

func (b Budget) hosting() string {
	if b.Hosting == "" {
		return HostingProprietary
	}
	return b.Hosting
}

// of returns the part of a that this budget counts.
func (b Budget) of(a Amount) int64 {
	switch b.hosting() {
	case HostingSelfHosted:
		return a.SelfHostedNanos
	case HostingAll:
		return a.ProprietaryNanos + a.SelfHostedNanos
	}
	return a.ProprietaryNanos
}

// counts reports whether a running total of hosting kind h counts.
func (b Budget) counts(h string) bool {
	switch b.hosting() {
	case HostingAll:
		return true
	case HostingSelfHosted:
		return h == HostingSelfHosted
	}
	return h == HostingProprietary
}

// Amount is money split by hosting kind, in USD × 1e9.
type Amount struct {
	ProprietaryNanos int64
	SelfHostedNanos  int64
}

// Reservation is a hold on one or more budgets. It is settled or released
// once; later calls do nothing.
type Reservation struct {
	// ID is unique across replicas (random).
	ID string
	// At is when the reservation was made; it fixes the budget periods the
	// reservation and its settlement count in.
	At      time.Time
	budgets []Budget
	amounts []int64 // per budget, what was reserved
	done    atomic.Bool
}

// Budgets returns the budgets the reservation holds.
func (r *Reservation) Budgets() []Budget { return r.budgets }

// BudgetState is a budget's position in its current period.
type BudgetState struct {
	Budget      Budget    `json:"-"`
	PeriodStart time.Time `json:"period_start"`
	// ResetsAt is when the period ends (zero for store.AllTime).
	ResetsAt      time.Time `json:"resets_at,omitzero"`
	SpentNanos    int64     `json:"spent_nanos"`
	ReservedNanos int64     `json:"reserved_nanos"`
	// RemainingNanos is LimitNanos − spent − reserved (may be negative).
	RemainingNanos int64 `json:"remaining_nanos"`
}

// Rates are per-minute limits for one key; zero means no limit.
type Rates struct {
	RPM int64
	TPM int64
}

// RateState is what the x-ratelimit-* headers report after an admission.
type RateState struct {
	Requests, Tokens RateWindow
}

// RateWindow is one limit's position. Limit 0 means the limit is not set.
type RateWindow struct {
	Limit     int64
	Remaining int64
	// Reset is how long until the limit is back to its full capacity.
	Reset time.Duration
}

// SetHeaders writes OpenAI's rate-limit headers for the limits that are set:
// x-ratelimit-{limit,remaining,reset}-{requests,tokens}.
// https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
func (s RateState) SetHeaders(h http.Header) {
	if s.Requests.Limit > 0 {
		h["X-Ratelimit-Limit-Requests"] = []string{strconv.FormatInt(s.Requests.Limit, 10)}
		h["X-Ratelimit-Remaining-Requests"] = []string{strconv.FormatInt(s.Requests.Remaining, 10)}
		h["X-Ratelimit-Reset-Requests"] = []string{formatReset(s.Requests.Reset)}
	}
	if s.Tokens.Limit > 0 {
		h["X-Ratelimit-Limit-Tokens"] = []string{strconv.FormatInt(s.Tokens.Limit, 10)}
		h["X-Ratelimit-Remaining-Tokens"] = []string{strconv.FormatInt(s.Tokens.Remaining, 10)}
		h["X-Ratelimit-Reset-Tokens"] = []string{formatReset(s.Tokens.Reset)}
	}
}

// formatReset writes a duration the way OpenAI does ("1s", "6m0s", "20ms").
func formatReset(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// Limiter is the budget and rate-limit state, in-process or shared.
// Implementations are safe for concurrent use.
type Limiter interface {
	// Reserve holds worst (each budget takes the part its Hosting counts)
	// against every budget, or none of them: over any budget, it returns an
	// *ExceededError naming the first budget that refused.
	Reserve(ctx context.Context, budgets []Budget, worst Amount) (*Reservation, error)
	// Settle replaces the reservation by the actual cost. A nil or already
	// settled reservation is a no-op.
	Settle(ctx context.Context, r *Reservation, actual Amount) error
	// Release drops the reservation (the call failed and cost nothing).
	Release(ctx context.Context, r *Reservation) error
	// Extend keeps a reservation of a request still running from
	// expiring: it holds for another reservation TTL from now. A settled,
	// released or expired reservation is left as it is. (Memory's
	// reservations never expire: a no-op.)
	Extend(ctx context.Context, r *Reservation) error
	// Budgets reports each budget's current period.
	Budgets(ctx context.Context, budgets []Budget) ([]BudgetState, error)

	// Rate admits one request of tokens (estimated) for key under rates,
	// or refuses it with an *ExceededError carrying Retry-After.
	Rate(ctx context.Context, key string, rates Rates, tokens int64) (RateState, error)
	// AdjustRate adds requests and tokens (either may be negative) to key's
	// counts without checking the limits: to correct an estimate with the
	// actual usage, or to give back an admission that went unused.
	AdjustRate(ctx context.Context, key string, rates Rates, requests, tokens int64) error
}

// Totals is the part of store.Store limiters read spent totals from when a
// scope and period is first seen.
type Totals interface {
	Totals(ctx context.Context, scope string, p store.Period, at time.Time) ([]store.Total, error)
}

// seed sums the stored totals b counts. A nil ts seeds zero; so does an
// end-user budget when ts cannot sum an end user's spend.
func seed(ctx context.Context, ts Totals, b Budget, at time.Time) (int64, error) {
	if ts == nil {
		return 0, nil
	}
	var rows []store.Total
	var err error
	if b.isEndUser() {
		ut, ok := ts.(EndUserTotals)
		if !ok {
			return 0, nil
		}
		rows, err = ut.EndUserTotals(ctx, b.EndUser.KeyID, b.EndUser.User, b.Period, at)
	} else {
		rows, err = ts.Totals(ctx, b.Scope, b.Period, at)
	}
	if err != nil {
		return 0, fmt.Errorf("limits: seed %s %s: %w", b.Scope, b.Period, err)
	}
	var n int64
	for _, r := range rows {
		if b.counts(r.Hosting) {
			n += r.SpentNanos
		}
	}
	return n, nil
}

// periodEnd returns when the period containing t ends (zero for AllTime).
func periodEnd(p store.Period, t time.Time) time.Time {
	s := p.Start(t)
	switch p {
	case store.Daily:
		return s.AddDate(0, 0, 1)
	case store.Weekly:
		return s.AddDate(0, 0, 7)
	case store.Monthly:
		return s.AddDate(0, 1, 0)
	}
	return time.Time{}
}

// Kinds of limit an ExceededError names.
const (
	KindBudget   = "budget"
	KindRequests = "requests"
	KindTokens   = "tokens"
)

// ExceededError is a refusal: over a budget or a rate limit.
type ExceededError struct {
	// Kind is KindBudget, KindRequests or KindTokens.
	Kind string
	// Budget is the budget that refused (KindBudget).
	Budget Budget
	// SpentNanos and ReservedNanos are the budget's position when it
	// refused; RequestNanos what the request asked for.
	SpentNanos, ReservedNanos, RequestNanos int64
	// ResetsAt is when the budget's period ends (zero for AllTime).
	ResetsAt time.Time
	// Limit is the rate limit (KindRequests, KindTokens).
	Limit int64
	// RetryAfter is how long until the request could be admitted; 0 when
	// waiting will not help (a request larger than the limit, or a total
	// budget).
	RetryAfter time.Duration
	// TooLarge is set when the request alone exceeds the limit (a rate
	// limit, or a budget's whole limit).
	TooLarge bool
}

func (e *ExceededError) Error() string {
	switch e.Kind {
	case KindBudget:
		s := fmt.Sprintf("limits: %s %s budget exceeded: spent %d + reserved %d + request %d > %d nanodollars",
			e.Budget.Scope, e.Budget.Period, e.SpentNanos, e.ReservedNanos, e.RequestNanos, e.Budget.LimitNanos)
		if !e.ResetsAt.IsZero() {
			s += ", resets " + e.ResetsAt.UTC().Format(time.RFC3339)
		}
		return s
	case KindTokens:
		return fmt.Sprintf("limits: tokens-per-minute limit %d exceeded, retry after %s", e.Limit, e.RetryAfter)
	}
	return fmt.Sprintf("limits: requests-per-minute limit %d exceeded, retry after %s", e.Limit, e.RetryAfter)
}

// budgetPosition says why a budget refused: used up, or this request's
// worst case (what admission reserves: every output token the request may
// produce) is more than what is left. Without it a client refused with
// most of its budget unspent cannot tell that a lower max_tokens would
// be admitted.
func (e *ExceededError) budgetPosition() string {
	left := satAdd(e.Budget.LimitNanos, -satAdd(e.SpentNanos, e.ReservedNanos))
	if e.SpentNanos >= e.Budget.LimitNanos || left <= 0 {
		return fmt.Sprintf(": $%s of $%s spent", FormatUSD(e.SpentNanos), FormatUSD(e.Budget.LimitNanos)) + inFlight(e.ReservedNanos)
	}
	if e.TooLarge {
		return fmt.Sprintf(": this request could cost up to $%s (every output token it may produce), more than the whole $%s budget, so waiting will not help; a lower max_tokens (max_output_tokens) reserves less",
			FormatUSD(e.RequestNanos), FormatUSD(e.Budget.LimitNanos))
	}
	return fmt.Sprintf(": this request could cost up to $%s (every output token it may produce), more than the $%s left of $%s",
		FormatUSD(e.RequestNanos), FormatUSD(left), FormatUSD(e.Budget.LimitNanos)) + inFlight(e.ReservedNanos) +
		"; a lower max_tokens (max_output_tokens) reserves less"
}

func inFlight(reserved int64) string {
	if reserved <= 0 {
		return ""
	}
	return fmt.Sprintf(" (and $%s reserved by requests in flight)", FormatUSD(reserved))
}

// LLM returns the error the client sees: 429 insufficient_quota for a
// budget, 429 rate_limit_error for a rate limit, with Retry-After. The
// message names the scope and period but never the key's secret.
func (e *ExceededError) LLM() *llm.Error {
	le := &llm.Error{Status: http.StatusTooManyRequests, RetryAfter: e.RetryAfter, Err: e}
	switch e.Kind {
	case KindBudget:
		le.Type, le.Code = llm.ErrQuota, "insufficient_quota"
		le.Message = fmt.Sprintf("budget exceeded for %s (%s, %s spend)", e.Budget.Scope, e.Budget.Period, e.Budget.hosting())
		if e.Budget.isEndUser() {
			// Neither the user id (the client's own string, maybe an
			// email) nor its hash is echoed.
			le.Message = fmt.Sprintf("end-user budget exceeded: this end user of key %s has used its %s budget (%s spend)",
				e.Budget.EndUser.KeyID, e.Budget.Period, e.Budget.hosting())
		}
		le.Message += e.budgetPosition()
		if !e.ResetsAt.IsZero() {
			le.Message += "; it resets at " + e.ResetsAt.UTC().Format(time.RFC3339)
		}
	case KindTokens:
		le.Type, le.Code, le.RateLimit = llm.ErrRateLimit, "rate_limit_exceeded", KindTokens
		le.Message = fmt.Sprintf("rate limit reached: %d tokens per minute", e.Limit)
		if e.TooLarge {
			le.Message = fmt.Sprintf("request too large: it needs more than the key's limit of %d tokens per minute", e.Limit)
		}
	default:
		le.Type, le.Code, le.RateLimit = llm.ErrRateLimit, "rate_limit_exceeded", KindRequests
		le.Message = fmt.Sprintf("rate limit reached: %d requests per minute", e.Limit)
	}
	return le
}
