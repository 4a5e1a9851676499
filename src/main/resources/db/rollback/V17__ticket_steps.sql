-- Undoes V17__ticket_steps.sql: the tickets' steps gone, with what writes and forgets them.
DROP FUNCTION IF EXISTS
    robusto_worker_record_steps(bigint[], integer[], bigint[], integer[], text[], text[]);
DROP TRIGGER IF EXISTS automation_item_outcomes_forget_steps ON automation_item_outcomes;
DROP FUNCTION IF EXISTS robusto_forget_outcome_steps();
DROP TRIGGER IF EXISTS automation_batches_forget_steps ON automation_batches;
DROP FUNCTION IF EXISTS robusto_forget_batch_steps();
DROP TABLE IF EXISTS automation_ticket_steps;
