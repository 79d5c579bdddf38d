-- Usage and audit rows partitioned by time (native declarative
-- partitioning, RANGE on ts, one partition per UTC day, named
-- usage_pYYYYMMDD / audit_pYYYYMMDD, plus a DEFAULT partition that takes
-- any row no day partition holds, so an insert never fails for want of a
-- partition). Retention drops whole partitions instead of deleting rows.
-- Day partitions are created ahead, and rows that landed in the default
-- partition moved into them, by the store's upkeep (postgres.Store.Upkeep,
-- run by the gateway's retention loop), not here.
--
-- A partitioned table's unique keys must include the partition key:
-- usage keeps UNIQUE (ts, request_id, attempt) (migration 0002) and its id
-- becomes a plain column from a sequence (no index: nothing looks rows up
-- by id); audit's key becomes (seq, ts). seq stays unique because it is
-- only ever assigned under the audit lock.
--
-- When the tables are empty (a new store) they are replaced here. When
-- they hold rows, the partitioned tables are created beside them as
-- usage_part and audit_part and the store's upkeep converts them online:
-- it copies the rows in bounded batches while the old tables keep taking
-- writes, then swaps the names in one short transaction
-- (see internal/store/postgres/convert.go and docs/metering.md).
CREATE SEQUENCE usage_part_id_seq;
CREATE TABLE usage_part (
	id BIGINT NOT NULL DEFAULT nextval('usage_part_id_seq'),
	ts BIGINT NOT NULL,
	request_id TEXT NOT NULL,
	attempt BIGINT NOT NULL,
	key_id TEXT NOT NULL DEFAULT '',
	team TEXT NOT NULL DEFAULT '',
	model TEXT NOT NULL DEFAULT '',
	provider TEXT NOT NULL DEFAULT '',
	upstream_model TEXT NOT NULL DEFAULT '',
	hosting TEXT NOT NULL DEFAULT '',
	status BIGINT NOT NULL DEFAULT 0,
	latency_ms BIGINT NOT NULL DEFAULT 0,
	ttft_ms BIGINT NOT NULL DEFAULT 0,
	input_tokens BIGINT NOT NULL DEFAULT 0,
	output_tokens BIGINT NOT NULL DEFAULT 0,
	cached_tokens BIGINT NOT NULL DEFAULT 0,
	cache_write_tokens BIGINT NOT NULL DEFAULT 0,
	reasoning_tokens BIGINT NOT NULL DEFAULT 0,
	cost_nanos BIGINT NOT NULL DEFAULT 0,
	reference_cost_nanos BIGINT NOT NULL DEFAULT 0,
	estimated BIGINT NOT NULL DEFAULT 0,
	data_classes TEXT NOT NULL DEFAULT '[]',
	policy_action TEXT NOT NULL DEFAULT '',
	error_code TEXT NOT NULL DEFAULT '',
	CONSTRAINT usage_part_unique UNIQUE (ts, request_id, attempt)
) PARTITION BY RANGE (ts);
ALTER SEQUENCE usage_part_id_seq OWNED BY usage_part.id;
-- Filters by key or team over a time range (budgets' reports, --key, --team).
CREATE INDEX usage_part_key_ts ON usage_part (key_id, ts);
CREATE INDEX usage_part_team_ts ON usage_part (team, ts);
CREATE TABLE usage_part_default PARTITION OF usage_part DEFAULT;

CREATE TABLE audit_part (
	seq BIGINT NOT NULL,
	ts BIGINT NOT NULL,
	request_id TEXT NOT NULL,
	key_id TEXT NOT NULL DEFAULT '',
	classes TEXT NOT NULL DEFAULT '[]',
	action TEXT NOT NULL,
	candidates TEXT NOT NULL DEFAULT '[]',
	chosen TEXT NOT NULL DEFAULT '',
	chosen_hosting TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL DEFAULT '',
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL,
	-- Serves the chain's reads in seq order (verify, export, the head).
	CONSTRAINT audit_part_pkey PRIMARY KEY (seq, ts)
) PARTITION BY RANGE (ts);
-- Serves the dashboard's and `fulcrum audit`'s time ranges and the
-- replay check.
CREATE INDEX audit_part_ts ON audit_part (ts);
CREATE TABLE audit_part_default PARTITION OF audit_part DEFAULT;

-- Progress of an online conversion: the last id (usage) or seq (audit)
-- copied from the old table.
CREATE TABLE partition_conversion (
	tbl TEXT PRIMARY KEY,
	copied BIGINT NOT NULL
);

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM usage) THEN
		DROP TABLE usage;
		ALTER TABLE usage_part RENAME TO usage;
		ALTER TABLE usage_part_default RENAME TO usage_default;
	ELSE
		INSERT INTO partition_conversion (tbl, copied) VALUES ('usage', 0);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM audit) THEN
		DROP TABLE audit;
		ALTER TABLE audit_part RENAME TO audit;
		ALTER TABLE audit_part_default RENAME TO audit_default;
	ELSE
		INSERT INTO partition_conversion (tbl, copied) VALUES ('audit', 0);
	END IF;
END $$;
