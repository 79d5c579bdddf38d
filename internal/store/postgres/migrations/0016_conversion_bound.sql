-- An online conversion (0005) of usage copies in id order the rows that
-- were there when a trigger began writing each new row to usage_part as
-- well: bound is the largest id then (NULL: the trigger is not there yet).
-- Copying in id order alone loses rows: ids are handed out when a row is
-- inserted, not when it commits, so a transaction of one replica can
-- commit id 100 after another's id 101 was copied and the copy moved past
-- it. See internal/store/postgres/convert.go.
ALTER TABLE partition_conversion ADD COLUMN IF NOT EXISTS bound BIGINT;
