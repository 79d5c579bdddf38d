-- A key's own end-user budget: what each distinct end user of the key may
-- spend per user_period (0: the gateway's end_user_budget, if any).
ALTER TABLE keys ADD COLUMN IF NOT EXISTS user_budget_nanos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN IF NOT EXISTS user_period TEXT NOT NULL DEFAULT '';
