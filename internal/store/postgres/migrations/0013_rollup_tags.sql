-- The main rollups' second and minute rows carry the usage row's tags (its
-- tags column: a JSON object with sorted keys, '' for none); hourly and
-- daily rows keep tags = '' (one row per combination, as before). A
-- summary by tag then reads the whole seconds and minutes at the edges of
-- its range from them, as other summaries do, instead of up to an hour of
-- raw rows at each edge. (IF EXISTS and IF NOT EXISTS: a test writes rows
-- with today's code into a store of an older schema, see TestConvert.)
ALTER TABLE usage_rollup ADD COLUMN IF NOT EXISTS tags TEXT NOT NULL DEFAULT '';
ALTER TABLE usage_rollup DROP CONSTRAINT IF EXISTS usage_rollup_pkey,
	ADD PRIMARY KEY (grain, bucket, key_id, team, model, provider, upstream_model, hosting, policy_action, data_classes, tags);
-- The second and minute rows written before this moment have tags '',
-- whatever their records' tags: summaries by tag read raw rows for edges
-- before it, as the mark says (a new store has none).
INSERT INTO retention_marks (kind, before_us) SELECT 'rollup_tags', (extract(epoch from now()) * 1000000)::bigint WHERE EXISTS (SELECT 1 FROM usage);
