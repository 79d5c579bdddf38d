package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
	insert(t, s, old...)
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
}
