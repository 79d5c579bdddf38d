package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// userCapper is implemented by stores whose attribution rollups cap the
// end users per day.
type userCapper interface{ SetEndUsersPerDay(n int) }

// attrRecords generates n attempts from start, 20 to 80 minutes apart,
// with tags drawn from a few sets (none, one, two) and end users from
// users ("" among them).
func attrRecords(rng *rand.Rand, prefix string, n int, start time.Time, users []string) []store.UsageRecord {
	tagSets := []map[string]string{nil, {"team": "search"}, {"team": "ads", "feature": "summaries"},
		{"feature": "chat"}, {"team": "search", "feature": "chat", "x.y": "z"}}
	var recs []store.UsageRecord
	at := start
	for i := range n {
		at = at.Add(time.Duration(20+rng.IntN(60)) * time.Minute)
		recs = append(recs, store.UsageRecord{Time: at.Add(time.Duration(rng.IntN(1e6)) * time.Microsecond),
			RequestID: fmt.Sprintf("%s-%d", prefix, i), Attempt: 1,
			KeyID: []string{"k1", "k2"}[rng.IntN(2)], Team: []string{"red", "blue"}[rng.IntN(2)],
			Model: []string{"gpt-4o", "claude"}[rng.IntN(2)], Provider: "p", UpstreamModel: "u",
			Hosting: []string{"proprietary", "self_hosted"}[rng.IntN(2)], Status: []int{200, 200, 429, 502}[rng.IntN(4)],
			LatencyMS: int64(rng.IntN(8000)), InputTokens: int64(rng.IntN(5000)), OutputTokens: int64(rng.IntN(900)),
			CachedTokens: int64(rng.IntN(100)), ReasoningTokens: int64(rng.IntN(50)), CostNanos: rng.Int64N(90_000_000),
			ReferenceCostNanos: rng.Int64N(1000), Estimated: rng.IntN(7) == 0,
			Tags: tagSets[rng.IntN(len(tagSets))], EndUser: users[rng.IntN(len(users))]})
	}
	return recs
}

// capUsers returns recs with each end user beyond the first limit of its
// UTC day (in record order) renamed store.OtherUser, as the store names
// them in summaries.
func capUsers(recs []store.UsageRecord, limit int) []store.UsageRecord {
	named := map[string]map[string]bool{}
	out := make([]store.UsageRecord, len(recs))
	for i, r := range recs {
		out[i] = r
		if r.EndUser == "" {
			continue
		}
		day := r.Time.UTC().Format(time.DateOnly)
		if named[day] == nil {
			named[day] = map[string]bool{}
		}
		if !named[day][r.EndUser] && len(named[day]) < limit {
			named[day][r.EndUser] = true
		}
		if !named[day][r.EndUser] {
			out[i].EndUser = store.OtherUser
		}
	}
	return out
}

