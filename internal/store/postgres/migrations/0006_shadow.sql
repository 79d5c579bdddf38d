-- Shadow comparisons (internal/shadow): one row per candidate answer
-- compared with the live answer of a sampled request. No prompt or answer
-- text is kept, only the verdict and the measurements of both calls, unless
-- a rule opts in with record_prompts (prompt: the last user message as
-- policy cleared it, never for a request carrying a data class).
-- Pruned by metering.retention.shadow.
CREATE TABLE shadow_results (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ts BIGINT NOT NULL,
	request_id TEXT NOT NULL,
	key_id TEXT NOT NULL DEFAULT '',
	team TEXT NOT NULL DEFAULT '',
	route TEXT NOT NULL DEFAULT '',
	live TEXT NOT NULL DEFAULT '',
	live_provider TEXT NOT NULL DEFAULT '',
	live_hosting TEXT NOT NULL DEFAULT '',
	candidate TEXT NOT NULL,
	candidate_provider TEXT NOT NULL DEFAULT '',
	candidate_hosting TEXT NOT NULL DEFAULT '',
	data_classes TEXT NOT NULL DEFAULT '[]',
	policy_action TEXT NOT NULL DEFAULT '',
	method TEXT NOT NULL DEFAULT '',
	verdict TEXT NOT NULL,
	detail TEXT NOT NULL DEFAULT '',
	error_code TEXT NOT NULL DEFAULT '',
	judge TEXT NOT NULL DEFAULT '',
	judge_model TEXT NOT NULL DEFAULT '',
	live_latency_ms BIGINT NOT NULL DEFAULT 0,
	candidate_latency_ms BIGINT NOT NULL DEFAULT 0,
	live_input_tokens BIGINT NOT NULL DEFAULT 0,
	live_output_tokens BIGINT NOT NULL DEFAULT 0,
	candidate_input_tokens BIGINT NOT NULL DEFAULT 0,
	candidate_output_tokens BIGINT NOT NULL DEFAULT 0,
	live_cost_nanos BIGINT NOT NULL DEFAULT 0,
	candidate_cost_nanos BIGINT NOT NULL DEFAULT 0,
	judge_cost_nanos BIGINT NOT NULL DEFAULT 0,
	prompt TEXT NOT NULL DEFAULT '',
	sample_rate DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX shadow_results_ts ON shadow_results (ts);
CREATE INDEX shadow_results_candidate_ts ON shadow_results (candidate, ts);
