package sqldb

import (
	"context"
	"fmt"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

var _ store.Shadows = (*DB)(nil)

const shadowCols = `ts, request_id, key_id, team, route, live, live_provider, live_hosting, candidate,
	candidate_provider, candidate_hosting, data_classes, policy_action, method, verdict, detail, error_code,
	judge, judge_model, live_latency_ms, candidate_latency_ms, live_input_tokens, live_output_tokens,
	candidate_input_tokens, candidate_output_tokens, live_cost_nanos, candidate_cost_nanos, judge_cost_nanos,
	sample_rate, prompt`

const shadowNCols = 30

// InsertShadow implements store.Shadows.
func (s *DB) InsertShadow(ctx context.Context, rows []store.ShadowResult) error {
	if len(rows) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: shadow: %w", err)
	}
	defer tx.Rollback()
	q := s.rebind("INSERT INTO shadow_results (" + shadowCols + ") VALUES (?" + strings.Repeat(", ?", shadowNCols-1) + ")")
	st, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return fmt.Errorf("store: shadow: %w", err)
	}
	defer st.Close()
	for i := range rows {
		r := &rows[i]
		if _, err := st.ExecContext(ctx, r.Time.UnixMicro(), r.RequestID, r.KeyID, r.Team, r.Route, r.Live, r.LiveProvider,
			r.LiveHosting, r.Candidate, r.CandidateProvider, r.CandidateHosting, jsonList(r.DataClasses), r.PolicyAction,
			r.Method, r.Verdict, r.Detail, r.ErrorCode, r.Judge, r.JudgeModel, r.LiveLatencyMS, r.CandidateLatencyMS,
			r.LiveInputTokens, r.LiveOutputTokens, r.CandInputTokens, r.CandOutputTokens, r.LiveCostNanos,
			r.CandidateCostNanos, r.JudgeCostNanos, r.SampleRate, r.Prompt); err != nil {
			return fmt.Errorf("store: shadow: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: shadow: %w", err)
	}
	return nil
}

// ShadowResults implements store.Shadows.
func (s *DB) ShadowResults(ctx context.Context, f store.ShadowFilter) ([]store.ShadowResult, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) { conds = append(conds, cond); args = append(args, v) }
	if !f.From.IsZero() {
		add("ts >= ?", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		add("ts < ?", f.To.UnixMicro())
	}
	if f.Candidate != "" {
		add("candidate = ?", f.Candidate)
	}
	if f.Route != "" {
		add("route = ?", f.Route)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100000
	}
	q := "SELECT " + shadowCols + " FROM shadow_results" + where + " ORDER BY ts, id LIMIT " + fmt.Sprint(limit)
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: shadow results: %w", err)
	}
	defer rows.Close()
	var out []store.ShadowResult
	for rows.Next() {
		var r store.ShadowResult
		var ts int64
		var classes string
		if err := rows.Scan(&ts, &r.RequestID, &r.KeyID, &r.Team, &r.Route, &r.Live, &r.LiveProvider, &r.LiveHosting,
			&r.Candidate, &r.CandidateProvider, &r.CandidateHosting, &classes, &r.PolicyAction, &r.Method, &r.Verdict,
			&r.Detail, &r.ErrorCode, &r.Judge, &r.JudgeModel, &r.LiveLatencyMS, &r.CandidateLatencyMS,
			&r.LiveInputTokens, &r.LiveOutputTokens, &r.CandInputTokens, &r.CandOutputTokens, &r.LiveCostNanos,
			&r.CandidateCostNanos, &r.JudgeCostNanos, &r.SampleRate, &r.Prompt); err != nil {
			return nil, fmt.Errorf("store: shadow results: %w", err)
		}
		r.Time = fromMicros(ts)
		if r.DataClasses, err = parseList(classes); err != nil {
			return nil, fmt.Errorf("store: shadow results: data_classes: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
