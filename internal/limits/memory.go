package limits

import (
	"container/list"
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Memory is the in-process Limiter, for a single replica. Its state dies
// with the process; spent totals are seeded again from the store.
type Memory struct {
	totals Totals
	now    func() time.Time
	policy RatePolicy

	mu      sync.Mutex // guards the following fields
	budgets map[budgetKey]*budgetState
	// users orders the end-user budgets' states (budgetKey values) by
	// last use, most recent in front; it holds at most maxUsers idle ones.
	users    *list.List
	maxUsers int
	rates    map[string]*rateState
	calls    int // Rate calls since the last sweep
	nextID   uint64
}

type budgetKey struct {
	scope   string
	period  store.Period
	hosting string
}

type budgetState struct {
	start           time.Time
	spent, reserved int64
	elem            *list.Element // in Memory.users, for an end-user budget
}

// MemoryOptions configures NewMemory. Zero fields take the defaults noted.
type MemoryOptions struct {
	// Totals seeds spent totals when a scope and period is first seen; nil
	// starts them at zero.
	Totals Totals
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Rate says how rate limits count; the zero value is ModeSliding. An
	// invalid policy panics: validate it first (RatePolicy via config).
	Rate RatePolicy
	// MaxEndUsers bounds how many end-user budget states are kept: past
	// it, the least recently used idle ones (no reservation in flight) are
	// dropped, and read again from the store when their user comes back.
	// States of periods that have ended are dropped too. Default 100000.
	MaxEndUsers int
}

// DefaultMaxEndUsers is MemoryOptions.MaxEndUsers's default.
const DefaultMaxEndUsers = 100_000

// NewMemory returns an in-process limiter.
func NewMemory(o MemoryOptions) *Memory {
	if o.Now == nil {
		o.Now = time.Now
	}
	p, err := o.Rate.normal()
	if err != nil {
		panic(err)
	}
	if o.MaxEndUsers <= 0 {
		o.MaxEndUsers = DefaultMaxEndUsers
	}
	return &Memory{totals: o.Totals, now: o.Now, policy: p, budgets: map[budgetKey]*budgetState{},
		users: list.New(), maxUsers: o.MaxEndUsers, rates: map[string]*rateState{}}
}

func keyOf(b Budget) budgetKey { return budgetKey{b.Scope, b.Period, b.hosting()} }

// lockSeeded returns with m.mu held and a state for every budget's period
// containing now, seeding missing ones from the store without the lock.
func (m *Memory) lockSeeded(ctx context.Context, budgets []Budget, now time.Time) error {
	for {
		m.mu.Lock()
		var missing []Budget
		for _, b := range budgets {
			st := m.budgets[keyOf(b)]
			// A state newer than now (another call rolled the period over
			// first) is used as it is.
			if st == nil || st.start.Before(b.Period.Start(now)) {
				missing = append(missing, b)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		m.mu.Unlock()
		seeds := make([]int64, len(missing))
		for i, b := range missing {
			v, err := seed(ctx, m.totals, b, now)
			if err != nil {
				return err
			}
			seeds[i] = v
		}
		m.mu.Lock()
		added := false
		for i, b := range missing {
			start := b.Period.Start(now)
			k := keyOf(b)
			if st := m.budgets[k]; st == nil || st.start.Before(start) {
				ns := &budgetState{start: start, spent: seeds[i]}
				switch {
				case st != nil && st.elem != nil:
					ns.elem = st.elem
					m.users.MoveToFront(ns.elem)
				case b.isEndUser():
					ns.elem = m.users.PushFront(k)
					added = true
				}
				m.budgets[k] = ns
			}
		}
		if added {
			m.evictUsersLocked(now)
		}
		m.mu.Unlock()
	}
}

// Extend implements Limiter: in-process reservations do not expire.
func (m *Memory) Extend(context.Context, *Reservation) error { return nil }

// Reserve implements Limiter.
func (m *Memory) Reserve(ctx context.Context, budgets []Budget, worst Amount) (*Reservation, error) {
	now := m.now()
	if err := m.lockSeeded(ctx, budgets, now); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	amounts := make([]int64, len(budgets))
	for i, b := range budgets {
		st := m.budgets[keyOf(b)]
		amounts[i] = b.of(worst)
		// Saturating sums: a worst case near 2^63 (max_tokens
		// 9223372036854775807) must not wrap negative and fit.
		if b.LimitNanos > 0 && satAdd(satAdd(st.spent, st.reserved), amounts[i]) > b.LimitNanos {
			return nil, budgetExceeded(b, st.spent, st.reserved, amounts[i], now)
		}
	}
	for i, b := range budgets {
		st := m.budgets[keyOf(b)]
		st.reserved = satAdd(st.reserved, amounts[i])
		if st.elem != nil {
			m.users.MoveToFront(st.elem)
		}
	}
	m.nextID++
	return &Reservation{ID: "m" + strconv.FormatUint(m.nextID, 10), At: now, budgets: budgets, amounts: amounts}, nil
}

// evictUsersLocked drops end-user budget states from the least recently
// used end: while there are more than maxUsers, or the oldest one's period
// has ended. A state with a reservation in flight is kept (dropping it
// would let its user reserve that amount again), so the bound is maxUsers
// plus the users with a request in flight.
func (m *Memory) evictUsersLocked(now time.Time) {
	for e := m.users.Back(); e != nil; {
		prev := e.Prev()
		k := e.Value.(budgetKey)
		st := m.budgets[k]
		end := periodEnd(k.period, st.start)
		ended := !end.IsZero() && !end.After(now)
		if m.users.Len() <= m.maxUsers && !ended {
			return
		}
		if st.reserved == 0 {
			m.users.Remove(e)
			delete(m.budgets, k)
		}
		e = prev
	}
}

// endUserStates is how many end-user budget states m holds (for tests).
func (m *Memory) endUserStates() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.users.Len()
}

// retryUntil is the Retry-After of a spent budget: until its period ends.
// budgetExceeded is b's refusal of a request of worst case req. Retry-After
// is until the period ends, except for a request that alone costs more
// than the whole limit: waiting will not help it (a lower max_tokens
// will), so it gets none, as a request larger than a tpm limit does.
func budgetExceeded(b Budget, spent, reserved, req int64, now time.Time) *ExceededError {
	e := &ExceededError{Kind: KindBudget, Budget: b, SpentNanos: spent, ReservedNanos: reserved,
		RequestNanos: req, ResetsAt: periodEnd(b.Period, now), RetryAfter: retryUntil(b.Period, now)}
	if req > b.LimitNanos {
		e.RetryAfter, e.TooLarge = 0, true
	}
	return e
}

func retryUntil(p store.Period, now time.Time) time.Duration {
	end := periodEnd(p, now)
	if end.IsZero() {
		return 0
	}
	return end.Sub(now)
}

// Settle implements Limiter.
func (m *Memory) Settle(_ context.Context, r *Reservation, actual Amount) error {
	if r == nil || r.done.Swap(true) {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, b := range r.budgets {
		st := m.budgets[keyOf(b)]
		if st == nil || !st.start.Equal(b.Period.Start(r.At)) {
			continue // the period rolled over: its spend is the store's now
		}
		st.reserved = satAdd(st.reserved, -r.amounts[i])
		st.spent = satAdd(st.spent, b.of(actual))
	}
	return nil
}

// Release implements Limiter.
func (m *Memory) Release(ctx context.Context, r *Reservation) error {
	return m.Settle(ctx, r, Amount{})
}

// Budgets implements Limiter.
func (m *Memory) Budgets(ctx context.Context, budgets []Budget) ([]BudgetState, error) {
	now := m.now()
	if err := m.lockSeeded(ctx, budgets, now); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := make([]BudgetState, len(budgets))
	for i, b := range budgets {
		st := m.budgets[keyOf(b)]
		out[i] = BudgetState{Budget: b, PeriodStart: st.start, ResetsAt: periodEnd(b.Period, st.start),
			SpentNanos: st.spent, ReservedNanos: st.reserved, RemainingNanos: satAdd(b.LimitNanos, -satAdd(st.spent, st.reserved))}
	}
	return out, nil
}

// Rate implements Limiter.
func (m *Memory) Rate(_ context.Context, key string, r Rates, tokens int64) (RateState, error) {
	now := micros(m.now())
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	st := m.rates[key]
	if st == nil {
		st = new(rateState)
		m.rates[key] = st
	}
	if m.policy.Mode == ModeGCRA {
		res, newTAT, err := rateCheck(st.tat[0], st.tat[1], now, r, tokens, gcraTau(m.policy.BurstPercent))
		if err == nil {
			st.tat = newTAT
		}
		return res, err
	}
	return st.slide(now, r, tokens)
}

// rateState is one key's rate-limit state: GCRA arrival times, or sliding
// logs, for requests and tokens.
type rateState struct {
	tat  [2]int64
	logs [2]slidingLog
}

// slide admits one request of tokens against both sliding logs, booking
// it in both or neither.
func (st *rateState) slide(now int64, r Rates, tokens int64) (RateState, error) {
	lims := [2]int64{r.RPM, r.TPM}
	costs := [2]int64{1, tokens}
	kinds := [2]string{KindRequests, KindTokens}
	var refused *ExceededError
	for j := range 2 {
		if lims[j] <= 0 {
			continue
		}
		st.logs[j].prune(now)
		if refused != nil {
			continue
		}
		if ok, retry, big := st.logs[j].check(now, lims[j], costs[j]); !ok {
			refused = &ExceededError{Kind: kinds[j], Limit: lims[j], RetryAfter: roundUpSecond(retry), TooLarge: big}
		}
	}
	var res RateState
	for j, w := range [2]*RateWindow{&res.Requests, &res.Tokens} {
		if lims[j] <= 0 {
			continue
		}
		if refused == nil {
			st.logs[j].add(now, costs[j])
		}
		*w = st.logs[j].window(now, lims[j])
	}
	if refused != nil {
		return res, refused
	}
	return res, nil
}

// rateCheck admits one request of tokens against both TATs; on success it
// returns the new TATs.
func rateCheck(reqTAT, tokTAT, now int64, r Rates, tokens, tau int64) (RateState, [2]int64, error) {
	newTAT := [2]int64{reqTAT, tokTAT}
	var res RateState
	var refused *ExceededError
	if r.RPM > 0 {
		n, ok, retry, big := gcraStep(reqTAT, now, r.RPM, 1, tau)
		if !ok {
			refused = &ExceededError{Kind: KindRequests, Limit: r.RPM, RetryAfter: roundUpSecond(retry), TooLarge: big}
		}
		newTAT[0] = n
	}
	if r.TPM > 0 && refused == nil {
		n, ok, retry, big := gcraStep(tokTAT, now, r.TPM, tokens, tau)
		if !ok {
			refused = &ExceededError{Kind: KindTokens, Limit: r.TPM, RetryAfter: roundUpSecond(retry), TooLarge: big}
		}
		newTAT[1] = n
	}
	if refused != nil {
		newTAT = [2]int64{reqTAT, tokTAT}
	}
	if r.RPM > 0 {
		res.Requests = gcraWindow(r.RPM, max(newTAT[0], now)-now, tau)
	}
	if r.TPM > 0 {
		res.Tokens = gcraWindow(r.TPM, max(newTAT[1], now)-now, tau)
	}
	if refused != nil {
		return res, newTAT, refused
	}
	return res, newTAT, nil
}

// roundUpSecond turns a wait in µs into a Retry-After, which HTTP counts in
// whole seconds: rounding down would invite a retry that fails again.
func roundUpSecond(us int64) time.Duration {
	d := time.Duration(us) * time.Microsecond
	return (d + time.Second - 1).Truncate(time.Second)
}

// AdjustRate implements Limiter.
func (m *Memory) AdjustRate(_ context.Context, key string, r Rates, requests, tokens int64) error {
	now := micros(m.now())
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.rates[key]
	if st == nil {
		st = new(rateState)
		m.rates[key] = st
	}
	lims, deltas := [2]int64{r.RPM, r.TPM}, [2]int64{requests, tokens}
	for j := range 2 {
		if lims[j] <= 0 {
			continue
		}
		if m.policy.Mode == ModeGCRA {
			st.tat[j] = adjustTAT(st.tat[j], now, lims[j], deltas[j])
		} else {
			st.logs[j].prune(now)
			st.logs[j].add(now, deltas[j])
		}
	}
	return nil
}

func adjustTAT(tat, now, limit, delta int64) int64 {
	switch {
	case delta > 0:
		return satAdd(max(tat, now), gcraInc(limit, delta))
	case delta < 0:
		return tat - gcraInc(limit, -delta)
	}
	return tat
}

// sweepLocked drops, every few thousand calls, rate state that has fully
// drained (a TAT in the past is the same as none; so is an empty log).
func (m *Memory) sweepLocked(now int64) {
	m.calls++
	if m.calls < 4096 {
		return
	}
	m.calls = 0
	for k, st := range m.rates {
		st.logs[0].prune(now)
		st.logs[1].prune(now)
		if st.tat[0] <= now && st.tat[1] <= now && len(st.logs[0].es) == 0 && len(st.logs[1].es) == 0 {
			delete(m.rates, k)
		}
	}
}
