-- The audit chain's head: the last appended row's seq and hash, one row,
-- updated in the transaction that appends (under the audit lock), so an
-- append finds where the chain goes on without reading the audit table
-- (on PostgreSQL, without probing every day partition's seq index).
-- Pruning never moves it: the head is the newest row, which retention
-- keeps, or, when every row was pruned, the checkpoint, which holds the
-- same seq and hash.
CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY,
	seq INTEGER NOT NULL,
	hash TEXT NOT NULL
);

-- The head of a chain stored before this migration: its newest row, or
-- the checkpoint when every row was pruned.
INSERT INTO audit_head (id, seq, hash)
SELECT 1, seq, hash FROM (
	SELECT seq, hash FROM (SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1)
	UNION ALL
	SELECT seq, hash FROM audit_checkpoint WHERE id = 1
) ORDER BY seq DESC LIMIT 1;
