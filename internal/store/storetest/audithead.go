package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// AuditHead checks that the audit chain's head (the one-row table appends
// read instead of the audit table) keeps the chain verifiable across what
// moves or hides the newest rows: appenders in two store handles at once
// (two gateway processes), a restart, retention pruning a prefix of the
// chain (on PostgreSQL by dropping its day partitions) and pruning all of
// it. open returns a new handle on the same, migrated database each time
// it is called, and arranges its cleanup.
func AuditHead(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	s1, s2 := open(t), open(t)
	if p, ok := s1.(interface {
		EnsurePartitions(context.Context, time.Time, time.Time) (int, error)
	}); ok {
		if _, err := p.EnsurePartitions(ctx, day(1, 0), day(6, 0)); err != nil {
			t.Fatal(err)
		}
	}
	appendRows := func(s store.Store, prefix string, at time.Time, n int) {
		t.Helper()
		rows := make([]store.AuditRow, n)
		for i := range rows {
			rows[i] = store.AuditRow{Time: at.Add(time.Duration(i) * time.Second), RequestID: fmt.Sprintf("%s-%d", prefix, i),
				Action: "allow", Classes: []string{"email:1"}, Candidates: []string{"a"}, Chosen: "a", Outcome: "ok"}
		}
		if err := s.AppendAuditBatch(ctx, rows, audit.Hash); err != nil {
			t.Error(err)
		}
	}
	verify := func(s store.Store, what string, rows int) audit.Result {
		t.Helper()
		res, err := audit.Verify(ctx, s)
		if err != nil {
			t.Fatalf("%s: audit verify: %v (bad row %+v)", what, err, res.Bad)
		}
		if res.Rows != rows {
			t.Fatalf("%s: audit verify checked %d rows, want %d", what, res.Rows, rows)
		}
		return res
	}

	// Four appenders, two in each handle, on days 1 and 2.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []store.Store{s1, s2}[g%2]
			for b := range 10 {
				appendRows(s, fmt.Sprintf("c%d-%d", g, b), day(1+b%2, g), 5)
			}
		}()
	}
	wg.Wait()
	res := verify(s1, "concurrent appenders", 200)
	if res.Head.Seq != 200 {
		t.Fatalf("head seq after 200 concurrent appends = %d", res.Head.Seq)
	}

	// A restart: both handles closed, a new one goes on from the head.
	s1.Close()
	s2.Close()
	s3 := open(t)
	appendRows(s3, "restart", day(3, 1), 10)
	verify(s3, "after a restart", 210)

	// Retention prunes days 1 and 2 (PostgreSQL: drops their partitions).
	r, ok := s3.(store.Retention)
	if !ok {
		t.Fatal("store does not implement store.Retention")
	}
	if n, err := r.Prune(ctx, store.KindAudit, day(3, 0), 1000, false); err != nil || n != 200 {
		t.Fatalf("Prune(audit, day 3) = %d, %v; want 200", n, err)
	}
	appendRows(s3, "after-prune", day(3, 2), 10)
	res = verify(s3, "after pruning days 1 and 2", 20)
	if res.Checkpoint == nil || res.Checkpoint.Seq != 200 || res.Head.Seq != 220 {
		t.Fatalf("after pruning: checkpoint %+v, head seq %d; want checkpoint seq 200, head 220", res.Checkpoint, res.Head.Seq)
	}

	// Every row pruned: the chain goes on from the checkpoint.
	if n, err := r.Prune(ctx, store.KindAudit, day(5, 0), 1000, false); err != nil || n != 20 {
		t.Fatalf("Prune(audit, day 5) = %d, %v; want 20", n, err)
	}
	s3.Close()
	s4 := open(t)
	appendRows(s4, "after-all-pruned", day(5, 1), 3)
	res = verify(s4, "after pruning every row and a restart", 3)
	if res.Head.Seq != 223 {
		t.Fatalf("head seq after every row was pruned = %d, want 223", res.Head.Seq)
	}

	// The newest rows deleted behind the store's back: the rows left
	// chain on their own, but do not reach the head.
	db, ok := s4.(interface{ SQL() *sql.DB })
	if !ok {
		t.Fatal("store has no SQL()")
	}
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM audit WHERE seq >= 222`); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(ctx, s4); !errors.Is(err, policy.ErrChainBroken) || !strings.Contains(err.Error(), "head is seq 223") {
		t.Errorf("verify with the newest rows deleted: err = %v, want the chain broken at the head, seq 223", err)
	}
	// Every row deleted: nothing chains, but the head says there were rows.
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM audit`); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(ctx, s4); !errors.Is(err, policy.ErrChainBroken) || !strings.Contains(err.Error(), "ends at no record") {
		t.Errorf("verify with every row deleted: err = %v, want the chain broken at the head", err)
	}
}
