package meter

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/postgres"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

// benchRecorder measures records per second sustained end to end: Record
// from parallel goroutines, then Close, which returns once every record is
// committed to the store. records/s is the figure for docs.
func benchRecorder(b *testing.B, st store.Store, fsync bool, parallelism int) {
	dir := b.TempDir()
	r, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: filepath.Join(dir, "journal"), Fsync: fsync})
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	b.SetParallelism(parallelism) // goroutines per CPU: concurrent requests
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := testRecord(0)
			rec.RequestID = fmt.Sprintf("%s-%d", b.Name(), seq.Add(1))
			if err := r.Record(rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkRecorderSQLite(b *testing.B) {
	benchRecorder(b, openSQLite(b, filepath.Join(b.TempDir(), "f.db")), false, 1)
}

func BenchmarkRecorderSQLiteFsync(b *testing.B) {
	benchRecorder(b, openSQLite(b, filepath.Join(b.TempDir(), "f.db")), true, 16)
}

func BenchmarkRecorderPostgres(b *testing.B) {
	u := storetest.PostgresURL(b)
	s, err := postgres.Open(context.Background(), u, quiet())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	benchRecorder(b, s, false, 1)
}

// BenchmarkRecord is the cost on the request path alone: encode and one
// write(2), the batcher committing to a store that takes no time.
func BenchmarkRecord(b *testing.B) {
	benchRecorder(b, nullStore{}, false, 1)
}

type nullStore struct{ store.Store }

func (nullStore) Commit(_ context.Context, b store.Batch) (int, error) {
	return len(b.Usage), nil
}
