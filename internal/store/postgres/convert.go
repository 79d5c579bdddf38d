package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"
)

// An online conversion of an unpartitioned table (a store created before
// migration 0005) to the partitioned one beside it, usage_part or
// audit_part:
//
//  1. Day partitions are created on the new table for the days the old
//     one has rows on (at most convertDays back; older rows go to its
//     default partition, whence pruning deletes them).
//  2. Usage only: a trigger on the old table starts writing each new row
//     to the new one as well, and the largest id then is kept as the
//     copy's bound (startDual). Putting the trigger in waits for the
//     transactions writing usage to end, so every row up to the bound has
//     committed when the copy starts, and every row after it reaches the
//     new table through the trigger, in its own transaction. Copying by id
//     alone would lose rows: an id is handed out when a row is inserted,
//     not when it commits, so with several replicas (or a usage-only batch
//     beside one that waits for the audit lock) id 100 can commit after a
//     batch copied id 101 and moved past it. Audit needs no trigger: seq
//     is assigned under the audit lock, held to the commit, so audit rows
//     commit in seq order.
//  3. Rows are copied in key order (usage by id up to the bound, audit by
//     seq), a batch of at most ConvertBatch rows per transaction, with the
//     progress kept in partition_conversion so that a restart, or another
//     replica, goes on where it stopped; a row already there is skipped
//     (ON CONFLICT DO NOTHING), so a batch done twice does no harm. The
//     old table keeps taking writes meanwhile: each batch takes only
//     ACCESS SHARE on it (as a query does) and ROW EXCLUSIVE on the new
//     one. Rows pruned from the old table after they were copied (usage
//     before its retention mark, audit up to the checkpoint) are deleted
//     from the new one too.
//  4. The swap, in one transaction: LOCK the old table ACCESS EXCLUSIVE
//     (writers and readers of it wait from here, waiting itself at most
//     swapLockTimeout, else the swap is tried again at the next upkeep),
//     copy the audit rows written since the last batch (usage's are there
//     already), drop the old table and rename the new one (and its default
//     partition) to the old names. It holds the lock for the time it takes
//     to copy one batch's worth of rows (milliseconds). Statements
//     prepared on the old table are planned again on the new one by
//     PostgreSQL when they next run.
//
// Batches take the "fulc" advisory lock, so replicas converting together
// do not copy a row twice.

// ConvertBatch is the most rows one conversion transaction copies.
var ConvertBatch = 10000

// convertPause is the pause between batches, so that a conversion leaves
// the database to the requests.
var convertPause = 10 * time.Millisecond

const (
	swapLockTimeout = "2s"
	convertDays     = 800
)

// convertAtMigrate: a table with fewer rows than this is converted while
// migrating (it takes a second or two); a larger one by the gateway's
// upkeep, in the background.
var convertAtMigrate = 200000

// usageCopyCols are usage's columns, id included.
const usageCopyCols = `id, ts, request_id, attempt, key_id, team, model, provider, upstream_model, hosting,
	status, latency_ms, ttft_ms, input_tokens, output_tokens, cached_tokens, cache_write_tokens,
	reasoning_tokens, cost_nanos, reference_cost_nanos, estimated, data_classes, policy_action, error_code,
	tags, end_user`

const auditCopyCols = `seq, ts, request_id, key_id, classes, action, candidates, chosen, chosen_hosting, outcome, prev_hash, hash`

// conversion describes one table's conversion.
type conversion struct {
	table, key, cols string
	// pruned deletes from the new table the rows pruning removed from the
	// old one.
	pruned string
	// dual: new rows of the old table reach the new one through a
	// trigger, and the copy stops at partition_conversion.bound.
	dual bool
}

var conversions = []conversion{
	{table: "usage", key: "id", cols: usageCopyCols, dual: true,
		pruned: `DELETE FROM usage_part WHERE ts < (SELECT before_us FROM retention_marks WHERE kind = 'usage')`},
	{table: "audit", key: "seq", cols: auditCopyCols,
		pruned: `DELETE FROM audit_part WHERE seq <= (SELECT seq FROM audit_checkpoint WHERE id = 1)`},
}

