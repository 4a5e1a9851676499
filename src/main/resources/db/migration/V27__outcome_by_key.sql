-- V27: a finished ticket is found by its batch and key through an index. Before, reading one (the
-- ticket API's GET .../tickets/{id}, a submission's idempotency check) went through the batch's
-- outcomes by (batch_id, state) and filtered every one of them by key: a read cost as much as the
-- batch was large. Measured with pgbench -M prepared, 2 clients, on a batch of 1,000 finished
-- tickets: 6,199 reads/s before, 13,760 after (the same as a live ticket's).
-- It is built in the migration's transaction: about 1 s per million outcomes on the project's
-- 2-core machine, during which workers recording outcomes wait (retention keeps 30 days of them).
-- Rollback: db/rollback/V27__outcome_by_key.sql
CREATE INDEX IF NOT EXISTS automation_item_outcomes_key
    ON automation_item_outcomes (batch_id, idempotency_key);
