package storetest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// benchUser is the n-th record's end user: one of 50 (a team's users of
// a tool), "" for every fifth record.
func benchUser(n int) string {
	if n%5 == 0 {
		return ""
	}
	return "user-" + strconv.Itoa(n%50)
}

// BenchSummary30Days measures `fulcrum usage --since 30d --group-by
// day,model` over 30 days of traffic: perHour rows an hour spread over 3
// keys × 4 models × 2 hostings, and 1,000 rows a second in the two minutes
// around each edge of the range, the only raw rows the query reads (the
// rollup part reads the same rows whatever the request rate): so the
// query costs what it would at 1,000 requests/s. Sub-benchmark "raw"
// reads the raw rows instead (f.Raw), for comparison: its time grows with
// the rows, the rollups' does not.
//
// With FULCRUM_BENCH_QUICK set (as .ci/run does, where benchmarks only
// have to run) the edges carry 10 rows a second instead of 1,000 and
// each query runs once whatever b.N, so its ns/op means nothing there:
// the full data set and 20 runs of each query took a quarter of an hour
// under the race detector.
func BenchSummary30Days(b *testing.B, s store.Store, perHour int) {
	ctx := context.Background()
	edgeStep := time.Millisecond
	quick := os.Getenv("FULCRUM_BENCH_QUICK") != ""
	if quick {
		edgeStep = 100 * time.Millisecond
	}
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	start := end.AddDate(0, 0, -30)
	// "now" is 17 minutes and 59.5 seconds into the last hour: the end of
	// its minute, when the most raw rows of it are stored.
	now := end.Add(17*time.Minute + 59500*time.Millisecond)
	if c, ok := s.(interface{ SetNow(func() time.Time) }); ok {
		c.SetNow(func() time.Time { return now })
	}
	// End users named in the rollups (not the default), so that "user/"
	// measures them.
	if c, ok := s.(userCapper); ok && os.Getenv("FULCRUM_BENCH_USERS_OFF") == "" {
		c.SetEndUsersPerDay(10000)
	}
	// Day partitions for the range (PostgreSQL), as the gateway's upkeep
	// makes them ahead of the clock: otherwise every row lands in the
	// default partition, and the partial second at the open end is read
	// by a scan of all of them.
	if p, ok := s.(interface {
		EnsurePartitions(ctx context.Context, from, to time.Time) (int, error)
	}); ok {
		if _, err := p.EnsurePartitions(ctx, start.AddDate(0, 0, -1), now.AddDate(0, 0, 1)); err != nil {
			b.Fatal(err)
		}
	}
	var batch []store.UsageRecord
	n := 0
	for h := start; h.Before(end.Add(time.Hour)); h = h.Add(time.Hour) {
		for i := range perHour {
			n++
			batch = append(batch, store.UsageRecord{Time: h.Add(time.Duration(i) * time.Hour / time.Duration(perHour)),
				RequestID: fmt.Sprintf("s-%d", n), Attempt: 1, KeyID: fmt.Sprintf("k%d", n%3), Team: "t",
				Model: fmt.Sprintf("m%d", n%4), Provider: "p", UpstreamModel: "u", Hosting: []string{"proprietary", "self_hosted"}[n%2],
				Status: 200, LatencyMS: int64(n % 3000), InputTokens: 900, OutputTokens: 200, CostNanos: 12345,
				EndUser: benchUser(n), Tags: benchTags[n%len(benchTags)]})
			if len(batch) == 500 {
				if _, err := s.InsertUsage(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	// --since 30d, as the CLI makes it: back to the whole minute. The
	// other edge is now: the current minute's rows so far (59,500 at 1,000
	// requests/s) are all the raw rows there are after the last whole
	// minute; the second rollups leave only the current second's (500).
	from := end.AddDate(0, 0, -30).Add(-13 * time.Minute)
	for _, edge := range []time.Time{from, now.Truncate(time.Minute)} {
		for at := edge.Add(-time.Minute); at.Before(edge.Add(time.Minute)) && at.Before(now); at = at.Add(edgeStep) {
			n++
			batch = append(batch, store.UsageRecord{Time: at, RequestID: fmt.Sprintf("s-%d", n), Attempt: 1,
				KeyID: fmt.Sprintf("k%d", n%3), Team: "t", Model: fmt.Sprintf("m%d", n%4), Provider: "p", UpstreamModel: "u",
				Hosting: []string{"proprietary", "self_hosted"}[n%2], Status: 200, LatencyMS: int64(n % 3000),
				InputTokens: 900, OutputTokens: 200, CostNanos: 12345, EndUser: benchUser(n), Tags: benchTags[n%len(benchTags)]})
			if len(batch) == 500 {
				if _, err := s.InsertUsage(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	if _, err := s.InsertUsage(ctx, batch); err != nil {
		b.Fatal(err)
	}
	// By day and model (the main rollups), by a tag (the attribution
	// rollups, seconds and minutes at the edges included) and by day and
	// end user (the attribution rollups for whole hours, the partial hours
	// at the edges from raw rows).
	want := map[string][]store.UsageGroup{}
	// "hours": the same range on whole hours (from --since to the end of
	// the last whole hour), where the attribution rollups read no raw rows.
	hours := store.UsageFilter{From: from.Truncate(time.Hour), To: now.Truncate(time.Hour)}
	teamAds := store.UsageFilter{From: from, Tags: map[string]string{"team": "ads"}}
	teamAdsHours, user7Hours := hours, hours
	teamAdsHours.Tags = teamAds.Tags
	user7Hours.EndUser = "user-7"
	for _, c := range []struct {
		name string
		raw  bool
		by   []store.GroupBy
		f    *store.UsageFilter
	}{
		{"rollups", false, []store.GroupBy{store.ByDay, store.ByModel}, nil},
		{"raw", true, []store.GroupBy{store.ByDay, store.ByModel}, nil},
		{"user/rollups", false, []store.GroupBy{store.ByDay, store.ByUser}, nil},
		{"user/raw", true, []store.GroupBy{store.ByDay, store.ByUser}, nil},
		{"tag/rollups", false, []store.GroupBy{store.ByTag("team")}, nil},
		{"tag/raw", true, []store.GroupBy{store.ByTag("team")}, nil},
		{"user/hours/rollups", false, []store.GroupBy{store.ByDay, store.ByUser}, &hours},
		{"user/hours/raw", true, []store.GroupBy{store.ByDay, store.ByUser}, &hours},
		// Filtered by a tag and by an end user (--tag team=ads, --user
		// user-7), by day: read as the summaries by tag and user are.
		{"tagfilter/rollups", false, []store.GroupBy{store.ByDay}, &teamAds},
		{"tagfilter/raw", true, []store.GroupBy{store.ByDay}, &teamAds},
		{"tagfilter/hours/rollups", false, []store.GroupBy{store.ByDay}, &teamAdsHours},
		{"userfilter/hours/rollups", false, []store.GroupBy{store.ByDay}, &user7Hours},
		{"userfilter/hours/raw", true, []store.GroupBy{store.ByDay}, &user7Hours},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := store.UsageFilter{From: from, Raw: c.raw}
			if c.f != nil {
				f = *c.f
				f.Raw = c.raw
			}
			var gs []store.UsageGroup
			iterations := b.N
			if quick {
				iterations = 1 // the query runs and is checked; its time is not judged
			}
			for i := 0; i < iterations; i++ {
				var err error
				gs, err = s.UsageSummary(ctx, f, c.by)
				if err != nil || len(gs) == 0 {
					b.Fatal(err, len(gs))
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(n), "rows")
			k := fmt.Sprint(c.by, c.f != nil, f.From, f.Tags, f.EndUser)
			if want[k] == nil {
				want[k] = gs
			} else if fmt.Sprint(want[k]) != fmt.Sprint(gs) {
				b.Errorf("raw and rollup summaries differ:\n%v\n%v", want[k][:2], gs[:2])
			}
		})
	}
}
