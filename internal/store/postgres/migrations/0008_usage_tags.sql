-- Cost attribution: a request's tags (a JSON object, '' for none) and its
-- end user, on every usage row. Summaries by tag or user read raw rows.
-- usage_part exists while an online partitioning conversion (0005) is
-- under way: it gets the columns too, so the copy and the swap keep them.
ALTER TABLE usage ADD COLUMN IF NOT EXISTS tags TEXT NOT NULL DEFAULT '';
ALTER TABLE usage ADD COLUMN IF NOT EXISTS end_user TEXT NOT NULL DEFAULT '';
ALTER TABLE IF EXISTS usage_part ADD COLUMN IF NOT EXISTS tags TEXT NOT NULL DEFAULT '';
ALTER TABLE IF EXISTS usage_part ADD COLUMN IF NOT EXISTS end_user TEXT NOT NULL DEFAULT '';
