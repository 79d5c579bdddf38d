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

// AppendAuditBatch implements store.Store (see Commit).
func (s *DB) AppendAuditBatch(ctx context.Context, rows []store.AuditRow, hash func(string, *store.AuditRow) string) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := s.Commit(ctx, store.Batch{Audit: rows, Hash: hash}); err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	return nil
}

// auditHeadSQL reads the chain's head (migration audit_head): one row,
// kept by the appends themselves, so finding where the chain goes on costs
// the same whatever the audit table's size or (PostgreSQL) partitions.
const auditHeadSQL = `SELECT seq, hash FROM audit_head WHERE id = 1`

// AuditHead implements store.AuditHeader.
func (s *DB) AuditHead(ctx context.Context) (seq int64, hash string, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, auditHeadSQL).Scan(&seq, &hash)
	if isNoRows(err) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("store: audit head: %w", err)
	}
	return seq, hash, true, nil
}

// auditSetHeadSQL moves the head to the last row a transaction appended.
const auditSetHeadSQL = `INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)
	ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`

// auditArraysSQL appends rows given as one array per column.
const auditArraysSQL = `INSERT INTO audit (` + auditCols + `) SELECT * FROM unnest($1::bigint[], $2::bigint[],
	$3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])`

// auditStmts are the prepared statements an audit append needs.
type auditStmts struct {
	head, setHead, arr stmt
	rows               rowStmts
}

// prepareAudit prepares them; call it before BeginTx.
func (s *DB) prepareAudit(ctx context.Context) (a auditStmts, err error) {
	if a.head, err = s.prepared(ctx, auditHeadSQL); err != nil {
		return a, err
	}
	if a.setHead, err = s.prepared(ctx, s.rebind(auditSetHeadSQL)); err != nil {
		return a, err
	}
	if s.d.Arrays {
		a.arr, err = s.prepared(ctx, auditArraysSQL)
	} else {
		a.rows, err = s.rowStmts(ctx, "audit", auditCols, 12)
	}
	return a, err
}

// auditKey is what makes an audit row the same row for a replay.
type auditKey struct {
	ts         int64
	id, chosen string
}

// writeAudit chains and inserts rows in tx, which holds the audit lock
// (PostgreSQL advisory lock; SQLite's write lock), so seq and prev_hash
// are never shared. With careful, rows already stored are skipped (and
// keep their zero Seq). rows are updated in place only through out, which
// the caller copies back after the commit.
func (s *DB) writeAudit(ctx context.Context, tx *sql.Tx, st auditStmts, rows []store.AuditRow,
	hash func(string, *store.AuditRow) string, careful bool) ([]store.AuditRow, error) {
	var have map[auditKey]bool
	if careful {
		var err error
		if have, err = s.storedAudit(ctx, tx, rows); err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
	}
	var seq int64
	var prev string
	// No head: a new log (the migration that made the table set it from
	// the rows and checkpoint stored before it).
	if err := st.head.queryRow(ctx, tx, &seq, &prev); err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("head: %w", err)
	}
	out := make([]store.AuditRow, len(rows))
	ins := make([]store.AuditRow, 0, len(rows))
	for i := range rows {
		r := rows[i]
		if have != nil {
			k := auditKey{r.Time.UnixMicro(), r.RequestID, r.Chosen}
			if have[k] {
				out[i] = r
				continue
			}
			have[k] = true // a duplicate within the batch is stored once
		}
		seq++
		r.Seq = seq
		r.PrevHash = prev
		r.Hash = hash(prev, &r)
		prev = r.Hash
		out[i] = r
		ins = append(ins, r)
	}
	if len(ins) == 0 {
		return out, nil
	}
	if err := st.setHead.exec(ctx, tx, seq, prev); err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	var err error
	if s.d.Arrays {
		err = st.arr.exec(ctx, tx, auditArrays(ins)...)
	} else {
		b := make(boxes, 12)
		err = st.rows.exec(ctx, tx, len(ins), func(args []any, i int) []any {
			r := &ins[i]
			// prev_hash and hash share a box column: a row's prev_hash
			// is the row before's hash.
			return append(args, r.Seq, r.Time.UnixMicro(), r.RequestID, b.str(3, r.KeyID), b.str(4, jsonList(r.Classes)),
				b.str(5, r.Action), b.str(6, jsonList(r.Candidates)), b.str(7, r.Chosen), b.str(8, r.ChosenHosting),
				b.str(9, r.Outcome), b.str(11, r.PrevHash), b.str(11, r.Hash))
		})
	}
	return out, err
}

// storedAudit returns the keys of the stored rows that could be rows
// again: those in the rows' time range (audit_ts serves it).
func (s *DB) storedAudit(ctx context.Context, tx *sql.Tx, rows []store.AuditRow) (map[auditKey]bool, error) {
	lo, hi := rows[0].Time.UnixMicro(), rows[0].Time.UnixMicro()
	for i := range rows {
		t := rows[i].Time.UnixMicro()
		lo, hi = min(lo, t), max(hi, t)
	}
	q, err := tx.QueryContext(ctx, s.rebind(`SELECT ts, request_id, chosen FROM audit WHERE ts >= ? AND ts <= ?`), lo, hi)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	have := map[auditKey]bool{}
	for q.Next() {
		var k auditKey
		if err := q.Scan(&k.ts, &k.id, &k.chosen); err != nil {
			return nil, err
		}
		have[k] = true
	}
	return have, q.Err()
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
	if f.Newest {
		q += " ORDER BY seq DESC LIMIT " + fmt.Sprint(limit)
	} else {
		q += " ORDER BY seq LIMIT " + fmt.Sprint(limit)
	}
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
