package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/storetest"
)

var pnow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func date(d int, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), storetest.PostgresURL(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetNow(func() time.Time { return pnow })
	return s
}

// gen makes n attempts spread over [from, to), in time order.
func gen(r *rand.Rand, prefix string, n int, from, to time.Time) []store.UsageRecord {
	out := make([]store.UsageRecord, n)
	span := to.Sub(from)
	for i := range out {
		status := 200
		if r.IntN(20) == 0 {
			status = 500
		}
		out[i] = store.UsageRecord{
			Time:      from.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Microsecond),
			RequestID: fmt.Sprintf("%s-%d", prefix, i), Attempt: 1,
			KeyID: []string{"k1", "k2", "k3"}[r.IntN(3)], Team: []string{"red", "blue"}[r.IntN(2)],
			Model: []string{"m-a", "m-b"}[r.IntN(2)], Provider: "p", UpstreamModel: "u", Hosting: "proprietary",
			Status: status, LatencyMS: r.Int64N(3000), InputTokens: r.Int64N(5000), OutputTokens: r.Int64N(900),
			CostNanos: r.Int64N(9_000_000), PolicyAction: "allow",
		}
	}
	slices.SortFunc(out, func(a, b store.UsageRecord) int { return a.Time.Compare(b.Time) })
	return out
}

func auditRow(r *store.UsageRecord) store.AuditRow {
	return store.AuditRow{Time: r.Time, RequestID: r.RequestID, KeyID: r.KeyID, Action: "allow",
		Chosen: r.Provider, ChosenHosting: r.Hosting, Outcome: "ok"}
}

// commit stores recs with an audit row each, in batches of 100.
func commit(t *testing.T, s store.Store, recs []store.UsageRecord) {
	t.Helper()
	for i := 0; i < len(recs); i += 100 {
		b := store.Batch{Usage: recs[i:min(i+100, len(recs))], Hash: audit.Hash}
		for j := range b.Usage {
			b.Audit = append(b.Audit, auditRow(&b.Usage[j]))
		}
		if _, err := s.Commit(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
}

func names(t *testing.T, s *Store, table string) []string {
	t.Helper()
	ok, ps, err := partitions(context.Background(), s.SQL(), table)
	if err != nil || !ok {
		t.Fatalf("partitions(%s) = %v, %v", table, ok, err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.name)
	}
	return out
}

func count(t *testing.T, s *Store, q string) int64 {
	t.Helper()
	var n int64
	if err := s.SQL().QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// sums is the summary of recs by model, computed here.
func sums(recs []store.UsageRecord, from, to time.Time) []store.UsageGroup {
	m := map[string]*store.UsageGroup{}
	for i := range recs {
		r := &recs[i]
		if r.Time.Before(from) || !r.Time.Before(to) {
			continue
		}
		g := m[r.Model]
		if g == nil {
			g = &store.UsageGroup{Keys: []string{r.Model}}
			m[r.Model] = g
		}
		one := store.UsageGroup{Requests: 1, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens,
			CostNanos: r.CostNanos, LatencyMSSum: r.LatencyMS}
		if r.Status >= 400 {
			one.Errors = 1
		}
		one.Latency[store.LatencyBucket(r.LatencyMS)] = 1
		g.Add(&one)
	}
	var out []store.UsageGroup
	for _, g := range m {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Keys[0] < out[j].Keys[0] })
	return out
}

func checkSummary(t *testing.T, s store.Store, what string, f store.UsageFilter, want []store.UsageGroup) {
	t.Helper()
	got, err := s.UsageSummary(context.Background(), f, []store.GroupBy{store.ByModel})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b [store.LatencyBuckets]int64) bool { return a == b })); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func verify(t *testing.T, s store.Store) audit.Result {
	t.Helper()
	res, err := audit.Verify(context.Background(), s)
	if err != nil {
		t.Fatalf("audit verify: %v (bad row %+v)", err, res.Bad)
	}
	return res
}

