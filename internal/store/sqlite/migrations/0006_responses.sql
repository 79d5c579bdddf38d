-- Stored Responses API conversations (POST /v1/responses with store: true,
-- served through translation): what previous_response_id continues and
-- GET /v1/responses/{id} returns. Every column holds what policy cleared
-- (redacted values as placeholders). owner is the key that created the
-- response: no other key can read, continue or delete it.
CREATE TABLE responses (
	id TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	created_us BIGINT NOT NULL,
	model TEXT NOT NULL,
	-- items: the conversation's input items up to this response (history
	-- included), a JSON array; output: its output items; response: the
	-- Response object as the client received it (redacted form).
	items TEXT NOT NULL,
	output TEXT NOT NULL,
	response TEXT NOT NULL
);
CREATE INDEX responses_created ON responses (created_us);