// testAttrRollups: on a simulated calendar, summaries grouped by tag and by
// end user (read from the attribution rollups for whole hours and from raw
// rows for the rest) equal sums over the raw records to the nanodollar,
// before and after the raw rows are pruned and after the hourly rollups
// are; a day's end users beyond the cap are summed under "(other)", alike
// in raw summaries and rollups.
func testAttrRollups(t *testing.T, s store.Store) {
	ctx := context.Background()
	rt, ok := s.(store.Retention)
	uc, ok2 := s.(userCapper)
	if !ok || !ok2 {
		t.Skip("store has no retention or no end-user cap")
	}
	const limit = 4
	uc.SetEndUsersPerDay(limit)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if c, ok := s.(interface{ SetNow(func() time.Time) }); ok {
		c.SetNow(func() time.Time { return start.AddDate(0, 4, 0) })
	}
	rng := rand.New(rand.NewPCG(5, 6))
	users := []string{"", "", "u1", "u2", "u3", "u4", "u5", "u6", "u7"}
	// 1,250 attempts about 50 minutes apart: 43 days, past the prune cut
	// (day 25) and the fixed ranges' ends (day 33); about 29 a day, so
	// every day has more end users than the cap. (2,500, 87 days, cost
	// twice the CPU and checked nothing more: docs/benchmarks.md, "CI time".)
	all := attrRecords(rng, "a", 1250, start, users)
	for i := 0; i < len(all); i += 300 {
		if _, err := s.Commit(ctx, store.Batch{Usage: all[i:min(i+300, len(all))]}); err != nil {
			t.Fatal(err)
		}
	}
	// A replayed batch adds nothing, end users included.
	if _, err := s.Commit(ctx, store.Batch{Usage: all[:700], Replay: true}); err != nil {
		t.Fatal(err)
	}
	end := all[len(all)-1].Time
	want := capUsers(all, limit)
	other := 0
	for _, r := range want {
		if r.EndUser == store.OtherUser {
			other++
		}
	}
	if other == 0 || other == len(want) {
		t.Fatalf("%d of %d records over the cap; want some", other, len(want))
	}

	ranges := []struct {
		name     string
		from, to time.Time
		by       []store.GroupBy
		// filter: check filters by tags and end user over the range too
		// (checkFilters).
		filter bool
	}{
		{"all by user", time.Time{}, time.Time{}, []store.GroupBy{store.ByUser}, false},
		{"all by tag", time.Time{}, time.Time{}, []store.GroupBy{store.ByTag("team")}, false},
		{"30 days by day and user", start.AddDate(0, 0, 3), start.AddDate(0, 0, 33), []store.GroupBy{store.ByDay, store.ByUser}, false},
		{"odd edges (after the cut) by two tags", start.AddDate(0, 0, 29).Add(17*time.Minute + 3*time.Second), end.Add(-5*time.Hour - 9*time.Minute),
			[]store.GroupBy{store.ByTag("feature"), store.ByTag("x.y")}, false},
		{"odd edges (after the cut) by two tags and user", start.AddDate(0, 0, 29).Add(17*time.Minute + 3*time.Second), end.Add(-5*time.Hour - 9*time.Minute),
			[]store.GroupBy{store.ByTag("feature"), store.ByTag("x.y"), store.ByUser}, false},
		{"old, whole hours, by model and tag", start.AddDate(0, 0, 2).Add(7 * time.Hour), start.AddDate(0, 0, 20).Add(2 * time.Hour),
			[]store.GroupBy{store.ByModel, store.ByTag("team")}, false},
		{"recent, by key and user", end.AddDate(0, 0, -10).Add(31 * time.Minute), time.Time{}, []store.GroupBy{store.ByKey, store.ByUser}, false},
		{"old (whole hour) to recent (odd edge), by day", start.AddDate(0, 0, 20).Add(2 * time.Hour), end.Add(-3*time.Hour - 13*time.Minute),
			[]store.GroupBy{store.ByDay}, true},
		{"old, whole hours, by model", start.AddDate(0, 0, 1).Add(5 * time.Hour), start.AddDate(0, 0, 24).Add(19 * time.Hour),
			[]store.GroupBy{store.ByModel}, true},
		{"recent, odd edge to now, one total", end.AddDate(0, 0, -6).Add(9*time.Minute + 500*time.Millisecond), time.Time{}, nil, true},
	}
	check := func(when string, raw bool) {
		t.Helper()
		for _, r := range ranges {
			got, err := s.UsageSummary(ctx, store.UsageFilter{From: r.from, To: r.to, Raw: raw}, r.by)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rawSummary(want, r.from, r.to, r.by), got); diff != "" {
				t.Errorf("%s, %s: summary differs from the raw sums (-raw +store):\n%s", when, r.name, diff)
			}
			if r.filter && !raw { // raw rows only: the filter is the grouping's own SQL (UsageTagFilter checks it)
				checkFilters(t, s, when+", "+r.name, store.UsageFilter{From: r.from, To: r.to, Raw: raw}, r.by, want)
			}
		}
	}
	check("raw rows only", true)
	check("before pruning", false)

	// A day of many end users: the first limit keep their names.
	day := end.Truncate(24 * time.Hour).Add(24 * time.Hour)
	var many []store.UsageRecord
	for i := range limit + 3 {
		id, user, at := fmt.Sprintf("m-%d", i), fmt.Sprintf("v%d", i), day.Add(time.Duration(i)*time.Minute)
		many = append(many, rec(id, 1, func(r *store.UsageRecord) { r.Time, r.EndUser = at, user }),
			rec(id, 2, func(r *store.UsageRecord) { r.Time, r.EndUser, r.CostNanos = at.Add(time.Second), user, 7 }))
	}
	// Batches of one record (four main and two attribution rollup rows:
	// PostgreSQL upserts them in one statement), of two users (plain
	// rows) and of four (arrays); each admits the next users.
	insert(t, s, many[:1]...)
	insert(t, s, many[1:2]...)
	insert(t, s, many[2:6]...)
	insert(t, s, many[6:]...)
	got, err := s.UsageSummary(ctx, store.UsageFilter{From: day, To: day.Add(24 * time.Hour)}, []store.GroupBy{store.ByUser})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		User     string
		Requests int64
		Cost     int64
	}
	var rows []row
	for _, g := range got {
		rows = append(rows, row{g.Keys[0], g.Requests, g.CostNanos})
	}
	wantRows := []row{{store.OtherUser, 6, 3 * 60_000_007}, {"v0", 2, 60_000_007}, {"v1", 2, 60_000_007}, {"v2", 2, 60_000_007}, {"v3", 2, 60_000_007}}
	if diff := cmp.Diff(wantRows, rows); diff != "" {
		t.Errorf("a day of %d end users, cap %d (-want +got):\n%s", limit+3, limit, diff)
	}
	all = append(all, many...)
	want = capUsers(all, limit)

	cut := start.AddDate(0, 0, 25)
	pruneAll(t, rt, store.KindUsage, cut, 500)
	if left, _ := s.Usage(ctx, store.UsageFilter{To: cut, Limit: 10}); len(left) != 0 {
		t.Fatalf("%d raw rows left before the cut", len(left))
	}
	check("after pruning raw rows", false)

	// Hourly rollups pruned too: whole days come from the daily ones.
	pruneAll(t, rt, store.KindRollupHourly, cut, 1000)
	from, to := start.AddDate(0, 0, 2), start.AddDate(0, 0, 22)
	for _, by := range [][]store.GroupBy{{store.ByUser}, {store.ByTag("team"), store.ByDay}} {
		got, err := s.UsageSummary(ctx, store.UsageFilter{From: from, To: to}, by)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rawSummary(want, from, to, by), got); diff != "" {
			t.Errorf("whole days by %v from daily rollups only (-raw +store):\n%s", by, diff)
		}
	}
}