// pendingConversion reports whether table still waits to be converted.
func pendingConversion(ctx context.Context, db *sql.DB, table string) (bool, error) {
	var ok bool
	err := db.QueryRowContext(ctx, `SELECT to_regclass('partition_conversion') IS NOT NULL
		AND EXISTS (SELECT 1 FROM partition_conversion WHERE tbl = $1)`, table).Scan(&ok)
	return ok, err
}

// Convert converts the tables still unpartitioned, copying batches of
// ConvertBatch rows until done or ctx ends. It returns how many tables it
// swapped.
func (s *Store) Convert(ctx context.Context) (int, error) {
	swapped := 0
	for _, c := range conversions {
		ok, err := pendingConversion(ctx, s.SQL(), c.table)
		if err != nil || !ok {
			if err != nil {
				return swapped, fmt.Errorf("store: convert %s: %w", c.table, err)
			}
			continue
		}
		done, err := s.convert(ctx, c)
		if err != nil {
			return swapped, fmt.Errorf("store: convert %s: %w", c.table, err)
		}
		if done {
			swapped++
		}
	}
	return swapped, nil
}

func (s *Store) convert(ctx context.Context, c conversion) (bool, error) {
	part := c.table + "_part"
	if err := s.prepare(ctx, c, part); err != nil {
		return false, err
	}
	start := time.Now()
	copied := 0
	for {
		n, err := s.copyBatch(ctx, c, part)
		if err != nil {
			return false, err
		}
		copied += n
		if n < ConvertBatch {
			break
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(convertPause):
		}
	}
	if err := s.swap(ctx, c, part); err != nil {
		return false, err
	}
	s.log.Info("converted table to daily partitions", "table", c.table, "rows_copied", copied,
		"took", time.Since(start).Round(time.Millisecond))
	return true, nil
}

// prepare does steps 1 and 2: day partitions first, so that the rows the
// trigger writes find theirs.
func (s *Store) prepare(ctx context.Context, c conversion, part string) error {
	if err := convertDaysOf(ctx, s.SQL(), c.table, part, s.now()); err != nil {
		return err
	}
	if c.dual {
		if err := s.startDual(ctx, c, part); err != nil {
			return fmt.Errorf("start writing new rows to %s: %w", part, err)
		}
	}
	return nil
}

