package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Upgrade checks that a store holding usage rows under the first schema
// keeps them through the later migrations, totals included, and still
// skips a replay of them. s must be opened and not migrated; db is its
// database and ms its migrations.
func Upgrade(t *testing.T, s store.Store, db *sql.DB, ms []store.Migration) {
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, ms[0].SQL); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO schema_migrations (version, name, applied_us) VALUES (%d, '%s', 0)`,
		ms[0].Version, ms[0].Name)); err != nil {
		t.Fatal(err)
	}
	old := []store.UsageRecord{
		rec("a", 1, nil),
		rec("b", 1, func(r *store.UsageRecord) { r.KeyID = "" }),
		rec("a", 2, func(r *store.UsageRecord) { r.Time = t0.Add(time.Second); r.DataClasses = []string{"email"} }),
	}
	// The rows as the first schema's code stored them: usage rows and
	// their running totals (team red: three requests, all time).
	for i := range old {
		r := &old[i]
		cls := "[]"
		if len(r.DataClasses) > 0 {
			cls = `["` + r.DataClasses[0] + `"]`
		}
		q := fmt.Sprintf(`INSERT INTO usage (ts, request_id, attempt, key_id, team, model, provider, upstream_model, hosting,
			status, latency_ms, input_tokens, output_tokens, cost_nanos, data_classes) VALUES
			(%d, '%s', %d, '%s', '%s', '%s', '%s', '%s', '%s', %d, %d, %d, %d, %d, '%s')`,
			r.Time.UnixMicro(), r.RequestID, r.Attempt, r.KeyID, r.Team, r.Model, r.Provider, r.UpstreamModel, r.Hosting,
			r.Status, r.LatencyMS, r.InputTokens, r.OutputTokens, r.CostNanos, cls)
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO totals (scope, period, period_start, hosting, spent_nanos, tokens, requests)
		VALUES ('team:red', 'total', 0, 'proprietary', 180000000, 4500, 3)`); err != nil {
		t.Fatal(err)
	}
	// Two audit rows, chained as the first schema's code did: the head
	// migration starts the head table from them.
	prev := ""
	for i, id := range []string{"a", "b"} {
		r := store.AuditRow{Seq: int64(i + 1), Time: t0, RequestID: id, Classes: []string{}, Action: "allow",
			Candidates: []string{}, PrevHash: prev}
		r.Hash = audit.Hash(prev, &r)
		prev = r.Hash
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO audit (seq, ts, request_id, key_id, classes, action,
			candidates, chosen, chosen_hosting, outcome, prev_hash, hash) VALUES (%d, %d, '%s', '', '[]', 'allow', '[]', '', '', '', '%s', '%s')`,
			r.Seq, r.Time.UnixMicro(), r.RequestID, r.PrevHash, r.Hash)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from version %d: %v", ms[0].Version, err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != ms[len(ms)-1].Version {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, ms[len(ms)-1].Version)
	}
	got, err := s.Usage(ctx, store.UsageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(old, got); diff != "" {
		t.Errorf("usage after the migrations (-want +got):\n%s", diff)
	}
	if n := insert(t, s, append(old, rec("c", 1, nil))...); n != 1 {
		t.Errorf("replay after the migrations: %d new, want 1", n)
	}
	tot, err := s.Totals(ctx, store.ScopeTeam("red"), store.AllTime, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tot) != 1 || tot[0].Requests != 4 {
		t.Errorf("team totals = %+v, want 4 requests", tot)
	}
	next := store.AuditRow{Time: t0, RequestID: "c", Action: "allow"}
	if err := s.AppendAudit(ctx, &next, audit.Hash); err != nil {
		t.Fatal(err)
	}
	if res, err := audit.Verify(ctx, s); err != nil || res.Rows != 3 || next.Seq != 3 {
		t.Errorf("audit after the migrations: verify %d rows, %v; appended seq %d; want 3 rows, seq 3", res.Rows, err, next.Seq)
	}
	// The second and minute rollups carry tags from the migration on: a
	// store that had rows has the mark saying so.
	var mark int64
	if err := db.QueryRowContext(ctx, `SELECT before_us FROM retention_marks WHERE kind = 'rollup_tags'`).Scan(&mark); err != nil || mark <= 0 {
		t.Errorf("rollup_tags mark = %d, %v; want the migration's time", mark, err)
	}
	// The rollups were filled from the rows stored before them.
	if _, err := db.ExecContext(ctx, `DELETE FROM usage`); err != nil {
		t.Fatal(err)
	}
	sum, err := s.UsageSummary(ctx, store.UsageFilter{}, nil)
	if err != nil || len(sum) != 1 || sum[0].Requests != 4 || sum[0].CostNanos != 4*60_000_000 {
		t.Errorf("summary from rollups = %+v, %v; want 4 requests, $0.24", sum, err)
	}
}
