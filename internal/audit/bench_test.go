package audit

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/postgres"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

// benchWriter measures what the audit log costs the gateway per request:
// Write (encode, one write(2), queue) plus the writer goroutine's share
// (chain hashing and the batch append). Run it with -cpu 1: cpu-µs/row is
// the process CPU (user + system, GC included) per row.
func benchWriter(b *testing.B, st store.Store) {
	w, err := NewWriter(context.Background(), st, b.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	row := store.AuditRow{Time: time.Date(2026, 7, 24, 12, 0, 0, 0, time.UTC), KeyID: "key_7f3a9c",
		Action: "none", Candidates: []string{"openai:proprietary"}, Chosen: "openai", ChosenHosting: "proprietary", Outcome: "200"}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		row.RequestID = storetest.BenchRequestID(i)
		row.Time = row.Time.Add(time.Microsecond)
		if err := w.Write(row); err != nil {
			b.Fatal(err)
		}
		// Let the writer run when it would in the gateway, where a
		// request goroutine soon blocks on the network.
		runtime.Gosched()
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-µs/row")
}

func BenchmarkWriterPath(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		st, _ := newStore(b)
		benchWriter(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		s, err := postgres.Open(context.Background(), storetest.PostgresURL(b), slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		benchWriter(b, s)
	})
}