// testAttrUsersOff: with no per-day cap (the default), the rollups name no
// end user. Summaries by end user read the raw rows, under the users' own
// names, and name no one once those rows are pruned; summaries by tag
// still read the rollups and equal the raw sums after the pruning.
func testAttrUsersOff(t *testing.T, s store.Store) {
	ctx := context.Background()
	rt, ok := s.(store.Retention)
	uc, ok2 := s.(userCapper)
	if !ok || !ok2 {
		t.Skip("store has no retention or no end-user cap")
	}
	uc.SetEndUsersPerDay(0)
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if c, ok := s.(interface{ SetNow(func() time.Time) }); ok {
		c.SetNow(func() time.Time { return start.AddDate(0, 3, 0) })
	}
	recs := attrRecords(rand.New(rand.NewPCG(9, 10)), "off", 1200, start, []string{"", "u1", "u2", "u3", "u4", "u5", "u6"})
	for i := 0; i < len(recs); i += 200 {
		if _, err := s.Commit(ctx, store.Batch{Usage: recs[i:min(i+200, len(recs))]}); err != nil {
			t.Fatal(err)
		}
	}
	end := recs[len(recs)-1].Time.Add(time.Second)
	byUser := []store.GroupBy{store.ByDay, store.ByUser}
	byTag := []store.GroupBy{store.ByTag("team"), store.ByModel}
	summary := func(from, to time.Time, by []store.GroupBy) []store.UsageGroup {
		t.Helper()
		got, err := s.UsageSummary(ctx, store.UsageFilter{From: from, To: to}, by)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	from, to := start.AddDate(0, 0, 2).Add(13*time.Minute+5*time.Second), end.Add(-50*time.Hour-7*time.Minute)
	for _, by := range [][]store.GroupBy{byUser, byTag} {
		if diff := cmp.Diff(rawSummary(recs, from, to, by), summary(from, to, by)); diff != "" {
			t.Errorf("by %v, before pruning (-raw +store):\n%s", by, diff)
		}
	}
	checkFilters(t, s, "no cap, before pruning", store.UsageFilter{From: from, To: to}, []store.GroupBy{store.ByDay}, recs)
	named := false
	for _, g := range summary(time.Time{}, time.Time{}, []store.GroupBy{store.ByUser}) {
		named = named || g.Keys[0] == "u3"
	}
	if !named {
		t.Error("summary by end user names no one; want the raw rows' own names")
	}

	cut := start.AddDate(0, 0, 20)
	pruneAll(t, rt, store.KindUsage, cut, 500)
	// Before the cut only the rollups are left, and they name no one.
	if got := summary(start, cut, byUser); len(got) != 0 {
		t.Errorf("by end user before the cut after pruning: %d groups, want none (the first: %v)", len(got), got[0].Keys)
	}
	if diff := cmp.Diff(rawSummary(recs, cut, to, byUser), summary(start, to, byUser)); diff != "" {
		t.Errorf("by end user across the cut: want the raw rows kept (-raw +store):\n%s", diff)
	}
	// Filters by end user read what group by user reads (the raw rows
	// kept); by tags, the rollups.
	testFilterUsersOff(t, s, recs, start, cut, to)
	checkFilters(t, s, "no cap, after pruning", store.UsageFilter{From: start.Add(7 * time.Hour), To: to}, []store.GroupBy{store.ByModel}, nil)
	whole := start.AddDate(0, 0, 1).Add(5 * time.Hour)
	if diff := cmp.Diff(rawSummary(recs, whole, to, byTag), summary(whole, to, byTag)); diff != "" {
		t.Errorf("by tag after pruning, from the rollups (-raw +store):\n%s", diff)
	}
}

// AttrUpgrade checks that the migration adding the attribution rollups
// fills them from the usage rows already stored: a store holding rows
// without them (that migration undone) is migrated, its raw rows are
// deleted, and summaries by tag and end user still equal the raw sums.
// s is a migrated, empty store; db is its database and ms its migrations.
func AttrUpgrade(t *testing.T, s store.Store, db *sql.DB, ms []store.Migration) {
	ctx := context.Background()
	var attr store.Migration
	for _, m := range ms {
		if strings.HasSuffix(m.Name, "_attr_rollups.sql") {
			attr = m
		}
	}
	if attr.Version == 0 {
		t.Fatal("no attribution rollups migration")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	recs := attrRecords(rng, "up", 400, start, []string{"", "u1", "u2", "u3"})
	if _, err := s.Commit(ctx, store.Batch{Usage: recs}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE usage_rollup_attr`, `DROP TABLE rollup_end_users`,
		fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, attr.Version)} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != ms[len(ms)-1].Version {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, ms[len(ms)-1].Version)
	}
	more := attrRecords(rng, "up2", 50, recs[len(recs)-1].Time, []string{"", "u1", "u4"})
	if n := insert(t, s, append(recs[:10:10], more...)...); n != len(more) {
		t.Fatalf("after the upgrade: %d new, want %d", n, len(more))
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM usage`); err != nil {
		t.Fatal(err)
	}
	// The rollups name no end user (the default, and the migration names
	// none): every end user is summed under "(other)". A summary by end
	// user reads the rollups only with a cap set, so set one to read them.
	all := capUsers(append(recs, more...), 0)
	if uc, ok := s.(userCapper); ok {
		uc.SetEndUsersPerDay(10)
		defer uc.SetEndUsersPerDay(0)
	}
	for _, by := range [][]store.GroupBy{{store.ByUser}, {store.ByTag("team"), store.ByTag("feature")}, {store.ByDay, store.ByUser}} {
		// Whole hours: the raw rows are gone.
		from, to := start, all[len(all)-1].Time.Truncate(time.Hour).Add(time.Hour)
		got, err := s.UsageSummary(ctx, store.UsageFilter{From: from, To: to}, by)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rawSummary(all, from, to, by), got); diff != "" {
			t.Errorf("by %v after the upgrade, from the rollups only (-raw +store):\n%s", by, diff)
		}
	}
}

// pruneAll prunes kind before cut in batches of batch rows until a batch
// comes back short, and returns how many rows went.
func pruneAll(t *testing.T, rt store.Retention, kind store.Kind, cut time.Time, batch int) int64 {
	t.Helper()
	var pruned int64
	for {
		n, err := rt.Prune(context.Background(), kind, cut, batch, false)
		if err != nil {
			t.Fatal(err)
		}
		pruned += n
		if n < int64(batch) {
			return pruned
		}
	}
}
