// Package open picks a store implementation from a URL and migrates it.
//
// It is apart from package store because the implementations import store
// for its types; store cannot import them back.
package open

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/postgres"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

// Store opens sqlite://PATH or postgres://... and applies pending migrations.
func Store(ctx context.Context, url string, logger *slog.Logger) (store.Store, error) {
	s, err := NoMigrate(ctx, url, logger)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Existing is Store for commands that read or maintain the records
// (usage, audit, savings, store prune...): it refuses a store that does
// not exist yet, a SQLite file not there or a PostgreSQL database without
// Fulcrum's tables, instead of creating an empty one and reporting on
// it, which would read as "nothing happened" when the config or the data
// directory is wrong.
func Existing(ctx context.Context, url string, logger *slog.Logger) (store.Store, error) {
	if p, err := sqlite.PathFromURL(url); err == nil {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: nothing was recorded there; is the config (or storage.data_dir) the gateway's?", ErrNoStore, p)
		}
	}
	s, err := NoMigrate(ctx, url, logger)
	if err != nil {
		return nil, err
	}
	if q, ok := s.(interface{ SQL() *sql.DB }); ok && isPostgres(url) {
		var there bool
		if err := q.SQL().QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&there); err != nil {
			s.Close()
			return nil, err
		}
		if !there {
			s.Close()
			return nil, fmt.Errorf("%w at %s: the database has no Fulcrum tables; is the config's storage.url the gateway's?", ErrNoStore, redact(url))
		}
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// ErrNoStore is Existing's error when there is no store to read.
var ErrNoStore = errors.New("no store")

func isPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// NoMigrate opens the store without migrating, for `fulcrum migrate` and
// for operators who apply migrations by hand.
func NoMigrate(ctx context.Context, url string, logger *slog.Logger) (store.Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		p, err := sqlite.PathFromURL(url)
		if err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, p, logger)
	case isPostgres(url):
		return postgres.Open(ctx, url, logger)
	}
	return nil, fmt.Errorf("store: unsupported URL %q (want sqlite:// or postgres://)", redact(url))
}

// redact drops a password from a URL before it reaches an error message.
func redact(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if user, _, ok := strings.Cut(rest[:at], ":"); ok {
			return scheme + "://" + user + ":***" + rest[at:]
		}
	}
	return u
}
