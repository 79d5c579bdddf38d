-- The unique index that makes a journal replay harmless was on
-- (request_id, attempt). Request ids are random, so every usage row was
-- written into a random page of that index (and, after each checkpoint, a
-- full-page image of it into the WAL). A replayed record is the same
-- record, time included, so (ts, request_id, attempt) tells it just as
-- well, and rows arrive nearly in ts order: the index is appended to. It
-- also serves the time-range queries usage_ts served, so that one goes.
ALTER TABLE usage ADD CONSTRAINT usage_ts_request_id_attempt_key UNIQUE (ts, request_id, attempt);
ALTER TABLE usage DROP CONSTRAINT usage_request_id_attempt_key;
DROP INDEX usage_ts;
