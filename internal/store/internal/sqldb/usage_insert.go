package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// InsertUsage implements store.Store.
func (s *DB) InsertUsage(ctx context.Context, recs []store.UsageRecord) (int, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	n, err := s.Commit(ctx, store.Batch{Usage: recs})
	if err != nil {
		return 0, fmt.Errorf("store: insert usage: %w", err)
	}
	return n, nil
}

// stmtCtx is the context statements inside a transaction run with: ctx
// without its cancellation. The SQLite driver starts a goroutine to watch
// every statement's context when it can be cancelled, which costs more
// than a small INSERT; the transaction itself still watches ctx (BeginTx)
// and is rolled back when ctx ends, so a cancelled batch stops after the
// statement in flight.
func stmtCtx(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// usageStmts are the prepared statements a usage batch needs.
type usageStmts struct {
	rows, rollups rowStmts
	arr, totals   stmt
	// rollupArr is rollupArraysSQL's statement (Arrays only).
	rollupArr stmt
	attr      attrStmts
	// both is bothSQL's statement (Arrays only).
	both stmt
}

// prepareUsage prepares them; call it before BeginTx. They are kept
// (s.usageStmts) once prepared, so that a batch does not build their SQL
// again to look them up.
func (s *DB) prepareUsage(ctx context.Context) (u usageStmts, err error) {
	if p := s.usageStmts.Load(); p != nil {
		return *p, nil
	}
	defer func() {
		if err == nil {
			s.usageStmts.Store(&u)
		}
	}()
	if s.d.Arrays {
		if u.arr, err = s.prepared(ctx, usageArraysSQL); err != nil {
			return u, err
		}
	} else if u.rows, err = s.rowStmts(ctx, "usage", usageCols, usageNCols); err != nil {
		return u, err
	}
	if u.totals, err = s.prepared(ctx, s.totalsSQL()); err != nil {
		return u, err
	}
	if u.rollups, err = s.rowStmtsOf(ctx, rollupNCols, rollupRowsPerStmt, s.rollupSQL); err != nil {
		return u, err
	}
	if s.d.Arrays {
		if u.rollupArr, err = s.prepared(ctx, rollupArraysSQL()); err != nil {
			return u, err
		}
	}
	if u.attr, err = s.prepareAttr(ctx); err != nil || !s.d.Arrays {
		return u, err
	}
	u.both, err = s.prepared(ctx, s.bothSQL())
	return u, err
}

// writeUsageNew inserts recs, all taken to be new, and their totals in tx.
func (s *DB) writeUsageNew(ctx context.Context, tx *sql.Tx, st usageStmts, recs []store.UsageRecord, w *attrWork) error {
	var err error
	if s.d.Arrays {
		var c usageColumns
		c.add(recs)
		err = st.arr.exec(ctx, tx, c.args()...)
	} else {
		b := make(boxes, usageNCols)
		err = st.rows.exec(ctx, tx, len(recs), func(args []any, i int) []any { return appendUsageArgs(args, b, &recs[i]) })
	}
	if err != nil {
		return err
	}
	if err := s.upsertTotals(ctx, tx, st.totals, sumTotals(recs, nil)); err != nil {
		return fmt.Errorf("totals: %w", err)
	}
	return s.writeRollups(ctx, tx, st, recs, nil, w)
}

// appendUsageArgs appends r's columns in usageCols' order; b (usageNCols
// long) carries the boxes of the batch's repeated strings.
func appendUsageArgs(args []any, b boxes, r *store.UsageRecord) []any {
	return append(args, r.Time.UnixMicro(), r.RequestID, r.Attempt, b.str(3, r.KeyID), b.str(4, r.Team),
		b.str(5, r.Model), b.str(6, r.Provider), b.str(7, r.UpstreamModel), b.str(8, r.Hosting), r.Status,
		r.LatencyMS, r.TTFTMS, r.InputTokens, r.OutputTokens, r.CachedTokens, r.CacheWriteTokens,
		r.ReasoningTokens, r.CostNanos, r.ReferenceCostNanos, boolInt(r.Estimated), b.str(20, jsonList(r.DataClasses)),
		b.str(21, r.PolicyAction), b.str(22, r.ErrorCode), b.str(23, jsonTags(r.Tags)), b.str(24, r.EndUser))
}

// usageColumns holds a batch as one slice per column, for unnest.
type usageColumns struct {
	ints [13][]int64  // ts, attempt, status ... estimated, in usageCols' order
	strs [12][]string // request_id, key_id ... error_code, tags, end_user
}

func (c *usageColumns) add(recs []store.UsageRecord) {
	for i := range c.ints {
		c.ints[i] = make([]int64, 0, len(recs))
	}
	for i := range c.strs {
		c.strs[i] = make([]string, 0, len(recs))
	}
	for i := range recs {
		r := &recs[i]
		for j, v := range [...]int64{r.Time.UnixMicro(), int64(r.Attempt), int64(r.Status), r.LatencyMS, r.TTFTMS,
			r.InputTokens, r.OutputTokens, r.CachedTokens, r.CacheWriteTokens, r.ReasoningTokens, r.CostNanos,
			r.ReferenceCostNanos, int64(boolInt(r.Estimated))} {
			c.ints[j] = append(c.ints[j], v)
		}
		for j, v := range [...]string{r.RequestID, r.KeyID, r.Team, r.Model, r.Provider, r.UpstreamModel,
			r.Hosting, jsonList(r.DataClasses), r.PolicyAction, r.ErrorCode, jsonTags(r.Tags), r.EndUser} {
			c.strs[j] = append(c.strs[j], v)
		}
	}
}

func (c *usageColumns) args() []any {
	i, s := c.ints, c.strs
	return []any{i[0], s[0], i[1], s[1], s[2], s[3], s[4], s[5], s[6], i[2], i[3], i[4], i[5], i[6], i[7], i[8],
		i[9], i[10], i[11], i[12], s[7], s[8], s[9], s[10], s[11]}
}

// usageArraysSQL inserts a batch given as one array per column.
const usageArraysSQL = `INSERT INTO usage (` + usageCols + `) SELECT * FROM unnest($1::bigint[], $2::text[],
	$3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[],
	$11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[],
	$18::bigint[], $19::bigint[], $20::bigint[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[])`

// writeUsageCareful inserts the records not stored yet, and adds only
// those to the totals, in tx. It returns which records were new.
func (s *DB) writeUsageCareful(ctx context.Context, tx *sql.Tx, st usageStmts, recs []store.UsageRecord, w *attrWork) ([]bool, int, error) {
	keep := make([]bool, len(recs))
	inserted := 0
	for start := 0; start < len(recs); start += carefulChunk {
		chunk := recs[start:min(start+carefulChunk, len(recs))]
		added, err := s.insertChunkCareful(ctx, tx, chunk)
		if err != nil {
			return nil, 0, err
		}
		for i := range chunk {
			k := recKey{chunk[i].Time.UnixMicro(), chunk[i].RequestID, chunk[i].Attempt}
			if added[k] {
				delete(added, k) // a duplicate within the batch counts once
				keep[start+i] = true
				inserted++
			}
		}
	}
	if err := s.upsertTotals(ctx, tx, st.totals, sumTotals(recs, keep)); err != nil {
		return nil, 0, fmt.Errorf("totals: %w", err)
	}
	if err := s.writeRollups(ctx, tx, st, recs, keep, w); err != nil {
		return nil, 0, err
	}
	return keep, inserted, nil
}

// carefulChunk bounds the rows of one careful INSERT (23 parameters each;
// SQLite allows 32766 parameters, PostgreSQL 65535).
const carefulChunk = 500

// recKey is what makes a usage row unique: a replayed record is the same
// record, its time included (see migration 0002).
type recKey struct {
	ts      int64 // Unix µs, as stored
	id      string
	attempt int
}

// insertChunkCareful inserts the rows not stored yet in one statement and
// returns which were new.
func (s *DB) insertChunkCareful(ctx context.Context, tx *sql.Tx, recs []store.UsageRecord) (map[recKey]bool, error) {
	const skip = " ON CONFLICT (ts, request_id, attempt) DO NOTHING RETURNING ts, request_id, attempt"
	var q string
	var args []any
	if s.d.Arrays {
		// One statement text for every chunk size, so that the driver's
		// statement cache keeps one entry, not one per size.
		var c usageColumns
		c.add(recs)
		q, args = usageArraysSQL+skip, c.args()
	} else {
		q = s.insertSQL("usage", usageCols, usageNCols, len(recs)) + skip
		args = make([]any, 0, len(recs)*usageNCols)
		b := make(boxes, usageNCols)
		for i := range recs {
			args = appendUsageArgs(args, b, &recs[i])
		}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	added := make(map[recKey]bool, len(recs))
	for rows.Next() {
		var k recKey
		if err := rows.Scan(&k.ts, &k.id, &k.attempt); err != nil {
			return nil, err
		}
		added[k] = true
	}
	return added, rows.Err()
}

// dayKey groups records whose running totals move together: same key,
// team and hosting, same UTC day (every period starts at a UTC midnight).
type dayKey struct {
	keyID, team, hosting string
	day                  int64 // days since the Unix epoch
}

// sumTotals is store.AddTotals over the records keep allows (all when keep
// is nil), with the work per record cut to one small map update: records
// are summed per key, team, hosting and day first, and only those sums are
// spread over the scopes and periods.
func sumTotals(recs []store.UsageRecord, keep []bool) map[store.TotalKey]store.TotalDelta {
	days := make(map[dayKey]store.TotalDelta, 4)
	for i := range recs {
		if keep != nil && !keep[i] {
			continue
		}
		r := &recs[i]
		if r.KeyID == "" && r.Team == "" {
			continue
		}
		u := r.Time.Unix()
		k := dayKey{keyID: r.KeyID, team: r.Team, hosting: r.Hosting, day: u / 86400}
		if u%86400 < 0 {
			k.day--
		}
		v := days[k]
		v.SpentNanos += r.CostNanos
		v.Tokens += r.InputTokens + r.OutputTokens
		v.Requests++
		days[k] = v
	}
	d := make(map[store.TotalKey]store.TotalDelta, len(days)*8)
	for k, v := range days {
		start := time.Unix(k.day*86400, 0).UTC()
		var scopes [2]string
		n := 0
		if k.keyID != "" {
			scopes[n] = store.ScopeKey(k.keyID)
			n++
		}
		if k.team != "" {
			scopes[n] = store.ScopeTeam(k.team)
			n++
		}
		for _, scope := range scopes[:n] {
			for _, p := range store.Periods {
				tk := store.TotalKey{Scope: scope, Period: p, PeriodStart: p.Start(start), Hosting: k.hosting}
				t := d[tk]
				t.SpentNanos += v.SpentNanos
				t.Tokens += v.Tokens
				t.Requests += v.Requests
				d[tk] = t
			}
		}
	}
	return d
}

// totalsSQL adds one row of deltas to the running totals, or, with
// Arrays, every row given as arrays.
func (s *DB) totalsSQL() string {
	const upsert = ` ON CONFLICT (scope, period, period_start, hosting) DO UPDATE SET
		spent_nanos = totals.spent_nanos + excluded.spent_nanos,
		tokens = totals.tokens + excluded.tokens,
		requests = totals.requests + excluded.requests`
	if s.d.Arrays {
		return `INSERT INTO totals (scope, period, period_start, hosting, spent_nanos, tokens, requests)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[])` + upsert
	}
	return s.rebind(`INSERT INTO totals (scope, period, period_start, hosting, spent_nanos, tokens, requests)
		VALUES (?, ?, ?, ?, ?, ?, ?)` + upsert)
}

func (s *DB) upsertTotals(ctx context.Context, tx *sql.Tx, stmt stmt, d map[store.TotalKey]store.TotalDelta) error {
	if len(d) == 0 {
		return nil
	}
	// Concurrent batches must lock the total rows in one global order, or
	// PostgreSQL finds them deadlocked. (unnest yields rows in array order.)
	keys := make([]store.TotalKey, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b store.TotalKey) int {
		return cmp.Or(strings.Compare(a.Scope, b.Scope), strings.Compare(string(a.Period), string(b.Period)),
			a.PeriodStart.Compare(b.PeriodStart), strings.Compare(a.Hosting, b.Hosting))
	})
	st := stmt.on(ctx, tx)
	defer st.Close()
	if s.d.Arrays {
		var scope, period, hosting []string
		var start, spent, tokens, requests []int64
		for _, k := range keys {
			v := d[k]
			scope, period, hosting = append(scope, k.Scope), append(period, string(k.Period)), append(hosting, k.Hosting)
			start, spent = append(start, k.PeriodStart.UnixMicro()), append(spent, v.SpentNanos)
			tokens, requests = append(tokens, v.Tokens), append(requests, v.Requests)
		}
		_, err := st.ExecContext(ctx, scope, period, start, hosting, spent, tokens, requests)
		return err
	}
	for _, k := range keys {
		v := d[k]
		if _, err := st.ExecContext(ctx, k.Scope, string(k.Period), k.PeriodStart.UnixMicro(), k.Hosting,
			v.SpentNanos, v.Tokens, v.Requests); err != nil {
			return err
		}
	}
	return nil
}
