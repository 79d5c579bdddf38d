package meter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openSQLite(t testing.TB, path string) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testRecord(i int) *Record {
	return &Record{
		Time:      time.Date(2026, 7, 24, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
		RequestID: fmt.Sprintf("req-%06d", i), Attempt: 1, KeyID: "k1", Team: "red", Model: "gpt-4",
		Provider: "openai", UpstreamModel: "gpt-4", Hosting: "proprietary", Status: 200, LatencyMS: 100,
		InputTokens: 1000, OutputTokens: 500, CostNanos: 60_000_000, DataClasses: []string{"email"},
	}
}

func allUsage(t testing.TB, s store.Store) map[string]bool {
	t.Helper()
	rs, err := s.Usage(context.Background(), store.UsageFilter{Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]bool, len(rs))
	for _, r := range rs {
		m[r.RequestID] = true
	}
	return m
}

func journalFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "journal-*.log"))
	return m
}

func TestRecorderCommitsInBatches(t *testing.T) {
	dir := t.TempDir()
	st := openSQLite(t, filepath.Join(dir, "f.db"))
	var mu sync.Mutex
	var sizes []int
	r, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: filepath.Join(dir, "journal"),
		BatchSize: 100, FlushInterval: 5 * time.Millisecond, SegmentBytes: 4096,
		OnBatch: func(n int, _ time.Duration, err error) {
			mu.Lock()
			sizes = append(sizes, n)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1050
	var wg sync.WaitGroup
	for w := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 5 {
				if err := r.Record(testRecord(i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(allUsage(t, st)); got != n {
		t.Errorf("%d records stored, want %d", got, n)
	}
	total := 0
	for _, s := range sizes {
		if s > 100 {
			t.Errorf("batch of %d > BatchSize", s)
		}
		total += s
	}
	if total != n || len(sizes) < n/100 {
		t.Errorf("batches %v: %d records in %d batches", sizes, total, len(sizes))
	}
	if f := journalFiles(t, filepath.Join(dir, "journal")); len(f) != 0 {
		t.Errorf("journal not cleaned after a full drain: %v", f)
	}
	if s := r.Stats(); s.Recorded != n || s.Committed != n || s.Pending != 0 {
		t.Errorf("stats %+v", s)
	}
	if err := r.Record(testRecord(0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close = %v", err)
	}
}

// stuckStore blocks Commit until released (or its ctx ends), failing
// the first fail calls.
type stuckStore struct {
	store.Store
	release chan struct{}
	fail    atomic.Int32
	calls   atomic.Int32
}

func (s *stuckStore) Commit(ctx context.Context, b store.Batch) (int, error) {
	s.calls.Add(1)
	if s.fail.Add(-1) >= 0 {
		return 0, errors.New("database is down")
	}
	select {
	case <-s.release:
		return s.Store.Commit(ctx, b)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func TestRecordNeverWaitsForTheDatabase(t *testing.T) {
	dir := t.TempDir()
	st := &stuckStore{Store: openSQLite(t, filepath.Join(dir, "f.db")), release: make(chan struct{})}
	st.fail.Store(2)
	r, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: filepath.Join(dir, "j"), FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 2000 {
		if err := r.Record(testRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("2000 Record calls took %s while the database hung", took)
	}
	if s := r.Stats(); s.Pending != 2000 {
		t.Errorf("pending %d while the database hangs, want 2000", s.Pending)
	}
	close(st.release) // the database comes back: everything is committed
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(allUsage(t, st.Store)); got != 2000 {
		t.Errorf("%d stored, want 2000", got)
	}
	if s := r.Stats(); s.Failures < 2 {
		t.Errorf("failures %d, want the 2 injected ones retried", s.Failures)
	}
}

func TestRecoverAfterAbandonedClose(t *testing.T) {
	dir := t.TempDir()
	jdir := filepath.Join(dir, "j")
	db := openSQLite(t, filepath.Join(dir, "f.db"))
	st := &stuckStore{Store: db, release: make(chan struct{})}
	r, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: jdir, SegmentBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := r.Record(testRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); err == nil {
		t.Fatal("Close succeeded with the database hung")
	}
	if len(journalFiles(t, jdir)) < 2 {
		t.Fatalf("want several segments left, got %v", journalFiles(t, jdir))
	}
	// A torn line at the end of the last segment: a record whose Record
	// call never returned. It is skipped, the rest recovered.
	files := journalFiles(t, jdir)
	f, err := os.OpenFile(files[len(files)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`0badc0de {"request_id":"torn","att`)
	f.Close()
	// One record was already committed before the crash: replay must not
	// store it or count it twice.
	if _, err := db.InsertUsage(context.Background(), []store.UsageRecord{*testRecord(7)}); err != nil {
		t.Fatal(err)
	}

	r2, err := NewRecorder(context.Background(), RecorderOptions{Store: db, Dir: jdir})
	if err != nil {
		t.Fatal(err)
	}
	if s := r2.Stats(); s.Recovered != 300 {
		t.Errorf("recovered %d, want 300", s.Recovered)
	}
	if err := r2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(allUsage(t, db)); got != 300 {
		t.Errorf("%d stored, want 300", got)
	}
	tot, err := db.Totals(context.Background(), store.ScopeKey("k1"), store.AllTime, time.Now())
	if err != nil || len(tot) != 1 || tot[0].Requests != 300 {
		t.Errorf("totals %+v, %v; want 300 requests (no double count)", tot, err)
	}
	if f := journalFiles(t, jdir); len(f) != 0 {
		t.Errorf("journal left after recovery: %v", f)
	}
}

func TestRecorderFsync(t *testing.T) {
	dir := t.TempDir()
	st := openSQLite(t, filepath.Join(dir, "f.db"))
	r, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: filepath.Join(dir, "j"), Fsync: true, SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 400; i += 8 {
				if err := r.Record(testRecord(i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(allUsage(t, st)); got != 400 {
		t.Errorf("%d stored, want 400", got)
	}
}

func TestJournalIsLocked(t *testing.T) {
	dir := t.TempDir()
	st := openSQLite(t, filepath.Join(dir, "f.db"))
	r, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: filepath.Join(dir, "j")})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	if _, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: filepath.Join(dir, "j")}); err == nil {
		t.Error("a second recorder opened the same journal")
	}
}

func TestParseLine(t *testing.T) {
	good := appendLine(nil, &entry{rec: *testRecord(1), hasRec: true})
	flipped := append([]byte{}, good...)
	flipped[20] ^= 1
	tests := []struct {
		name string
		line []byte
		ok   bool
	}{
		{"good", good, true},
		{"no newline", good[:len(good)-1], false},
		{"bit flip", flipped, false},
		{"short", []byte("abc\n"), false},
		{"bad hex", append([]byte("zzzzzzzz"), good[8:]...), false},
	}
	for _, tt := range tests {
		r, ok := parseLine(tt.line)
		if ok != tt.ok || (ok && (r.rec.RequestID != "req-000001" || !r.hasRec || r.hasRow)) {
			t.Errorf("%s: ok = %v, entry %+v", tt.name, ok, r)
		}
	}
}

// A usage record and its audit row are one line, read back as written;
// an audit row can stand alone.
func TestParseLineWithAudit(t *testing.T) {
	row := store.AuditRow{Time: time.Date(2026, 7, 24, 12, 0, 0, 1000, time.UTC), RequestID: "req-000001",
		KeyID: "k", Classes: []string{"email:1"}, Action: "redact", Chosen: "openai", ChosenHosting: "proprietary", Outcome: "200"}
	for _, e := range []entry{
		{rec: *testRecord(1), hasRec: true, row: row, hasRow: true},
		{row: row, hasRow: true},
	} {
		line := appendLine(nil, &e)
		got, ok := parseLine(line)
		if !ok {
			t.Fatalf("parseLine(%s) failed", line)
		}
		if got.hasRec != e.hasRec || !got.hasRow || got.row.RequestID != row.RequestID || !got.row.Time.Equal(row.Time) ||
			got.row.Chosen != "openai" || len(got.row.Classes) != 1 {
			t.Errorf("parseLine(%s) = %+v", line, got)
		}
		if e.hasRec && (got.rec.RequestID != e.rec.RequestID || got.rec.CostNanos != e.rec.CostNanos) {
			t.Errorf("usage part = %+v, want %+v", got.rec, e.rec)
		}
	}
}

func openChildStore(path string) (store.Store, error) {
	s, err := sqlite.Open(context.Background(), path, quiet())
	if err != nil {
		return nil, err
	}
	return s, s.Migrate(context.Background())
}

// TestRecordNeverWaitsForJournalFiles: removing a committed journal
// segment is file-system work (on a file system mounted with discard, a
// synchronous discard of its blocks; on any, a directory update) that the
// batcher does; a Record call must not wait for it. Removal is made to
// block here: records keep being journaled meanwhile, and once it is let
// go everything is committed and the journal is clean.
func TestRecordNeverWaitsForJournalFiles(t *testing.T) {
	dir := t.TempDir()
	st := openSQLite(t, filepath.Join(dir, "f.db"))
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	r, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: filepath.Join(dir, "journal"),
		FlushInterval: time.Millisecond, SegmentBytes: 4096,
		removeFile: func(name string) error {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
			return os.Remove(name)
		}})
	if err != nil {
		t.Fatal(err)
	}
	var recorded atomic.Int64
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := r.Record(testRecord(i)); err != nil {
				done <- err
				return
			}
			recorded.Add(1)
		}
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no journal segment was removed")
	}
	// A segment's removal is blocked: records go on being journaled.
	from, deadline := recorded.Load(), time.Now().Add(10*time.Second)
	for recorded.Load() < from+200 {
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("Record waited for a journal segment's removal (%d records in 10 s)", recorded.Load()-from)
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := len(allUsage(t, st)), int(recorded.Load()); got != want {
		t.Errorf("%d records stored, want %d", got, want)
	}
	if f := journalFiles(t, filepath.Join(dir, "journal")); len(f) != 0 {
		t.Errorf("journal not cleaned after a full drain: %v", f)
	}
}

// TestConcurrentRecordsShareAWrite: records that arrive while a journal
// write is under way are written together by one write(2) once it
// returns, and all of their callers are released by it, instead of each
// taking the recorder's lock in turn for a write of its own.
func TestConcurrentRecordsShareAWrite(t *testing.T) {
	dir := t.TempDir()
	st := openSQLite(t, filepath.Join(dir, "f.db"))
	var writes atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	r, err := NewRecorder(context.Background(), RecorderOptions{Store: st, Dir: filepath.Join(dir, "journal"),
		writeFile: func(f *os.File, b []byte) (int, error) {
			if writes.Add(1) == 1 {
				close(entered)
				<-release
			}
			return f.Write(b)
		}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	record := func(i int) {
		defer wg.Done()
		if err := r.Record(testRecord(i)); err != nil {
			t.Error(err)
		}
	}
	wg.Add(1)
	go record(0)
	<-entered
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go record(i)
	}
	for deadline := time.Now().Add(10 * time.Second); r.waitingLines() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records joined the next write", r.waitingLines(), n)
		}
	}
	close(release)
	wg.Wait()
	if got := writes.Load(); got != 2 {
		t.Errorf("%d records took %d journal writes, want 2 (the blocked one, then the rest together)", n+1, got)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(allUsage(t, st)); got != n+1 {
		t.Errorf("%d records stored, want %d", got, n+1)
	}
}

// waitingLines is how many lines wait for the next group write.
func (r *Recorder) waitingLines() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pendItems)
}
