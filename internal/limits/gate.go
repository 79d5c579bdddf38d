package limits

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Gate is what the gateway calls: it applies a key's rate limits, then
// reserves the worst case against the key's and its team's budgets, and
// afterwards settles with the actual cost and corrects the token count.
type Gate struct {
	l        Limiter
	hosting  string
	teams    map[string][]Budget
	endUser  EndUserBudget
	failOpen bool
	extend   time.Duration
	log      *slog.Logger

	// seen holds every key and team budget admitted against (for
	// metrics). End-user budgets are left out: their number is the
	// clients' choice, and a metric label per user would be too.
	seen sync.Map // budgetKey -> Budget
}

// GateOptions configures NewGate. Zero fields take the defaults noted.
type GateOptions struct {
	Limiter Limiter
	// KeyBudgetHosting is which spend a key's budget counts:
	// HostingProprietary (default), HostingSelfHosted or HostingAll.
	KeyBudgetHosting string
	// Teams are the team budgets; each Scope is store.ScopeTeam(name). A
	// team may have several (e.g. one for proprietary spend, one for
	// self-hosted).
	Teams []Budget
	// EndUser is the budget each end user of a key gets; the zero value
	// sets none.
	EndUser EndUserBudget
	// FailOpen admits requests when the limiter itself fails (Redis down),
	// logging the error. Default false: such requests get a 503.
	FailOpen bool
	// ExtendEvery, when positive, extends each admitted request's
	// reservation that often while the request runs (Limiter.Extend), so
	// that a stream outliving the limiter's reservation TTL keeps holding
	// its budget. Set it below the TTL (a third of it); 0 never extends.
	ExtendEvery time.Duration
	Logger      *slog.Logger
}

// NewGate returns a gate on o.Limiter.
func NewGate(o GateOptions) *Gate {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.KeyBudgetHosting == "" {
		o.KeyBudgetHosting = HostingProprietary
	}
	g := &Gate{l: o.Limiter, hosting: o.KeyBudgetHosting, teams: map[string][]Budget{}, endUser: o.EndUser, failOpen: o.FailOpen, extend: o.ExtendEvery, log: o.Logger}
	for _, b := range o.Teams {
		name := b.Scope[len("team:"):]
		g.teams[name] = append(g.teams[name], b)
		g.seen.Store(keyOf(b), b)
	}
	return g
}

// Limiter returns the gate's limiter.
func (g *Gate) Limiter() Limiter { return g.l }

// KeyBudgets returns the budgets a request with key k counts against: the
// key's own (when it has one) and its team's.
func (g *Gate) KeyBudgets(k *store.Key) []Budget {
	team := g.teams[k.Team]
	if k.BudgetNanos <= 0 {
		return team
	}
	p := k.Period
	if p == "" {
		p = store.Monthly
	}
	out := make([]Budget, 0, 1+len(team))
	out = append(out, Budget{Scope: store.ScopeKey(k.ID), Period: p, Hosting: g.hosting, LimitNanos: k.BudgetNanos})
	return append(out, team...)
}

// TeamBudgets returns a team's configured budgets.
func (g *Gate) TeamBudgets(team string) []Budget { return g.teams[team] }

// State reports budgets' current periods.
func (g *Gate) State(ctx context.Context, budgets []Budget) ([]BudgetState, error) {
	return g.l.Budgets(ctx, budgets)
}

// Admission is an admitted request's hold; call Done exactly once.
type Admission struct {
	g         *Gate
	rateKey   string
	rates     Rates
	estimated int64
	state     RateState
	res       *Reservation

	mu      sync.Mutex // guards the following fields
	timer   *time.Timer
	stopped bool
}

// keepAlive extends the reservation every d until stopKeepAlive.
func (a *Admission) keepAlive(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return
	}
	a.timer = time.AfterFunc(d, func() {
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		if err := a.g.l.Extend(ctx, a.res); err != nil {
			a.g.log.Warn("limits: extend reservation", "reservation", a.res.ID, "err", err)
		}
		cancel()
		a.keepAlive(d)
	})
}

func (a *Admission) stopKeepAlive() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = true
	if a.timer != nil {
		a.timer.Stop()
	}
}

// Admit checks k's rate limits for a request of promptTokens (estimated)
// and reserves worst against k's budgets. A refusal is a 429 *llm.Error
// (insufficient_quota for a budget, rate_limit_error for a rate limit) with
// Retry-After; a limiter failure is a 503 unless FailOpen.
func (g *Gate) Admit(ctx context.Context, k *store.Key, promptTokens int64, worst Amount) (*Admission, *llm.Error) {
	return g.AdmitUser(ctx, k, "", promptTokens, worst)
}

