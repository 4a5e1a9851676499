-- Undoes V11__worker_observations.sql: V10's retention and V9's erasure trigger back, attempts
-- recorded for fleets only as V6 had it; the attempt buckets and circuit reports gone.
DROP FUNCTION IF EXISTS robusto_retention_cleanup(timestamptz, date, integer);
ALTER FUNCTION robusto_retention_cleanup_tickets(timestamptz, date, integer)
    RENAME TO robusto_retention_cleanup;
DROP FUNCTION IF EXISTS robusto_worker_report_circuits(text, text[], boolean[]);

CREATE OR REPLACE FUNCTION robusto_worker_record_attempts(
    p_deployment text, p_revision integer, p_failed boolean[], p_duration_ms integer[])
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
    INSERT INTO public.automation_attempts (tenant_id, deployment, revision, failed, duration_ms)
    SELECT public.robusto_worker_tenant(), p_deployment, p_revision, f, greatest(d, 0)
      FROM unnest(p_failed, p_duration_ms) AS a(f, d)
     WHERE public.robusto_worker_bounded(p_failed) AND public.robusto_worker_bounded(p_duration_ms)
       AND f IS NOT NULL AND d IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION robusto_forget_tenant_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_usage WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_latency WHERE tenant_id = OLD.tenant_id;
    RETURN OLD;
END;
$$;

DROP TABLE IF EXISTS automation_circuits;
DROP TABLE IF EXISTS automation_attempt_latency;
