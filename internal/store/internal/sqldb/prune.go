package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

var (
	_ store.Retention = (*DB)(nil)
	_ store.Marks     = (*DB)(nil)
)

// PrunedBefore implements store.Marks.
func (s *DB) PrunedBefore(ctx context.Context, kind store.Kind) (time.Time, error) {
	t, err := s.mark(ctx, kind)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: retention mark %s: %w", kind, err)
	}
	return t, nil
}

// SetNow replaces the clock (tests on a simulated calendar).
func (s *DB) SetNow(now func() time.Time) { s.clock = now }

func (s *DB) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// mark returns the time before which kind's raw rows were pruned (the zero
// time when none were).
func (s *DB) mark(ctx context.Context, kind store.Kind) (time.Time, error) {
	var us int64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT before_us FROM retention_marks WHERE kind = ?`), string(kind)).Scan(&us)
	if isNoRows(err) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return fromMicros(us), nil
}

func (s *DB) setMark(ctx context.Context, tx *sql.Tx, kind store.Kind, before time.Time) error {
	_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO retention_marks (kind, before_us) VALUES (?, ?)
		ON CONFLICT (kind) DO UPDATE SET before_us = CASE WHEN excluded.before_us > retention_marks.before_us
		THEN excluded.before_us ELSE retention_marks.before_us END`), string(kind), before.UnixMicro())
	return err
}

// PruneUnit implements store.PruneUnit: usage is pruned whole hours at a
// time (Prune truncates the cut-off), so that the rollups take over exactly
// where raw rows end, and rollups whole buckets of their grain; rounding
// the cut-off before Prune makes the one that `fulcrum store prune` and
// the gateway's log report the one used.
func (s *DB) PruneUnit(kind store.Kind) time.Duration {
	switch kind {
	case store.KindUsage:
		return time.Hour
	case store.KindRollupMinute:
		return store.GrainWidth(store.GrainMinute) // pruneRollups: whole buckets
	case store.KindRollupHourly:
		return store.GrainWidth(store.GrainHour)
	case store.KindRollupDaily:
		return store.GrainWidth(store.GrainDay)
	}
	return 0
}

// Prune implements store.Retention.
func (s *DB) Prune(ctx context.Context, kind store.Kind, before time.Time, limit int, dryRun bool) (int64, error) {
	if limit <= 0 {
		limit = 5000
	}
	var n int64
	var err error
	switch kind {
	case store.KindUsage:
		n, err = s.pruneRows(ctx, kind, "usage", "id", "ts", "", before.Truncate(time.Hour), limit, dryRun)
		if err == nil && !dryRun {
			err = s.pruneEndUsers(ctx, before.Truncate(time.Hour))
		}
	case store.KindRollupMinute:
		n, err = s.pruneRollups(ctx, kind, store.GrainMinute, before, limit, dryRun)
	case store.KindRollupHourly:
		n, err = s.pruneRollups(ctx, kind, store.GrainHour, before, limit, dryRun)
	case store.KindRollupDaily:
		n, err = s.pruneRollups(ctx, kind, store.GrainDay, before, limit, dryRun)
	case store.KindAudit:
		n, err = s.pruneAudit(ctx, before, limit, dryRun)
	case store.KindShadow:
		n, err = s.pruneRows(ctx, kind, "shadow_results", "id", "ts", "", before, limit, dryRun)
	case store.KindResponses:
		n, err = s.pruneRows(ctx, kind, "responses", "id", "created_us", "", before, limit, dryRun)
		if err == nil {
			// The item ids of pruned responses (created with them).
			var items int64
			items, err = s.pruneRows(ctx, kind, "response_items", "id", "created_us", "", before, limit, dryRun)
			n += items
		}
	default:
		return 0, fmt.Errorf("store: prune: unknown kind %q", kind)
	}
	if err != nil {
		return n, fmt.Errorf("store: prune %s: %w", kind, err)
	}
	return n, nil
}

// pruneRollups prunes one grain of the main rollups and, for hours and
// days, of the attribution rollups, to the same cut.
func (s *DB) pruneRollups(ctx context.Context, kind store.Kind, grain string, before time.Time, limit int, dryRun bool) (int64, error) {
	before = before.Truncate(store.GrainWidth(grain))
	n, err := s.pruneRows(ctx, kind, "usage_rollup", "", "bucket", grain, before, limit, dryRun)
	if err != nil || (grain != store.GrainHour && grain != store.GrainDay) {
		return n, err
	}
	a, err := s.pruneRows(ctx, kind, "usage_rollup_attr", "", "bucket", grain, before, limit, dryRun)
	return n + a, err
}

