-- Undoes V4__batch_queue.sql: outcomes return to the queue table, held items become pending.
REVOKE ALL ON automation_item_keys, automation_item_outcomes FROM robusto_tenant;
DROP TRIGGER IF EXISTS automation_batches_forget ON automation_batches;
DROP FUNCTION IF EXISTS robusto_forget_batch();
ALTER TABLE automation_items ADD COLUMN IF NOT EXISTS finished_at timestamptz;
ALTER TABLE automation_items DROP CONSTRAINT IF EXISTS automation_items_state_check;
UPDATE automation_items SET state = 'pending' WHERE state = 'held';
INSERT INTO automation_items (item_id, batch_id, tenant_id, idempotency_key, payload, state, attempts,
                              last_error, created_at, updated_at, finished_at)
    OVERRIDING SYSTEM VALUE
    SELECT item_id, batch_id, tenant_id, idempotency_key, payload, state, attempts, last_error,
           created_at, finished_at, finished_at
    FROM automation_item_outcomes o
    WHERE EXISTS (SELECT FROM automation_batches b WHERE b.batch_id = o.batch_id)
    ON CONFLICT DO NOTHING;
ALTER TABLE automation_items ADD CONSTRAINT automation_items_state_check
    CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'dead_lettered'));
CREATE INDEX IF NOT EXISTS automation_items_finished
    ON automation_items (finished_at) WHERE finished_at IS NOT NULL;
DROP TABLE IF EXISTS automation_item_outcomes;
DROP TABLE IF EXISTS automation_item_keys;
ALTER TABLE automation_batches DROP CONSTRAINT IF EXISTS automation_batches_workers_check;
ALTER TABLE automation_batches DROP COLUMN IF EXISTS workers;
ALTER TABLE automation_batches DROP COLUMN IF EXISTS parallelism;
CREATE OR REPLACE FUNCTION robusto_retention_cleanup(
    finished_items_older_than interval DEFAULT interval '30 days',
    metrics_older_than interval DEFAULT interval '400 days')
RETURNS TABLE (items_deleted bigint, metrics_deleted bigint)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_items WHERE finished_at < now() - finished_items_older_than;
    GET DIAGNOSTICS items_deleted = ROW_COUNT;
    DELETE FROM automation_metrics WHERE day < (now() - metrics_older_than)::date;
    GET DIAGNOSTICS metrics_deleted = ROW_COUNT;
    RETURN NEXT;
END;
$$;
