package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// filterDims are the tag and end-user dimensions checkFilters filters by:
// one tag, another, both (AND), the end user, and a tag with the user.
var filterDims = [][]store.GroupBy{
	{store.ByTag("team")},
	{store.ByTag("feature")},
	{store.ByTag("team"), store.ByTag("feature")},
	{store.ByUser},
	{store.ByTag("x.y"), store.ByUser},
}

// filterOf returns base filtered by keys, the values of dims: a tag's
// value (""  for records without it) or the end user. ok is false when an
// end user is "" (records without one cannot be selected).
func filterOf(base store.UsageFilter, dims []store.GroupBy, keys []string) (f store.UsageFilter, ok bool) {
	f = base
	for i, g := range dims {
		if k, tag := g.Tag(); tag {
			if f.Tags == nil {
				f.Tags = map[string]string{}
			}
			f.Tags[k] = keys[i]
			continue
		}
		if keys[i] == "" {
			return f, false
		}
		f.EndUser = keys[i]
	}
	return f, true
}

// selected returns the records of recs whose dims have the values keys.
func selected(recs []store.UsageRecord, dims []store.GroupBy, keys []string) []store.UsageRecord {
	var out []store.UsageRecord
	for _, r := range recs {
		ok := true
		for i, g := range dims {
			if k, tag := g.Tag(); tag {
				ok = ok && r.Tags[k] == keys[i]
			} else {
				ok = ok && r.EndUser == keys[i]
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// checkFilters checks that over base's range, for each of filterDims,
// a summary by by filtered to each group of the summary by the dims and
// by (and to values no record has) equals that group, to the nanodollar
// and latency histogram; and, when want is not nil, the sums over the
// records of want (end users named as the store names them) the filter
// selects.
func checkFilters(t *testing.T, s store.Store, what string, base store.UsageFilter, by []store.GroupBy, want []store.UsageRecord) {
	t.Helper()
	ctx := context.Background()
	for _, dims := range filterDims {
		grouped, err := s.UsageSummary(ctx, base, append(slices.Clone(dims), by...))
		if err != nil {
			t.Fatal(err)
		}
		var values [][]string
		for _, g := range grouped {
			if v := g.Keys[:len(dims)]; len(values) == 0 || !slices.Equal(values[len(values)-1], v) {
				values = append(values, v)
			}
		}
		none := make([]string, len(dims))
		for i := range none {
			none[i] = "no-such-value"
		}
		values = append(values, none)
		for _, v := range values {
			f, ok := filterOf(base, dims, v)
			if !ok {
				continue
			}
			got, err := s.UsageSummary(ctx, f, by)
			if err != nil {
				t.Fatal(err)
			}
			var group []store.UsageGroup
			for _, g := range grouped {
				if slices.Equal(g.Keys[:len(dims)], v) {
					g.Keys = g.Keys[len(dims):]
					group = append(group, g)
				}
			}
			name := what + ", filtered by " + strings.Join(v, ",") + " of " + dimNames(dims)
			if diff := cmp.Diff(group, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: differs from the group (-group +filtered):\n%s", name, diff)
			}
			if want != nil {
				raw := rawSummary(selected(want, dims, v), base.From, base.To, by)
				if diff := cmp.Diff(raw, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s: differs from the raw sums (-raw +filtered):\n%s", name, diff)
				}
			}
		}
	}
}

func dimNames(dims []store.GroupBy) string {
	var s []string
	for _, g := range dims {
		s = append(s, string(g))
	}
	return strings.Join(s, ",")
}

// testUsageTagFilter: a record with several tags matches a filter on each
// of them; two tags filter as AND; a tag's value "" selects records
// without it; an end user filter selects that user; Usage lists what the
// filter selects; a bad tag name is an error, not SQL.
func testUsageTagFilter(t *testing.T, s store.Store) {
	ctx := context.Background()
	insert(t, s,
		rec("t1", 1, func(r *store.UsageRecord) {
			r.Tags = map[string]string{"team": "search", "feature": "summaries"}
			r.EndUser = "user-42"
		}),
		rec("t2", 1, func(r *store.UsageRecord) { r.Tags = map[string]string{"team": "search"}; r.CostNanos = 5 }),
		rec("t3", 1, func(r *store.UsageRecord) {
			r.Tags = map[string]string{"team": "ads", "feature": "summaries", "x.y": "z=1"}
			r.CostNanos = 7
			r.EndUser = "user-7"
		}),
		rec("t4", 1, func(r *store.UsageRecord) { r.CostNanos = 11 }),
	)
	cases := []struct {
		name  string
		tags  map[string]string
		user  string
		ids   []string
		cost  int64
		empty bool
	}{
		{"team of t1 and t2", map[string]string{"team": "search"}, "", []string{"t1", "t2"}, 60_000_005, false},
		{"feature of t1 and t3", map[string]string{"feature": "summaries"}, "", []string{"t1", "t3"}, 60_000_007, false},
		{"both tags of t1", map[string]string{"team": "search", "feature": "summaries"}, "", []string{"t1"}, 60_000_000, false},
		{"both tags, no record", map[string]string{"team": "search", "feature": "chat"}, "", nil, 0, true},
		{"value with =", map[string]string{"x.y": "z=1"}, "", []string{"t3"}, 7, false},
		{"without the tag", map[string]string{"feature": ""}, "", []string{"t2", "t4"}, 16, false},
		{"end user", nil, "user-42", []string{"t1"}, 60_000_000, false},
		{"end user and tag", map[string]string{"team": "ads"}, "user-7", []string{"t3"}, 7, false},
		{"end user, other tag", map[string]string{"team": "search"}, "user-7", nil, 0, true},
	}
	for _, c := range cases {
		f := store.UsageFilter{Tags: c.tags, EndUser: c.user}
		recs, err := s.Usage(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.RequestID)
		}
		if diff := cmp.Diff(c.ids, ids); diff != "" {
			t.Errorf("%s: Usage (-want +got):\n%s", c.name, diff)
		}
		for _, raw := range []bool{false, true} {
			f.Raw = raw
			sum, err := s.UsageSummary(ctx, f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.empty {
				if len(sum) != 0 {
					t.Errorf("%s (raw %v): %v, want no group", c.name, raw, sum)
				}
				continue
			}
			if len(sum) != 1 || sum[0].Requests != int64(len(c.ids)) || sum[0].CostNanos != c.cost {
				t.Errorf("%s (raw %v): %+v, want %d requests costing %d", c.name, raw, sum, len(c.ids), c.cost)
			}
		}
	}
	bad := store.UsageFilter{Tags: map[string]string{"bad'key": "x"}}
	if _, err := s.UsageSummary(ctx, bad, nil); err == nil {
		t.Error("UsageSummary: a tag name with a quote was accepted")
	}
	if _, err := s.Usage(ctx, bad); err == nil {
		t.Error("Usage: a tag name with a quote was accepted")
	}
}

// testFilterUsersOff: with no end-user cap (the default), a summary
// filtered by end user reads raw rows, as a summary by end user does:
// once they are pruned, the pruned part of its range is missing (no
// rollup names the user), in both alike; tag filters still read the
// rollups and equal the raw sums after pruning.
func testFilterUsersOff(t *testing.T, s store.Store, recs []store.UsageRecord, start, cut, to time.Time) {
	ctx := context.Background()
	f := store.UsageFilter{From: start, To: to, EndUser: "u3"}
	got, err := s.UsageSummary(ctx, f, []store.GroupBy{store.ByDay})
	if err != nil {
		t.Fatal(err)
	}
	kept := rawSummary(selected(recs, []store.GroupBy{store.ByUser}, []string{"u3"}), cut, to, []store.GroupBy{store.ByDay})
	if len(kept) == 0 {
		t.Fatal("u3 has no records after the cut")
	}
	if diff := cmp.Diff(kept, got); diff != "" {
		t.Errorf("end user u3 across the cut after pruning: want what the raw rows kept cover (-raw +store):\n%s", diff)
	}
	if got, err := s.UsageSummary(ctx, store.UsageFilter{From: start, To: cut, EndUser: "u3"}, nil); err != nil || len(got) != 0 {
		t.Errorf("end user u3 before the cut after pruning: %v, %v; want no group", got, err)
	}
}
