-- V10: retention in bounded steps. One call deletes at most p_limit rows of each table that ages
-- out (finished tickets' outcomes, idempotency keys, fleet attempts, daily usage and latency
-- rows) and returns how many went from each, so the operator calls it again until nothing is
-- left: no lock is held long. A batch with live tickets keeps its outcomes (its status counts
-- them), and a key stays while its batch has a ticket queued or an outcome kept: a ticket
-- submitted again before its outcome ages out is never processed twice. Replaces V1's unbounded robusto_retention_cleanup(interval, interval), which no one called.
-- Rollback: db/rollback/V10__bounded_retention.sql

DROP FUNCTION IF EXISTS robusto_retention_cleanup(interval, interval);

CREATE OR REPLACE FUNCTION robusto_retention_cleanup(
    p_finished_before timestamptz, p_metrics_before date, p_limit integer)
RETURNS TABLE (table_name text, rows_deleted bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    how_many integer := least(greatest(coalesce(p_limit, 1000), 1), 10000);
    outcomes_left boolean;
BEGIN
    table_name := 'automation_item_outcomes';
    WITH gone AS (
        DELETE FROM automation_item_outcomes WHERE item_id IN (
            SELECT o.item_id FROM automation_item_outcomes o
             WHERE o.finished_at < p_finished_before
               AND NOT EXISTS (SELECT FROM automation_items i WHERE i.batch_id = o.batch_id)
             ORDER BY o.finished_at LIMIT how_many)
        RETURNING 1)
    SELECT count(*) INTO rows_deleted FROM gone;
    outcomes_left := rows_deleted >= how_many;
    RETURN NEXT;

    -- Keys go once their batch has neither a queued ticket nor a kept outcome, so only after the
    -- aged outcomes are gone: until then a key is what keeps its ticket from running twice.
    table_name := 'automation_item_keys';
    rows_deleted := 0;
    IF NOT outcomes_left THEN
        WITH gone AS (
            DELETE FROM automation_item_keys WHERE (tenant_id, idempotency_key) IN (
                SELECT k.tenant_id, k.idempotency_key FROM automation_item_keys k
                 WHERE k.created_at < p_finished_before
                   AND NOT EXISTS (SELECT FROM automation_items i WHERE i.batch_id = k.batch_id)
                   AND NOT EXISTS (SELECT FROM automation_item_outcomes o
                                    WHERE o.batch_id = k.batch_id)
                 ORDER BY k.created_at LIMIT how_many)
            RETURNING 1)
        SELECT count(*) INTO rows_deleted FROM gone;
    END IF;
    RETURN NEXT;

    table_name := 'automation_attempts';
    WITH gone AS (
        DELETE FROM automation_attempts WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM automation_attempts WHERE finished_at < p_finished_before
             ORDER BY finished_at LIMIT how_many))
        RETURNING 1)
    SELECT count(*) INTO rows_deleted FROM gone;
    RETURN NEXT;

    table_name := 'automation_metrics';
    WITH gone AS (
        DELETE FROM automation_metrics WHERE (tenant_id, day) IN (
            SELECT tenant_id, day FROM automation_metrics WHERE day < p_metrics_before
             ORDER BY day LIMIT how_many)
        RETURNING 1)
    SELECT count(*) INTO rows_deleted FROM gone;
    RETURN NEXT;

    table_name := 'automation_usage';
    WITH gone AS (
        DELETE FROM automation_usage WHERE (tenant_id, day) IN (
            SELECT tenant_id, day FROM automation_usage WHERE day < p_metrics_before
             ORDER BY day LIMIT how_many)
        RETURNING 1)
    SELECT count(*) INTO rows_deleted FROM gone;
    RETURN NEXT;

    table_name := 'automation_latency';
    WITH gone AS (
        DELETE FROM automation_latency WHERE (tenant_id, day, le_ms) IN (
            SELECT tenant_id, day, le_ms FROM automation_latency WHERE day < p_metrics_before
             ORDER BY day LIMIT how_many)
        RETURNING 1)
    SELECT count(*) INTO rows_deleted FROM gone;
    RETURN NEXT;
END;
$$;

REVOKE EXECUTE ON FUNCTION robusto_retention_cleanup(timestamptz, date, integer) FROM PUBLIC;
