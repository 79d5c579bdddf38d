// Package storetest is the behaviour every store.Store must show, run
// against both SQLite and PostgreSQL by their packages' tests.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Run runs the suite. open returns a fresh, migrated, empty store for each
// subtest and arranges its cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Migrate", testMigrate},
		{"UsageRoundTrip", testUsageRoundTrip},
		{"UsageReplayIsIdempotent", testUsageReplay},
		{"UsageReplayInLargeBatch", testUsageReplayLarge},
		{"UsageFilter", testUsageFilter},
		{"UsageSummary", testUsageSummary},
		{"UsageTags", testUsageTags},
		{"UsageTagFilter", testUsageTagFilter},
		{"SecondRollups", testSecondRollups},
		{"TagEdges", testTagEdges},
		{"Totals", testTotals},
		{"ConcurrentInsert", testConcurrentInsert},
		{"Audit", testAudit},
		{"AuditConcurrent", testAuditConcurrent},
		{"AuditBatch", testAuditBatch},
		{"Commit", testCommit},
		{"Year", testYear},
		{"PeriodAcrossPrune", testPeriodAcrossPrune},
		{"AttrRollups", testAttrRollups},
		{"AttrUsersOff", testAttrUsersOff},
		{"Keys", testKeys},
		{"Responses", testResponses},
		{"Shadow", testShadow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

var t0 = time.Date(2026, 7, 24, 23, 59, 58, 123456000, time.UTC) // a Friday

func rec(id string, attempt int, mod func(*store.UsageRecord)) store.UsageRecord {
	r := store.UsageRecord{
		Time: t0, RequestID: id, Attempt: attempt, KeyID: "k1", Team: "red", Model: "gpt-4",
		Provider: "openai", UpstreamModel: "gpt-4-0613", Hosting: "proprietary", Status: 200,
		LatencyMS: 812, InputTokens: 1000, OutputTokens: 500, CostNanos: 60_000_000,
	}
	if mod != nil {
		mod(&r)
	}
	return r
}

func insert(t *testing.T, s store.Store, recs ...store.UsageRecord) int {
	t.Helper()
	n, err := s.InsertUsage(context.Background(), recs)
	if err != nil {
		t.Fatalf("InsertUsage: %v", err)
	}
	return n
}

func testMigrate(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v; want >= 1", v, err)
	}
}

func testUsageRoundTrip(t *testing.T, s store.Store) {
	full := rec("req-full", 2, func(r *store.UsageRecord) {
		r.TTFTMS = 95
		r.CachedTokens = 200
		r.CacheWriteTokens = 100
		r.ReasoningTokens = 64
		r.ReferenceCostNanos = 7
		r.Estimated = true
		r.DataClasses = []string{"email", "iban"}
		r.PolicyAction = "redact"
		r.ErrorCode = "rate_limit_error"
		r.Status = 429
	})
	bare := rec("req-bare", 1, func(r *store.UsageRecord) { r.KeyID, r.Team = "", ""; r.Time = t0.Add(time.Second) })
	if n := insert(t, s, full, bare); n != 2 {
		t.Fatalf("inserted %d, want 2", n)
	}
	got, err := s.Usage(context.Background(), store.UsageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.UsageRecord{full, bare}, got); diff != "" {
		t.Errorf("Usage (-want +got):\n%s", diff)
	}
}

func testUsageReplay(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := rec("r1", 1, nil), rec("r1", 2, nil)
	if n := insert(t, s, a, b, a); n != 2 {
		t.Errorf("first insert: %d new, want 2 (the duplicate in the batch counts once)", n)
	}
	if n := insert(t, s, a, b, rec("r2", 1, nil)); n != 1 {
		t.Errorf("replay: %d new, want 1", n)
	}
	got, err := s.Usage(ctx, store.UsageFilter{})
	if err != nil || len(got) != 3 {
		t.Fatalf("Usage: %d rows, %v; want 3", len(got), err)
	}
	tot, err := s.Totals(ctx, store.ScopeKey("k1"), store.AllTime, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tot) != 1 || tot[0].SpentNanos != 3*60_000_000 || tot[0].Requests != 3 {
		t.Errorf("totals after replay = %+v, want 3 requests, $0.18", tot)
	}
}

