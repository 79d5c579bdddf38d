package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// BenchSummary30Days measures `fulcrum usage --since 30d --group-by
// day,model` over 30 days of traffic: records rows per hour spread over
// 3 keys × 4 models × 2 hostings (each hour's rows land in the rollups as
// they commit). The rollup part of the query reads the same rows whatever
// the request rate; the raw part reads the partial hour at each edge.
func BenchSummary30Days(b *testing.B, s store.Store, perHour int) {
	ctx := context.Background()
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	start := end.AddDate(0, 0, -30)
	if c, ok := s.(interface{ SetNow(func() time.Time) }); ok {
		c.SetNow(func() time.Time { return end.Add(17 * time.Minute) })
	}
	var batch []store.UsageRecord
	n := 0
	for h := start; h.Before(end.Add(time.Hour)); h = h.Add(time.Hour) {
		for i := range perHour {
			n++
			batch = append(batch, store.UsageRecord{Time: h.Add(time.Duration(i) * time.Hour / time.Duration(perHour)),
				RequestID: fmt.Sprintf("s-%d", n), Attempt: 1, KeyID: fmt.Sprintf("k%d", n%3), Team: "t",
				Model: fmt.Sprintf("m%d", n%4), Provider: "p", UpstreamModel: "u", Hosting: []string{"proprietary", "self_hosted"}[n%2],
				Status: 200, LatencyMS: int64(n % 3000), InputTokens: 900, OutputTokens: 200, CostNanos: 12345})
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
	f := store.UsageFilter{From: end.AddDate(0, 0, -30).Add(-13 * time.Minute)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		gs, err := s.UsageSummary(ctx, f, []store.GroupBy{store.ByDay, store.ByModel})
		if err != nil || len(gs) == 0 {
			b.Fatal(err, len(gs))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n), "rows")
}
