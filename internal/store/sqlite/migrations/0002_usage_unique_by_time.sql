-- The unique index that makes a journal replay harmless was on
-- (request_id, attempt). Request ids are random, so every usage row was
-- written into a random page of that index: at a few hundred thousand rows
-- each batch dirtied about one page per row, and the WAL writes and
-- checkpoints this caused doubled the cost of recording a request, more as
-- the table grew. A replayed record is the same record, time included, so
-- (ts, request_id, attempt) tells it just as well, and rows arrive nearly
-- in ts order: the index is appended to. It also serves the time-range
-- queries usage_ts served, so that one goes.
--
-- SQLite cannot drop a table constraint: the table is rebuilt.
CREATE TABLE usage_new (
	id INTEGER PRIMARY KEY,
	ts INTEGER NOT NULL,
	request_id TEXT NOT NULL,
	attempt INTEGER NOT NULL,
	key_id TEXT NOT NULL DEFAULT '',
	team TEXT NOT NULL DEFAULT '',
	model TEXT NOT NULL DEFAULT '',
	provider TEXT NOT NULL DEFAULT '',
	upstream_model TEXT NOT NULL DEFAULT '',
	hosting TEXT NOT NULL DEFAULT '',
	status INTEGER NOT NULL DEFAULT 0,
	latency_ms INTEGER NOT NULL DEFAULT 0,
	ttft_ms INTEGER NOT NULL DEFAULT 0,
	input_tokens INTEGER NOT NULL DEFAULT 0,
	output_tokens INTEGER NOT NULL DEFAULT 0,
	cached_tokens INTEGER NOT NULL DEFAULT 0,
	cache_write_tokens INTEGER NOT NULL DEFAULT 0,
	reasoning_tokens INTEGER NOT NULL DEFAULT 0,
	cost_nanos INTEGER NOT NULL DEFAULT 0,
	reference_cost_nanos INTEGER NOT NULL DEFAULT 0,
	estimated INTEGER NOT NULL DEFAULT 0,
	data_classes TEXT NOT NULL DEFAULT '[]',
	policy_action TEXT NOT NULL DEFAULT '',
	error_code TEXT NOT NULL DEFAULT '',
	UNIQUE (ts, request_id, attempt)
);
INSERT INTO usage_new SELECT * FROM usage;
DROP TABLE usage;
ALTER TABLE usage_new RENAME TO usage;
CREATE INDEX usage_key_ts ON usage (key_id, ts);
CREATE INDEX usage_team_ts ON usage (team, ts);