// pruneEndUsers forgets the end users of the days whose raw rows are all
// pruned (before is the raw rows' cut): only summaries of raw rows and
// late records of those days would ask.
func (s *DB) pruneEndUsers(ctx context.Context, before time.Time) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM rollup_end_users WHERE day <= ?`), before.Add(-24*time.Hour).UnixMicro())
	return err
}

// pruneRows deletes up to limit rows of table whose tsCol is before
// before, oldest first; idCol names a row (the whole key when "": then
// rows are chosen by bucket, a bucket at a time, bounded by limit).
func (s *DB) pruneRows(ctx context.Context, kind store.Kind, table, idCol, tsCol, grain string, before time.Time, limit int, dryRun bool) (int64, error) {
	cond, args := tsCol+" < ?", []any{before.UnixMicro()}
	if grain != "" {
		cond += " AND grain = ?"
		args = append(args, grain)
	}
	if dryRun {
		var n int64
		err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM `+table+` WHERE `+cond), args...).Scan(&n)
		return n, err
	}
	var dropped int64
	if table == "usage" && s.d.Partitions != nil {
		var err error
		if dropped, err = s.dropUsage(ctx, kind, before); err != nil {
			return 0, fmt.Errorf("drop partitions: %w", err)
		}
		// Whatever is left: by the unique key, the only index that
		// leads with ts in every partition (id is not indexed).
		idCol = "(ts, request_id, attempt)"
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var q string
	if idCol != "" {
		q = `DELETE FROM ` + table + ` WHERE ` + idCol + ` IN (SELECT ` + strings.Trim(idCol, "()") + ` FROM ` + table +
			` WHERE ` + cond + ` ORDER BY ` + tsCol + ` LIMIT ` + fmt.Sprint(limit) + `)`
	} else {
		// Rollup rows: the oldest buckets, up to limit rows' worth of
		// buckets (at least one bucket).
		q = `DELETE FROM ` + table + ` WHERE ` + cond + ` AND ` + tsCol + ` <= (SELECT MAX(` + tsCol + `) FROM (SELECT ` + tsCol +
			` FROM ` + table + ` WHERE ` + cond + ` ORDER BY ` + tsCol + ` LIMIT ` + fmt.Sprint(limit) + `) AS oldest)`
		args = append(args, args...)
	}
	res, err := tx.ExecContext(ctx, s.rebind(q), args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if err := s.setMark(ctx, tx, kind, before); err != nil {
		return 0, err
	}
	return n + dropped, tx.Commit()
}

// dropUsage drops the usage partitions wholly before before, and marks
// them pruned, in a transaction of its own: it holds an ACCESS EXCLUSIVE
// lock on the table, which the row deletes after it need not.
func (s *DB) dropUsage(ctx context.Context, kind store.Kind, before time.Time) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	parts, n, err := s.d.Partitions.DropUsage(ctx, tx, before)
	if err != nil || parts == 0 {
		return 0, err
	}
	if err := s.setMark(ctx, tx, kind, before); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// dropAudit drops the audit partitions wholly in the prunable prefix of
// the chain and moves the checkpoint past them, in a transaction of its
// own (see dropUsage).
func (s *DB) dropAudit(ctx context.Context, before time.Time, limit int) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := s.lock(ctx, tx, lockAudit); err != nil {
		return 0, err
	}
	after := int64(0)
	if cp, err := s.checkpoint(ctx, tx); err != nil {
		return 0, err
	} else if cp != nil {
		after = cp.Seq
	}
	cut, err := s.d.Partitions.DropAudit(ctx, tx, after, before, limit)
	if err != nil || cut.Parts == 0 {
		return 0, err
	}
	if cut.Rows > 0 {
		if err := s.setCheckpoint(ctx, tx, cut); err != nil {
			return 0, err
		}
	}
	return cut.Rows, tx.Commit()
}

