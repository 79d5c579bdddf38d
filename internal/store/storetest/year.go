package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// testYear stores a year of attempts (with their audit rows) on a simulated
// calendar, checks that summaries (read from rollups and raw rows) equal
// sums over the raw records to the nanodollar, prunes raw usage older than
// five months and audit rows older than eight, and checks that the
// summaries still equal the same sums and the audit chain still verifies
// from its checkpoint.
func testYear(t *testing.T, s store.Store) {
	ctx := context.Background()
	rt, ok := s.(store.Retention)
	if !ok {
		t.Skip("store has no retention")
	}
	start := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(1, 0, 0)
	if c, ok := s.(interface{ SetNow(func() time.Time) }); ok {
		c.SetNow(func() time.Time { return end.Add(time.Hour) })
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var all []store.UsageRecord
	var b store.Batch
	b.Hash = testHash
	i := 0
	for at := start; at.Before(end); at = at.Add(time.Duration(40+rng.IntN(120)) * time.Minute) {
		i++
		r := store.UsageRecord{Time: at.Add(time.Duration(rng.IntN(1e6)) * time.Microsecond), RequestID: fmt.Sprintf("y-%d", i), Attempt: 1,
			KeyID: []string{"k1", "k2", "k3"}[rng.IntN(3)], Team: []string{"red", "blue"}[rng.IntN(2)],
			Model: []string{"gpt-4o", "claude", "llama"}[rng.IntN(3)], Provider: "p", UpstreamModel: "u",
			Hosting: []string{"proprietary", "self_hosted"}[rng.IntN(2)], Status: []int{200, 200, 200, 429, 502}[rng.IntN(5)],
			LatencyMS: int64(rng.IntN(8000)), InputTokens: int64(rng.IntN(5000)), OutputTokens: int64(rng.IntN(900)),
			CachedTokens: int64(rng.IntN(100)), ReasoningTokens: int64(rng.IntN(50)), CostNanos: rng.Int64N(90_000_000),
			ReferenceCostNanos: rng.Int64N(1000), Estimated: rng.IntN(7) == 0}
		switch rng.IntN(8) {
		case 0, 1:
			r.DataClasses, r.PolicyAction = []string{"email"}, "redact"
		case 2:
			r.DataClasses, r.PolicyAction = []string{"email", "iban"}, "self_hosted_only"
		}
		all = append(all, r)
		b.Usage = append(b.Usage, r)
		b.Audit = append(b.Audit, store.AuditRow{Time: r.Time, RequestID: r.RequestID, Action: "none", Chosen: r.Provider, Outcome: "200"})
		if len(b.Usage) == 500 {
			if _, err := s.Commit(ctx, b); err != nil {
				t.Fatal(err)
			}
			b.Usage, b.Audit = nil, nil
		}
	}
	if _, err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}

	ranges := []struct {
		name     string
		from, to time.Time
		by       []store.GroupBy
	}{
		{"all", time.Time{}, time.Time{}, nil},
		{"year by model", start, end, []store.GroupBy{store.ByModel}},
		{"30 days by day and model", start.AddDate(0, 1, 0), start.AddDate(0, 2, 0), []store.GroupBy{store.ByDay, store.ByModel}},
		{"recent, odd edges, by key and hosting", end.AddDate(0, -1, 0).Add(17*time.Minute + 3*time.Second), end.Add(-5 * time.Hour).Add(-9 * time.Minute), []store.GroupBy{store.ByKey, store.ByHosting}},
		{"old, whole hours, by team", start.AddDate(0, 2, 0).Add(7 * time.Hour), start.AddDate(0, 3, 0).Add(2 * time.Hour), []store.GroupBy{store.ByTeam}},
		{"year by action and classes", time.Time{}, time.Time{}, []store.GroupBy{store.ByAction, store.ByClasses}},
		{"odd edges by day, classes and hosting", start.AddDate(0, 5, 2).Add(5*time.Hour + 31*time.Minute + 7*time.Second), start.AddDate(0, 7, 9).Add(13 * time.Minute), []store.GroupBy{store.ByDay, store.ByClasses, store.ByHosting}},
	}
	check := func(when string) {
		t.Helper()
		for _, r := range ranges {
			got, err := s.UsageSummary(ctx, store.UsageFilter{From: r.from, To: r.to}, r.by)
			if err != nil {
				t.Fatal(err)
			}
			want := rawSummary(all, r.from, r.to, r.by)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s, %s: summary differs from the raw sums (-raw +store):\n%s", when, r.name, diff)
			}
		}
	}
	check("before pruning")
	// The attribution rollups keep no action or classes: refused, not
	// summed under "".
	for _, by := range [][]store.GroupBy{{store.ByAction, store.ByTag("team")}, {store.ByClasses, store.ByUser}} {
		if _, err := s.UsageSummary(ctx, store.UsageFilter{}, by); err == nil {
			t.Errorf("summary by %v: no error, want one (action and classes do not combine with tags or users)", by)
		}
	}

	cut := start.AddDate(0, 5, 0)
	would, err := rt.Prune(ctx, store.KindUsage, cut, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	var pruned int64
	for {
		n, err := rt.Prune(ctx, store.KindUsage, cut, 300, false)
		if err != nil {
			t.Fatal(err)
		}
		pruned += n
		if n < 300 {
			break
		}
	}
	wantPruned := int64(0)
	for _, r := range all {
		if r.Time.Before(cut) {
			wantPruned++
		}
	}
	if pruned != wantPruned || would != wantPruned {
		t.Errorf("pruned %d usage rows (dry run said %d), want %d", pruned, would, wantPruned)
	}
	if left, _ := s.Usage(ctx, store.UsageFilter{To: cut, Limit: 10}); len(left) != 0 {
		t.Errorf("%d raw rows left before the cut", len(left))
	}
	check("after pruning")
	// Audit: prune a prefix, in bounded steps; the rest verifies from the checkpoint.
	acut := start.AddDate(0, 8, 0)
	pruneAll(t, rt, store.KindAudit, acut, 700)
	cp, err := rt.AuditCheckpoint(ctx)
	if err != nil || cp == nil {
		t.Fatalf("checkpoint = %v, %v", cp, err)
	}
	rows, err := s.Audit(ctx, store.AuditFilter{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0].Seq != cp.Seq+1 || rows[0].PrevHash != cp.Hash || !rows[0].Time.After(acut.Add(-time.Second)) {
		t.Fatalf("first kept row %+v does not follow checkpoint %+v", rows[0], cp)
	}
	if int(cp.Seq)+len(rows) != len(all) {
		t.Errorf("checkpoint seq %d + %d kept rows != %d written", cp.Seq, len(rows), len(all))
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].PrevHash != rows[i-1].Hash || rows[i].Hash != testHash(rows[i-1].Hash, &rows[i]) {
			t.Fatalf("chain broken at seq %d", rows[i].Seq)
		}
	}
	// Minute rollups pruned: edges before their cut come from raw rows.
	if _, err := rt.Prune(ctx, store.KindRollupMinute, start.AddDate(0, 9, 0), 1<<20, false); err != nil {
		t.Fatal(err)
	}
	ranges = append(ranges, struct {
		name     string
		from, to time.Time
		by       []store.GroupBy
	}{"month 7, odd edges, minute rollups pruned", start.AddDate(0, 7, 0).Add(23*time.Minute + 7*time.Second), start.AddDate(0, 7, 9).Add(41 * time.Minute), []store.GroupBy{store.ByModel}})
	check("after pruning minute rollups")
	// Ranges inside the pruned months with edges off the hour: their
	// partial hours' raw rows and minute rollups are gone, so both edges
	// widen to the hours that hold them rather than leave those parts out.
	for d := range 6 {
		from := start.AddDate(0, 2, 3*d).Add(time.Duration(d)*time.Hour + 13*time.Minute + 5*time.Second)
		checkWidened(t, s, all, from, from.AddDate(0, 0, 20).Add(time.Hour+41*time.Minute), time.Hour, "after pruning raw rows")
	}
	if err := rt.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	// Hourly rollups pruned too: the daily ones still answer whole days.
	pruneAll(t, rt, store.KindRollupHourly, cut, 1000)
	from, to := start.AddDate(0, 1, 0), start.AddDate(0, 2, 0)
	got, err := s.UsageSummary(ctx, store.UsageFilter{From: from, To: to}, []store.GroupBy{store.ByModel})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rawSummary(all, from, to, []store.GroupBy{store.ByModel}), got); diff != "" {
		t.Errorf("whole days from daily rollups only (-raw +store):\n%s", diff)
	}
	// Edges off the day where the hourly rollups are gone too widen to
	// the days that hold them.
	checkWidened(t, s, all, from.AddDate(0, 0, 3).Add(7*time.Hour+13*time.Minute), to.Add(4*time.Hour+41*time.Minute+9*time.Second), 24*time.Hour, "after pruning hourly rollups")
	// Raw rows and hourly rollups pruned to 13:00 of a day: a range
	// ending later that day reads the day's hours before its end from
	// hourly rows, some of them gone, so it widens to the whole day too.
	cut2 := cut.Add(13 * time.Hour)
	pruneAll(t, rt, store.KindUsage, cut2, 1000)
	pruneAll(t, rt, store.KindRollupHourly, cut2, 1000)
	checkWidened(t, s, all, cut.AddDate(0, 0, -10).Add(10*time.Hour+17*time.Minute), cut.Add(18*time.Hour+30*time.Minute), 24*time.Hour, "after pruning to 13:00")
}

