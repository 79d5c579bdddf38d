-- Minute rollups (grain 'm') are kept from now on, in the same table; they
-- are not filled from the rows already stored, so summaries read raw rows
-- for edges before this moment, as the mark says (a new store has none).
INSERT INTO retention_marks (kind, before_us) SELECT 'rollup_minute', (extract(epoch from now()) * 1000000)::bigint WHERE EXISTS (SELECT 1 FROM usage);
