package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

const auditCols = `seq, ts, request_id, key_id, classes, action, candidates, chosen, chosen_hosting, outcome, prev_hash, hash`

// AppendAudit implements store.Store.
func (s *DB) AppendAudit(ctx context.Context, row *store.AuditRow, hash func(string, *store.AuditRow) string) error {
	rows := []store.AuditRow{*row}
	if err := s.AppendAuditBatch(ctx, rows, hash); err != nil {
		return err
	}
	*row = rows[0]
	return nil
}

// AppendAuditBatch implements store.Store. The last row is read and the
// new ones written in one transaction that holds the audit lock
// (PostgreSQL advisory lock; SQLite's write lock), so seq and prev_hash
// are never shared, and a batch costs one commit. The rows are hashed
// first, then inserted through prepared statements (SQLite) or as one
// array per column in a single statement (PostgreSQL).
func (s *DB) AppendAuditBatch(ctx context.Context, rows []store.AuditRow, hash func(string, *store.AuditRow) string) error {
	if len(rows) == 0 {
		return nil
	}
	if err := s.appendAudit(ctx, rows, hash); err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	return nil
}

const auditLastSQL = `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`

// auditArraysSQL appends rows given as one array per column.
const auditArraysSQL = `INSERT INTO audit (` + auditCols + `) SELECT * FROM unnest($1::bigint[], $2::bigint[],
	$3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])`

func (s *DB) appendAudit(ctx context.Context, rows []store.AuditRow, hash func(string, *store.AuditRow) string) error {
	last, err := s.prepared(ctx, auditLastSQL)
	if err != nil {
		return err
	}
	var ins rowStmts
	var arr *sql.Stmt
	if s.d.Arrays {
		arr, err = s.prepared(ctx, auditArraysSQL)
	} else {
		ins, err = s.rowStmts(ctx, "audit", auditCols, 12)
	}
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.lock(ctx, tx, lockAudit); err != nil {
		return err
	}
	ectx := stmtCtx(ctx)
	var seq int64
	var prev string
	if err := tx.StmtContext(ectx, last).QueryRowContext(ectx).Scan(&seq, &prev); err != nil && !isNoRows(err) {
		return fmt.Errorf("last: %w", err)
	}
	out := make([]store.AuditRow, len(rows))
	for i := range rows {
		r := rows[i]
		seq++
		r.Seq = seq
		r.PrevHash = prev
		r.Hash = hash(prev, &r)
		prev = r.Hash
		out[i] = r
	}
	if s.d.Arrays {
		_, err = tx.StmtContext(ectx, arr).ExecContext(ectx, auditArrays(out)...)
	} else {
		err = ins.exec(ectx, tx, len(out), func(args []any, i int) []any {
			r := &out[i]
			return append(args, r.Seq, r.Time.UnixMicro(), r.RequestID, r.KeyID, jsonList(r.Classes), r.Action,
				jsonList(r.Candidates), r.Chosen, r.ChosenHosting, r.Outcome, r.PrevHash, r.Hash)
		})
	}
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	copy(rows, out)
	return nil
}

// auditArrays is rows as one array per column, in auditCols' order.
func auditArrays(rows []store.AuditRow) []any {
	seq, ts := make([]int64, len(rows)), make([]int64, len(rows))
	var strs [10][]string
	for j := range strs {
		strs[j] = make([]string, len(rows))
	}
	for i := range rows {
		r := &rows[i]
		seq[i], ts[i] = r.Seq, r.Time.UnixMicro()
		for j, v := range [...]string{r.RequestID, r.KeyID, jsonList(r.Classes), r.Action, jsonList(r.Candidates),
			r.Chosen, r.ChosenHosting, r.Outcome, r.PrevHash, r.Hash} {
			strs[j][i] = v
		}
	}
	args := []any{seq, ts}
	for _, c := range strs {
		args = append(args, c)
	}
	return args
}

// Audit implements store.Store.
func (s *DB) Audit(ctx context.Context, f store.AuditFilter) ([]store.AuditRow, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) { conds = append(conds, cond); args = append(args, v) }
	if !f.From.IsZero() {
		add("ts >= ?", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		add("ts < ?", f.To.UnixMicro())
	}
	if f.KeyID != "" {
		add("key_id = ?", f.KeyID)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Class != "" {
		// classes is a JSON array of "class" or "class:count" strings:
		// match the whole element, with or without its count.
		conds = append(conds, `(classes LIKE ? ESCAPE '\' OR classes LIKE ? ESCAPE '\')`)
		args = append(args, `%"`+likeEscape(f.Class)+`"%`, `%"`+likeEscape(f.Class)+`:%`)
	}
	if f.AfterSeq > 0 {
		add("seq > ?", f.AfterSeq)
	}
	q := "SELECT " + auditCols + " FROM audit"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q += " ORDER BY seq LIMIT " + fmt.Sprint(limit)
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditRow
	for rows.Next() {
		var r store.AuditRow
		var ts int64
		var classes, cands string
		if err := rows.Scan(&r.Seq, &ts, &r.RequestID, &r.KeyID, &classes, &r.Action, &cands, &r.Chosen,
			&r.ChosenHosting, &r.Outcome, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("store: audit: %w", err)
		}
		r.Time = fromMicros(ts)
		if r.Classes, err = parseList(classes); err != nil {
			return nil, fmt.Errorf("store: audit: classes: %w", err)
		}
		if r.Candidates, err = parseList(cands); err != nil {
			return nil, fmt.Errorf("store: audit: candidates: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
