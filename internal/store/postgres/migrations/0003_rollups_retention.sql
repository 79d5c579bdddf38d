-- Rollups: usage summed per hour and per UTC day, per key, team, model
-- (the name the client sent: a model or a route), provider, upstream
-- model, hosting, policy action and data classes, kept up to date in the
-- transaction that stores the raw rows, so summaries read a few rows per
-- hour whatever the traffic, and raw rows can be pruned without losing
-- the totals. lat_0 .. lat_11 count attempts by latency: <= 50, 100, 250,
-- 500 ms, 1, 2.5, 5, 10, 30, 60, 120 s, and above.
CREATE TABLE usage_rollup (
	grain TEXT NOT NULL,
	bucket BIGINT NOT NULL,
	key_id TEXT NOT NULL,
	team TEXT NOT NULL,
	model TEXT NOT NULL,
	provider TEXT NOT NULL,
	upstream_model TEXT NOT NULL,
	hosting TEXT NOT NULL,
	policy_action TEXT NOT NULL,
	data_classes TEXT NOT NULL,
	requests BIGINT NOT NULL DEFAULT 0,
	input_tokens BIGINT NOT NULL DEFAULT 0,
	output_tokens BIGINT NOT NULL DEFAULT 0,
	cached_tokens BIGINT NOT NULL DEFAULT 0,
	cache_write_tokens BIGINT NOT NULL DEFAULT 0,
	reasoning_tokens BIGINT NOT NULL DEFAULT 0,
	cost_nanos BIGINT NOT NULL DEFAULT 0,
	reference_cost_nanos BIGINT NOT NULL DEFAULT 0,
	estimated BIGINT NOT NULL DEFAULT 0,
	errors BIGINT NOT NULL DEFAULT 0,
	latency_ms_sum BIGINT NOT NULL DEFAULT 0,
	lat_0 BIGINT NOT NULL DEFAULT 0, lat_1 BIGINT NOT NULL DEFAULT 0, lat_2 BIGINT NOT NULL DEFAULT 0,
	lat_3 BIGINT NOT NULL DEFAULT 0, lat_4 BIGINT NOT NULL DEFAULT 0, lat_5 BIGINT NOT NULL DEFAULT 0,
	lat_6 BIGINT NOT NULL DEFAULT 0, lat_7 BIGINT NOT NULL DEFAULT 0, lat_8 BIGINT NOT NULL DEFAULT 0,
	lat_9 BIGINT NOT NULL DEFAULT 0, lat_10 BIGINT NOT NULL DEFAULT 0, lat_11 BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (grain, bucket, key_id, team, model, provider, upstream_model, hosting, policy_action, data_classes)
);

-- What pruning removed: per record kind, everything before "before" is
-- gone from the raw table (the rollups keep usage's sums).
CREATE TABLE retention_marks (
	kind TEXT PRIMARY KEY,
	before_us BIGINT NOT NULL
);

-- The audit chain's checkpoint: the last pruned row's seq and hash, so the
-- rows kept still verify from it. One row.
CREATE TABLE audit_checkpoint (
	id INTEGER PRIMARY KEY,
	seq BIGINT NOT NULL,
	hash TEXT NOT NULL,
	ts BIGINT NOT NULL,
	pruned_at BIGINT NOT NULL
);

-- Rows stored before this migration.
INSERT INTO usage_rollup (grain, bucket, key_id, team, model, provider, upstream_model, hosting, policy_action,
	data_classes, requests, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
	cost_nanos, reference_cost_nanos, estimated, errors, latency_ms_sum,
	lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT g.grain, u.ts - (u.ts % g.width), key_id, team, model, provider, upstream_model, hosting, policy_action, data_classes,
	COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cached_tokens), SUM(cache_write_tokens), SUM(reasoning_tokens),
	SUM(cost_nanos), SUM(reference_cost_nanos), SUM(estimated), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), SUM(latency_ms),
	SUM(CASE WHEN latency_ms <= 50 THEN 1 ELSE 0 END),
	SUM(CASE WHEN latency_ms > 50 AND latency_ms <= 100 THEN 1 ELSE 0 END),
	SUM(CASE WHEN latency_ms > 100 AND latency_ms <= 250 THEN 1 ELSE 0 END),
	SUM(CASE WHEN latency_ms > 250 AND latency_ms <= 500 THEN 1 ELSE 0 END),
	SUM(CASE WHEN latency_ms > 500 AND latency_ms <= 1000 THEN 1 ELSE 0 END),
	SUM(CASE WHEN latency_ms > 1000 AND latency_ms <= 2500 THEN 1 ELSE 0 END),
	SUM(CASE WHEN latency_ms > 2500 AND latency_ms <= 5000 THEN 1 ELSE 0 END),
	SUM(CASE WHEN latency_ms > 5000 AND latency_ms <= 10000 THEN 1 ELSE 0 END),
	SUM(CASE WHEN latency_ms > 10000 AND latency_ms <= 30000 THEN 1 ELSE 0 END),
	SUM(CASE WHEN latency_ms > 30000 AND latency_ms <= 60000 THEN 1 ELSE 0 END),
	SUM(CASE WHEN latency_ms > 60000 AND latency_ms <= 120000 THEN 1 ELSE 0 END),
	SUM(CASE WHEN latency_ms > 120000 THEN 1 ELSE 0 END)
FROM usage u CROSS JOIN (SELECT 'h' AS grain, 3600000000 AS width UNION ALL SELECT 'd', 86400000000) g
GROUP BY g.grain, u.ts - (u.ts % g.width), key_id, team, model, provider, upstream_model, hosting, policy_action, data_classes;
