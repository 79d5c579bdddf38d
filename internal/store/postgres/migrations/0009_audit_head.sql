-- The audit chain's head: the last appended row's seq and hash, one row,
-- updated in the transaction that appends (under the audit lock), so an
-- append finds where the chain goes on without reading the audit table
-- (partitioned by day: ORDER BY seq DESC LIMIT 1 probed every
-- partition's seq index). Pruning never moves it: the head is the newest
-- row, which retention keeps, or, when every row was pruned, the
-- checkpoint, which holds the same seq and hash. The lock is taken here
-- too, so no append slips in between the read and the insert.
CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY,
	seq BIGINT NOT NULL,
	hash TEXT NOT NULL
);

SELECT pg_advisory_xact_lock(1718971489);

-- The head of a chain stored before this migration: its newest row (while
-- an online conversion is under way, "audit" is the old table, which
-- takes the appends and holds every row), or the checkpoint when every
-- row was pruned.
INSERT INTO audit_head (id, seq, hash)
SELECT 1, seq, hash FROM (
	(SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1)
	UNION ALL
	SELECT seq, hash FROM audit_checkpoint WHERE id = 1
) h ORDER BY seq DESC LIMIT 1;
