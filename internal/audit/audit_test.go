package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/fulcrumhq/fulcrum/internal/policy"
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
		Time:      time.Date(2026, 11, 27, 10, 0, 0, i*1000, time.UTC),
		RequestID: fmt.Sprintf("req_%04d", i),
		KeyID:     "k1",
		Classes:   []string{"email:2", "phone:1"},
		Action:    "self_hosted_only",
		Candidates: []string{
			"gpu:self_hosted", "openai:proprietary",
		},
		Chosen: "gpu", ChosenHosting: "self_hosted", Outcome: "200",
	}
}

func appendRows(t *testing.T, st store.Store, from, to int) {
	t.Helper()
	var rows []store.AuditRow
	for i := from; i <= to; i++ {
		rows = append(rows, row(i))
	}
	if _, err := st.Commit(context.Background(), store.Batch{Audit: rows, Hash: Hash}); err != nil {
		t.Fatal(err)
	}
}

// rawDB opens the store's file beside it, as an operator's sqlite3 would:
// with a busy timeout, since the store's own connections (its
// checkpointer among them) may hold a lock for a moment.
func rawDB(t *testing.T, path string) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Verify checks chains longer than a page, finds an edited row on either
// side of a page boundary, a deleted first row and a deleted middle row.
func TestVerifyFindsTheFirstBadRow(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		tamper  string
		wantBad int64
		wantMsg string
	}{
		{"intact", "", 0, ""},
		{"edited in the first page", `UPDATE audit SET outcome = '500' WHERE seq = 17`, 17, "17"},
		{"edited after a page boundary", `UPDATE audit SET chosen = 'openai' WHERE seq = 1001`, 1001, "1001"},
		{"edited on the last row of a page", `UPDATE audit SET key_id = 'k2' WHERE seq = 1000`, 1000, "1000"},
		{"first rows deleted", `DELETE FROM audit WHERE seq <= 3`, 4, "starts at seq 4"},
		{"middle row deleted", `DELETE FROM audit WHERE seq = 1500`, 1501, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, path := newStore(t)
			appendRows(t, st, 1, 1200)
			appendRows(t, st, 1201, 2100)
			if tt.tamper != "" {
				if _, err := rawDB(t, path).Exec(tt.tamper); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Verify(ctx, st)
			if tt.wantBad == 0 {
				if err != nil || res.Bad != nil || res.Rows != 2100 || res.Head == nil || res.Head.Seq != 2100 {
					t.Fatalf("intact chain: %+v, %v", res, err)
				}
				return
			}
			if !errors.Is(err, policy.ErrChainBroken) || res.Bad == nil || res.Bad.Seq != tt.wantBad {
				t.Fatalf("Verify = %+v, %v; want bad seq %d", res.Bad, err, tt.wantBad)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

func TestVerifyEmptyLog(t *testing.T) {
	st, _ := newStore(t)
	res, err := Verify(context.Background(), st)
	if err != nil || res.Rows != 0 || res.Head != nil || res.Bad != nil {
		t.Fatalf("empty log: %+v, %v", res, err)
	}
}

// An old audit journal is replayed once: rows the store has are skipped,
// the others appended to the chain, and the file removed.
func TestRecoverJournalSkipsStoredRows(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	appendRows(t, st, 1, 3)
	dir := t.TempDir()
	var lines []string
	for i := 1; i <= 5; i++ {
		r := row(i)
		b := fmt.Sprintf(`{"seq":0,"time":%q,"request_id":%q,"key_id":"k1","classes":["email:2","phone:1"],"action":"self_hosted_only","candidates":["gpu:self_hosted","openai:proprietary"],"chosen":"gpu","chosen_hosting":"self_hosted","outcome":"200","prev_hash":"","hash":""}`,
			r.Time.Format(time.RFC3339Nano), r.RequestID)
		lines = append(lines, b)
	}
	lines = append(lines, `{"seq":0,"time":"2026-11-27T10:00:00Z","request_id":"torn`) // a torn last line
	if err := os.WriteFile(filepath.Join(dir, "audit.jsonl"), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := RecoverJournal(ctx, st, dir, nil)
	if err != nil || n != 5 {
		t.Fatalf("RecoverJournal = %d, %v", n, err)
	}
	res, err := Verify(ctx, st)
	if err != nil || res.Rows != 5 {
		t.Fatalf("after recovery: %+v, %v (want 5 rows, no duplicates)", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal not removed: %v", err)
	}
	if n, err := RecoverJournal(ctx, st, dir, nil); err != nil || n != 0 {
		t.Errorf("second recovery = %d, %v", n, err)
	}
}

func TestClassesRoundTrip(t *testing.T) {
	in := []string{"email:2", "phi:0", "secret:13"}
	if got := EncodeClasses(DecodeClasses(in)); strings.Join(got, ",") != strings.Join(in, ",") {
		t.Errorf("round trip: %v", got)
	}
}

// After pruning, the kept rows verify from the checkpoint; a checkpoint
// or first row that does not match is a broken chain.
func TestVerifyFromCheckpoint(t *testing.T) {
	ctx := context.Background()
	st, path := newStore(t)
	appendRows(t, st, 1, 1500)
	rt := st.(store.Retention)
	// row(i) is i µs after 10:00: prune the first 1,199.
	n, err := rt.Prune(ctx, store.KindAudit, row(1200).Time, 5000, false)
	if err != nil || n != 1199 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	res, err := Verify(ctx, st)
	if err != nil || res.Rows != 301 || res.Checkpoint == nil || res.Checkpoint.Seq != 1199 || res.Head.Seq != 1500 {
		t.Fatalf("Verify after pruning = %+v, %v", res, err)
	}
	if _, err := rawDB(t, path).Exec(`DELETE FROM audit WHERE seq = 1200`); err != nil {
		t.Fatal(err)
	}
	res, err = Verify(ctx, st)
	if !errors.Is(err, policy.ErrChainBroken) || res.Bad == nil || res.Bad.Seq != 1201 {
		t.Fatalf("first kept row deleted: %+v, %v", res.Bad, err)
	}
}

// VerifyTail checks the latest n rows only (the dashboard's check, which
// must answer at any size): an edit or deletion among them is found, one
// before them is not (that is `fulcrum audit verify`'s), and a log of at
// most n rows is verified whole.
func TestVerifyTail(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		tamper  string
		wantBad int64
	}{
		{"intact", "", 0},
		{"edited in the tail", `UPDATE audit SET outcome = '500' WHERE seq = 1900`, 1900},
		{"edited on the tail's first row", `UPDATE audit SET outcome = '500' WHERE seq = 1601`, 1601},
		{"the tail's first row deleted", `DELETE FROM audit WHERE seq = 1601`, 1602},
		{"edited before the tail", `UPDATE audit SET outcome = '500' WHERE seq = 1599`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, path := newStore(t)
			appendRows(t, st, 1, 2100)
			if tt.tamper != "" {
				if _, err := rawDB(t, path).Exec(tt.tamper); err != nil {
					t.Fatal(err)
				}
			}
			res, whole, err := VerifyTail(ctx, st, 500)
			if whole {
				t.Error("500 of 2,100 rows verified, reported as the whole log")
			}
			if tt.wantBad == 0 {
				if err != nil || res.Bad != nil || res.Rows != 500 || res.Head == nil || res.Head.Seq != 2100 {
					t.Fatalf("VerifyTail = %+v, %v; want the latest 500 rows intact", res, err)
				}
				return
			}
			if !errors.Is(err, policy.ErrChainBroken) || res.Bad == nil || res.Bad.Seq != tt.wantBad {
				t.Fatalf("VerifyTail = %+v, %v; want bad seq %d", res.Bad, err, tt.wantBad)
			}
		})
	}

	st, path := newStore(t)
	appendRows(t, st, 1, 300)
	if res, whole, err := VerifyTail(ctx, st, 500); err != nil || !whole || res.Rows != 300 {
		t.Errorf("VerifyTail(500) of 300 rows = %d rows, whole %v, %v; want all, whole", res.Rows, whole, err)
	}
	if _, err := rawDB(t, path).Exec(`DELETE FROM audit WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	if res, _, err := VerifyTail(ctx, st, 500); !errors.Is(err, policy.ErrChainBroken) || res.Bad == nil || res.Bad.Seq != 2 {
		t.Errorf("VerifyTail of a whole log missing seq 1 = %+v, %v", res.Bad, err)
	}
}