// TestPartitions: a new store's usage and audit tables are partitioned by
// day, with partitions ready ahead; rows that landed in the default
// partition move into the day partitions created for them; pruning drops
// whole partitions (and deletes rows only at the partial edge), the audit
// chain verifies from its checkpoint, and rollups keep the totals.
func TestPartitions(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var want []string
	for d := 9; d <= 13; d++ {
		want = append(want, fmt.Sprintf("usage_p202603%02d", d))
	}
	if got := names(t, s, "usage"); !cmp.Equal(got, append(want, "usage_default")) {
		t.Fatalf("usage partitions after Migrate = %v, want %v + default", got, want)
	}

	// Ten days of attempts, the first eight before any partition: they
	// land in the default partition.
	r := rand.New(rand.NewPCG(1, 2))
	recs := gen(r, "r", 2000, date(1, 0), date(10, 12))
	// An audit row whose time is out of seq order: 2 March, written
	// after rows of 3 March.
	late := recs[slices.IndexFunc(recs, func(u store.UsageRecord) bool { return !u.Time.Before(date(3, 6)) })]
	late.RequestID, late.Time = "late", date(2, 23).Add(30*time.Minute)
	i3 := slices.IndexFunc(recs, func(u store.UsageRecord) bool { return !u.Time.Before(date(3, 6)) })
	recs = slices.Insert(recs, i3, late)
	commit(t, s, recs)
	total := int64(len(recs))
	if n := count(t, s, `SELECT count(*) FROM usage_default`); n == 0 {
		t.Fatal("no rows in usage_default before the old days had partitions")
	}
	n, err := s.EnsurePartitions(ctx, date(1, 0), date(9, 0))
	if err != nil || n != 16 {
		t.Fatalf("EnsurePartitions = %d, %v; want 16 (8 days, 2 tables)", n, err)
	}
	for _, q := range []string{`SELECT count(*) FROM usage_default`, `SELECT count(*) FROM audit_default`} {
		if n := count(t, s, q); n != 0 {
			t.Errorf("%s = %d after the day partitions were made, want 0", q, n)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM usage`); n != total {
		t.Fatalf("usage rows = %d, want %d", n, total)
	}
	if n := count(t, s, `SELECT count(*) FROM usage_p20260303`); n == 0 {
		t.Fatal("usage_p20260303 is empty")
	}
	// A time range reads only its partitions (the summaries' raw edges,
	// the dashboard's last 24 hours).
	rows, err := s.SQL().Query(`EXPLAIN SELECT count(*) FROM usage WHERE ts >= $1 AND ts < $2`,
		date(3, 10).UnixMicro(), date(3, 11).UnixMicro())
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		rows.Scan(&line)
		plan = append(plan, line)
	}
	rows.Close()
	if p := strings.Join(plan, "\n"); !strings.Contains(p, "usage_p20260303") || strings.Contains(p, "usage_p20260304") ||
		strings.Contains(p, "usage_default") {
		t.Errorf("plan of an hour's range reads other partitions than 3 March's:\n%s", p)
	}
	all := store.UsageFilter{From: date(1, 0), To: date(11, 0)}
	checkSummary(t, s, "rollups before pruning", all, sums(recs, all.From, all.To))
	raw := all
	raw.Raw = true
	checkSummary(t, s, "raw rows before pruning", raw, sums(recs, all.From, all.To))

	// Usage before 5 March: four partitions go, no row delete needed.
	before := func(ts time.Time) (n int64) {
		for _, u := range recs {
			if u.Time.Before(ts) {
				n++
			}
		}
		return n
	}
	got, err := s.Prune(ctx, store.KindUsage, date(5, 0), 100, false)
	if err != nil || got != before(date(5, 0)) {
		t.Fatalf("Prune(usage, 5 March) = %d, %v; want %d", got, err, before(date(5, 0)))
	}
	if ns := names(t, s, "usage"); ns[0] != "usage_p20260305" {
		t.Errorf("usage partitions after pruning = %v, want the first to be 5 March", ns)
	}
	// 6 March 07:30: 5 March's partition goes, 6 March's rows before
	// 07:00 (usage is pruned whole hours) are deleted, the partition stays.
	got, err = s.Prune(ctx, store.KindUsage, date(6, 7).Add(30*time.Minute), 10000, false)
	if want := before(date(6, 7)) - before(date(5, 0)); err != nil || got != want {
		t.Fatalf("Prune(usage, 6 March 07:30) = %d, %v; want %d", got, err, want)
	}
	if ns := names(t, s, "usage"); ns[0] != "usage_p20260306" {
		t.Errorf("usage partitions after pruning = %v, want the first to be 6 March", ns)
	}
	if n, want := count(t, s, `SELECT count(*) FROM usage`), total-before(date(6, 7)); n != want {
		t.Errorf("usage rows after pruning = %d, want %d", n, want)
	}
	checkSummary(t, s, "rollups after pruning", all, sums(recs, all.From, all.To))

	// Audit before 3 March 12:00: 1 and 2 March's partitions go, the late
	// row with them, and so do the rows of 3 March seq'd before it (row
	// deletes), then the rest of 3 March's morning (the partial edge).
	got, err = s.Prune(ctx, store.KindAudit, date(3, 12), 1000, false)
	if want := before(date(3, 12)); err != nil || got != want {
		t.Fatalf("Prune(audit, 3 March 12:00) = %d, %v; want %d", got, err, want)
	}
	if ns := names(t, s, "audit"); ns[0] != "audit_p20260303" {
		t.Errorf("audit partitions after pruning = %v, want the first to be 3 March", ns)
	}
	if res := verify(t, s); res.Checkpoint == nil || res.Checkpoint.Seq != before(date(3, 12)) {
		t.Errorf("after pruning audit: checkpoint %+v, want seq %d", res.Checkpoint, before(date(3, 12)))
	}
	// Then before 4 March: 3 March's partition goes.
	got, err = s.Prune(ctx, store.KindAudit, date(4, 0), 1000, false)
	if want := before(date(4, 0)) - before(date(3, 12)); err != nil || got != want {
		t.Fatalf("Prune(audit, 4 March) = %d, %v; want %d", got, err, want)
	}
	if ns := names(t, s, "audit"); ns[0] != "audit_p20260304" {
		t.Errorf("audit partitions after pruning = %v, want the first to be 4 March", ns)
	}
	res := verify(t, s)
	if res.Checkpoint == nil || res.Checkpoint.Seq != before(date(4, 0)) || int64(res.Rows) != total-before(date(4, 0)) {
		t.Errorf("after pruning audit: checkpoint %+v, %d rows; want seq %d, %d rows", res.Checkpoint, res.Rows,
			before(date(4, 0)), total-before(date(4, 0)))
	}

	// A row out of order the other way (seq early, time after the cut)
	// stops the prefix: nothing after it goes.
	commit(t, s, gen(r, "more", 50, date(10, 0), date(10, 12)))
	total += 50
	if _, err := s.SQL().Exec(`UPDATE audit SET ts = $1 WHERE seq = $2`, date(10, 1).UnixMicro(), res.Checkpoint.Seq+1); err != nil {
		t.Fatal(err)
	}
	got, err = s.Prune(ctx, store.KindAudit, date(7, 0), 1000, false)
	if err != nil || got != 0 {
		t.Fatalf("Prune(audit) behind a row of 10 March = %d, %v; want 0", got, err)
	}
	if ns := names(t, s, "audit"); ns[0] != "audit_p20260304" {
		t.Errorf("audit partitions = %v, want 4 March's kept", ns)
	}
	var auditRows int64
	if err := s.SQL().QueryRow(`SELECT count(*) FROM audit`).Scan(&auditRows); err != nil || auditRows != total-before(date(4, 0)) {
		t.Errorf("audit rows after the refused prune = %d, %v; want %d (none pruned)", auditRows, err, total-before(date(4, 0)))
	}
}

// oldStore opens a store as one created before migration 0005 would be
// (usage and audit unpartitioned) holding recs, then migrates it with
// the thresholds lowered so that its tables are left to the online
// conversion (restored when the test ends).
func oldStore(t *testing.T, recs []store.UsageRecord) *Store {
	t.Helper()
	s := openStore(t)
	db := s.SQL()
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:4] {
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES ($1, $2, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	// The rows are written by today's code, which writes the tags columns
	// of migration 0008 (added IF NOT EXISTS there), the audit head of
	// 0009, the attribution rollups of 0012 (dropped again, so that
	// 0009 and 0012 start them from the rows) and the rollups' tags of
	// 0013 (which takes the column as it finds it).
	if _, err := db.Exec(`ALTER TABLE usage ADD COLUMN tags TEXT NOT NULL DEFAULT '', ADD COLUMN end_user TEXT NOT NULL DEFAULT '';
		CREATE TABLE audit_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version == 12 || m.Version == 13 {
			if _, err := db.Exec(m.SQL); err != nil {
				t.Fatal(err)
			}
		}
	}
	commit(t, s, recs)
	if _, err := db.Exec(`DROP TABLE audit_head; DROP TABLE usage_rollup_attr; DROP TABLE rollup_end_users`); err != nil {
		t.Fatal(err)
	}
	n, b := convertAtMigrate, ConvertBatch
	t.Cleanup(func() { convertAtMigrate, ConvertBatch = n, b })
	convertAtMigrate, ConvertBatch = 100, 400
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConvert: a store created before migration 0005 holds rows; they are
// copied into the partitioned tables in batches while writes go on, rows
// pruned meanwhile stay pruned, and after the swap every row is there, the
// audit chain verifies, rollups equal raw totals, and writes go on.
func TestConvert(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	recs := gen(r, "old", 3000, date(7, 0), date(10, 10))
	s := oldStore(t, recs) // large enough to be left to upkeep
	db := s.SQL()
	if ok, _, _ := partitions(ctx, db, "usage"); ok {
		t.Fatal("usage is partitioned right after Migrate; want it left for the online conversion")
	}
	// Copy some, then prune the old tables, as the retention loop would.
	for _, c := range conversions {
		if err := s.prepare(ctx, c, c.table+"_part"); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := s.copyBatch(ctx, conversions[0], "usage_part"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.copyBatch(ctx, conversions[1], "audit_part"); err != nil {
			t.Fatal(err)
		}
	}
	cut := date(8, 0)
	if _, err := s.Prune(ctx, store.KindUsage, cut, 100000, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(ctx, store.KindAudit, cut, 100000, false); err != nil {
		t.Fatal(err)
	}

	// Writes go on during the conversion.
	var wg sync.WaitGroup
	during := gen(r, "during", 1000, date(10, 10), date(10, 11))
	wg.Go(func() {
		for i := 0; i < len(during); i += 50 {
			b := store.Batch{Usage: during[i : i+50], Hash: audit.Hash}
			for j := range b.Usage {
				b.Audit = append(b.Audit, auditRow(&b.Usage[j]))
			}
			if _, err := s.Commit(ctx, b); err != nil {
				t.Error(err)
				return
			}
		}
	})
	swapped, err := s.Convert(ctx)
	wg.Wait()
	if err != nil || swapped != 2 {
		t.Fatalf("Convert = %d, %v; want 2 tables", swapped, err)
	}
	for _, tb := range []string{"usage", "audit"} {
		if ns := names(t, s, tb); !slices.Contains(ns, tb+"_p20260308") || ns[len(ns)-1] != tb+"_default" {
			t.Errorf("%s partitions after the conversion = %v", tb, ns)
		}
	}
	// After the swap: statements prepared on the old tables still work.
	after := gen(r, "after", 300, date(10, 11), date(10, 12))
	commit(t, s, after)

	var kept []store.UsageRecord
	for _, u := range slices.Concat(recs, during, after) {
		if !u.Time.Before(cut) {
			kept = append(kept, u)
		}
	}
	got, err := s.Usage(ctx, store.UsageFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	key := func(u store.UsageRecord) string { return fmt.Sprint(u.Time.UnixMicro(), u.RequestID, u.Attempt) }
	wantKeys, gotKeys := map[string]bool{}, map[string]bool{}
	for _, u := range kept {
		wantKeys[key(u)] = true
	}
	for _, u := range got {
		gotKeys[key(u)] = true
	}
	if len(got) != len(kept) || !cmp.Equal(wantKeys, gotKeys) {
		t.Errorf("usage after the conversion: %d rows, want %d (every row kept, none pruned)", len(got), len(kept))
	}
	if n := count(t, s, `SELECT count(*) - count(DISTINCT id) FROM usage`); n != 0 {
		t.Errorf("%d usage ids repeated after the swap", n)
	}
	res := verify(t, s)
	if res.Checkpoint == nil || res.Rows != len(kept) {
		t.Errorf("audit after the conversion: %d rows from checkpoint %+v, want %d", res.Rows, res.Checkpoint, len(kept))
	}
	everything := slices.Concat(recs, during, after)
	span := store.UsageFilter{From: date(7, 0), To: date(11, 0)}
	checkSummary(t, s, "rollups after the conversion", span, sums(everything, span.From, span.To))
	kspan := store.UsageFilter{From: cut, To: date(11, 0), Raw: true}
	checkSummary(t, s, "raw rows after the conversion", kspan, sums(everything, kspan.From, kspan.To))
	kspan.Raw = false
	checkSummary(t, s, "rollups over the kept rows", kspan, sums(everything, kspan.From, kspan.To))
	if ok, _ := pendingConversion(ctx, db, "usage"); ok {
		t.Error("conversion still pending")
	}

	// Every audit row pruned: the chain goes on from the checkpoint.
	if _, err := s.Prune(ctx, store.KindAudit, date(11, 0), 100000, false); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT count(*) FROM audit`); n != 0 {
		t.Fatalf("%d audit rows left after pruning them all", n)
	}
	commit(t, s, gen(r, "last", 10, date(11, 0), date(11, 1)))
	if res := verify(t, s); res.Rows != 10 {
		t.Errorf("audit after pruning every row and appending 10: %d rows", res.Rows)
	}
}

// TestConvertLateCommit: usage ids are handed out at insert, not at
// commit, so with two writers (two replicas) a row with a lower id can
// commit after a higher one was copied. The conversion must not lose it,
// nor a row an earlier version's copy moved past.
func TestConvertLateCommit(t *testing.T) {
	ctx := context.Background()
	s := oldStore(t, gen(rand.New(rand.NewPCG(5, 6)), "old", 1000, date(7, 0), date(10, 10)))
	db := s.SQL()

	// The state a conversion without the trigger leaves when a row
	// committed after the copy passed its id: every row up to the
	// progress mark copied but one.
	var skipped, mark int64
	if err := db.QueryRow(`SELECT min(id) + 10, min(id) + 300 FROM usage`).Scan(&skipped, &mark); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO usage_part (`+usageCopyCols+`) SELECT `+usageCopyCols+` FROM usage
		WHERE id <= $1 AND id <> $2`, mark, skipped); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE partition_conversion SET copied = $1 WHERE tbl = 'usage'`, mark); err != nil {
		t.Fatal(err)
	}

	// Two writers: the first takes an id and commits only after the
	// second, which took the next id, has committed and the conversion
	// has started.
	insert := `INSERT INTO usage (ts, request_id, attempt) VALUES ($1, $2, 0)`
	late, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Rollback()
	if _, err := late.Exec(insert, date(10, 10).UnixMicro(), "late"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(insert, date(10, 10).UnixMicro(), "early"); err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := s.Convert(ctx)
		done <- result{n, err}
	}()
	// Commit once the conversion waits for a lock on usage (held by the
	// open transaction), having copied what it could.
	deadline := time.Now().Add(10 * time.Second)
	for count(t, s, `SELECT count(*) FROM pg_locks WHERE relation = to_regclass('usage') AND NOT granted`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the conversion never waited for the open transaction")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil || res.n != 2 {
		t.Fatalf("Convert = %d, %v; want 2 tables", res.n, res.err)
	}
	if ok, _, _ := partitions(ctx, db, "usage"); !ok {
		t.Fatal("usage not partitioned after the conversion")
	}
	for _, q := range []struct{ what, where string }{
		{"the row committed late", `request_id = 'late'`},
		{"the row committed early", `request_id = 'early'`},
		{"the row an earlier copy moved past", fmt.Sprintf(`id = %d`, skipped)},
	} {
		if n := count(t, s, `SELECT count(*) FROM usage WHERE `+q.where); n != 1 {
			t.Errorf("%s: %d rows after the conversion, want 1", q.what, n)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM usage`); n != 1002 {
		t.Errorf("usage after the conversion: %d rows, want 1002", n)
	}
	if n := count(t, s, `SELECT count(*) - count(DISTINCT id) FROM usage`); n != 0 {
		t.Errorf("%d usage ids repeated after the swap", n)
	}
	if n := count(t, s, `SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE p.proname = 'fulcrum_usage_to_part' AND n.nspname = current_schema()`); n != 0 {
		t.Error("the conversion's trigger function is left after the swap")
	}
}

// TestUpkeepAnalyzesToday: a day partition nobody analyzed (autovacuum off,
// or not come round yet) was planned as if a range on ts took a third of
// it, so a summary's read of the last partial second scanned the whole day.
// Analyze (the gateway's minute loop; Upkeep runs it too) analyzes it; the
// same read then goes by the index.
func TestAnalyzeToday(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db := s.SQL()
	recs := gen(rand.New(rand.NewPCG(7, 8)), "today", 5000, date(10, 0), date(10, 11))
	commit(t, s, recs)
	part := partitionName("usage", pnow)
	deadline := time.Now().Add(10 * time.Second)
	for count(t, s, `SELECT n_live_tup FROM pg_stat_user_tables WHERE relid = to_regclass('`+part+`')`) < 5000 {
		if time.Now().After(deadline) {
			t.Fatal("the statistics collector never counted the rows")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT count(*) FROM pg_stat_user_tables WHERE relid = to_regclass('`+part+`') AND last_analyze IS NOT NULL`); n != 1 {
		t.Fatalf("%s not analyzed by Analyze", part)
	}
	last := recs[len(recs)-1].Time.Truncate(time.Second).UnixMicro()
	rows, err := db.Query(fmt.Sprintf(`EXPLAIN SELECT count(*) FROM usage WHERE ts >= %d`, last))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if p := strings.Join(lines, "\n"); strings.Contains(p, "Seq Scan on "+part) {
		t.Errorf("the last second's rows are read by scanning the day:\n%s", p)
	}
}
