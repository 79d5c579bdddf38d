-- The main rollups' second and minute rows carry the usage row's tags (its
-- tags column: a JSON object with sorted keys, '' for none); hourly and
-- daily rows keep tags = '' (one row per combination, as before). A
-- summary by tag then reads the whole seconds and minutes at the edges of
-- its range from them, as other summaries do, instead of up to an hour of
-- raw rows at each edge. SQLite cannot change a primary key in place: the
-- table is rebuilt (its only index is the primary key's).
CREATE TABLE usage_rollup_new (
	grain TEXT NOT NULL,
	bucket INTEGER NOT NULL,
	key_id TEXT NOT NULL,
	team TEXT NOT NULL,
	model TEXT NOT NULL,
	provider TEXT NOT NULL,
	upstream_model TEXT NOT NULL,
	hosting TEXT NOT NULL,
	policy_action TEXT NOT NULL,
	data_classes TEXT NOT NULL,
	tags TEXT NOT NULL DEFAULT '',
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
	PRIMARY KEY (grain, bucket, key_id, team, model, provider, upstream_model, hosting, policy_action, data_classes, tags)
);
INSERT INTO usage_rollup_new (grain, bucket, key_id, team, model, provider, upstream_model, hosting, policy_action,
	data_classes, requests, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
	cost_nanos, reference_cost_nanos, estimated, errors, latency_ms_sum,
	lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT grain, bucket, key_id, team, model, provider, upstream_model, hosting, policy_action,
	data_classes, requests, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
	cost_nanos, reference_cost_nanos, estimated, errors, latency_ms_sum,
	lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11
FROM usage_rollup;
DROP TABLE usage_rollup;
ALTER TABLE usage_rollup_new RENAME TO usage_rollup;
-- The second and minute rows written before this moment have tags '',
-- whatever their records' tags: summaries by tag read raw rows for edges
-- before it, as the mark says (a new store has none).
INSERT INTO retention_marks (kind, before_us) SELECT 'rollup_tags', CAST(strftime('%s', 'now') AS INTEGER) * 1000000 WHERE EXISTS (SELECT 1 FROM usage);
