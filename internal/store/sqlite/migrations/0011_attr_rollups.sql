-- Attribution rollups: usage summed per hour and per UTC day by key, team,
-- model, provider, hosting, tags (the usage row's tags column, a JSON
-- object with sorted keys, '' for none) and end user, kept up to date in
-- the transaction that stores the raw rows, as usage_rollup is, so that
-- summaries grouped by tag or end user read rollups for whole hours and
-- outlive the raw rows. Pruned with the hourly and daily rollups.
CREATE TABLE usage_rollup_attr (
	grain TEXT NOT NULL,
	bucket INTEGER NOT NULL,
	key_id TEXT NOT NULL,
	team TEXT NOT NULL,
	model TEXT NOT NULL,
	provider TEXT NOT NULL,
	hosting TEXT NOT NULL,
	tags TEXT NOT NULL,
	end_user TEXT NOT NULL,
	requests INTEGER NOT NULL DEFAULT 0,
	input_tokens INTEGER NOT NULL DEFAULT 0,
	output_tokens INTEGER NOT NULL DEFAULT 0,
	cached_tokens INTEGER NOT NULL DEFAULT 0,
	cache_write_tokens INTEGER NOT NULL DEFAULT 0,
	reasoning_tokens INTEGER NOT NULL DEFAULT 0,
	cost_nanos INTEGER NOT NULL DEFAULT 0,
	reference_cost_nanos INTEGER NOT NULL DEFAULT 0,
	estimated INTEGER NOT NULL DEFAULT 0,
	errors INTEGER NOT NULL DEFAULT 0,
	latency_ms_sum INTEGER NOT NULL DEFAULT 0,
	lat_0 INTEGER NOT NULL DEFAULT 0, lat_1 INTEGER NOT NULL DEFAULT 0, lat_2 INTEGER NOT NULL DEFAULT 0,
	lat_3 INTEGER NOT NULL DEFAULT 0, lat_4 INTEGER NOT NULL DEFAULT 0, lat_5 INTEGER NOT NULL DEFAULT 0,
	lat_6 INTEGER NOT NULL DEFAULT 0, lat_7 INTEGER NOT NULL DEFAULT 0, lat_8 INTEGER NOT NULL DEFAULT 0,
	lat_9 INTEGER NOT NULL DEFAULT 0, lat_10 INTEGER NOT NULL DEFAULT 0, lat_11 INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (grain, bucket, key_id, team, model, provider, hosting, tags, end_user)
) WITHOUT ROWID; -- rows live in the key's b-tree: no second copy of the key in an index

-- The end users each UTC day (its start, Unix µs) names in the
-- attribution rollups: at most metering.retention.rollup_end_users a day
-- (default 0: none), in the order their first record committed; the day's
-- other end users are summed under '(other)'. Pruned with the raw usage
-- rows (summaries by end user apply the same names to them).
CREATE TABLE rollup_end_users (
	day INTEGER NOT NULL,
	end_user TEXT NOT NULL,
	PRIMARY KEY (day, end_user)
) WITHOUT ROWID;

-- Rows stored before this migration: the rollups over them, with every end
-- user summed under '(other)' (rollup_end_users starts empty: the rollups
-- name end users only when metering.retention.rollup_end_users is set, and
-- only from then on).
INSERT INTO usage_rollup_attr (grain, bucket, key_id, team, model, provider, hosting, tags, end_user,
	requests, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
	cost_nanos, reference_cost_nanos, estimated, errors, latency_ms_sum,
	lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT g.grain, u.ts - (u.ts % g.width), key_id, team, model, provider, hosting, tags, capped_user,
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
FROM (SELECT ts, key_id, team, model, provider, hosting, tags, status, latency_ms, input_tokens, output_tokens,
		cached_tokens, cache_write_tokens, reasoning_tokens, cost_nanos, reference_cost_nanos, estimated,
		CASE WHEN end_user = '' OR EXISTS (SELECT 1 FROM rollup_end_users e
			WHERE e.day = usage.ts - (usage.ts % 86400000000) AND e.end_user = usage.end_user) THEN end_user ELSE '(other)' END AS capped_user
	FROM usage) u CROSS JOIN (SELECT 'h' AS grain, 3600000000 AS width UNION ALL SELECT 'd', 86400000000) g
GROUP BY g.grain, u.ts - (u.ts % g.width), key_id, team, model, provider, hosting, tags, capped_user;
