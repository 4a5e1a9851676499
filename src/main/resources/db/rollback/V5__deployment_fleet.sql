-- Undoes V5__deployment_fleet.sql: batches handed to a fleet get one worker of their own again.
CREATE OR REPLACE FUNCTION robusto_retention_cleanup(
    finished_items_older_than interval DEFAULT interval '30 days',
    metrics_older_than interval DEFAULT interval '400 days')
RETURNS TABLE (items_deleted bigint, metrics_deleted bigint)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_item_outcomes WHERE finished_at < now() - finished_items_older_than;
    GET DIAGNOSTICS items_deleted = ROW_COUNT;
    DELETE FROM automation_item_keys k
     WHERE k.created_at < now() - finished_items_older_than
       AND NOT EXISTS (SELECT FROM automation_items i
                        WHERE i.tenant_id = k.tenant_id AND i.idempotency_key = k.idempotency_key);
    DELETE FROM automation_metrics WHERE day < (now() - metrics_older_than)::date;
    GET DIAGNOSTICS metrics_deleted = ROW_COUNT;
    RETURN NEXT;
END;
$$;
REVOKE ALL ON automation_attempts FROM robusto_tenant;
DROP TABLE IF EXISTS automation_attempts;
DROP INDEX IF EXISTS automation_batches_deployment;
ALTER TABLE automation_batches DROP CONSTRAINT IF EXISTS automation_batches_workers_check;
UPDATE automation_batches SET parallelism = 1 WHERE parallelism = 0;
ALTER TABLE automation_batches DROP COLUMN IF EXISTS deployment;
ALTER TABLE automation_batches ADD CONSTRAINT automation_batches_workers_check
    CHECK (parallelism > 0 AND workers >= 0);
