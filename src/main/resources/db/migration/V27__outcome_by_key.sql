-- V27: a finished ticket is found by its batch and key through an index. Before, reading one (the
-- ticket API's GET .../tickets/{id}, the answer to a submission, a cancellation) went through the
-- batch's outcomes by (batch_id, state) and filtered every one of them by key: a read cost as much
-- as the batch was large. Measured with pgbench -M prepared, 2 clients, on the read's query and a
-- batch of 1,000 finished tickets: 6,199 reads/s before, 13,760 after (as a live ticket's).
-- Each outcome now writes one more index entry when it is recorded, chained into custody and
-- redriven.
-- It is built in the migration's transaction: about 1 s per million outcomes on the project's
-- 2-core machine (retention keeps 30 days of them). Workers recording outcomes meanwhile wait;
-- after their 5 s lock timeout they try again, for up to 2 minutes (dev.robusto.worker.
-- DatabaseRetry), so a build under 2 minutes costs them nothing but the wait.
-- Rollback: db/rollback/V27__outcome_by_key.sql
CREATE INDEX IF NOT EXISTS automation_item_outcomes_key
    ON automation_item_outcomes (batch_id, idempotency_key);
