// Package sqldb implements store.Store over database/sql for both SQLite and
// PostgreSQL. The schemas are kept alike on purpose (times as Unix
// microseconds, booleans as integers, lists as JSON text) so that one
// implementation, with a small Dialect, serves both.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Dialect is what differs between the databases.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Numbered is true when placeholders are $1, $2 (PostgreSQL) rather than ?.
	Numbered bool
	// DayExpr formats the ts column (Unix µs) as a UTC "YYYY-MM-DD".
	DayExpr string
	// TagExpr reads one key (the %s, a validated tag name) from the tags
	// column (a JSON object, or "" for none) as text, "" when absent.
	TagExpr string
	// Lock, when set, is run at the start of a transaction that must be
	// serialised with others (audit appends, migrations) with the lock id
	// as its one argument. SQLite needs none: its write transactions are
	// already exclusive (BEGIN IMMEDIATE).
	Lock string
	// Migrations are this database's schema changes.
	Migrations []store.Migration
	// CachesStatements is true when the driver prepares each query once
	// per connection by itself and keeps it (pgx's default
	// QueryExecModeCacheStatement): the write path then runs plain SQL
	// instead of statements prepared through database/sql (see stmt).
	CachesStatements bool
	// Arrays is true when a batch of rows is best sent as one array per
	// column through unnest (PostgreSQL): one statement whatever the
	// batch size, so one round trip and one cached plan.
	Arrays bool
	// IsConflict reports whether err is a unique-constraint violation.
	// Batches are first inserted with plain INSERTs; on a conflict (a
	// journal replay, a batch retried after its commit's reply was lost)
	// they are inserted again skipping the rows already stored. When nil,
	// any error is taken for a possible conflict.
	IsConflict func(error) bool
	// CheckpointEvery, when set (SQLite), is how often a goroutine of the
	// store copies the WAL's committed pages into the database file with
	// a PASSIVE checkpoint, which neither waits for a writer nor makes one
	// wait. The connections must then run with wal_autocheckpoint=0:
	// otherwise the commit that takes the WAL past 1,000 pages runs the
	// checkpoint itself, inside the recorder's commit, with its two
	// fsyncs (WAL, then database file).
	CheckpointEvery time.Duration
	// CheckpointDB, when set, is where the checkpointer runs: a handle of
	// its own on the same file, with one connection and a small page
	// cache, closed by Close. Taken from the store's pool, the checkpoint
	// needed a second connection whenever it ran beside a commit, and the
	// recorder's commits then alternated between the two (database/sql
	// hands out the connection freed last): each held its own page cache
	// and prepared batch statements, and each commit found the other's
	// writes had reset its cache (4 MB more anonymous memory at 32
	// connections, TestCheckpointerKeepsCommitsOnOneConnection).
	CheckpointDB *sql.DB
	// Partitions, when set, drops whole time partitions inside Prune's
	// transaction, before the row deletes that handle what is left (the
	// partial edge). Usage rows are then deleted by their unique key
	// (ts, request_id, attempt), not by id, which is not indexed.
	Partitions Partitions
}

// Partitions drops the partitions a prune removes entirely (PostgreSQL).
type Partitions interface {
	// DropUsage drops the usage partitions holding only rows before
	// before and returns how many it dropped and how many rows they held.
	DropUsage(ctx context.Context, tx *sql.Tx, before time.Time) (parts int, rows int64, err error)
	// DropAudit drops audit partitions that lie wholly in the chain's
	// prunable prefix: rows after the checkpoint seq after, up to the
	// first row not before before. Rows of that prefix kept in other
	// partitions (up to limit) are deleted too, so what goes is always a
	// prefix. It returns the last row removed (zero Rows when none) and is
	// called holding the audit lock. Empty partitions before before are
	// dropped too (counted in Parts).
	DropAudit(ctx context.Context, tx *sql.Tx, after int64, before time.Time, limit int) (AuditCut, error)
}

// AuditCut is the end of the prefix DropAudit removed: the last row
// removed, how many rows went and how many partitions were dropped.
type AuditCut struct {
	Seq, TS int64
	Hash    string
	Rows    int64
	Parts   int
}

// Lock ids for Dialect.Lock.
const (
	lockMigrate = 0x66756c6d // "fulm"
	lockAudit   = 0x66756c61 // "fula"
)

