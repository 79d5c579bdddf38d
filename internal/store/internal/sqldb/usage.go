package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

const usageCols = `ts, request_id, attempt, key_id, team, model, provider, upstream_model, hosting,
	status, latency_ms, ttft_ms, input_tokens, output_tokens, cached_tokens, cache_write_tokens,
	reasoning_tokens, cost_nanos, reference_cost_nanos, estimated, data_classes, policy_action, error_code`

const usageNCols = 23

// insertChunk bounds the rows of one INSERT statement (23 parameters each;
// SQLite allows 32766 parameters, PostgreSQL 65535).
const insertChunk = 500

type reqAttempt struct {
	id      string
	attempt int
}

// InsertUsage implements store.Store.
func (s *DB) InsertUsage(ctx context.Context, recs []store.UsageRecord) (int, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: insert usage: %w", err)
	}
	defer tx.Rollback()
	deltas := make(map[store.TotalKey]store.TotalDelta)
	inserted := 0
	for start := 0; start < len(recs); start += insertChunk {
		chunk := recs[start:min(start+insertChunk, len(recs))]
		added, err := s.insertChunk(ctx, tx, chunk)
		if err != nil {
			return 0, fmt.Errorf("store: insert usage: %w", err)
		}
		for i := range chunk {
			k := reqAttempt{chunk[i].RequestID, chunk[i].Attempt}
			if added[k] {
				delete(added, k) // a duplicate within the batch counts once
				store.AddTotals(deltas, &chunk[i])
				inserted++
			}
		}
	}
	if err := s.upsertTotals(ctx, tx, deltas); err != nil {
		return 0, fmt.Errorf("store: insert usage: totals: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: insert usage: commit: %w", err)
	}
	return inserted, nil
}

// insertChunk inserts rows in one statement and returns which were new.
func (s *DB) insertChunk(ctx context.Context, tx *sql.Tx, recs []store.UsageRecord) (map[reqAttempt]bool, error) {
	var b strings.Builder
	b.Grow(200 + len(recs)*(usageNCols*2+4))
	b.WriteString("INSERT INTO usage (")
	b.WriteString(usageCols)
	b.WriteString(") VALUES ")
	args := make([]any, 0, len(recs)*usageNCols)
	for i := range recs {
		r := &recs[i]
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?")
		b.WriteString(strings.Repeat(",?", usageNCols-1))
		b.WriteByte(')')
		classes, err := jsonList(r.DataClasses)
		if err != nil {
			return nil, err
		}
		args = append(args, r.Time.UnixMicro(), r.RequestID, r.Attempt, r.KeyID, r.Team, r.Model, r.Provider,
			r.UpstreamModel, r.Hosting, r.Status, r.LatencyMS, r.TTFTMS, r.InputTokens, r.OutputTokens,
			r.CachedTokens, r.CacheWriteTokens, r.ReasoningTokens, r.CostNanos, r.ReferenceCostNanos,
			boolInt(r.Estimated), classes, r.PolicyAction, r.ErrorCode)
	}
	b.WriteString(" ON CONFLICT (request_id, attempt) DO NOTHING RETURNING request_id, attempt")
	rows, err := tx.QueryContext(ctx, s.rebind(b.String()), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	added := make(map[reqAttempt]bool, len(recs))
	for rows.Next() {
		var k reqAttempt
		if err := rows.Scan(&k.id, &k.attempt); err != nil {
			return nil, err
		}
		added[k] = true
	}
	return added, rows.Err()
}

func (s *DB) upsertTotals(ctx context.Context, tx *sql.Tx, d map[store.TotalKey]store.TotalDelta) error {
	if len(d) == 0 {
		return nil
	}
	q := s.rebind(`INSERT INTO totals (scope, period, period_start, hosting, spent_nanos, tokens, requests)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scope, period, period_start, hosting) DO UPDATE SET
			spent_nanos = totals.spent_nanos + excluded.spent_nanos,
			tokens = totals.tokens + excluded.tokens,
			requests = totals.requests + excluded.requests`)
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer stmt.Close()
	// Concurrent batches must lock the total rows in one global order, or
	// PostgreSQL finds them deadlocked.
	keys := make([]store.TotalKey, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b store.TotalKey) int {
		return cmp.Or(strings.Compare(a.Scope, b.Scope), strings.Compare(string(a.Period), string(b.Period)),
			a.PeriodStart.Compare(b.PeriodStart), strings.Compare(a.Hosting, b.Hosting))
	})
	for _, k := range keys {
		v := d[k]
		if _, err := stmt.ExecContext(ctx, k.Scope, string(k.Period), k.PeriodStart.UnixMicro(), k.Hosting,
			v.SpentNanos, v.Tokens, v.Requests); err != nil {
			return err
		}
	}
	return nil
}

