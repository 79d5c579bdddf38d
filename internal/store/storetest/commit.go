package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// testCommit: usage records and audit rows of one batch are stored
// together; replaying the batch (or part of it, or a batch retried with a
// conflicting usage record) stores nothing twice and keeps the chain.
func testCommit(t *testing.T, s store.Store) {
	ctx := context.Background()
	var b store.Batch
	for i := range 40 {
		r := rec(fmt.Sprintf("c-%d", i), 1, func(r *store.UsageRecord) { r.Time = t0.Add(time.Duration(i) * time.Millisecond) })
		b.Usage = append(b.Usage, r)
		b.Audit = append(b.Audit, store.AuditRow{Time: r.Time, RequestID: r.RequestID, KeyID: r.KeyID, Action: "none",
			Chosen: r.Provider, ChosenHosting: r.Hosting, Outcome: "200"})
	}
	// A request that made no upstream call: an audit row alone.
	b.Audit = append(b.Audit, store.AuditRow{Time: t0, RequestID: "refused", Action: "block", Outcome: "403 policy_error"})
	b.Hash = testHash
	n, err := s.Commit(ctx, b)
	if err != nil || n != 40 {
		t.Fatalf("Commit = %d, %v; want 40", n, err)
	}
	if b.Audit[40].Seq != 41 || b.Audit[0].Seq != 1 || b.Audit[1].PrevHash != b.Audit[0].Hash {
		t.Fatalf("audit rows not chained in order: %+v", b.Audit[:2])
	}

	// The same batch replayed, plus one new attempt and its row.
	replay := store.Batch{Hash: testHash, Replay: true,
		Usage: append(append([]store.UsageRecord{}, b.Usage...), rec("c-new", 1, func(r *store.UsageRecord) { r.Time = t0.Add(time.Second) })),
		Audit: append(append([]store.AuditRow{}, b.Audit...), store.AuditRow{Time: t0.Add(time.Second), RequestID: "c-new",
			Action: "none", Chosen: "openai", Outcome: "200"})}
	for i := range replay.Audit {
		replay.Audit[i].Seq, replay.Audit[i].Hash, replay.Audit[i].PrevHash = 0, "", ""
	}
	if n, err := s.Commit(ctx, replay); err != nil || n != 1 {
		t.Fatalf("replayed Commit = %d, %v; want 1 new", n, err)
	}
	// Without Replay a usage conflict makes Commit careful by itself:
	// its audit rows are then not doubled either.
	again := store.Batch{Hash: testHash, Usage: b.Usage[:3], Audit: []store.AuditRow{b.Audit[0], b.Audit[1], b.Audit[2]}}
	for i := range again.Audit {
		again.Audit[i].Seq = 0
	}
	if n, err := s.Commit(ctx, again); err != nil || n != 0 {
		t.Fatalf("Commit of stored records = %d, %v; want 0 new", n, err)
	}
	recs, err := s.Usage(ctx, store.UsageFilter{Limit: 1000})
	if err != nil || len(recs) != 41 {
		t.Fatalf("usage rows = %d, %v; want 41", len(recs), err)
	}
	rows, err := s.Audit(ctx, store.AuditFilter{Limit: 1000})
	if err != nil || len(rows) != 42 {
		t.Fatalf("audit rows = %d, %v; want 42", len(rows), err)
	}
	for i := range rows {
		prev := ""
		if i > 0 {
			prev = rows[i-1].Hash
		}
		if rows[i].Seq != int64(i+1) || rows[i].PrevHash != prev || rows[i].Hash != testHash(prev, &rows[i]) {
			t.Fatalf("chain broken at row %d: %+v", i, rows[i])
		}
	}
	tot, err := s.Totals(ctx, store.ScopeKey("k1"), store.AllTime, t0)
	if err != nil || len(tot) != 1 || tot[0].Requests != 41 || tot[0].SpentNanos != 41*60_000_000 {
		t.Fatalf("totals = %+v, %v; want 41 requests counted once", tot, err)
	}
	if _, err := s.Commit(ctx, store.Batch{Audit: b.Audit[:1]}); err == nil {
		t.Error("Commit took audit rows without a hash function")
	}
}