// AdmitUser is Admit for a request naming an end user ("" for none): the
// worst case is reserved against the end user's budget in the same
// all-or-nothing Reserve as the key's and team's.
func (g *Gate) AdmitUser(ctx context.Context, k *store.Key, endUser string, promptTokens int64, worst Amount) (*Admission, *llm.Error) {
	if le := g.requireEndUser(endUser); le != nil {
		return nil, le
	}
	a := &Admission{g: g, rateKey: store.ScopeKey(k.ID), rates: Rates{RPM: k.RPM, TPM: k.TPM}, estimated: promptTokens}
	if a.rates.RPM > 0 || a.rates.TPM > 0 {
		st, err := g.l.Rate(ctx, a.rateKey, a.rates, promptTokens)
		a.state = st
		if err != nil {
			if le := g.refusal(err); le != nil {
				return nil, le
			}
			a.rates = Rates{} // failed open: nothing to correct later
		}
	}
	budgets := g.KeyBudgets(k)
	for _, b := range budgets {
		if _, ok := g.seen.Load(keyOf(b)); !ok {
			g.seen.Store(keyOf(b), b)
		}
	}
	if eu := g.EndUserBudgets(k, endUser); len(eu) > 0 {
		// A new slice: KeyBudgets may return the team's own.
		budgets = append(append(make([]Budget, 0, len(budgets)+len(eu)), budgets...), eu...)
	}
	if len(budgets) == 0 {
		return a, nil
	}
	res, err := g.l.Reserve(ctx, budgets, worst)
	if err != nil {
		le := g.refusal(err)
		if le != nil && (a.rates.RPM > 0 || a.rates.TPM > 0) {
			// The request never ran: give its rate-limit share back.
			if err := g.l.AdjustRate(context.WithoutCancel(ctx), a.rateKey, a.rates, -1, -promptTokens); err != nil {
				g.log.Warn("limits: give back rate", "key", k.ID, "err", err)
			}
		}
		if le != nil {
			return nil, le
		}
	}
	a.res = res
	if res != nil && g.extend > 0 {
		a.keepAlive(g.extend)
	}
	return a, nil
}

// refusal maps a limiter error to the client's error; nil means fail open.
func (g *Gate) refusal(err error) *llm.Error {
	var ex *ExceededError
	if errors.As(err, &ex) {
		return ex.LLM()
	}
	if g.failOpen {
		g.log.Error("limits: limiter failed, admitting", "err", err)
		return nil
	}
	return &llm.Error{Status: http.StatusServiceUnavailable, Type: llm.ErrOverloaded, Code: "limits_unavailable",
		Message: "budget and rate-limit service unavailable", Err: err}
}

// SetHeaders writes the x-ratelimit-* headers of the key's limits.
func (a *Admission) SetHeaders(h http.Header) { a.state.SetHeaders(h) }

// RateState returns the rate-limit state at admission.
func (a *Admission) RateState() RateState { return a.state }

// Reservation returns the budget reservation (nil when the key has no
// budget).
func (a *Admission) Reservation() *Reservation { return a.res }

// settleTimeout bounds Done's limiter calls.
const settleTimeout = 5 * time.Second

// Done settles the reservation with the actual cost (zero releases it) and
// corrects the token count with the actual tokens (negative: unknown, keep
// the estimate). It runs detached from any request context, since a client
// that went away must still be charged.
func (a *Admission) Done(actual Amount, tokens int64) {
	if a == nil {
		return
	}
	a.stopKeepAlive()
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if a.res != nil {
		var err error
		if actual == (Amount{}) {
			err = a.g.l.Release(ctx, a.res)
		} else {
			err = a.g.l.Settle(ctx, a.res, actual)
		}
		if err != nil {
			a.g.log.Error("limits: settle", "reservation", a.res.ID, "err", err)
		}
	}
	if a.rates.TPM > 0 && tokens >= 0 && tokens != a.estimated {
		if err := a.g.l.AdjustRate(ctx, a.rateKey, Rates{TPM: a.rates.TPM}, 0, tokens-a.estimated); err != nil {
			a.g.log.Warn("limits: correct tokens", "err", err)
		}
	}
}

// seenBudgets lists the budgets admitted against so far.
func (g *Gate) seenBudgets() []Budget {
	var out []Budget
	g.seen.Range(func(_, v any) bool {
		out = append(out, v.(Budget))
		return true
	})
	return out
}

// TeamBudgetsFromConfig converts metering.limits.teams.
func TeamBudgetsFromConfig(teams []config.TeamBudget) []Budget {
	out := make([]Budget, 0, len(teams))
	for _, t := range teams {
		out = append(out, Budget{Scope: store.ScopeTeam(t.Team), Period: store.Period(t.Period), Hosting: t.Hosting, LimitNanos: int64(t.BudgetUSD)})
	}
	return out
}

// FormatUSD writes nanodollars as exact dollars with at least two decimals:
// "10.00", "0.000123", "-1.50".
func FormatUSD(n int64) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u
	}
	whole := strconv.FormatUint(u/1e9, 10)
	frac := strconv.FormatUint(u%1e9+1e9, 10)[1:]
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	if neg {
		return "-" + whole + "." + frac
	}
	return whole + "." + frac
}
