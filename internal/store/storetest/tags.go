package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// testUsageTags: tags and the end user survive the round trip (both the
// row-by-row and the batched insert paths), and summaries group by one tag
// (records without it under "") and by end user.
func testUsageTags(t *testing.T, s store.Store) {
	ctx := context.Background()
	recs := []store.UsageRecord{
		rec("t1", 1, func(r *store.UsageRecord) {
			r.Tags = map[string]string{"team": "search", "feature": "summaries"}
			r.EndUser = "user-42"
		}),
		rec("t2", 1, func(r *store.UsageRecord) { r.Tags = map[string]string{"team": "search"}; r.CostNanos = 5 }),
		rec("t3", 1, func(r *store.UsageRecord) { r.Tags = map[string]string{"team": "ads", "x.y": "dotted"} }),
		rec("t4", 1, nil),
	}
	if n := insert(t, s, recs...); n != 4 {
		t.Fatalf("stored %d", n)
	}
	got, err := s.Usage(ctx, store.UsageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d records", len(got))
	}
	byID := map[string]store.UsageRecord{}
	for _, r := range got {
		byID[r.RequestID] = r
	}
	if d := cmp.Diff(recs[0].Tags, byID["t1"].Tags); d != "" || byID["t1"].EndUser != "user-42" {
		t.Errorf("t1 tags (-want +got):\n%s end user %q", d, byID["t1"].EndUser)
	}
	if byID["t4"].Tags != nil || byID["t4"].EndUser != "" {
		t.Errorf("untagged record read back with %v %q", byID["t4"].Tags, byID["t4"].EndUser)
	}
	sum, err := s.UsageSummary(ctx, store.UsageFilter{}, []store.GroupBy{store.ByTag("team")})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Key      string
		Requests int64
		Cost     int64
	}
	var rows []row
	for _, g := range sum {
		rows = append(rows, row{g.Keys[0], g.Requests, g.CostNanos})
	}
	want := []row{{"", 1, 60_000_000}, {"ads", 1, 60_000_000}, {"search", 2, 60_000_005}}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("summary by tag:team (-want +got):\n%s", d)
	}
	sum, err = s.UsageSummary(ctx, store.UsageFilter{}, []store.GroupBy{store.ByTag("x.y"), store.ByUser})
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[:0]
	for _, g := range sum {
		rows = append(rows, row{g.Keys[0] + "|" + g.Keys[1], g.Requests, 0})
	}
	want = []row{{"|", 2, 0}, {"|user-42", 1, 0}, {"dotted|", 1, 0}}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("summary by tag:x.y and user (-want +got):\n%s", d)
	}
	if _, err := s.UsageSummary(ctx, store.UsageFilter{}, []store.GroupBy{"tag:bad'key"}); err == nil {
		t.Error("a tag key with a quote was accepted")
	}
}
