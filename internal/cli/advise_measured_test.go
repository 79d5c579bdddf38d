package cli

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/advise"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

// advise --measured reads a year of usage from the rollups, on an
// injected clock, on both stores: its tokens and attempts equal the raw
// records' sums (shadow calls left out) before raw rows are pruned, and
// stay equal after the raw rows and minute rollups older than 90 days
// are pruned (it read raw rows, and lost those months). The peak is the
// busiest minute's rate where minute rollups are kept, the busiest hour's
// where they were pruned.
func TestMeasuredUsageReadsRollups(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "f.db") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresURL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := open.Store(ctx, tc.url(t), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			now := time.Date(2026, 12, 6, 15, 42, 17, 0, time.UTC)
			if c, ok := st.(interface{ SetNow(func() time.Time) }); ok {
				c.SetNow(func() time.Time { return now })
			}
			all := seedMeasuredYear(t, st, now)
			su := storeUsage{st: st, now: func() time.Time { return now }}
			// The bursts: 900 attempts in a minute 200 days ago, 300 in
			// one 10 days ago.
			peaks := map[int]float64{365: 15, 30: 5}
			for _, days := range []int{365, 30} {
				got, err := su.MonthlyUsage(ctx, days)
				if err != nil {
					t.Fatal(err)
				}
				want := measuredFromRaw(all, now, days, time.Time{}, time.Time{})
				if want.PeakRPS != peaks[days] {
					t.Fatalf("%d days: the raw peak is %v, want %v", days, want.PeakRPS, peaks[days])
				}
				if diff := gocmp.Diff(want, got); diff != "" {
					t.Errorf("before pruning, %d days (-raw +measured):\n%s", days, diff)
				}
			}

			rt := st.(store.Retention)
			cut := now.AddDate(0, 0, -90).Truncate(time.Hour)
			for _, k := range []store.Kind{store.KindUsage, store.KindRollupMinute} {
				for {
					n, err := rt.Prune(ctx, k, cut, 5000, false)
					if err != nil {
						t.Fatal(err)
					}
					if n < 5000 {
						break
					}
				}
			}
			if left, _ := st.Usage(ctx, store.UsageFilter{To: cut.Add(-time.Hour), Limit: 1}); len(left) != 0 {
				t.Fatalf("raw rows left before the cut: %+v", left)
			}
			for _, days := range []int{365, 30} {
				start := time.Now()
				got, err := su.MonthlyUsage(ctx, days)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%d days after pruning: %v", days, time.Since(start))
				want := measuredFromRaw(all, now, days, cut, cut)
				if want.PeakRPS != 5 {
					// The burst 200 days ago counts by its hour now:
					// 900 / 3600 a second.
					t.Fatalf("%d days: the raw peak is %v, want 5", days, want.PeakRPS)
				}
				if diff := gocmp.Diff(want, got); diff != "" {
					t.Errorf("after pruning raw rows and minute rollups older than 90 days, %d days (-raw +measured):\n%s", days, diff)
				}
			}
		})
	}
}

