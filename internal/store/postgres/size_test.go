package postgres

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

// BenchmarkAttrRowSize reports what a usage_rollup_attr row takes on disk,
// its primary-key index included, for the day docs/metering.md sizes on
// SQLite: 2,000 end users (named), each active in 6 hours on 2 models
// with one team tag (24,000 records, 28,000 rows). "B/row" is as written
// (the daily rows' dead versions included, as before a vacuum), "B/row-
// vacuumed" after VACUUM FULL. b.N is ignored: run it with -benchtime 1x.
func BenchmarkAttrRowSize(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, storetest.PostgresURL(b), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	day := time.Date(2026, 7, 24, 0, 0, 0, 0, time.UTC)
	if _, err := s.EnsurePartitions(ctx, day, day.Add(24*time.Hour)); err != nil {
		b.Fatal(err)
	}
	s.SetEndUsersPerDay(10000)
	var recs []store.UsageRecord
	for h := range 6 {
		for u := range 2000 {
			for _, m := range []string{"gpt-4o-mini", "gpt-4o"} {
				r := storetest.BenchRecord()
				r.Time = day.Add(time.Duration(h*4)*time.Hour + time.Duration(len(recs))*time.Millisecond)
				r.RequestID = storetest.BenchRequestID(len(recs))
				r.Model, r.UpstreamModel = m, m
				r.EndUser = "user-" + strconv.Itoa(u)
				r.Tags = map[string]string{"team": "search"}
				recs = append(recs, r)
			}
		}
	}
	for i := 0; i < len(recs); i += 128 {
		if _, err := s.InsertUsage(ctx, recs[i:min(i+128, len(recs))]); err != nil {
			b.Fatal(err)
		}
	}
	size := func() (rows, total, heap int64) {
		if err := s.SQL().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM usage_rollup_attr),
			pg_total_relation_size('usage_rollup_attr'), pg_relation_size('usage_rollup_attr')`).Scan(&rows, &total, &heap); err != nil {
			b.Fatal(err)
		}
		return rows, total, heap
	}
	rows, total, _ := size()
	if rows != 28000 {
		b.Fatalf("%d rows, want 28,000", rows)
	}
	if _, err := s.SQL().ExecContext(ctx, `VACUUM FULL usage_rollup_attr`); err != nil {
		b.Fatal(err)
	}
	_, vtotal, vheap := size()
	b.ReportMetric(float64(total)/float64(rows), "B/row")
	b.ReportMetric(float64(vtotal)/float64(rows), "B/row-vacuumed")
	b.ReportMetric(float64(vheap)/float64(rows), "heap-B/row-vacuumed")
}
