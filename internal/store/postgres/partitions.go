package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fulcrumhq/fulcrum/internal/store/internal/sqldb"
)

// Usage and audit rows are partitioned by day (RANGE on ts, Unix µs UTC):
// usage_p20261203 holds [2026-12-03, 2026-12-04). A DEFAULT partition
// (usage_default, audit_default) takes rows no day partition holds, so an
// insert never fails; creating a day partition moves its rows out of it.
const day = 24 * time.Hour

// Lock ids (pg_advisory_xact_lock) beside sqldb's.
const (
	lockPartitions = 0x66756c70 // "fulp": creating and dropping partitions
	lockConvert    = 0x66756c63 // "fulc": the online conversion
)

// Lock waits. DDL that needs a strong lock waits at most this long for it
// and gives up (the next upkeep or prune tries again): while it waits, the
// statements queued behind it wait too, so a long wait would be a stall.
const (
	dropLockTimeout   = "500ms" // ACCESS EXCLUSIVE on the parent, to drop a partition
	attachLockTimeout = "2s"    // ACCESS EXCLUSIVE on the default partition, to attach one
)

// maxDrops is the most partitions one prune transaction drops: each holds
// locks until the end of the transaction, and PostgreSQL's lock table is
// sized for about max_locks_per_transaction (64) per connection. The
// retention loop comes back for the rest.
const maxDrops = 16

// partition is one child of a partitioned table.
type partition struct {
	name   string
	lo, hi int64 // [lo, hi) in Unix µs; both 0 for the default partition
	def    bool
}

type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

var boundRE = regexp.MustCompile(`FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)`)

// partitions reports whether table is partitioned and lists its
// partitions, in range order (the default one last).
func partitions(ctx context.Context, q querier, table string) (bool, []partition, error) {
	var kind string
	if err := q.QueryRowContext(ctx, `SELECT COALESCE((SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)), '')`,
		table).Scan(&kind); err != nil {
		return false, nil, err
	}
	if kind != "p" {
		return false, nil, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)`, table)
	if err != nil {
		return false, nil, err
	}
	defer rows.Close()
	var out []partition
	for rows.Next() {
		var p partition
		var bound string
		if err := rows.Scan(&p.name, &bound); err != nil {
			return false, nil, err
		}
		if bound == "DEFAULT" {
			p.def = true
		} else if m := boundRE.FindStringSubmatch(bound); m != nil {
			p.lo, _ = strconv.ParseInt(m[1], 10, 64)
			p.hi, _ = strconv.ParseInt(m[2], 10, 64)
		} else {
			return false, nil, fmt.Errorf("partition %s: unexpected bound %q", p.name, bound)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b partition) int {
		if a.def != b.def {
			if a.def {
				return 1
			}
			return -1
		}
		return int(min(max(a.lo-b.lo, -1), 1))
	})
	return true, out, rows.Err()
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// partitionName is the day partition of table ("usage", "audit", or the
// "usage_part" of a conversion, whose partitions get their final names).
func partitionName(table string, d time.Time) string {
	return strings.TrimSuffix(table, "_part") + "_p" + d.UTC().Format("20060102")
}

// ensureDays creates the day partitions of table for every UTC day that
// overlaps [from, to) and is not covered yet, moving the rows the default
// partition holds for that day into it. It does nothing when table is not
// partitioned, and returns how many it created.
//
// Locks: CREATE TABLE of a lone table, then ATTACH PARTITION, which takes
// SHARE UPDATE EXCLUSIVE on the parent (inserts and queries go on) and
// ACCESS EXCLUSIVE on the default partition while it moves that day's rows
// and checks the rest (only inserts routed to the default partition, and
// queries that scan it, wait; it is normally empty).
func ensureDays(ctx context.Context, db *sql.DB, table string, from, to time.Time) (int, error) {
	ok, parts, err := partitions(ctx, db, table)
	if err != nil || !ok {
		return 0, err
	}
	n := 0
	for d := from.UTC().Truncate(day); d.Before(to); d = d.Add(day) {
		if covered(parts, d) {
			continue
		}
		made, err := createDay(ctx, db, table, d)
		if err != nil {
			return n, fmt.Errorf("partition %s: %w", partitionName(table, d), err)
		}
		if made {
			n++
		}
	}
	return n, nil
}

// covered reports whether a partition overlaps day d (so none can be
// created for it).
func covered(parts []partition, d time.Time) bool {
	lo, hi := d.UnixMicro(), d.Add(day).UnixMicro()
	for _, p := range parts {
		if !p.def && p.lo < hi && lo < p.hi {
			return true
		}
	}
	return false
}

func createDay(ctx context.Context, db *sql.DB, table string, d time.Time) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+attachLockTimeout+`'`); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockPartitions); err != nil {
		return false, err
	}
	// Again under the lock: another replica may have made it.
	_, parts, err := partitions(ctx, tx, table)
	if err != nil {
		return false, err
	}
	if covered(parts, d) {
		return false, nil
	}
	name := partitionName(table, d)
	lo, hi := d.UnixMicro(), d.Add(day).UnixMicro()
	rng := fmt.Sprintf("ts >= %d AND ts < %d", lo, hi)
	stmts := []string{
		`CREATE TABLE ` + ident(name) + ` (LIKE ` + ident(table) + ` INCLUDING DEFAULTS)`,
		// Proves the rows in range, so ATTACH need not scan them.
		`ALTER TABLE ` + ident(name) + ` ADD CONSTRAINT ` + ident(name+"_range") + ` CHECK (` + rng + `)`,
	}
	if i := slices.IndexFunc(parts, func(p partition) bool { return p.def }); i >= 0 {
		def := ident(parts[i].name)
		stmts = append(stmts,
			`LOCK TABLE `+def+` IN ACCESS EXCLUSIVE MODE`,
			`INSERT INTO `+ident(name)+` SELECT * FROM `+def+` WHERE `+rng,
			`DELETE FROM `+def+` WHERE `+rng)
	}
	stmts = append(stmts,
		fmt.Sprintf(`ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%d) TO (%d)`, ident(table), ident(name), lo, hi),
		`ALTER TABLE `+ident(name)+` DROP CONSTRAINT `+ident(name+"_range"))
	// One round trip (no arguments: the simple protocol takes several).
	if _, err := tx.ExecContext(ctx, strings.Join(stmts, ";\n")); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// parts implements sqldb.Partitions.
