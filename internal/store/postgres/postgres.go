// Package postgres is the store for many replicas: PostgreSQL through a
// jackc/pgx/v5 connection pool.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/internal/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded schema migrations.
func Migrations() ([]store.Migration, error) { return store.LoadMigrations(migrations, "migrations") }

// Open connects to the database at url (postgres://user@host:5432/db?...;
// a search_path parameter selects the schema). It does not migrate.
//
// Audit appends and migrations are serialised across replicas with
// transaction-scoped advisory locks.
func Open(ctx context.Context, url string, logger *slog.Logger) (*sqldb.DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	ms, err := Migrations()
	if err != nil {
		pool.Close()
		return nil, err
	}
	// database/sql over the pool lets both stores share one implementation;
	// closing the *sql.DB closes the pool.
	db := stdlib.OpenDBFromPool(pool)
	return sqldb.New(db, sqldb.Dialect{
		Name:       "postgres",
		Numbered:   true,
		DayExpr:    "to_char(to_timestamp(ts / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
		Lock:       "SELECT pg_advisory_xact_lock($1)",
		Migrations: ms,
		Arrays:     true,
		IsConflict: isConflict,
	}, logger), nil
}

// isConflict reports a unique_violation (SQLSTATE 23505).
func isConflict(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}
