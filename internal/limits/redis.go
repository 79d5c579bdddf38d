package limits

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Limiter shared by replicas: all state lives in Redis and
// every check-and-update is one Lua script, atomic on the server. Replicas'
// clocks should agree to well under a second (NTP): the scripts take the
// caller's time so that tests can inject a clock.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	totals Totals
	now    func() time.Time
	ttl    time.Duration
	policy RatePolicy
}

// RedisOptions configures NewRedis. Zero fields take the defaults noted.
type RedisOptions struct {
	// Prefix starts every key. Default "fulcrum:". With Redis Cluster use
	// a hash tag, "{fulcrum}:", so that a script's keys share a slot.
	Prefix string
	// Totals seeds spent totals when a scope and period is first seen
	// (with SET NX, so replicas agree on one seed); nil seeds zero.
	Totals Totals
	// ReservationTTL is how long a reservation holds budget if it is never
	// settled (its replica died). Default 15m. A request that runs longer
	// keeps its reservation with Extend (Gate does, every third of it).
	ReservationTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Rate says how rate limits count; the zero value is ModeSliding. An
	// invalid policy panics: validate it first (config does).
	Rate RatePolicy
}

// NewRedis returns a limiter on rdb. It does not own rdb: close it yourself.
func NewRedis(rdb redis.UniversalClient, o RedisOptions) *Redis {
	if o.Prefix == "" {
		o.Prefix = "fulcrum:"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReservationTTL <= 0 {
		o.ReservationTTL = 15 * time.Minute
	}
	p, err := o.Rate.normal()
	if err != nil {
		panic(err)
	}
	return &Redis{rdb: rdb, prefix: o.Prefix, totals: o.Totals, now: o.Now, ttl: o.ReservationTTL, policy: p}
}

// base is the key prefix of b's period containing t.
func (r *Redis) base(b Budget, t time.Time) string {
	return r.prefix + "b:" + b.Scope + ":" + string(b.Period) + ":" +
		strconv.FormatInt(b.Period.Start(t).Unix(), 10) + ":" + b.hosting()
}

func (r *Redis) keys(budgets []Budget, t time.Time) []string {
	ks := make([]string, 0, 4*len(budgets))
	for _, b := range budgets {
		base := r.base(b, t)
		ks = append(ks, base+":spent", base+":res", base+":amt", base+":sum")
	}
	return ks
}

// keyTTL is how long a period's keys live from t: until a day after the
// period ends (late settlements still find them), forever for AllTime. It
// is relative, not an absolute PEXPIREAT, so that Redis's own clock and an
// injected one need not agree.
func keyTTL(b Budget, t time.Time) time.Duration {
	end := periodEnd(b.Period, t)
	if end.IsZero() {
		return 0
	}
	return end.Add(24 * time.Hour).Sub(t)
}

// seedBudget stores b's spent total from the store unless a replica did.
func (r *Redis) seedBudget(ctx context.Context, b Budget, t time.Time) error {
	v, err := seed(ctx, r.totals, b, t)
	if err != nil {
		return err
	}
	args := redis.SetArgs{Mode: "NX"}
	if ttl := keyTTL(b, t); ttl > 0 {
		args.TTL = ttl
	}
	err = r.rdb.SetArgs(ctx, r.base(b, t)+":spent", v, args).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("limits: redis seed: %w", err)
	}
	return nil
}

func newResID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Reserve implements Limiter.
func (r *Redis) Reserve(ctx context.Context, budgets []Budget, worst Amount) (*Reservation, error) {
	now := r.now()
	res := &Reservation{ID: newResID(), At: now, budgets: budgets, amounts: make([]int64, len(budgets))}
	keys := r.keys(budgets, now)
	args := make([]any, 0, 3+3*len(budgets))
	args = append(args, now.UnixMilli(), now.Add(r.ttl).UnixMilli(), res.ID)
	for i, b := range budgets {
		res.amounts[i] = b.of(worst)
		args = append(args, b.LimitNanos, res.amounts[i], keyTTL(b, now).Milliseconds())
	}
	for range len(budgets) + 1 {
		out, err := reserveScript.Run(ctx, r.rdb, keys, args...).Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("limits: redis reserve: %w", err)
		}
		switch out[0] {
		case 1:
			return res, nil
		case -2:
			if err := r.seedBudget(ctx, budgets[out[1]-1], now); err != nil {
				return nil, err
			}
		case -1:
			b := budgets[out[1]-1]
			return nil, budgetExceeded(b, out[2], out[3], res.amounts[out[1]-1], now)
		}
	}
	return nil, errors.New("limits: redis reserve: budgets not seeded")
}

// Settle implements Limiter.
func (r *Redis) Settle(ctx context.Context, res *Reservation, actual Amount) error {
	if res == nil || res.done.Swap(true) {
		return nil
	}
	args := make([]any, 0, 1+len(res.budgets))
	args = append(args, res.ID)
	for _, b := range res.budgets {
		args = append(args, b.of(actual))
	}
	if err := settleScript.Run(ctx, r.rdb, r.keys(res.budgets, res.At), args...).Err(); err != nil {
		return fmt.Errorf("limits: redis settle: %w", err)
	}
	return nil
}

