-- Cost attribution: a request's tags (a JSON object, '' for none) and its
-- end user, on every usage row. Summaries by tag or user read raw rows.
ALTER TABLE usage ADD COLUMN tags TEXT NOT NULL DEFAULT '';
ALTER TABLE usage ADD COLUMN end_user TEXT NOT NULL DEFAULT '';