// testUsageReplayLarge: stored rows in the middle of a batch larger than
// one INSERT statement are skipped, the others stored and counted once.
func testUsageReplayLarge(t *testing.T, s store.Store) {
	ctx := context.Background()
	var first, second []store.UsageRecord
	for i := range 40 {
		r := rec(fmt.Sprint("r", i), 1, func(r *store.UsageRecord) { r.Time = t0.Add(time.Duration(i) * time.Microsecond) })
		if i >= 15 && i < 25 {
			first = append(first, r)
		}
		second = append(second, r)
	}
	if n := insert(t, s, first...); n != 10 {
		t.Fatalf("first insert: %d new, want 10", n)
	}
	if n := insert(t, s, second...); n != 30 {
		t.Errorf("replay: %d new, want 30", n)
	}
	got, err := s.Usage(ctx, store.UsageFilter{})
	if err != nil || len(got) != 40 {
		t.Fatalf("Usage: %d rows, %v; want 40", len(got), err)
	}
	tot, err := s.Totals(ctx, store.ScopeKey("k1"), store.Daily, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tot) != 1 || tot[0].Requests != 40 || tot[0].SpentNanos != 40*60_000_000 {
		t.Errorf("totals = %+v, want 40 requests", tot)
	}
}

func testUsageFilter(t *testing.T, s store.Store) {
	insert(t, s,
		rec("a", 1, nil),
		rec("b", 1, func(r *store.UsageRecord) { r.KeyID = "k2"; r.Time = t0.Add(time.Hour) }),
		rec("c", 1, func(r *store.UsageRecord) {
			r.Provider = "gpu"
			r.Hosting = "self_hosted"
			r.Time = t0.Add(2 * time.Hour)
		}),
	)
	ids := func(f store.UsageFilter) []string {
		rs, err := s.Usage(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.RequestID)
		}
		return out
	}
	tests := []struct {
		name string
		f    store.UsageFilter
		want []string
	}{
		{"all", store.UsageFilter{}, []string{"a", "b", "c"}},
		{"key", store.UsageFilter{KeyID: "k2"}, []string{"b"}},
		{"hosting", store.UsageFilter{Hosting: "self_hosted"}, []string{"c"}},
		{"from inclusive", store.UsageFilter{From: t0.Add(time.Hour)}, []string{"b", "c"}},
		{"to exclusive", store.UsageFilter{To: t0.Add(time.Hour)}, []string{"a"}},
		{"limit", store.UsageFilter{Limit: 2}, []string{"a", "b"}},
		{"request", store.UsageFilter{RequestID: "c"}, []string{"c"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ids(tt.f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func testUsageSummary(t *testing.T, s store.Store) {
	insert(t, s,
		rec("a", 1, nil), // 2026-07-24
		rec("b", 1, func(r *store.UsageRecord) { r.Time = t0.Add(3 * time.Second); r.Estimated = true }), // 2026-07-25
		rec("c", 1, func(r *store.UsageRecord) {
			r.Model, r.Hosting, r.CostNanos, r.ReferenceCostNanos, r.Status = "llama", "self_hosted", 5, 9, 500
		}),
	)
	got, err := s.UsageSummary(context.Background(), store.UsageFilter{}, []store.GroupBy{store.ByDay, store.ByModel})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.UsageGroup{
		{Keys: []string{"2026-07-24", "gpt-4"}, Requests: 1, InputTokens: 1000, OutputTokens: 500, CostNanos: 60_000_000},
		{Keys: []string{"2026-07-24", "llama"}, Requests: 1, InputTokens: 1000, OutputTokens: 500, CostNanos: 5, ReferenceCostNanos: 9, Errors: 1},
		{Keys: []string{"2026-07-25", "gpt-4"}, Requests: 1, InputTokens: 1000, OutputTokens: 500, CostNanos: 60_000_000, Estimated: 1},
	}
	for i := range want { // each attempt took 812 ms: the 500 ms-1 s bucket
		want[i].LatencyMSSum, want[i].Latency[4] = 812, 1
		want[i].P50MS, want[i].P95MS, want[i].P99MS = 1000, 1000, 1000
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("by day, model (-want +got):\n%s", diff)
	}
	got, err = s.UsageSummary(context.Background(), store.UsageFilter{Hosting: "proprietary"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Requests != 2 || got[0].CostNanos != 120_000_000 || len(got[0].Keys) != 0 {
		t.Errorf("ungrouped = %+v, want 2 requests, 120000000 nanos", got)
	}
}

func testTotals(t *testing.T, s store.Store) {
	ctx := context.Background()
	insert(t, s,
		rec("a", 1, nil), // Friday 2026-07-24
		rec("b", 1, func(r *store.UsageRecord) { r.Time = t0.Add(3 * time.Second) }), // Saturday, same week
		rec("c", 1, func(r *store.UsageRecord) { r.Hosting, r.CostNanos = "self_hosted", 11 }),
		rec("d", 1, func(r *store.UsageRecord) { r.KeyID = "k2" }),
	)
	type sum struct {
		Hosting         string
		Spent, Requests int64
	}
	tests := []struct {
		scope  string
		period store.Period
		at     time.Time
		want   []sum
	}{
		{store.ScopeKey("k1"), store.Daily, t0, []sum{{"proprietary", 60_000_000, 1}, {"self_hosted", 11, 1}}},
		{store.ScopeKey("k1"), store.Daily, t0.Add(time.Hour), []sum{{"proprietary", 60_000_000, 1}}},
		{store.ScopeKey("k1"), store.Weekly, t0, []sum{{"proprietary", 120_000_000, 2}, {"self_hosted", 11, 1}}},
		{store.ScopeKey("k1"), store.Monthly, t0, []sum{{"proprietary", 120_000_000, 2}, {"self_hosted", 11, 1}}},
		{store.ScopeKey("k1"), store.Monthly, t0.AddDate(0, 1, 0), nil},
		{store.ScopeKey("k1"), store.AllTime, t0, []sum{{"proprietary", 120_000_000, 2}, {"self_hosted", 11, 1}}},
		{store.ScopeTeam("red"), store.AllTime, t0, []sum{{"proprietary", 180_000_000, 3}, {"self_hosted", 11, 1}}},
		{store.ScopeKey("nobody"), store.AllTime, t0, nil},
	}
	for _, tt := range tests {
		ts, err := s.Totals(ctx, tt.scope, tt.period, tt.at)
		if err != nil {
			t.Fatal(err)
		}
		var got []sum
		for _, x := range ts {
			got = append(got, sum{x.Hosting, x.SpentNanos, x.Requests})
			if x.Tokens != 1500*x.Requests {
				t.Errorf("%s %s: tokens %d, want %d", tt.scope, tt.period, x.Tokens, 1500*x.Requests)
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s %s at %s (-want +got):\n%s", tt.scope, tt.period, tt.at, diff)
		}
	}
}

func testConcurrentInsert(t *testing.T, s store.Store) {
	const workers, batches, per = 4, 5, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var recs []store.UsageRecord
				for i := range per {
					recs = append(recs, rec(fmt.Sprintf("w%d-b%d-%d", w, b, i), 1, func(r *store.UsageRecord) { r.CostNanos = 7 }))
				}
				if _, err := s.InsertUsage(context.Background(), recs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ts, err := s.Totals(context.Background(), store.ScopeTeam("red"), store.AllTime, t0)
	if err != nil {
		t.Fatal(err)
	}
	const n = workers * batches * per
	if len(ts) != 1 || ts[0].Requests != n || ts[0].SpentNanos != 7*n {
		t.Errorf("totals = %+v, want %d requests costing %d", ts, n, 7*n)
	}
}

// testHash stands in for policy.ChainHash: a fixed-size hash of the
// previous one, the sequence number and the request id. It was once the
// readable "h(prev|seq|id)", which nests the whole chain in every hash: a
// year of audit rows (testYear) then stored hundreds of megabytes of hash
// text, and that, not the records, was most of the store suites' time.
func testHash(prev string, r *store.AuditRow) string {
	h := sha256.Sum256([]byte(prev + "|" + strconv.FormatInt(r.Seq, 10) + "|" + r.RequestID))
	return hex.EncodeToString(h[:])
}

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	rows := []store.AuditRow{
		{Time: t0, RequestID: "r1", KeyID: "k1", Classes: []string{"email"}, Action: "redact",
			Candidates: []string{"gpt-4o", "llama"}, Chosen: "gpt-4o", ChosenHosting: "proprietary", Outcome: "ok"},
		{Time: t0.Add(time.Second), RequestID: "r2", KeyID: "k2", Classes: []string{"iban", "national_id", "phone:3"}, Action: "self_hosted_only",
			Chosen: "llama", ChosenHosting: "self_hosted", Outcome: "ok"},
		{Time: t0.Add(2 * time.Second), RequestID: "r3", KeyID: "k1", Action: "allow", Outcome: "ok"},
	}
	for i := range rows {
		if err := s.AppendAudit(ctx, &rows[i], testHash); err != nil {
			t.Fatal(err)
		}
	}
	if rows[0].Seq != 1 || rows[0].PrevHash != "" || rows[2].Seq != 3 || rows[2].PrevHash != rows[1].Hash {
		t.Fatalf("assigned seq/prev wrong: %+v", rows)
	}
	tests := []struct {
		name string
		f    store.AuditFilter
		want []store.AuditRow
	}{
		{"all", store.AuditFilter{}, rows},
		{"key", store.AuditFilter{KeyID: "k1"}, []store.AuditRow{rows[0], rows[2]}},
		{"class", store.AuditFilter{Class: "iban"}, rows[1:2]},
		{"class is a whole element", store.AuditFilter{Class: "ema"}, nil},
		{"class with a count", store.AuditFilter{Class: "phone"}, rows[1:2]},
		{"action", store.AuditFilter{Action: "allow"}, rows[2:]},
		{"time", store.AuditFilter{From: t0.Add(time.Second), To: t0.Add(2 * time.Second)}, rows[1:2]},
		{"after seq", store.AuditFilter{AfterSeq: 1, Limit: 1}, rows[1:2]},
	}
	for _, tt := range tests {
		got, err := s.Audit(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func testAuditConcurrent(t *testing.T, s store.Store) {
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := store.AuditRow{Time: t0, RequestID: fmt.Sprint("r", i), Action: "allow"}
			if err := s.AppendAudit(context.Background(), &r, testHash); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := s.Audit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	prev := ""
	for i, r := range got {
		if r.Seq != int64(i+1) || r.PrevHash != prev || r.Hash != testHash(prev, &r) {
			t.Fatalf("row %d breaks the chain: %+v (prev %q)", i, r, prev)
		}
		prev = r.Hash
	}
}

func testKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	exp := t0.Add(24 * time.Hour)
	k := store.Key{ID: "k1", Name: "ci", Team: "red", SecretHash: "aa11", Prefix: "fk-3f9a", Models: []string{"gpt-4o", "smart"},
		BudgetNanos: 5_000_000_000, Period: store.Monthly, RPM: 60, TPM: 100000, Created: t0, ExpiresAt: &exp}
	if err := s.CreateKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	for _, dup := range []store.Key{{ID: "k1", Name: "other", SecretHash: "b", Created: t0}, {ID: "k9", Name: "ci", SecretHash: "c", Created: t0}} {
		if err := s.CreateKey(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateKey(%s/%s) = %v, want ErrConflict", dup.ID, dup.Name, err)
		}
	}
	got, err := s.KeyByHash(ctx, "aa11")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k, *got); diff != "" {
		t.Errorf("KeyByHash (-want +got):\n%s", diff)
	}
	if _, err := s.Key(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Key(nope) = %v, want ErrNotFound", err)
	}
	if err := s.RotateKey(ctx, "k1", "bb22", "fk-77aa"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeyByHash(ctx, "aa11"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old secret still found after rotate: %v", err)
	}
	rev := t0.Add(time.Hour)
	if err := s.RevokeKey(ctx, "k1", rev); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, "nope", rev); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeKey(nope) = %v, want ErrNotFound", err)
	}
	k2 := store.Key{ID: "k2", Name: "batch", SecretHash: "cc33", Prefix: "fk-cc", Created: t0.Add(time.Minute)}
	if err := s.CreateKey(ctx, &k2); err != nil {
		t.Fatal(err)
	}
	all, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k.SecretHash, k.Prefix, k.RevokedAt = "bb22", "fk-77aa", &rev
	if diff := cmp.Diff([]store.Key{k, k2}, all); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
	if all[0].Active(rev) || !all[0].Active(t0) || !all[1].Active(t0.Add(1000*time.Hour)) {
		t.Error("Active() wrong")
	}
}

// testAuditBatch: a batch continues the chain after single appends, and
// concurrent batches never share a seq.
func testAuditBatch(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := store.AuditRow{Time: t0, RequestID: "single", Action: "allow"}
	if err := s.AppendAudit(ctx, &first, testHash); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for b := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows := make([]store.AuditRow, 25)
			for i := range rows {
				rows[i] = store.AuditRow{Time: t0, RequestID: fmt.Sprintf("b%d-%d", b, i), Action: "none", Classes: []string{"email:1"}}
			}
			if err := s.AppendAuditBatch(ctx, rows, testHash); err != nil {
				t.Error(err)
				return
			}
			for i := 1; i < len(rows); i++ {
				if rows[i].Seq != rows[i-1].Seq+1 || rows[i].PrevHash != rows[i-1].Hash {
					t.Errorf("batch rows not filled in order: %+v", rows[i])
				}
			}
		}()
	}
	wg.Wait()
	got, err := s.Audit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 101 {
		t.Fatalf("%d rows, want 101", len(got))
	}
	prev := ""
	for i, r := range got {
		if r.Seq != int64(i+1) || r.PrevHash != prev || r.Hash != testHash(prev, &r) {
			t.Fatalf("row %d breaks the chain: %+v", i, r)
		}
		prev = r.Hash
	}
}