// setCheckpoint makes cut, the last audit row pruned, the checkpoint.
func (s *DB) setCheckpoint(ctx context.Context, tx *sql.Tx, cut AuditCut) error {
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO audit_checkpoint (id, seq, hash, ts, pruned_at) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, ts = excluded.ts, pruned_at = excluded.pruned_at`),
		cut.Seq, cut.Hash, cut.TS, s.now().UnixMicro()); err != nil {
		return err
	}
	return s.setMark(ctx, tx, store.KindAudit, fromMicros(cut.TS))
}

// pruneAudit deletes the chain's oldest rows, up to limit, as long as they
// are older than before (a prefix in seq order: the chain stays whole from
// the checkpoint on), and moves the checkpoint to the last one deleted.
func (s *DB) pruneAudit(ctx context.Context, before time.Time, limit int, dryRun bool) (int64, error) {
	var dropped int64
	if s.d.Partitions != nil && !dryRun {
		var err error
		if dropped, err = s.dropAudit(ctx, before, limit); err != nil {
			return 0, fmt.Errorf("drop partitions: %w", err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if !dryRun {
		if err := s.lock(ctx, tx, lockAudit); err != nil {
			return 0, err
		}
	}
	after := int64(0)
	if cp, err := s.checkpoint(ctx, tx); err != nil {
		return 0, err
	} else if cp != nil {
		after = cp.Seq
	}
	total := dropped
	for {
		page := limit
		if dryRun {
			page = 10000
		}
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT seq, ts, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`), after, page)
		if err != nil {
			return 0, err
		}
		var last struct {
			seq, ts int64
			hash    string
		}
		n, stop := int64(0), false
		for rows.Next() {
			var seq, ts int64
			var hash string
			if err := rows.Scan(&seq, &ts, &hash); err != nil {
				rows.Close()
				return 0, err
			}
			if ts >= before.UnixMicro() {
				stop = true
				break
			}
			last.seq, last.ts, last.hash = seq, ts, hash
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		if n == 0 {
			return total, nil
		}
		total += n
		if !dryRun {
			if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM audit WHERE seq > ? AND seq <= ?`), after, last.seq); err != nil {
				return 0, err
			}
			if err := s.setCheckpoint(ctx, tx, AuditCut{Seq: last.seq, TS: last.ts, Hash: last.hash}); err != nil {
				return 0, err
			}
			return total, tx.Commit()
		}
		after = last.seq
		if stop || n < int64(page) {
			return total, nil
		}
	}
}

func (s *DB) checkpoint(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (*store.AuditCheckpoint, error) {
	var cp store.AuditCheckpoint
	var ts, at int64
	err := q.QueryRowContext(ctx, `SELECT seq, hash, ts, pruned_at FROM audit_checkpoint WHERE id = 1`).Scan(&cp.Seq, &cp.Hash, &ts, &at)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cp.Time, cp.PrunedAt = fromMicros(ts), fromMicros(at)
	return &cp, nil
}

// AuditCheckpoint implements store.Retention.
func (s *DB) AuditCheckpoint(ctx context.Context) (*store.AuditCheckpoint, error) {
	cp, err := s.checkpoint(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("store: audit checkpoint: %w", err)
	}
	return cp, nil
}

// Vacuum implements store.Vacuumer: on SQLite it rewrites the database
// file (VACUUM, then a WAL checkpoint), which gives back every free page
// now and turns on incremental vacuum for a file created before it was
// the default (the connection's auto_vacuum setting, made at open, takes
// effect at a VACUUM), so later prunes shrink the file too. It holds the
// write lock while it copies the database; PostgreSQL: nothing
// (autovacuum).
func (s *DB) Vacuum(ctx context.Context) error {
	if s.d.Name != "sqlite" {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("store: vacuum: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	if err != nil {
		return fmt.Errorf("store: vacuum: %w", err)
	}
	for rows.Next() {
	}
	rows.Close()
	return rows.Err()
}

// Maintain implements store.Retention.
func (s *DB) Maintain(ctx context.Context) error {
	if s.d.Name != "sqlite" {
		return nil
	}
	// Return free pages to the file system (auto_vacuum=INCREMENTAL; a
	// database created before that setting keeps its size until VACUUM),
	// then hand the WAL's pages back to the database file and empty it.
	// In this order: the vacuum moves pages through the WAL, and the file
	// shrinks only when a checkpoint writes them back; vacuumed after the
	// checkpoint, they stayed in the WAL until the next prune.
	for _, q := range []string{`PRAGMA incremental_vacuum`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: maintain: %w", err)
		}
		for rows.Next() {
		}
		err = rows.Err() // a step that failed (SQLITE_BUSY) shows here
		rows.Close()
		if err != nil {
			return fmt.Errorf("store: maintain: %s: %w", q, err)
		}
	}
	return nil
}
