-- Times are Unix microseconds (UTC); money is nanodollars (USD x 1e9);
-- lists are JSON arrays. The PostgreSQL schema is kept alike on purpose.
CREATE TABLE usage (
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
	UNIQUE (request_id, attempt)
);
CREATE INDEX usage_ts ON usage (ts);
CREATE INDEX usage_key_ts ON usage (key_id, ts);
CREATE INDEX usage_team_ts ON usage (team, ts);

CREATE TABLE totals (
	scope TEXT NOT NULL,
	period TEXT NOT NULL,
	period_start INTEGER NOT NULL,
	hosting TEXT NOT NULL,
	spent_nanos INTEGER NOT NULL DEFAULT 0,
	tokens INTEGER NOT NULL DEFAULT 0,
	requests INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (scope, period, period_start, hosting)
);

CREATE TABLE audit (
	seq INTEGER PRIMARY KEY,
	ts INTEGER NOT NULL,
	request_id TEXT NOT NULL,
	key_id TEXT NOT NULL DEFAULT '',
	classes TEXT NOT NULL DEFAULT '[]',
	action TEXT NOT NULL,
	candidates TEXT NOT NULL DEFAULT '[]',
	chosen TEXT NOT NULL DEFAULT '',
	chosen_hosting TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL DEFAULT '',
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE INDEX audit_ts ON audit (ts);

CREATE TABLE keys (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	team TEXT NOT NULL DEFAULT '',
	secret_hash TEXT NOT NULL UNIQUE,
	prefix TEXT NOT NULL,
	models TEXT NOT NULL DEFAULT '[]',
	budget_nanos INTEGER NOT NULL DEFAULT 0,
	period TEXT NOT NULL DEFAULT '',
	rpm INTEGER NOT NULL DEFAULT 0,
	tpm INTEGER NOT NULL DEFAULT 0,
	created_us INTEGER NOT NULL,
	revoked_us INTEGER,
	expires_us INTEGER
);
