-- Undoes V24__outcome_custody.sql: the custody hashes go (their audit rows stay, unverifiable).
DROP INDEX IF EXISTS automation_item_outcomes_unchained;
ALTER TABLE automation_item_outcomes DROP COLUMN IF EXISTS custody_seq;
DROP TABLE IF EXISTS outcome_custody;