// seedMeasuredYear stores a year of attempts before now: a request every
// 40 to 160 minutes, a fifth of them retried after a 502, an eighth kept
// on self-hosted models by policy, some shadowed (model "shadow:…",
// attempt -1), 25 busy hours 250 days ago, and two bursts: 900 attempts
// in one minute 200 days ago (pruned later) and 300 in one minute 10 days
// ago; and one 20 seconds before now.
func seedMeasuredYear(t *testing.T, st store.Store, now time.Time) []store.UsageRecord {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	var all []store.UsageRecord
	attempt := func(at time.Time, id string, n int) store.UsageRecord {
		r := store.UsageRecord{Time: at, RequestID: id, Attempt: n, KeyID: []string{"k1", "k2"}[rng.IntN(2)],
			Model: []string{"gpt-4o", "llama"}[rng.IntN(2)], Provider: "p", UpstreamModel: "u", Hosting: "proprietary",
			Status: 200, LatencyMS: int64(rng.IntN(3000)), InputTokens: int64(rng.IntN(5000)), OutputTokens: int64(rng.IntN(900)),
			CostNanos: rng.Int64N(90_000_000)}
		if rng.IntN(8) == 0 {
			r.PolicyAction, r.DataClasses, r.Hosting = "self_hosted_only", []string{"email"}, "self_hosted"
		}
		return r
	}
	i := 0
	for at := now.AddDate(-1, 0, -1); at.Before(now.Add(-time.Minute)); at = at.Add(time.Duration(40+rng.IntN(120)) * time.Minute) {
		i++
		id := fmt.Sprintf("r%d", i)
		at := at.Add(time.Duration(rng.IntN(1e6)) * time.Microsecond)
		n := 1
		if rng.IntN(5) == 0 {
			r := attempt(at, id, n)
			r.Status, r.OutputTokens = 502, 0
			all = append(all, r)
			n++
		}
		r := attempt(at.Add(time.Second), id, n)
		all = append(all, r)
		if rng.IntN(6) == 0 {
			s := r
			s.Attempt, s.Model, s.Time = -1, shadowModelPrefix+"llama", r.Time.Add(2*time.Second)
			all = append(all, s)
		}
	}
	// 25 busy hours 250 days ago, 320 attempts each (5.3 a minute):
	// busier than the hour of the burst 10 days ago, they must not hide
	// its minute once their own minutes are pruned.
	busy := now.AddDate(0, 0, -250).Truncate(time.Hour)
	for h := range 25 {
		for j := range 320 {
			all = append(all, attempt(busy.Add(time.Duration(h)*time.Hour+time.Duration(j)*11250*time.Millisecond), fmt.Sprintf("busy%d-%d", h, j), 1))
		}
	}
	for _, b := range []struct {
		ago time.Duration
		n   int
	}{{200 * 24 * time.Hour, 900}, {10 * 24 * time.Hour, 300}} {
		at := now.Add(-b.ago).Truncate(time.Minute).Add(7 * time.Second)
		for j := range b.n {
			all = append(all, attempt(at.Add(time.Duration(j)*50*time.Millisecond), fmt.Sprintf("b%d-%d", b.ago/time.Hour, j), 1))
		}
	}
	// One in the current minute: read from the second rollups and raw
	// rows, not left out.
	all = append(all, attempt(now.Add(-20*time.Second), "now", 1))
	for len(all) > 0 {
		n := min(len(all), 500)
		if _, err := st.InsertUsage(context.Background(), all[:n]); err != nil {
			t.Fatal(err)
		}
		all = all[n:]
	}
	all, err := st.Usage(context.Background(), store.UsageFilter{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// measuredFromRaw is what MonthlyUsage should say over the days days
// before now (from the minute; from its hour where raw rows before rawCut
// were pruned), summed over the raw records: tokens and attempts (shadow
// calls left out), and the peak rate: the busiest minute's attempts / 60
// among the peakBuckets busiest hours from minuteCut on (the minute
// rollups kept), and before it the busiest hour's / 3600 among the
// peakBuckets busiest days.
func measuredFromRaw(all []store.UsageRecord, now time.Time, days int, rawCut, minuteCut time.Time) *advise.MeasuredUsage {
	from := now.Truncate(time.Minute).AddDate(0, 0, -days)
	if from.Before(rawCut) {
		// Where raw rows were pruned the summary's start widens to its
		// hour (docs/metering.md).
		from = from.Truncate(time.Hour)
	}
	m := &advise.MeasuredUsage{Days: days}
	minutes, hours, dayCounts := map[time.Time]int64{}, map[time.Time]int64{}, map[time.Time]int64{}
	for _, r := range all {
		if r.Time.Before(from) || strings.HasPrefix(r.Model, shadowModelPrefix) {
			continue
		}
		m.InputTokens += r.InputTokens
		m.OutputTokens += r.OutputTokens
		m.Requests++
		if r.PolicyAction == "self_hosted_only" {
			m.PrivateRequests++
		}
		minutes[r.Time.Truncate(time.Minute)]++
		hours[r.Time.Truncate(time.Hour)]++
		dayCounts[r.Time.Truncate(24*time.Hour)]++
	}
	// In each of the peakBuckets busiest coarse buckets starting in
	// [a, z) (the earliest first among equals), its busiest fine one.
	top := func(coarse, fine map[time.Time]int64, cw, fw time.Duration, a, z time.Time) {
		var cs []time.Time
		for c := range coarse {
			if !c.Before(a) && (z.IsZero() || c.Before(z)) {
				cs = append(cs, c)
			}
		}
		slices.SortFunc(cs, func(x, y time.Time) int { return cmp.Or(-cmp.Compare(coarse[x], coarse[y]), x.Compare(y)) })
		for _, c := range cs[:min(len(cs), peakBuckets)] {
			m.PeakRPS = max(m.PeakRPS, float64(coarse[c])/cw.Seconds())
			for f := c; f.Before(c.Add(cw)); f = f.Add(fw) {
				m.PeakRPS = max(m.PeakRPS, float64(fine[f])/fw.Seconds())
			}
		}
	}
	// Minutes where they are kept; before, hours in the busiest days.
	top(hours, minutes, time.Hour, time.Minute, laterOf(from, minuteCut), time.Time{})
	if from.Before(minuteCut) {
		top(dayCounts, hours, 24*time.Hour, time.Hour, from, minuteCut)
	}
	return m
}

// A store younger than --days holds fewer days of traffic: the measured
// usage says how many (rounded up), so advise scales them to a month
// rather than read three days of traffic as thirty days' worth. Where the
// raw rows were pruned the oldest record is known to the day.
func TestMeasuredUsageOfAYoungStore(t *testing.T) {
	ctx := context.Background()
	st, err := open.Store(ctx, "sqlite://"+filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 6, 15, 42, 17, 0, time.UTC)
	if c, ok := st.(interface{ SetNow(func() time.Time) }); ok {
		c.SetNow(func() time.Time { return now })
	}
	var recs []store.UsageRecord
	for at := time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC); at.Before(now); at = at.Add(time.Hour) {
		recs = append(recs, store.UsageRecord{Time: at, RequestID: at.Format(time.RFC3339), Attempt: 1, KeyID: "k1", Model: "m",
			Provider: "p", Hosting: "proprietary", Status: 200, InputTokens: 100, OutputTokens: 10})
	}
	if _, err := st.InsertUsage(ctx, recs); err != nil {
		t.Fatal(err)
	}
	su := storeUsage{st: st, now: func() time.Time { return now }}
	check := func(when string, wantDays int) {
		t.Helper()
		for _, days := range []int{30, 2} {
			got, err := su.MonthlyUsage(ctx, days)
			if err != nil {
				t.Fatal(err)
			}
			want := min(days, wantDays)
			if got.Days != want {
				t.Errorf("%s, --days %d: measured over %d days, want %d", when, days, got.Days, want)
			}
		}
	}
	// 2 days, 23 hours and 42 minutes of traffic.
	check("raw rows", 3)
	if _, err := st.(store.Retention).Prune(ctx, store.KindUsage, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), 1000, false); err != nil {
		t.Fatal(err)
	}
	// The oldest record is in the rollups of 2026-12-03: from 00:00, 3
	// days and 15 hours.
	check("raw rows pruned", 4)
}