// convertDaysOf creates the day partitions of part for the days table
// has rows on (found an index probe a day: a loose index scan), at most
// convertDays back, and for the days ahead.
func convertDaysOf(ctx context.Context, db *sql.DB, table, part string, now time.Time) error {
	cursor := now.Add(-convertDays * day).Truncate(day).UnixMicro()
	for {
		var next sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT min(ts) FROM `+ident(table)+` WHERE ts >= $1`, cursor).Scan(&next); err != nil {
			return err
		}
		if !next.Valid {
			break
		}
		d := time.UnixMicro(next.Int64).UTC().Truncate(day)
		if _, err := ensureDays(ctx, db, part, d, d.Add(day)); err != nil {
			return err
		}
		cursor = d.Add(day).UnixMicro()
	}
	_, err := ensureDays(ctx, db, part, now.Add(-day), now.Add(aheadDays*day))
	return err
}

// dualFunc is the trigger function (and the trigger's name) that writes
// each row inserted into c.table to part as well.
func dualFunc(c conversion) string { return "fulcrum_" + c.table + "_to_part" }

// startDual puts in the trigger of step 2 and sets the bound, unless
// another replica (or an earlier run) did. It starts the copy again from
// the first row: a conversion begun by a version without the trigger may
// have moved past rows that committed late (the batches skip what is
// there already).
func (s *Store) startDual(ctx context.Context, c conversion, part string) error {
	tx, err := s.SQL().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{
		`SET LOCAL lock_timeout = '` + swapLockTimeout + `'`,
		fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, lockConvert),
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	var bound sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT bound FROM partition_conversion WHERE tbl = $1`, c.table).Scan(&bound); err != nil {
		return err // sql.ErrNoRows: another replica swapped it
	}
	if bound.Valid {
		return nil
	}
	values := strings.Split(c.cols, ",")
	for i, col := range values {
		values[i] = "NEW." + strings.TrimSpace(col)
	}
	fn := dualFunc(c)
	stmts := []string{
		// SHARE ROW EXCLUSIVE (which CREATE TRIGGER takes too) waits for
		// the transactions holding ROW EXCLUSIVE, every writer of the
		// table, and holds off new ones until the commit.
		`LOCK TABLE ` + ident(c.table) + ` IN SHARE ROW EXCLUSIVE MODE`,
		`CREATE OR REPLACE FUNCTION ` + fn + `() RETURNS trigger LANGUAGE plpgsql AS $f$
		BEGIN
			INSERT INTO ` + ident(part) + ` (` + c.cols + `) VALUES (` + strings.Join(values, ", ") + `)
				ON CONFLICT DO NOTHING;
			RETURN NULL;
		END $f$`,
		`DROP TRIGGER IF EXISTS ` + fn + ` ON ` + ident(c.table),
		`CREATE TRIGGER ` + fn + ` AFTER INSERT ON ` + ident(c.table) + ` FOR EACH ROW EXECUTE FUNCTION ` + fn + `()`,
		`UPDATE partition_conversion SET copied = 0,
			bound = (SELECT COALESCE(max(` + c.key + `), 0) FROM ` + ident(c.table) + `) WHERE tbl = '` + c.table + `'`,
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// copyBatch copies the next rows in key order; it returns how many it
// read (rows already in part are skipped, not counted apart).
func (s *Store) copyBatch(ctx context.Context, c conversion, part string) (int, error) {
	tx, err := s.SQL().BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockConvert); err != nil {
		return 0, err
	}
	var from int64
	var bound sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT copied, bound FROM partition_conversion WHERE tbl = $1`, c.table).Scan(&from, &bound); err != nil {
		return 0, err // sql.ErrNoRows: another replica swapped it
	}
	upto := int64(math.MaxInt64)
	if c.dual {
		if !bound.Valid {
			return 0, fmt.Errorf("copy %s: the trigger writing new rows to %s is not there", c.table, part)
		}
		upto = bound.Int64
	}
	var last int64
	var n int
	err = tx.QueryRowContext(ctx, `WITH b AS (SELECT `+c.cols+` FROM `+ident(c.table)+` WHERE `+c.key+` > $1 AND `+c.key+` <= $3
		ORDER BY `+c.key+` LIMIT $2), ins AS (INSERT INTO `+ident(part)+` (`+c.cols+`) SELECT * FROM b ON CONFLICT DO NOTHING)
		SELECT COALESCE(max(`+c.key+`), $1), count(*) FROM b`, from, ConvertBatch, upto).Scan(&last, &n)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE partition_conversion SET copied = $1 WHERE tbl = $2`, last, c.table); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, c.pruned); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// swap copies what is left and puts the new table in the old one's place.
func (s *Store) swap(ctx context.Context, c conversion, part string) error {
	tx, err := s.SQL().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var from int64
	stmts := []string{
		`SET LOCAL lock_timeout = '` + swapLockTimeout + `'`,
		fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, lockConvert),
		`LOCK TABLE ` + ident(c.table) + ` IN ACCESS EXCLUSIVE MODE`,
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	var bound sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT copied, bound FROM partition_conversion WHERE tbl = $1`, c.table).Scan(&from, &bound); err != nil {
		return err
	}
	// What the batches left: audit rows written since the last one; for
	// usage, nothing past the bound (the trigger wrote those).
	upto := int64(math.MaxInt64)
	if c.dual {
		if !bound.Valid {
			return fmt.Errorf("swap %s: the trigger writing new rows to %s is not there", c.table, part)
		}
		upto = bound.Int64
	}
	stmts = []string{`INSERT INTO ` + ident(part) + ` (` + c.cols + `) SELECT ` + c.cols + ` FROM ` + ident(c.table) +
		fmt.Sprintf(` WHERE %s > %d AND %s <= %d ON CONFLICT DO NOTHING`, c.key, from, c.key, upto)}
	stmts = append(stmts, c.pruned)
	if c.table == "usage" {
		stmts = append(stmts, `SELECT setval('usage_part_id_seq', GREATEST((SELECT max(id) FROM usage), 1))`)
	}
	stmts = append(stmts,
		`DROP TABLE `+ident(c.table), // and its trigger
		`ALTER TABLE `+ident(part)+` RENAME TO `+ident(c.table),
		`ALTER TABLE `+ident(part+"_default")+` RENAME TO `+ident(c.table+"_default"),
		`DROP FUNCTION IF EXISTS `+dualFunc(c)+`()`,
		`DELETE FROM partition_conversion WHERE tbl = '`+c.table+`'`)
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit()
}
