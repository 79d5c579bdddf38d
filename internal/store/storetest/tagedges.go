package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// testTagEdges: a summary by tag (grouped by one, or filtered with
// --tag) whose range has odd edges and an open end reads the edges from
// the main rollups' seconds and minutes, which carry the tags: once the
// raw rows before the current second are deleted it still equals the
// sums over the records, to the nanodollar and latency histogram, with
// several tag sets in one second and untagged records among them. Where
// the second and minute rows predate the tags (before the rollup_tags
// mark, as in a store migrated with rows in it) it reads raw rows there.
func testTagEdges(t *testing.T, s store.Store) {
	c, ok := s.(interface{ SetNow(func() time.Time) })
	q, ok2 := s.(interface{ SQL() *sql.DB })
	if !ok || !ok2 {
		t.Skip("store has no injectable clock or no SQL handle")
	}
	ctx := context.Background()
	now := time.Date(2026, 8, 3, 10, 17, 42, 750_000_000, time.UTC)
	c.SetNow(func() time.Time { return now })
	tagSets := []map[string]string{nil, {"team": "search"}, {"team": "ads", "feature": "chat"}, {"feature": "chat"},
		{"team": "search", "x.y": "z"}}
	// Three records in a second every 20 s over the last three hours, and
	// the current second's, each with the next tag set.
	var recs []store.UsageRecord
	n := 0
	add := func(at time.Time) {
		n++
		i := n
		recs = append(recs, rec(fmt.Sprint("e", i), 1, func(r *store.UsageRecord) {
			r.Time, r.Tags, r.Model = at, tagSets[i%len(tagSets)], []string{"a", "b"}[i%2]
			r.LatencyMS, r.CostNanos, r.Status, r.Estimated = int64(i*37%9000), int64(1000+i), []int{200, 200, 500}[i%3], i%7 == 0
		}))
	}
	for at := now.Add(-3 * time.Hour).Truncate(time.Second); at.Before(now.Truncate(time.Second)); at = at.Add(20 * time.Second) {
		for _, d := range []time.Duration{123 * time.Millisecond, 456 * time.Millisecond, 789 * time.Millisecond} {
			add(at.Add(d))
		}
	}
	for _, d := range []time.Duration{0, 100 * time.Millisecond, 700 * time.Millisecond} {
		if at := now.Truncate(time.Second).Add(d); at.Before(now) {
			add(at)
		}
	}
	for i := 0; i < len(recs); i += 500 {
		insert(t, s, recs[i:min(i+500, len(recs))]...)
	}
	byTag := []store.GroupBy{store.ByTag("team"), store.ByModel}
	ranges := []struct {
		name string
		from time.Time
	}{
		// Whole minutes from the minute rows, the hours from the
		// attribution rollups, the last minute's seconds from the
		// second rows.
		{"minute edge", now.Add(-2*time.Hour - 43*time.Minute).Truncate(time.Minute)},
		// Within the second rollups' reach: whole seconds from them.
		{"second edge", now.Add(-23*time.Minute - 7*time.Second).Truncate(time.Second)},
	}
	check := func(when string, want []store.UsageRecord) {
		t.Helper()
		for _, r := range ranges {
			f := store.UsageFilter{From: r.from}
			got, err := s.UsageSummary(ctx, f, byTag)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rawSummary(want, r.from, time.Time{}, byTag), got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s, %s to now, by tag: differs from the records' sums (-want +store):\n%s", when, r.name, diff)
			}
			for _, tags := range []map[string]string{{"team": "search"}, {"team": ""}, {"feature": "chat", "team": "ads"}} {
				f.Tags = tags
				got, err := s.UsageSummary(ctx, f, []store.GroupBy{store.ByModel})
				if err != nil {
					t.Fatal(err)
				}
				var sel []store.UsageRecord
				for _, rc := range want {
					ok := true
					for k, v := range tags {
						ok = ok && rc.Tags[k] == v
					}
					if ok {
						sel = append(sel, rc)
					}
				}
				if diff := cmp.Diff(rawSummary(sel, r.from, time.Time{}, []store.GroupBy{store.ByModel}), got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s, %s to now, --tag %v: differs from the records' sums (-want +store):\n%s", when, r.name, tags, diff)
				}
			}
		}
	}
	raw, err := s.UsageSummary(ctx, store.UsageFilter{From: ranges[0].from, Raw: true}, byTag)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rawSummary(recs, ranges[0].from, time.Time{}, byTag), raw); diff != "" {
		t.Errorf("Raw summary by tag differs from the records' sums (-want +store):\n%s", diff)
	}

	// Only the current second's raw rows are left: the summaries read no
	// other (and the deleted ones are still in the sums).
	db := q.SQL()
	exec := func(query string) {
		t.Helper()
		if _, err := db.ExecContext(ctx, query); err != nil {
			t.Fatal(err)
		}
	}
	cur := now.Truncate(time.Second)
	exec(fmt.Sprintf(`DELETE FROM usage WHERE ts < %d`, cur.UnixMicro()))
	check("raw rows before the current second deleted", recs)

	// As a store migrated with rows in it: the second and minute rows
	// before the mark are not to be read by tag (here they are made
	// wrong), so summaries by tag read raw rows before it. The minute
	// edge is before the mark, the second edge after it; the minute
	// edge's raw rows before its first whole hour are gone, so those
	// records are missing.
	mark := now.Add(-40 * time.Minute).Truncate(time.Minute)
	exec(fmt.Sprintf(`UPDATE usage_rollup SET cost_nanos = cost_nanos + 1000000 WHERE grain IN ('s', 'm') AND bucket < %d`, mark.UnixMicro()))
	exec(fmt.Sprintf(`INSERT INTO retention_marks (kind, before_us) VALUES ('%s', %d)`, store.KindRollupTags, mark.UnixMicro()))
	h1 := ranges[0].from.Truncate(time.Hour).Add(time.Hour)
	var want []store.UsageRecord
	for _, r := range recs {
		if !r.Time.Before(h1) {
			want = append(want, r)
		}
	}
	check("before the tags mark, from raw rows", want)
}
