package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// rollupKeyCols are usage_rollup's key: tags is the usage row's tags
// column in second and minute rows, "" in hourly and daily ones
// (store.RollupKey).
const rollupKeyCols = `grain, bucket, key_id, team, model, provider, upstream_model, hosting, policy_action, data_classes, tags`

const rollupSumCols = `requests, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
	cost_nanos, reference_cost_nanos, estimated, errors, latency_ms_sum,
	lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11`

// rollupRowsPerStmt is how many rows one rollup upsert carries: a
// combination's second, minute, hourly and daily rows, which is what a
// batch within one second has per combination.
const rollupRowsPerStmt = 4

// rollupSQL adds rows rows of sums to rollup rows, creating them if needed.
func (s *DB) rollupSQL(rows int) string {
	return s.insertSQL("usage_rollup", rollupKeyCols+", "+rollupSumCols, rollupNCols, rows) + rollupUpsert()
}

// rollupArraysSQL upserts any number of rollup rows given as one array
// per column (Arrays).
func rollupArraysSQL() string {
	types := make([]string, rollupNCols)
	for i := range types {
		t := "bigint"
		if i == 0 || (i >= 2 && i < 11) {
			t = "text"
		}
		types[i] = fmt.Sprintf("$%d::%s[]", i+1, t)
	}
	return `INSERT INTO usage_rollup (` + rollupKeyCols + `, ` + rollupSumCols + `) SELECT * FROM unnest(` +
		strings.Join(types, ", ") + `)` + rollupUpsert()
}

func rollupUpsert() string {
	var set []string
	for _, c := range strings.Split(rollupSumCols, ",") {
		c = strings.TrimSpace(c)
		set = append(set, c+" = usage_rollup."+c+" + excluded."+c)
	}
	return ` ON CONFLICT (` + rollupKeyCols + `) DO UPDATE SET ` + strings.Join(set, ", ")
}

const rollupNCols = 11 + 11 + store.LatencyBuckets

// upsertRollups adds m to the rollups in tx, in key order, several rows
// a statement (PostgreSQL, like SQLite, writes a multi-row upsert's rows
// in order, so locks are still taken in key order). On PostgreSQL more
// rows than one statement of rows carries (several tag sets in a second)
// go as arrays, in one statement: one round trip instead of several.
func (s *DB) upsertRollups(ctx context.Context, tx *sql.Tx, st usageStmts, m map[store.RollupKey]*store.RollupDelta) error {
	if len(m) == 0 {
		return nil
	}
	keys := store.SortedRollupKeys(m)
	var err error
	if st.rollupArr.ok() && len(keys) > rollupRowsPerStmt {
		err = st.rollupArr.exec(ctx, tx, rollupArrays(keys, m)...)
	} else {
		err = st.rollups.exec(ctx, tx, len(keys), func(args []any, i int) []any { return appendRollupArgs(args, keys[i], m[keys[i]]) })
	}
	if err != nil {
		return fmt.Errorf("rollups: %w", err)
	}
	return nil
}

// rollupArrays is keys' rows of m as rollupArraysSQL's arguments.
func rollupArrays(keys []store.RollupKey, m map[store.RollupKey]*store.RollupDelta) []any {
	var strs [10][]string // grain, key_id ... tags
	var ints [1 + 11 + store.LatencyBuckets][]int64
	for _, k := range keys {
		d := m[k]
		for i, v := range [...]string{k.Grain, k.KeyID, k.Team, k.Model, k.Provider, k.UpstreamModel, k.Hosting,
			k.PolicyAction, k.DataClasses, k.Tags} {
			strs[i] = append(strs[i], v)
		}
		for i, v := range [...]int64{k.Bucket, d.Requests, d.InputTokens, d.OutputTokens, d.CachedTokens,
			d.CacheWriteTokens, d.ReasoningTokens, d.CostNanos, d.ReferenceCostNanos, d.Estimated, d.Errors, d.LatencyMSSum} {
			ints[i] = append(ints[i], v)
		}
		for i, c := range d.Latency {
			ints[12+i] = append(ints[12+i], c)
		}
	}
	args := make([]any, 0, rollupNCols)
	args = append(args, strs[0], ints[0])
	for _, c := range strs[1:] {
		args = append(args, c)
	}
	for _, c := range ints[1:] {
		args = append(args, c)
	}
	return args
}

func appendRollupArgs(args []any, k store.RollupKey, d *store.RollupDelta) []any {
	args = append(args, k.Grain, k.Bucket, k.KeyID, k.Team, k.Model, k.Provider, k.UpstreamModel, k.Hosting,
		k.PolicyAction, k.DataClasses, k.Tags, d.Requests, d.InputTokens, d.OutputTokens, d.CachedTokens, d.CacheWriteTokens,
		d.ReasoningTokens, d.CostNanos, d.ReferenceCostNanos, d.Estimated, d.Errors, d.LatencyMSSum)
	for _, c := range d.Latency {
		args = append(args, c)
	}
	return args
}