// where builds the WHERE clause of a usage filter.
func usageWhere(f store.UsageFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) { conds = append(conds, cond); args = append(args, v) }
	if !f.From.IsZero() {
		add("ts >= ?", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		add("ts < ?", f.To.UnixMicro())
	}
	for _, c := range []struct{ col, v string }{
		{"key_id", f.KeyID}, {"team", f.Team}, {"model", f.Model}, {"provider", f.Provider},
		{"hosting", f.Hosting}, {"request_id", f.RequestID},
	} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Usage implements store.Store.
func (s *DB) Usage(ctx context.Context, f store.UsageFilter) ([]store.UsageRecord, error) {
	where, args := usageWhere(f)
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q := "SELECT " + usageCols + " FROM usage" + where + " ORDER BY ts, id LIMIT " + fmt.Sprint(limit)
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: usage: %w", err)
	}
	defer rows.Close()
	var out []store.UsageRecord
	for rows.Next() {
		var r store.UsageRecord
		var ts int64
		var est int
		var classes string
		if err := rows.Scan(&ts, &r.RequestID, &r.Attempt, &r.KeyID, &r.Team, &r.Model, &r.Provider,
			&r.UpstreamModel, &r.Hosting, &r.Status, &r.LatencyMS, &r.TTFTMS, &r.InputTokens, &r.OutputTokens,
			&r.CachedTokens, &r.CacheWriteTokens, &r.ReasoningTokens, &r.CostNanos, &r.ReferenceCostNanos,
			&est, &classes, &r.PolicyAction, &r.ErrorCode); err != nil {
			return nil, fmt.Errorf("store: usage: %w", err)
		}
		r.Time = fromMicros(ts)
		r.Estimated = est != 0
		if r.DataClasses, err = parseList(classes); err != nil {
			return nil, fmt.Errorf("store: usage: data_classes: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UsageSummary implements store.Store.
func (s *DB) UsageSummary(ctx context.Context, f store.UsageFilter, by []store.GroupBy) ([]store.UsageGroup, error) {
	var cols []string
	for _, g := range by {
		var c string
		switch g {
		case store.ByKey:
			c = "key_id"
		case store.ByTeam:
			c = "team"
		case store.ByModel:
			c = "model"
		case store.ByProvider:
			c = "provider"
		case store.ByHosting:
			c = "hosting"
		case store.ByDay:
			c = s.d.DayExpr
		default:
			return nil, fmt.Errorf("store: usage summary: unknown group %q", g)
		}
		cols = append(cols, c)
	}
	where, args := usageWhere(f)
	sel := strings.Join(append(append([]string{}, cols...), ""), ", ")
	q := "SELECT " + sel + `COUNT(*), COALESCE(SUM(input_tokens),0), COALESCE(SUM(output_tokens),0),
		COALESCE(SUM(cached_tokens),0), COALESCE(SUM(reasoning_tokens),0), COALESCE(SUM(cost_nanos),0),
		COALESCE(SUM(reference_cost_nanos),0), COALESCE(SUM(estimated),0),
		COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END),0) FROM usage` + where
	if len(cols) > 0 {
		var idx []string
		for i := range cols {
			idx = append(idx, fmt.Sprint(i+1))
		}
		q += " GROUP BY " + strings.Join(idx, ", ") + " ORDER BY " + strings.Join(idx, ", ")
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	defer rows.Close()
	var out []store.UsageGroup
	for rows.Next() {
		g := store.UsageGroup{Keys: make([]string, len(cols))}
		dest := make([]any, 0, len(cols)+9)
		for i := range g.Keys {
			dest = append(dest, &g.Keys[i])
		}
		dest = append(dest, &g.Requests, &g.InputTokens, &g.OutputTokens, &g.CachedTokens, &g.ReasoningTokens,
			&g.CostNanos, &g.ReferenceCostNanos, &g.Estimated, &g.Errors)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: usage summary: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func jsonList(v []string) (string, error) {
	if len(v) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func parseList(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var v []string
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}
