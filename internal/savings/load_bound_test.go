package savings

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

// countingStore counts the raw records Usage returns.
type countingStore struct {
	store.Store
	rows int
}

func (c *countingStore) Usage(ctx context.Context, f store.UsageFilter) ([]store.UsageRecord, error) {
	recs, err := c.Store.Usage(ctx, f)
	c.rows += len(recs)
	return recs, err
}

// TestLoadBoundsTheBusyScan: Load read every raw record of the period for
// busy time (the ledger does it at every start: hours of a core over
// months at 1,000 requests/s). Past maxBusyRecords it reads the latest
// part of the period only, says so in BusyFrom, and still leaves the
// earlier shadow calls out of the client totals (from the summary).
func TestLoadBoundsTheBusyScan(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var recs []store.UsageRecord
	for d := range 10 {
		day := start.AddDate(0, 0, d)
		for h := range 10 { // ten client calls of a minute, an hour apart
			recs = append(recs, store.UsageRecord{Time: day.Add(time.Duration(h) * time.Hour), RequestID: fmt.Sprintf("c-%d-%d", d, h), Attempt: 1,
				Model: "m", Provider: "gpu-box", Hosting: "self_hosted", Status: 200, LatencyMS: 60_000,
				InputTokens: 1000, OutputTokens: 100, CostNanos: 5, ReferenceCostNanos: 50})
		}
		for h := range 2 { // two shadow calls of 30 s, at half past
			recs = append(recs, store.UsageRecord{Time: day.Add(time.Duration(h)*time.Hour + 30*time.Minute), RequestID: fmt.Sprintf("c-%d-%d", d, h), Attempt: -1,
				Model: "shadow:cand", Provider: "gpu-box", Hosting: "self_hosted", Status: 200, LatencyMS: 30_000,
				InputTokens: 1000, OutputTokens: 100, CostNanos: 7, ReferenceCostNanos: 70})
		}
	}
	if _, err := st.InsertUsage(ctx, recs); err != nil {
		t.Fatal(err)
	}
	defer func(n int64) { maxBusyRecords = n }(maxBusyRecords)
	maxBusyRecords = 12 // a tenth of the 120 records: the last day

	cs := &countingStore{Store: st}
	to := start.AddDate(0, 0, 10)
	s, from, ok, err := Load(ctx, cs, "gpu-box", start, to)
	if err != nil || !ok || !from.Equal(start) {
		t.Fatalf("Load: from %s ok %v err %v", from, ok, err)
	}
	if cs.rows > 20 {
		t.Errorf("Load read %d raw records for busy time, want about 12 (the last day's)", cs.rows)
	}
	// Totals: every client call of the ten days, shadow calls apart.
	// Busy: the last day's 10 × 1 min + 2 × 30 s, from its first record.
	want := Served{Requests: 100, EvaluationRequests: 20, InputTokens: 100_000, OutputTokens: 10_000,
		RecordedNanos: 500, ReferenceNanos: 5000, Busy: 11 * time.Minute, BusyFrom: start.AddDate(0, 0, 9)}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}
