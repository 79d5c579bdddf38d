package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

func newStore(t testing.TB) (store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.db")
	st, err := open.Store(context.Background(), "sqlite://"+path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func row(i int) store.AuditRow {
	return store.AuditRow{
		Time:      time.Date(2026, 11, 27, 10, 0, i, 0, time.UTC),
		RequestID: fmt.Sprintf("req_%03d", i),
		KeyID:     "k1",
		Classes:   []string{"email:2", "phone:1"},
		Action:    "self_hosted_only",
		Candidates: []string{
			"gpu:self_hosted", "openai:proprietary",
		},
		Chosen: "gpu", ChosenHosting: "self_hosted", Outcome: "200",
	}
}

func TestWriterChainsAndVerifyDetectsTampering(t *testing.T) {
	ctx := context.Background()
	st, path := newStore(t)
	dir := t.TempDir()
	w, err := NewWriter(ctx, st, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 50; i++ {
		if err := w.Write(row(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n, bad, err := Verify(ctx, st)
	if err != nil || bad != nil || n != 50 {
		t.Fatalf("intact chain: n=%d bad=%v err=%v", n, bad, err)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var table string
	if err := db.QueryRow(`SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%audit%'`).Scan(&table); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE ` + table + ` SET outcome = '500' WHERE seq = 17`); err != nil {
		t.Fatal(err)
	}
	_, bad, err = Verify(ctx, st)
	if err == nil || bad == nil || bad.Seq != 17 {
		t.Fatalf("edited row not found: bad=%+v err=%v", bad, err)
	}
	if !strings.Contains(err.Error(), "17") {
		t.Errorf("error does not name seq 17: %v", err)
	}
}

func TestReplaySkipsStoredRows(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	dir := t.TempDir()
	w, err := NewWriter(ctx, st, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		w.Write(row(i))
	}
	// Simulate a crash: stop the goroutine without emptying the journal,
	// as a killed process would leave it.
	close(w.done)
	w.wg.Wait()
	w.f.Close()

	w2, err := NewWriter(ctx, st, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w2.Close()
	rows, err := st.Audit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("after replay: %d rows, want 5 (no duplicates, none lost)", len(rows))
	}
	if n, bad, err := Verify(ctx, st); err != nil || bad != nil || n != 5 {
		t.Fatalf("verify after replay: %d %v %v", n, bad, err)
	}
}

func TestClassesRoundTrip(t *testing.T) {
	in := []string{"email:2", "phi:0", "secret:13"}
	if got := EncodeClasses(DecodeClasses(in)); strings.Join(got, ",") != strings.Join(in, ",") {
		t.Errorf("round trip: %v", got)
	}
}

// flakyStore fails audit appends while down is set.
type flakyStore struct {
	store.Store
	down atomic.Bool
}

func (s *flakyStore) AppendAuditBatch(ctx context.Context, rows []store.AuditRow, hash func(string, *store.AuditRow) string) error {
	if s.down.Load() {
		return errors.New("database unavailable")
	}
	return s.Store.AppendAuditBatch(ctx, rows, hash)
}

// TestWriteNeverWaitsForTheStore: with the store down, Write keeps
// returning (far more rows than one batch or any fixed queue), and once it
// is back every row is stored, in order, chained.
func TestWriteNeverWaitsForTheStore(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	fs := &flakyStore{Store: st}
	fs.down.Store(true)
	w, err := NewWriter(ctx, fs, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	const n = 10_000
	done := make(chan error, 1)
	go func() {
		for i := 1; i <= n; i++ {
			if err := w.Write(row(i)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Write waited for the store")
	}
	fs.down.Store(false)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := st.Audit(ctx, store.AuditFilter{Limit: n + 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("%d rows stored, want %d", len(rows), n)
	}
	for i := range rows {
		if want := row(i + 1).RequestID; rows[i].RequestID != want {
			t.Fatalf("row %d is %s, want %s: out of order", i, rows[i].RequestID, want)
		}
	}
	if got, bad, err := Verify(ctx, st); err != nil || bad != nil || got != n {
		t.Fatalf("verify: %d %v %v", got, bad, err)
	}
}

// TestCloseKeepsJournalOfUnstoredRows: rows the store never took stay in
// the journal, and the next writer stores them.
func TestCloseKeepsJournalOfUnstoredRows(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	fs := &flakyStore{Store: st}
	fs.down.Store(true)
	dir := t.TempDir()
	w, err := NewWriter(ctx, fs, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := w.Write(row(i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	w2, err := NewWriter(ctx, st, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	if got, bad, err := Verify(ctx, st); err != nil || bad != nil || got != 3 {
		t.Fatalf("after the next start: %d rows (want 3), %v %v", got, bad, err)
	}
}
