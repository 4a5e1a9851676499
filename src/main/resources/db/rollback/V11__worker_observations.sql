-- Undoes V11__worker_observations.sql: V10's retention and V9's erasure trigger back, attempts
-- recorded for fleets only as V6 had it; the attempt buckets and circuit reports gone.
-- Runs twice as well as once: V10's function is renamed back only if V11's still stands.
-- Workers of V11's release call robusto_worker_record_attempts without a deployment, which V6's
-- refuses: roll the operator (and so its workers' image) back with the schema.
DO $$
BEGIN
    IF to_regprocedure('robusto_retention_cleanup_tickets(timestamptz, date, integer)') IS NOT NULL THEN
        DROP FUNCTION IF EXISTS robusto_retention_cleanup(timestamptz, date, integer);
        ALTER FUNCTION robusto_retention_cleanup_tickets(timestamptz, date, integer)
            RENAME TO robusto_retention_cleanup;
    END IF;
END;
$$;
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