// checkWidened checks that a summary of [from, to), whose edges lie where
// the rows finer than unit were pruned, equals the raw sums over the range
// widened outwards to whole units, grouped by model and by day.
func checkWidened(t *testing.T, s store.Store, all []store.UsageRecord, from, to time.Time, unit time.Duration, when string) {
	t.Helper()
	wFrom, wTo := from.Truncate(unit), to.Truncate(unit)
	if wTo.Before(to) {
		wTo = wTo.Add(unit)
	}
	for _, by := range [][]store.GroupBy{{store.ByModel}, {store.ByDay}, nil} {
		got, err := s.UsageSummary(context.Background(), store.UsageFilter{From: from, To: to}, by)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rawSummary(all, wFrom, wTo, by), got); diff != "" {
			t.Errorf("%s: [%s, %s) by %v should read [%s, %s) (-raw +store):\n%s", when, from, to, by, wFrom, wTo, diff)
		}
	}
}

// rawSummary is UsageSummary computed in Go over recs.
func rawSummary(recs []store.UsageRecord, from, to time.Time, by []store.GroupBy) []store.UsageGroup {
	m := map[string]*store.UsageGroup{}
	var keys []string
	for i := range recs {
		r := &recs[i]
		if (!from.IsZero() && r.Time.Before(from)) || (!to.IsZero() && !r.Time.Before(to)) {
			continue
		}
		var ks []string
		for _, g := range by {
			switch g {
			case store.ByKey:
				ks = append(ks, r.KeyID)
			case store.ByTeam:
				ks = append(ks, r.Team)
			case store.ByModel:
				ks = append(ks, r.Model)
			case store.ByProvider:
				ks = append(ks, r.Provider)
			case store.ByHosting:
				ks = append(ks, r.Hosting)
			case store.ByDay:
				ks = append(ks, r.Time.UTC().Format(time.DateOnly))
			case store.ByUser:
				ks = append(ks, r.EndUser)
			case store.ByAction:
				ks = append(ks, r.PolicyAction)
			case store.ByClasses:
				ks = append(ks, strings.Join(r.DataClasses, ","))
			default:
				k, _ := g.Tag()
				ks = append(ks, r.Tags[k])
			}
		}
		k := strings.Join(ks, "\x00")
		g := m[k]
		if g == nil {
			g = &store.UsageGroup{Keys: ks}
			if ks == nil {
				g.Keys = []string{}
			}
			m[k] = g
			keys = append(keys, k)
		}
		var one store.UsageGroup
		one.Requests, one.InputTokens, one.OutputTokens = 1, r.InputTokens, r.OutputTokens
		one.CachedTokens, one.ReasoningTokens, one.CostNanos, one.ReferenceCostNanos = r.CachedTokens, r.ReasoningTokens, r.CostNanos, r.ReferenceCostNanos
		if r.Estimated {
			one.Estimated = 1
		}
		if r.Status >= 400 {
			one.Errors = 1
		}
		one.LatencyMSSum = r.LatencyMS
		one.Latency[store.LatencyBucket(r.LatencyMS)] = 1
		g.Add(&one)
	}
	out := make([]store.UsageGroup, 0, len(keys))
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, *m[k])
	}
	return out
}
