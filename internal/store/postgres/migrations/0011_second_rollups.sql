-- Second rollups (grain 's') are kept from now on, in usage_rollup, for an
-- hour (the writers prune them): a summary ending now reads the current
-- second's raw rows rather than the current minute's. They are not filled
-- from the rows already stored, so summaries read raw rows for edges
-- before this moment, as the mark says (a new store has none).
INSERT INTO retention_marks (kind, before_us) SELECT 'rollup_second', (extract(epoch from now()) * 1000000)::bigint WHERE EXISTS (SELECT 1 FROM usage);
