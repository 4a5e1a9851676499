-- Undoes V10__bounded_retention.sql: back to the unbounded cleanup of V5, closed to PUBLIC as V6
-- left it.
DROP FUNCTION IF EXISTS robusto_retention_cleanup(timestamptz, date, integer);
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
    DELETE FROM automation_attempts WHERE finished_at < now() - finished_items_older_than;
    DELETE FROM automation_metrics WHERE day < (now() - metrics_older_than)::date;
    GET DIAGNOSTICS metrics_deleted = ROW_COUNT;
    RETURN NEXT;
END;
$$;
REVOKE EXECUTE ON FUNCTION robusto_retention_cleanup(interval, interval) FROM PUBLIC;
