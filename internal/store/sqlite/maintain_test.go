package sqlite_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

// After pruning, Maintain gives the space back to the file system: the
// database file shrinks and the WAL is left empty. An incremental vacuum
// moves pages, and those moves go through the WAL: vacuumed after the WAL
// was truncated, they stayed there (17 MB of a 50 MB store pruned to 13 MB,
// measured from outside) until the next prune.
func TestMaintainShrinksFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	s, err := sqlite.Open(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Hour)
	for b := range 20 {
		var batch store.Batch
		batch.Hash = func(prev string, r *store.AuditRow) string { return fmt.Sprintf("%x|%d", len(prev), r.Seq) }
		for i := range 500 {
			at := old.Add(time.Duration(b*500+i) * time.Second)
			id := fmt.Sprintf("req-%d-%d-%s", b, i, "some padding to make the rows the size of the gateway's")
			batch.Usage = append(batch.Usage, store.UsageRecord{Time: at, RequestID: id, Attempt: 1, KeyID: "key_1", Model: "m",
				Provider: "p", UpstreamModel: "u", Hosting: "proprietary", Status: 200, InputTokens: 100, OutputTokens: 10, CostNanos: 1})
			batch.Audit = append(batch.Audit, store.AuditRow{Time: at, RequestID: id, Action: "allow", Outcome: "200"})
		}
		if _, err := s.Commit(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	size := func(suffix string) int64 {
		fi, err := os.Stat(path + suffix)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	before := size("")
	for _, k := range []store.Kind{store.KindUsage, store.KindAudit} {
		for {
			n, err := s.Prune(ctx, k, time.Now().Add(-time.Hour), 5000, false)
			if err != nil {
				t.Fatal(err)
			}
			if n < 5000 {
				break
			}
		}
	}
	if err := s.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	after, wal := size(""), size("-wal")
	if after > before/2 || wal != 0 {
		t.Errorf("after pruning every raw row and Maintain: file %d bytes (was %d), WAL %d bytes; want under half and an empty WAL", after, before, wal)
	}
}
