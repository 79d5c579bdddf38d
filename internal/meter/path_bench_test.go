package meter

import (
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/postgres"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

// benchPath measures what recording costs the gateway per record: Record
// (encode, one write(2), queue) plus the batcher's share (the commit into
// the store), with the gateway's default batch size and flush interval.
// Run it with -cpu 1, as the gateway is benchmarked on one core: cpu-µs/rec
// is then the process CPU (user + system, GC included) per record, the
// figure that competes with request handling; ns/op is wall time and, for
// PostgreSQL, leaves out the server's CPU. Request ids are the gateway's
// (a prefix and a counter); the random-ids cases show a store whose index
// on them is written all over.
func benchPath(b *testing.B, st store.Store, batch int, id func(int) string) {
	benchPathAudit(b, st, batch, id, false)
}

// benchPathAudit is benchPath with, when withAudit, each attempt's audit
// row in the same journal line and transaction: what a gateway request
// costs in recording.
func benchPathAudit(b *testing.B, st store.Store, batch int, id func(int) string, withAudit bool) {
	r, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: filepath.Join(b.TempDir(), "journal"),
		BatchSize: batch, AuditHash: audit.Hash})
	if err != nil {
		b.Fatal(err)
	}
	rec := storetest.BenchRecord()
	row := store.AuditRow{KeyID: rec.KeyID, Action: "none", Chosen: rec.Provider, ChosenHosting: rec.Hosting, Outcome: "200"}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		rec.RequestID = id(i)
		rec.Time = rec.Time.Add(time.Microsecond)
		var rp *store.AuditRow
		if withAudit {
			row.Time, row.RequestID = rec.Time, rec.RequestID
			rp = &row
		}
		if err := r.Log(&rec, rp); err != nil {
			b.Fatal(err)
		}
		// Let the batcher run when it would in the gateway, where a
		// request goroutine soon blocks on the network.
		runtime.Gosched()
	}
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-µs/rec")
}

func BenchmarkRecordPath(b *testing.B) {
	for _, batch := range []int{128, 500} {
		b.Run("sqlite/batch="+strconv.Itoa(batch), func(b *testing.B) {
			benchPath(b, openSQLite(b, filepath.Join(b.TempDir(), "f.db")), batch, storetest.BenchRequestID)
		})
	}
	b.Run("sqlite/with-audit/batch=500", func(b *testing.B) {
		benchPathAudit(b, openSQLite(b, filepath.Join(b.TempDir(), "f.db")), 500, storetest.BenchRequestID, true)
	})
	b.Run("postgres/with-audit/batch=500", func(b *testing.B) {
		s, err := postgres.Open(context.Background(), storetest.PostgresURL(b), quiet())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		benchPathAudit(b, s, 500, storetest.BenchRequestID, true)
	})
	b.Run("sqlite/random-ids/batch=500", func(b *testing.B) {
		benchPath(b, openSQLite(b, filepath.Join(b.TempDir(), "f.db")), 500, storetest.BenchRandomRequestID)
	})
	for _, batch := range []int{128, 500} {
		b.Run("postgres/batch="+strconv.Itoa(batch), func(b *testing.B) {
			u := storetest.PostgresURL(b)
			s, err := postgres.Open(context.Background(), u, quiet())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			if err := s.Migrate(context.Background()); err != nil {
				b.Fatal(err)
			}
			benchPath(b, s, batch, storetest.BenchRequestID)
		})
	}
}
