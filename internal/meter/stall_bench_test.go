package meter

import (
	"context"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

// BenchmarkRecordStall measures what a batch commit does to the latency of
// other work on one core (-cpu 1): while records pour in, a goroutine that
// stands for a request sleeps 200µs at a time and notes how late it wakes.
// stall-p99-µs and stall-max-µs are those delays; a commit that keeps the
// core for milliseconds shows here as it would in the gateway's p99. The
// null store is the floor: scheduling alone.
func BenchmarkRecordStall(b *testing.B) {
	b.Run("null", func(b *testing.B) { benchStall(b, nullStore{}) })
	b.Run("sqlite", func(b *testing.B) { benchStall(b, openSQLite(b, filepath.Join(b.TempDir(), "f.db"))) })
}

func benchStall(b *testing.B, st store.Store) {
	r, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: filepath.Join(b.TempDir(), "journal")})
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	var late []time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			t := time.Now()
			time.Sleep(200 * time.Microsecond)
			late = append(late, time.Since(t)-200*time.Microsecond)
		}
	}()
	rec := storetest.BenchRecord()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec.RequestID = storetest.BenchRequestID(i)
		rec.Time = rec.Time.Add(time.Microsecond)
		if err := r.Record(&rec); err != nil {
			b.Fatal(err)
		}
		runtime.Gosched()
	}
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	if len(late) == 0 {
		return
	}
	slices.Sort(late)
	b.ReportMetric(float64(late[len(late)*99/100].Microseconds()), "stall-p99-µs")
	b.ReportMetric(float64(late[len(late)-1].Microseconds()), "stall-max-µs")
}