type parts struct{}

var _ sqldb.Partitions = parts{}

// dropLocks prepares tx for DROP TABLE of partitions, which takes ACCESS
// EXCLUSIVE on the parent until the transaction ends: inserts and queries
// wait for it, so it waits for them at most dropLockTimeout.
func dropLocks(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+dropLockTimeout+`'`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockPartitions)
	return err
}

// DropUsage implements sqldb.Partitions.
func (parts) DropUsage(ctx context.Context, tx *sql.Tx, before time.Time) (int, int64, error) {
	ok, ps, err := partitions(ctx, tx, "usage")
	if err != nil || !ok {
		return 0, 0, err
	}
	n, rows := 0, int64(0)
	for _, p := range ps {
		if p.def || p.hi > before.UnixMicro() {
			continue
		}
		if n == maxDrops {
			break
		}
		if n == 0 {
			if err := dropLocks(ctx, tx); err != nil {
				return 0, 0, err
			}
		}
		var c int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+ident(p.name)).Scan(&c); err != nil {
			return 0, 0, err
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+ident(p.name)); err != nil {
			return 0, 0, err
		}
		n, rows = n+1, rows+c
	}
	return n, rows, nil
}

// DropAudit implements sqldb.Partitions. The prefix ends before stop, the
// first row at or after before. A day partition before before goes when
// every row up to its last seq is in it or in partitions dropped already,
// but for at most limit others (rows whose time is out of seq order, or in
// the default partition), which are deleted with it. Seqs are gapless, so
// the rows removed are the last seq minus the checkpoint's.
func (parts) DropAudit(ctx context.Context, tx *sql.Tx, after int64, before time.Time, limit int) (sqldb.AuditCut, error) {
	var cut sqldb.AuditCut
	ok, ps, err := partitions(ctx, tx, "audit")
	if err != nil || !ok {
		return cut, err
	}
	var stop sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(seq) FROM audit WHERE ts >= $1`, before.UnixMicro()).Scan(&stop); err != nil {
		return cut, err
	}
	end := after
	for _, p := range ps {
		if p.def || p.hi > before.UnixMicro() || cut.Parts == maxDrops {
			break
		}
		if cut.Parts == 0 {
			if err := dropLocks(ctx, tx); err != nil {
				return cut, err
			}
		}
		var lo, hi sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM `+ident(p.name)).Scan(&lo, &hi); err != nil {
			return cut, err
		}
		if hi.Valid {
			if stop.Valid && hi.Int64 >= stop.Int64 {
				break
			}
			others := fmt.Sprintf(`FROM audit WHERE seq > %d AND seq <= %d AND (ts < %d OR ts >= %d)`, end, hi.Int64, p.lo, p.hi)
			var n int64
			if err := tx.QueryRowContext(ctx, `SELECT count(*) `+others).Scan(&n); err != nil {
				return cut, err
			}
			if n > int64(limit) {
				break
			}
			if err := tx.QueryRowContext(ctx, `SELECT ts, hash FROM `+ident(p.name)+` WHERE seq = $1`, hi.Int64).
				Scan(&cut.TS, &cut.Hash); err != nil {
				return cut, fmt.Errorf("last row of %s: %w", p.name, err)
			}
			if n > 0 {
				if _, err := tx.ExecContext(ctx, `DELETE `+others); err != nil {
					return cut, err
				}
			}
			cut.Seq, cut.Rows, end = hi.Int64, cut.Rows+hi.Int64-end, hi.Int64
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+ident(p.name)); err != nil {
			return cut, err
		}
		cut.Parts++
	}
	return cut, nil
}
