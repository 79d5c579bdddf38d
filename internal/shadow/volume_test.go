package shadow_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/shadow"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

// TestUsageVolumeReadsTheSummary: the volume a promotion is projected on
// comes from the usage summary, so it holds after raw rows are pruned
// (before, it counted raw rows only, at most 5,000,000 of them) and leaves
// shadow calls out.
func TestUsageVolumeReadsTheSummary(t *testing.T) {
	ctx := context.Background()
	st, err := open.Store(ctx, "sqlite://"+filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var recs []store.UsageRecord
	for d := range 10 {
		for i := range 30 {
			ts := start.Add(time.Duration(d)*24*time.Hour + time.Duration(i)*time.Minute)
			recs = append(recs,
				store.UsageRecord{Time: ts, RequestID: fmt.Sprintf("r-%d-%d", d, i), Attempt: 1, Model: "chat", Provider: "openai", Status: 200},
				store.UsageRecord{Time: ts, RequestID: fmt.Sprintf("r-%d-%d", d, i), Attempt: -1, Model: "shadow:llama", Provider: "gpu", Status: 200})
		}
	}
	if _, err := st.Commit(ctx, store.Batch{Usage: recs}); err != nil {
		t.Fatal(err)
	}
	rt, ok := st.(store.Retention)
	if !ok {
		t.Fatal("the SQLite store has no retention")
	}
	if _, err := rt.Prune(ctx, store.KindUsage, start.Add(7*24*time.Hour), 1_000_000, false); err != nil {
		t.Fatal(err)
	}
	if raw, _ := st.Usage(ctx, store.UsageFilter{Model: "chat", Limit: 1000}); len(raw) != 90 {
		t.Fatalf("%d raw rows of chat after the prune, want 90 (3 days)", len(raw))
	}
	if got := shadow.UsageVolume(ctx, st)("chat", start, start.Add(10*24*time.Hour)); got != 300 {
		t.Errorf("volume of chat over 10 days = %d, want 300 (every day's 30, pruned or not)", got)
	}
}
