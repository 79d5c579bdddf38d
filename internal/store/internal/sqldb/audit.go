package sqldb

import (
	"context"
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
// are never shared, and a batch costs one commit.
func (s *DB) AppendAuditBatch(ctx context.Context, rows []store.AuditRow, hash func(string, *store.AuditRow) string) error {
	if len(rows) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	defer tx.Rollback()
	if err := s.lock(ctx, tx, lockAudit); err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	var seq int64
	var prev string
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !isNoRows(err) {
		return fmt.Errorf("store: append audit: last: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, s.rebind(`INSERT INTO audit (`+auditCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`))
	if err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	defer stmt.Close()
	out := make([]store.AuditRow, len(rows))
	for i := range rows {
		r := rows[i]
		classes, err := jsonList(r.Classes)
		if err != nil {
			return fmt.Errorf("store: append audit: %w", err)
		}
		cands, err := jsonList(r.Candidates)
		if err != nil {
			return fmt.Errorf("store: append audit: %w", err)
		}
		seq++
		r.Seq = seq
		r.PrevHash = prev
		r.Hash = hash(prev, &r)
		if _, err := stmt.ExecContext(ctx, r.Seq, r.Time.UnixMicro(), r.RequestID, r.KeyID, classes, r.Action, cands,
			r.Chosen, r.ChosenHosting, r.Outcome, r.PrevHash, r.Hash); err != nil {
			return fmt.Errorf("store: append audit: %w", err)
		}
		prev = r.Hash
		out[i] = r
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: append audit: commit: %w", err)
	}
	copy(rows, out)
	return nil
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
