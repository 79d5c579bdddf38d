-- The output item ids of Responses answers an upstream keeps (pass-through
-- to OpenAI with store: true), and the key whose response made them. The
-- upstream resolves such an id for whoever names it (item_reference, an
-- item given by id), and every key reaches it with the same credentials:
-- an id is forwarded only for its owner. response_id is the response
-- (deleted and pruned with it), created_us its creation time.
CREATE TABLE response_items (
	id TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	response_id TEXT NOT NULL,
	created_us BIGINT NOT NULL
);
CREATE INDEX response_items_response ON response_items (response_id);
CREATE INDEX response_items_created ON response_items (created_us);
