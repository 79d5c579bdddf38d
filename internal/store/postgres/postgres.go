// Package postgres is the store for many replicas: PostgreSQL through a
// jackc/pgx/v5 connection pool.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

// Store is the PostgreSQL store: the shared SQL implementation over a
// pgx pool, with usage and audit partitioned by day (migration 0005).
type Store struct {
	*sqldb.DB
	pool  *pgxpool.Pool
	log   *slog.Logger
	clock func() time.Time
}

// Close closes the database and then the pgx pool under it: closing the
// *sql.DB made from a pool does not close the pool
// (https://pkg.go.dev/github.com/jackc/pgx/v5/stdlib#OpenDBFromPool), and
// its connections stayed open.
func (s *Store) Close() error {
	err := s.DB.Close()
	s.pool.Close()
	return err
}

// aheadDays is how many days of partitions upkeep keeps ready after today.
const aheadDays = 3

// Open connects to the database at url (postgres://user@host:5432/db?...;
// a search_path parameter selects the schema). It does not migrate.
//
// Audit appends and migrations are serialised across replicas with
// transaction-scoped advisory locks.
func Open(ctx context.Context, url string, logger *slog.Logger) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return open(ctx, cfg, logger)
}

// open is Open with a parsed configuration (tests set a tracer in it).
func open(ctx context.Context, cfg *pgxpool.Config, logger *slog.Logger) (*Store, error) {
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
	// database/sql over the pool lets both stores share one implementation
	// (Close closes both).
	db := stdlib.OpenDBFromPool(pool)
	return &Store{DB: sqldb.New(db, sqldb.Dialect{
		Name:       "postgres",
		Numbered:   true,
		DayExpr:    "to_char(to_timestamp(ts / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
		TagExpr:    `COALESCE(CASE WHEN tags = '' THEN '' ELSE tags::jsonb ->> '%s' END, '')`,
		Lock:       "SELECT pg_advisory_xact_lock($1)",
		Migrations: ms,
		Arrays:     true,
		// Not database/sql's prepared statements: they would be
		// prepared again on every transaction (see sqldb.stmt).
		CachesStatements: true,
		IsConflict:       isConflict,
		Partitions:       parts{},
	}, logger), pool: pool, log: logger}, nil
}

// SetNow replaces the clock (tests on a simulated calendar).
func (s *Store) SetNow(now func() time.Time) {
	s.clock = now
	s.DB.SetNow(now)
}

func (s *Store) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// Migrate applies pending migrations, then creates the day partitions
// from yesterday to aheadDays ahead and converts tables left unpartitioned
// by migration 0005 when they are small (larger ones are converted online
// by Upkeep).
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.DB.Migrate(ctx); err != nil {
		return err
	}
	if err := s.ensureAhead(ctx); err != nil {
		return err
	}
	for _, c := range conversions {
		ok, err := pendingConversion(ctx, s.SQL(), c.table)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		if !ok {
			continue
		}
		var n int
		if err := s.SQL().QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+ident(c.table)+` LIMIT $1) t`,
			convertAtMigrate).Scan(&n); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		if n >= convertAtMigrate {
			s.log.Info("table will be converted to daily partitions in the background", "table", c.table)
			continue
		}
		if _, err := s.convert(ctx, c); err != nil {
			if isLockTimeout(err) { // writers of another replica held on: upkeep goes on
				s.log.Info("table will be converted to daily partitions in the background", "table", c.table, "err", err)
				continue
			}
			return fmt.Errorf("store: migrate: convert %s: %w", c.table, err)
		}
	}
	return nil
}

// Upkeep is the periodic work of the store (the gateway's retention loop
// runs it every interval): day partitions from yesterday to aheadDays
// ahead, and the online conversion of a table still unpartitioned.
func (s *Store) Upkeep(ctx context.Context) error {
	if err := s.ensureAhead(ctx); err != nil {
		return err
	}
	if err := s.analyzeRecent(ctx); err != nil {
		return err
	}
	_, err := s.Convert(ctx)
	return err
}

// Analyze implements store.Analyzer: the statistics of today's and
// yesterday's partitions, when missing or stale. The gateway runs it every
// minute, so a new day (or a new store) is planned from statistics within
// a minute of its first thousand rows rather than at the next Upkeep.
func (s *Store) Analyze(ctx context.Context) error { return s.analyzeRecent(ctx) }

// analyzeRecent gathers planner statistics on today's and yesterday's
// day partitions when they have none yet or grew by half since, without
// waiting for autovacuum (off on some servers, and on its own schedule on
// the others). A day partition without statistics is planned as if a
// range on ts took a third of it: the summaries' reads of the last
// partial second scanned the whole day, taking longer as it filled (57 →
// 174 ms for `fulcrum usage --since 1h` over 20 minutes at 1,000
// requests/s). Once analyzed, a bound past the statistics' end is
// estimated from the index, so one analysis holds for the day.
func (s *Store) analyzeRecent(ctx context.Context) error {
	now := s.now()
	for _, t := range []string{"usage", "audit"} {
		for _, d := range []time.Time{now.Add(-day), now} {
			name := partitionName(t, d)
			var stale bool
			err := s.SQL().QueryRowContext(ctx, `SELECT n_live_tup + n_mod_since_analyze > 1000
				AND (last_analyze IS NULL AND last_autoanalyze IS NULL OR n_mod_since_analyze > n_live_tup / 2)
				FROM pg_stat_user_tables WHERE relid = to_regclass($1)`, name).Scan(&stale)
			if errors.Is(err, sql.ErrNoRows) || err == nil && !stale {
				continue // no such partition, or statistics fresh enough
			}
			if err != nil {
				return fmt.Errorf("store: statistics of %s: %w", name, err)
			}
			if _, err := s.SQL().ExecContext(ctx, `ANALYZE `+ident(name)); err != nil {
				return fmt.Errorf("store: statistics of %s: %w", name, err)
			}
		}
	}
	return nil
}

func (s *Store) ensureAhead(ctx context.Context) error {
	now := s.now()
	for _, t := range []string{"usage", "audit"} {
		if _, err := ensureDays(ctx, s.SQL(), t, now.Add(-day), now.Add(aheadDays*day)); err != nil {
			return fmt.Errorf("store: partitions: %w", err)
		}
	}
	return nil
}

// EnsurePartitions creates the day partitions of usage and audit for the
// days that overlap [from, to), moving the rows the default partitions
// hold for them. It returns how many it created.
func (s *Store) EnsurePartitions(ctx context.Context, from, to time.Time) (int, error) {
	n := 0
	for _, t := range []string{"usage", "audit"} {
		c, err := ensureDays(ctx, s.SQL(), t, from, to)
		n += c
		if err != nil {
			return n, fmt.Errorf("store: partitions: %w", err)
		}
	}
	return n, nil
}

// PruneUnit implements store.PruneUnit: usage and audit are pruned a
// whole day at a time once they are partitioned, so pruning drops
// partitions and deletes no rows; before that, as on SQLite
// (sqldb.DB.PruneUnit: usage whole hours).
func (s *Store) PruneUnit(kind store.Kind) time.Duration {
	if kind != store.KindUsage && kind != store.KindAudit {
		return s.DB.PruneUnit(kind)
	}
	if ok, _, err := partitions(context.Background(), s.SQL(), string(kind)); err != nil || !ok {
		return s.DB.PruneUnit(kind)
	}
	return day
}

// isConflict reports a unique_violation (SQLSTATE 23505).
func isConflict(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// isLockTimeout reports a lock_not_available (SQLSTATE 55P03): a
// lock_timeout ran out.
func isLockTimeout(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "55P03"
}
