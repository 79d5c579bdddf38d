// Package sqlite is the embedded store: a single SQLite file in WAL mode,
// through the pure Go driver modernc.org/sqlite (no cgo).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/internal/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded schema migrations.
func Migrations() ([]store.Migration, error) { return store.LoadMigrations(migrations, "migrations") }

// Open opens (creating it and its directory if needed) the database at
// path. It does not migrate; call Migrate. path may be ":memory:" only for
// single-connection use.
//
// Every connection runs in WAL mode with synchronous=NORMAL (a commit is
// durable against a process crash; a power loss may lose the last
// transactions, not corrupt the file), a 5 s busy timeout, and write
// transactions that take the write lock at BEGIN (BEGIN IMMEDIATE), so two
// writers queue rather than fail on upgrade. Temporary files, statement
// journals included, are kept in memory (temp_store=MEMORY): a multi-row
// INSERT otherwise writes its statement journal through system calls.
//
// Commits never checkpoint the WAL (wal_autocheckpoint=0): the store does
// it from a goroutine of its own every checkpointEvery, in PASSIVE mode
// (sqldb.Dialect.CheckpointEvery), so the recorder's commits do not carry
// the checkpoint's fsyncs. It has a connection of its own, so that the
// recorder's commits keep to one connection of the pool (and one page
// cache). Close stops it; SQLite checkpoints what is left when the last
// connection closes.
func Open(ctx context.Context, path string, logger *slog.Logger) (*sqldb.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty path")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	q := url.Values{}
	for _, p := range []string{"auto_vacuum(INCREMENTAL)", "journal_mode(WAL)", "busy_timeout(5000)", "synchronous(NORMAL)", "foreign_keys(1)", "temp_store(MEMORY)", "wal_autocheckpoint(0)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// One writer at a time is SQLite's rule anyway; a few connections let
	// reads proceed beside it.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	ms, err := Migrations()
	if err != nil {
		db.Close()
		return nil, err
	}
	d := sqldb.Dialect{
		Name:            "sqlite",
		DayExpr:         "strftime('%Y-%m-%d', ts / 1000000, 'unixepoch')",
		TagExpr:         `COALESCE(CASE WHEN tags = '' THEN '' ELSE json_extract(tags, '$."%s"') END, '')`,
		Migrations:      ms,
		IsConflict:      isConflict,
		CheckpointEvery: checkpointEvery,
	}
	if path != ":memory:" {
		// The checkpointer's own connection (sqldb.Dialect.CheckpointDB):
		// the same settings, busy timeout included, and a page cache of
		// 64 KiB, since a checkpoint copies WAL frames to the database
		// file without going through it.
		q.Add("_pragma", "cache_size(-64)")
		ck, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		ck.SetMaxOpenConns(1)
		ck.SetMaxIdleConns(1)
		d.CheckpointDB = ck
	}
	return sqldb.New(db, d, logger), nil
}

// checkpointEvery is how often the store checkpoints the WAL. At 1,000
// records a second that is a few hundred pages each time, well under the
// 1,000 at which SQLite would have done it inside a commit.
var checkpointEvery = time.Second

// isConflict reports a unique or primary key violation
// (SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY:
// https://sqlite.org/rescode.html#constraint_unique).
func isConflict(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == 2067 || e.Code() == 1555
}

// PathFromURL returns the file path of a sqlite:// URL: "sqlite://data/f.db"
// is relative, "sqlite:///var/lib/f.db" absolute.
func PathFromURL(u string) (string, error) {
	p, ok := strings.CutPrefix(u, "sqlite://")
	if !ok || p == "" {
		return "", fmt.Errorf("sqlite: %q is not a sqlite:// URL", u)
	}
	return p, nil
}
