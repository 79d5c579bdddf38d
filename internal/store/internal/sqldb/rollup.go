package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

const rollupKeyCols = `grain, bucket, key_id, team, model, provider, upstream_model, hosting, policy_action, data_classes`

const rollupSumCols = `requests, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
	cost_nanos, reference_cost_nanos, estimated, errors, latency_ms_sum,
	lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11`

// rollupSQL adds one row of sums to a rollup row, creating it if needed.
func (s *DB) rollupSQL() string {
	var set []string
	for _, c := range strings.Split(rollupSumCols, ",") {
		c = strings.TrimSpace(c)
		set = append(set, c+" = usage_rollup."+c+" + excluded."+c)
	}
	return s.rebind(`INSERT INTO usage_rollup (` + rollupKeyCols + `, ` + rollupSumCols + `) VALUES (` +
		strings.TrimSuffix(strings.Repeat("?, ", 10+11+store.LatencyBuckets), ", ") + `)
		ON CONFLICT (` + rollupKeyCols + `) DO UPDATE SET ` + strings.Join(set, ", "))
}

// sumRollups is store.AddRollups over the records keep allows (all when
// keep is nil).
func sumRollups(recs []store.UsageRecord, keep []bool) map[store.RollupKey]*store.RollupDelta {
	m := make(map[store.RollupKey]*store.RollupDelta, 8)
	for i := range recs {
		if keep != nil && !keep[i] {
			continue
		}
		store.AddRollups(m, &recs[i], jsonList(recs[i].DataClasses))
	}
	return m
}

// upsertRollups adds m to the rollups in tx, in key order.
func (s *DB) upsertRollups(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, m map[store.RollupKey]*store.RollupDelta) error {
	if len(m) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, stmt)
	defer st.Close()
	args := make([]any, 0, 21+store.LatencyBuckets)
	for _, k := range store.SortedRollupKeys(m) {
		d := m[k]
		args = append(args[:0], k.Grain, k.Bucket, k.KeyID, k.Team, k.Model, k.Provider, k.UpstreamModel, k.Hosting,
			k.PolicyAction, k.DataClasses, d.Requests, d.InputTokens, d.OutputTokens, d.CachedTokens, d.CacheWriteTokens,
			d.ReasoningTokens, d.CostNanos, d.ReferenceCostNanos, d.Estimated, d.Errors, d.LatencyMSSum)
		for _, c := range d.Latency {
			args = append(args, c)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
	}
	return nil
}