// DB is a store.Store over database/sql.
type DB struct {
	db  *sql.DB
	d   Dialect
	log *slog.Logger

	qTotals string
	clock   func() time.Time

	// secondsPruned is when (Unix µs, s.now) second rollups were last
	// pruned (see pruneSeconds).
	secondsPruned atomic.Int64

	// userCap is the attribution rollups' end users per day (0, the
	// default: they name none); users caches which they name (attr.go).
	userCap atomic.Int64
	users   endUsers

	// usageStmts are prepareUsage's statements, once prepared.
	usageStmts atomic.Pointer[usageStmts]

	stmtMu sync.Mutex // guards stmts
	stmts  map[string]*sql.Stmt

	// stopCkpt ends the checkpointer (Dialect.CheckpointEvery);
	// ckptDone is closed when it has.
	stopCkpt, ckptDone chan struct{}
	closeOnce          sync.Once
}

var _ store.Store = (*DB)(nil)

// New wraps an open database. It does not migrate.
func New(db *sql.DB, d Dialect, logger *slog.Logger) *DB {
	s := &DB{db: db, d: d, log: logger}
	s.qTotals = s.rebind(`SELECT scope, period, period_start, hosting, spent_nanos, tokens, requests
		FROM totals WHERE scope = ? AND period = ? AND period_start = ? ORDER BY hosting`)
	if d.CheckpointEvery > 0 {
		s.stopCkpt, s.ckptDone = make(chan struct{}), make(chan struct{})
		go s.checkpointer(d.CheckpointEvery)
	}
	return s
}

// checkpointer runs Checkpoint every interval until Close.
func (s *DB) checkpointer(every time.Duration) {
	defer close(s.ckptDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopCkpt:
			return
		case <-t.C:
		}
		if err := s.Checkpoint(context.Background()); err != nil {
			s.log.Warn("WAL checkpoint failed; will retry", "err", err)
		}
	}
}

// Checkpoint copies the WAL's committed pages into the database file
// (SQLite; PASSIVE: as far as readers allow, without waiting for or
// blocking the writer). Once every page is copied, the next write
// transaction starts the WAL over from its beginning, so the WAL stays
// about the size of what is written between two checkpoints.
func (s *DB) Checkpoint(ctx context.Context) error {
	if s.d.Name != "sqlite" {
		return nil
	}
	db := s.db
	if s.d.CheckpointDB != nil {
		db = s.d.CheckpointDB
	}
	rows, err := db.QueryContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
	if err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	for rows.Next() {
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	return nil
}

// SQL returns the underlying database, for tests and tools.
func (s *DB) SQL() *sql.DB { return s.db }

// Close closes the database.
func (s *DB) Close() error {
	if s.stopCkpt != nil {
		s.closeOnce.Do(func() { close(s.stopCkpt) })
		<-s.ckptDone
	}
	s.stmtMu.Lock()
	for q, st := range s.stmts {
		st.Close()
		delete(s.stmts, q)
	}
	s.stmtMu.Unlock()
	if s.d.CheckpointDB != nil {
		s.d.CheckpointDB.Close()
	}
	return s.db.Close()
}

// rebind turns ? placeholders into $n for PostgreSQL. Queries here never
// contain a literal '?'.
func (s *DB) rebind(q string) string {
	if !s.d.Numbered || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (s *DB) lock(ctx context.Context, tx *sql.Tx, id int64) error {
	if s.d.Lock == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.d.Lock, id); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}

// Migrate applies pending migrations, each in its own transaction, under a
// lock so that replicas starting together apply each one once.
func (s *DB) Migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, m := range s.d.Migrations {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("store: migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

func (s *DB) apply(ctx context.Context, m store.Migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.lock(ctx, tx, lockMigrate); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	s.log.Info("applying migration", "store", s.d.Name, "migration", m.Name)
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)`),
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion returns the highest applied migration, 0 when none.
func (s *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Totals returns the running totals of scope for the period containing at.
func (s *DB) Totals(ctx context.Context, scope string, p store.Period, at time.Time) ([]store.Total, error) {
	rows, err := s.db.QueryContext(ctx, s.qTotals, scope, string(p), p.Start(at).UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("store: totals: %w", err)
	}
	defer rows.Close()
	var out []store.Total
	for rows.Next() {
		var t store.Total
		var period string
		var start int64
		if err := rows.Scan(&t.Scope, &period, &start, &t.Hosting, &t.SpentNanos, &t.Tokens, &t.Requests); err != nil {
			return nil, fmt.Errorf("store: totals: %w", err)
		}
		t.Period = store.Period(period)
		t.PeriodStart = time.UnixMicro(start).UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

var errNoRows = sql.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }
