package sqldb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/jsonw"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

const usageCols = `ts, request_id, attempt, key_id, team, model, provider, upstream_model, hosting,
	status, latency_ms, ttft_ms, input_tokens, output_tokens, cached_tokens, cache_write_tokens,
	reasoning_tokens, cost_nanos, reference_cost_nanos, estimated, data_classes, policy_action, error_code`

const usageNCols = 23

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

// jsonList encodes a list column as a JSON array of strings.
func jsonList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	n := 2
	for _, s := range v {
		n += len(s) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return string(append(b, ']'))
}

// appendJSONString appends s as a JSON string (see jsonw.AppendString).
func appendJSONString(b []byte, s string) []byte { return jsonw.AppendString(b, s) }

func parseList(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var v []string
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}
