package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// testSecondRollups: summaries whose edges fall inside the last hour read
// whole seconds from the second rollups, and still equal the raw rows'
// sums; second rollups older than store.SecondRollupsKept are pruned by a
// later commit.
func testSecondRollups(t *testing.T, s store.Store) {
	c, ok := s.(interface{ SetNow(func() time.Time) })
	if !ok {
		t.Skip("store has no injectable clock")
	}
	ctx := context.Background()
	now := time.Date(2026, 8, 3, 10, 17, 42, 750_000_000, time.UTC)
	c.SetNow(func() time.Time { return now })
	var recs []store.UsageRecord
	for i := range 900 {
		at := now.Add(-3*time.Minute + time.Duration(i)*200*time.Millisecond + 137*time.Microsecond)
		if !at.Before(now) {
			break
		}
		recs = append(recs, rec(fmt.Sprint("s", i), 1, func(r *store.UsageRecord) {
			r.Time, r.Model, r.LatencyMS, r.CostNanos = at, []string{"a", "b", "c"}[i%3], int64(i%700), int64(1000+i)
		}))
	}
	insert(t, s, recs...)
	by := []store.GroupBy{store.ByDay, store.ByModel}
	for _, f := range []store.UsageFilter{
		{},
		{From: now.Add(-150*time.Second - 333*time.Millisecond)},
		{From: now.Add(-170 * time.Second), To: now.Add(-20*time.Second - 10*time.Millisecond)},
		{From: now.Add(-42 * time.Second), To: now.Add(-41*time.Second - 500*time.Millisecond)},
	} {
		raw := f
		raw.Raw = true
		want, err := s.UsageSummary(ctx, raw, by)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.UsageSummary(ctx, f, by)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 {
			t.Fatalf("%+v: no raw rows", f)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("summary %+v from rollups differs from raw rows (-raw +rollups):\n%s", f, diff)
		}
	}
	// Two hours on, a commit prunes the second rollups of the records above.
	now = now.Add(2 * time.Hour)
	insert(t, s, rec("later", 1, func(r *store.UsageRecord) { r.Time = now }))
	got, err := s.UsageSummary(ctx, store.UsageFilter{From: now.Add(-time.Minute)}, nil)
	if err != nil || len(got) != 1 || got[0].Requests != 1 {
		t.Fatalf("summary of the last minute = %+v, %v; want the one new record", got, err)
	}
	if q, ok := s.(interface{ SQL() *sql.DB }); ok {
		var n int
		if err := q.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_rollup WHERE grain = 's'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("second rollup rows after pruning = %d, want 1 (the new record's)", n)
		}
	}
}
