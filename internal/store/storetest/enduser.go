package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// endUserTotaler is what limits seeds end-user budgets from.
type endUserTotaler interface {
	EndUserTotals(ctx context.Context, keyID, user string, p store.Period, at time.Time) ([]store.Total, error)
}

// EndUserTotals checks that a store sums one end user of one key per
// period and hosting kind, and no one else: not the same name on another
// key, not another user, not another period. open is as Run's.
func EndUserTotals(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	et, ok := s.(endUserTotaler)
	if !ok {
		t.Fatalf("%T has no EndUserTotals", s)
	}
	user := func(u string) func(*store.UsageRecord) {
		return func(r *store.UsageRecord) { r.EndUser = u }
	}
	insert(t, s,
		rec("a1", 1, user("bob")),
		rec("a1", 2, user("bob")), // a second attempt counts too
		rec("a2", 1, func(r *store.UsageRecord) { r.EndUser = "bob"; r.Hosting = "self_hosted"; r.CostNanos = 7 }),
		rec("a3", 1, func(r *store.UsageRecord) { r.EndUser = "bob"; r.KeyID = "k2" }),
		rec("a4", 1, user("bobby")),
		rec("a5", 1, user("")),
		rec("a6", 1, func(r *store.UsageRecord) { r.EndUser = "bob"; r.Time = t0.Add(-48 * time.Hour) }), // Wednesday
		rec("a7", 1, func(r *store.UsageRecord) { r.EndUser = "bob"; r.Time = t0.Add(time.Hour) }),       // Saturday
	)
	day := func(h string, spent, tokens, n int64) store.Total {
		return store.Total{Period: store.Daily, PeriodStart: store.Daily.Start(t0), Hosting: h, SpentNanos: spent, Tokens: tokens, Requests: n}
	}
	cases := []struct {
		name      string
		key, user string
		p         store.Period
		want      []store.Total
	}{
		{"day", "k1", "bob", store.Daily, []store.Total{day("proprietary", 120_000_000, 3000, 2), day("self_hosted", 7, 1500, 1)}},
		{"other key", "k2", "bob", store.Daily, []store.Total{{Period: store.Daily, PeriodStart: store.Daily.Start(t0), Hosting: "proprietary", SpentNanos: 60_000_000, Tokens: 1500, Requests: 1}}},
		{"no such user", "k1", "bo", store.Daily, nil},
		{"week", "k1", "bob", store.Weekly, []store.Total{
			{Period: store.Weekly, PeriodStart: store.Weekly.Start(t0), Hosting: "proprietary", SpentNanos: 240_000_000, Tokens: 6000, Requests: 4},
			{Period: store.Weekly, PeriodStart: store.Weekly.Start(t0), Hosting: "self_hosted", SpentNanos: 7, Tokens: 1500, Requests: 1},
		}},
	}
	for _, c := range cases {
		got, err := et.EndUserTotals(context.Background(), c.key, c.user, c.p, t0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

// KeyUserBudget checks that a key's end-user budget is stored and read
// back by every key query.
func KeyUserBudget(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := context.Background()
	k := store.Key{ID: "key_u", Name: "u", SecretHash: "h-u", Prefix: "fk-u", Created: t0.Truncate(time.Microsecond),
		UserBudgetNanos: 1_500_000_000, UserPeriod: store.Weekly}
	if err := s.CreateKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	byID, err := s.Key(ctx, "key_u")
	if err != nil {
		t.Fatal(err)
	}
	byHash, err := s.KeyByHash(ctx, "h-u")
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []store.Key{*byID, *byHash, all[0]} {
		if diff := cmp.Diff(k, got); diff != "" {
			t.Errorf("key (-want +got):\n%s", diff)
		}
	}
}