// Extend implements Limiter.
func (r *Redis) Extend(ctx context.Context, res *Reservation) error {
	if res == nil || res.done.Load() {
		return nil
	}
	if err := extendScript.Run(ctx, r.rdb, r.keys(res.budgets, res.At), res.ID, r.now().Add(r.ttl).UnixMilli()).Err(); err != nil {
		return fmt.Errorf("limits: redis extend: %w", err)
	}
	return nil
}

// Release implements Limiter.
func (r *Redis) Release(ctx context.Context, res *Reservation) error {
	return r.Settle(ctx, res, Amount{})
}

// Budgets implements Limiter.
func (r *Redis) Budgets(ctx context.Context, budgets []Budget) ([]BudgetState, error) {
	now := r.now()
	keys := r.keys(budgets, now)
	for range len(budgets) + 1 {
		out, err := peekScript.Run(ctx, r.rdb, keys, now.UnixMilli()).Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("limits: redis budgets: %w", err)
		}
		if len(out) == 2 && out[0] == -2 {
			if err := r.seedBudget(ctx, budgets[out[1]-1], now); err != nil {
				return nil, err
			}
			continue
		}
		states := make([]BudgetState, len(budgets))
		for i, b := range budgets {
			spent, reserved := out[2*i], out[2*i+1]
			start := b.Period.Start(now)
			states[i] = BudgetState{Budget: b, PeriodStart: start, ResetsAt: periodEnd(b.Period, now),
				SpentNanos: spent, ReservedNanos: reserved, RemainingNanos: b.LimitNanos - spent - reserved}
		}
		return states, nil
	}
	return nil, errors.New("limits: redis budgets: not seeded")
}

func (r *Redis) rateKeys(key string) []string {
	p := r.prefix + "r:" + key
	if r.policy.Mode == ModeGCRA {
		return []string{p + ":req", p + ":tok"}
	}
	return []string{p + ":reqlog", p + ":reqsum", p + ":toklog", p + ":toksum"}
}

// Rate implements Limiter.
func (r *Redis) Rate(ctx context.Context, key string, rates Rates, tokens int64) (RateState, error) {
	now := micros(r.now())
	if r.policy.Mode != ModeGCRA {
		return r.slide(ctx, key, rates, tokens, now)
	}
	tau := gcraTau(r.policy.BurstPercent)
	out, err := rateScript.Run(ctx, r.rdb, r.rateKeys(key), now, rates.RPM, rates.TPM, tokens, tau).Int64Slice()
	if err != nil {
		return RateState{}, fmt.Errorf("limits: redis rate: %w", err)
	}
	var st RateState
	if rates.RPM > 0 {
		st.Requests = gcraWindow(rates.RPM, out[1], tau)
	}
	if rates.TPM > 0 {
		st.Tokens = gcraWindow(rates.TPM, out[2], tau)
	}
	return st, exceeded(rates, out[3], out[4], out[5] == 1)
}

// exceeded is the refusal of limit which (1 requests, 2 tokens; 0 none).
func exceeded(rates Rates, which, retryUS int64, tooLarge bool) error {
	switch which {
	case 1:
		return &ExceededError{Kind: KindRequests, Limit: rates.RPM, RetryAfter: roundUpSecond(retryUS), TooLarge: tooLarge}
	case 2:
		return &ExceededError{Kind: KindTokens, Limit: rates.TPM, RetryAfter: roundUpSecond(retryUS), TooLarge: tooLarge}
	}
	return nil
}

// slide is Rate in ModeSliding.
func (r *Redis) slide(ctx context.Context, key string, rates Rates, tokens, now int64) (RateState, error) {
	out, err := slideScript.Run(ctx, r.rdb, r.rateKeys(key), now, rates.RPM, rates.TPM, tokens, newResID()).Int64Slice()
	if err != nil {
		return RateState{}, fmt.Errorf("limits: redis rate: %w", err)
	}
	var st RateState
	if rates.RPM > 0 {
		st.Requests = RateWindow{Limit: rates.RPM, Remaining: max(rates.RPM-out[3], 0), Reset: time.Duration(max(out[4], 0)) * time.Microsecond}
	}
	if rates.TPM > 0 {
		st.Tokens = RateWindow{Limit: rates.TPM, Remaining: max(rates.TPM-out[5], 0), Reset: time.Duration(max(out[6], 0)) * time.Microsecond}
	}
	return st, exceeded(rates, out[0], out[1], out[2] == 1)
}

// AdjustRate implements Limiter.
func (r *Redis) AdjustRate(ctx context.Context, key string, rates Rates, requests, tokens int64) error {
	now := micros(r.now())
	var err error
	if r.policy.Mode == ModeGCRA {
		err = adjustScript.Run(ctx, r.rdb, r.rateKeys(key), now, rates.RPM, rates.TPM, requests, tokens).Err()
	} else {
		err = slideAdjustScript.Run(ctx, r.rdb, r.rateKeys(key), now, rates.RPM, rates.TPM, requests, tokens, newResID()).Err()
	}
	if err != nil {
		return fmt.Errorf("limits: redis adjust rate: %w", err)
	}
	return nil
}
