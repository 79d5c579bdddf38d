package sqlite_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

func openBatchStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestInsertEveryBatchSize: a batch of any size goes through the 16-, 8-,
// 4-, 2- and 1-row statements, and every row arrives once, as it was.
func TestInsertEveryBatchSize(t *testing.T) {
	ctx := context.Background()
	s := openBatchStore(t)
	seq := 0
	base := time.Date(2026, 7, 24, 12, 0, 0, 0, time.UTC)
	for n := 1; n <= 40; n++ {
		recs := make([]store.UsageRecord, n)
		for i := range recs {
			seq++
			recs[i] = storetest.BenchRecord()
			recs[i].Time = base.Add(time.Duration(seq) * time.Microsecond)
			recs[i].RequestID = storetest.BenchRequestID(seq)
			recs[i].InputTokens = int64(seq)
		}
		got, err := s.InsertUsage(ctx, recs)
		if err != nil || got != n {
			t.Fatalf("batch of %d: InsertUsage = %d, %v", n, got, err)
		}
	}
	rows, err := s.Usage(ctx, store.UsageFilter{From: base, To: base.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != seq {
		t.Fatalf("%d rows stored, want %d", len(rows), seq)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.RequestID] {
			t.Fatalf("%s stored twice", r.RequestID)
		}
		seen[r.RequestID] = true
		if want := storetest.BenchRequestID(int(r.InputTokens)); r.RequestID != want {
			t.Fatalf("row with input_tokens %d has request id %s, want %s", r.InputTokens, r.RequestID, want)
		}
	}
}

// TestInsertBatchAllocations bounds the allocations of an 8-row batch,
// what the recorder commits at about 100 requests/s: one multi-row
// statement, not eight single-row ones (51 allocations a row then, 42
// after), and the strings rows repeat boxed once a batch (36 a row; see
// docs/benchmarks.md).
func TestInsertBatchAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation budget: not in -short")
	}
	ctx := context.Background()
	s := openBatchStore(t)
	recs := make([]store.UsageRecord, 8)
	seq := 0
	next := func() {
		for i := range recs {
			seq++
			recs[i] = storetest.BenchRecord()
			recs[i].Time = recs[i].Time.Add(time.Duration(seq) * time.Microsecond)
			recs[i].RequestID = storetest.BenchRequestID(seq)
		}
		if _, err := s.InsertUsage(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	next()
	const budget = 8 * 38
	if n := testing.AllocsPerRun(50, next); n > budget {
		t.Errorf("%.0f allocations an 8-row batch, budget %d", n, budget)
	} else {
		t.Logf("%.0f allocations an 8-row batch (budget %d)", n, budget)
	}
}
