-- Undoes V27__outcome_by_key.sql: finished tickets are found through their batch's outcomes again.
DROP INDEX IF EXISTS automation_item_outcomes_key;
