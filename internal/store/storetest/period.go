package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// testPeriodAcrossPrune: raw usage pruned in the middle of a budget
// period (on PostgreSQL by dropping the day partitions before the cut and
// deleting the cut day's rows before its hour) leaves the period's
// running totals, which budgets read, and its summaries, which `fulcrum
// usage` prints, equal to the sums over every record of the period, to
// the nanodollar: the same on both stores.
func testPeriodAcrossPrune(t *testing.T, s store.Store) {
	ctx := context.Background()
	rt, ok := s.(store.Retention)
	if !ok {
		t.Skip("store has no retention")
	}
	start := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	if c, ok := s.(interface{ SetNow(func() time.Time) }); ok {
		c.SetNow(func() time.Time { return now })
	}
	// Day partitions for the whole range (PostgreSQL), as the gateway's
	// upkeep makes them ahead of the clock, so that pruning drops them.
	if p, ok := s.(interface {
		EnsurePartitions(ctx context.Context, from, to time.Time) (int, error)
	}); ok {
		if _, err := p.EnsurePartitions(ctx, start.AddDate(0, 0, -1), now.AddDate(0, 0, 1)); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	var all []store.UsageRecord
	i := 0
	for at := start; at.Before(now); at = at.Add(time.Duration(20+rng.IntN(40)) * time.Minute) {
		i++
		all = append(all, store.UsageRecord{Time: at.Add(time.Duration(rng.IntN(1e6)) * time.Microsecond), RequestID: fmt.Sprintf("p-%d", i),
			Attempt: 1, KeyID: []string{"k1", "k2"}[rng.IntN(2)], Team: []string{"red", "blue"}[rng.IntN(2)], Model: "m", Provider: "p",
			UpstreamModel: "u", Hosting: []string{"proprietary", "self_hosted"}[rng.IntN(2)], Status: []int{200, 200, 502}[rng.IntN(3)],
			LatencyMS: int64(rng.IntN(4000)), InputTokens: int64(rng.IntN(3000)), OutputTokens: int64(rng.IntN(700)),
			CostNanos: rng.Int64N(50_000_000), ReferenceCostNanos: rng.Int64N(1000)})
	}
	for j := 0; j < len(all); j += 300 {
		if _, err := s.Commit(ctx, store.Batch{Usage: all[j:min(j+300, len(all))]}); err != nil {
			t.Fatal(err)
		}
	}

	// Mid-month, mid-week and mid-day: 2026-11-11 (a Wednesday) 10:37.
	cut := time.Date(2026, 11, 11, 10, 37, 0, 0, time.UTC)
	check := func(when string) {
		t.Helper()
		for _, p := range []store.Period{store.Monthly, store.Weekly, store.Daily} {
			from := p.Start(cut)
			var to time.Time
			switch p {
			case store.Monthly:
				to = from.AddDate(0, 1, 0)
			case store.Weekly:
				to = from.AddDate(0, 0, 7)
			default:
				to = from.AddDate(0, 0, 1)
			}
			by := []store.GroupBy{store.ByKey, store.ByHosting}
			got, err := s.UsageSummary(ctx, store.UsageFilter{From: from, To: to}, by)
			if err != nil {
				t.Fatal(err)
			}
			want := rawSummary(all, from, to, by)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: usage over the %s period (-raw +store):\n%s", when, p, diff)
			}
			// The budget's view: the key's running totals for the period.
			for _, key := range []string{"k1", "k2"} {
				ts, err := s.Totals(ctx, store.ScopeKey(key), p, cut)
				if err != nil {
					t.Fatal(err)
				}
				var gotT, wantT []store.Total
				for _, x := range ts {
					gotT = append(gotT, store.Total{Hosting: x.Hosting, SpentNanos: x.SpentNanos, Tokens: x.Tokens, Requests: x.Requests})
				}
				for _, g := range want {
					if g.Keys[0] == key {
						wantT = append(wantT, store.Total{Hosting: g.Keys[1], SpentNanos: g.CostNanos, Tokens: g.InputTokens + g.OutputTokens, Requests: g.Requests})
					}
				}
				if diff := cmp.Diff(wantT, gotT); diff != "" {
					t.Errorf("%s: %s totals of key %s (-raw +store):\n%s", when, p, key, diff)
				}
			}
		}
		// The month to date, open-ended, as `fulcrum usage --since` the
		// month's first day prints it.
		from := store.Monthly.Start(cut)
		got, err := s.UsageSummary(ctx, store.UsageFilter{From: from}, []store.GroupBy{store.ByDay, store.ByHosting})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rawSummary(all, from, time.Time{}, []store.GroupBy{store.ByDay, store.ByHosting}), got); diff != "" {
			t.Errorf("%s: the month to date by day (-raw +store):\n%s", when, diff)
		}
	}
	check("before pruning")
	// On PostgreSQL the day before the cut is a partition, dropped by
	// the prune: the case this test is for.
	partition := func() (exists, partitioned bool) {
		pu, ok := s.(store.PruneUnit)
		db, ok2 := s.(interface{ SQL() *sql.DB })
		if !ok || !ok2 || pu.PruneUnit(store.KindUsage) < 24*time.Hour { // whole days: day partitions
			return false, false
		}
		var name sql.NullString
		if err := db.SQL().QueryRowContext(ctx, `SELECT to_regclass('usage_p20261110')::text`).Scan(&name); err != nil {
			t.Fatal(err)
		}
		return name.Valid, true
	}
	if exists, partitioned := partition(); partitioned && !exists {
		t.Fatal("no partition usage_p20261110 to drop")
	}
	pruned := pruneAll(t, rt, store.KindUsage, cut, 200)
	if exists, _ := partition(); exists {
		t.Error("partition usage_p20261110 not dropped by the prune")
	}
	var want int64
	for _, r := range all {
		if r.Time.Before(cut.Truncate(time.Hour)) {
			want++
		}
	}
	if pruned != want {
		t.Errorf("pruned %d rows, want %d (every one before %s)", pruned, want, cut.Truncate(time.Hour))
	}
	check("after pruning to the middle of the period")
}
