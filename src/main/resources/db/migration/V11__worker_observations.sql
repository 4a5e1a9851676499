-- V11: what workers see of their attempts and of their portals' circuits, for the platform's
-- metrics (PlatformCollector). Both come from the tenant's own pods through worker functions, so a
-- tenant can misreport only its own figures, and neither adds a series per report: attempts fall
-- in fixed buckets, circuits are capped per tenant.
--
-- Attempt latency: every attempt a worker makes (a batch Job's and a fleet's) is counted in its
-- tenant's daily automation_attempt_latency row for its bucket (robusto_latency_bucket), with its
-- duration and whether it failed. Fleet workers' attempts are also kept one by one in
-- automation_attempts for canary analysis, as before.
--
-- Circuits: each worker reports its processor's circuit breakers (endpoint host:port, open or not)
-- to automation_circuits, replacing what it reported before, every 30 s and whenever one changes;
-- a worker that ends reports none. The leader counts only reports younger than 2 minutes, so a
-- killed worker's open circuit fades. At most 200 circuits a tenant; each report first drops the
-- tenant's reports older than 10 minutes.
-- Rollback: db/rollback/V11__worker_observations.sql

CREATE TABLE IF NOT EXISTS automation_attempt_latency (
    tenant_id   text NOT NULL,
    day         date NOT NULL,
    le_ms       integer NOT NULL,
    attempts    bigint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    failed      bigint NOT NULL DEFAULT 0 CHECK (failed >= 0),
    duration_ms bigint NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    PRIMARY KEY (tenant_id, day, le_ms)
);
CREATE INDEX IF NOT EXISTS automation_attempt_latency_day ON automation_attempt_latency (day);

CREATE TABLE IF NOT EXISTS automation_circuits (
    tenant_id   text NOT NULL,
    worker      text NOT NULL,
    endpoint    text NOT NULL,
    open        boolean NOT NULL,
    reported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, worker, endpoint)
);
CREATE INDEX IF NOT EXISTS automation_circuits_age ON automation_circuits (reported_at);

-- An erased tenant's figures go with its tenant_config row (no foreign key to cascade).
CREATE OR REPLACE FUNCTION robusto_forget_tenant_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_usage WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_latency WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_attempt_latency WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_circuits WHERE tenant_id = OLD.tenant_id;
    RETURN OLD;
END;
$$;

-- Records attempts of the caller's tenant: bucketed always, one by one too for a fleet's revision
-- (p_deployment and p_revision given; a batch Job's worker passes neither).
CREATE OR REPLACE FUNCTION robusto_worker_record_attempts(
    p_deployment text, p_revision integer, p_failed boolean[], p_duration_ms integer[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    tenant text := public.robusto_worker_tenant();
BEGIN
    PERFORM public.robusto_worker_bounded(p_failed), public.robusto_worker_bounded(p_duration_ms);
    IF p_deployment IS NOT NULL THEN
        INSERT INTO public.automation_attempts (tenant_id, deployment, revision, failed, duration_ms)
        SELECT tenant, p_deployment, p_revision, f, greatest(d, 0)
          FROM unnest(p_failed, p_duration_ms) AS a(f, d)
         WHERE f IS NOT NULL AND d IS NOT NULL;
    END IF;
    INSERT INTO public.automation_attempt_latency AS l (tenant_id, day, le_ms, attempts, failed,
                                                        duration_ms)
    SELECT tenant, (now() AT TIME ZONE 'UTC')::date, public.robusto_latency_bucket(greatest(d, 0)),
           count(*), count(*) FILTER (WHERE f), sum(greatest(d, 0))
      FROM unnest(p_failed, p_duration_ms) AS a(f, d)
     WHERE f IS NOT NULL AND d IS NOT NULL
     GROUP BY 3 ORDER BY 3
    ON CONFLICT (tenant_id, day, le_ms) DO UPDATE SET
        attempts = l.attempts + excluded.attempts,
        failed = l.failed + excluded.failed,
        duration_ms = l.duration_ms + excluded.duration_ms;
END;
$$;

-- Replaces what worker p_worker of the caller's tenant last reported of its circuits. Endpoints
-- are host:port (lowercase), so a tenant cannot write free text into metric labels or alerts. A
-- tenant's calls are serialized (an advisory lock on its name), so concurrent calls cannot pass
-- the cap together; only a call that adds circuits is refused over it (a withdrawal never is).
CREATE OR REPLACE FUNCTION robusto_worker_report_circuits(
    p_worker text, p_endpoints text[], p_open boolean[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    tenant text := public.robusto_worker_tenant();
BEGIN
    IF coalesce(length(p_worker), 0) NOT BETWEEN 1 AND 253
       OR coalesce(array_ndims(p_endpoints), 1) > 1 OR coalesce(cardinality(p_endpoints), 0) > 16
       OR coalesce(cardinality(p_endpoints), 0) <> coalesce(cardinality(p_open), 0)
       OR EXISTS (SELECT FROM unnest(p_endpoints) e
                   WHERE e IS NULL OR length(e) > 255
                      OR e !~ '^([a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]):[0-9]{1,5}$')
       OR EXISTS (SELECT FROM unnest(p_open) o WHERE o IS NULL) THEN
        RAISE EXCEPTION 'a worker name of 1 to 253 characters and at most 16 circuits, each an endpoint (host:port, lowercase, at most 255 characters) and a state'
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('robusto.circuits'), hashtext(tenant));
    DELETE FROM public.automation_circuits
     WHERE tenant_id = tenant AND (worker = p_worker OR reported_at < now() - interval '10 minutes');
    INSERT INTO public.automation_circuits (tenant_id, worker, endpoint, open)
    SELECT tenant, p_worker, e, o FROM unnest(p_endpoints, p_open) AS c(e, o)
    ON CONFLICT (tenant_id, worker, endpoint) DO UPDATE SET open = excluded.open;
    IF cardinality(p_endpoints) > 0
       AND (SELECT count(*) FROM public.automation_circuits WHERE tenant_id = tenant) > 200 THEN
        RAISE EXCEPTION 'a tenant''s workers report at most 200 circuits'
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
END;
$$;

-- Retention: V10's sweep, then the attempt buckets past the metrics window and circuit reports
-- past the finished-ticket window (the leader ignores them long before). Rows a tenant's open
-- transaction holds are skipped (the next run takes them), so a tenant cannot stall the sweep.
DO $$
BEGIN
    IF to_regprocedure('robusto_retention_cleanup_tickets(timestamptz, date, integer)') IS NULL THEN
        ALTER FUNCTION robusto_retention_cleanup(timestamptz, date, integer)
            RENAME TO robusto_retention_cleanup_tickets;
    END IF;
END;
$$;
CREATE OR REPLACE FUNCTION robusto_retention_cleanup(
    p_finished_before timestamptz, p_metrics_before date, p_limit integer)
RETURNS TABLE (table_name text, rows_deleted bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    how_many integer := least(greatest(coalesce(p_limit, 1000), 1), 10000);
BEGIN
    RETURN QUERY SELECT * FROM public.robusto_retention_cleanup_tickets(
        p_finished_before, p_metrics_before, p_limit);

    table_name := 'automation_attempt_latency';
    WITH gone AS (
        DELETE FROM automation_attempt_latency WHERE (tenant_id, day, le_ms) IN (
            SELECT tenant_id, day, le_ms FROM automation_attempt_latency
             WHERE day < p_metrics_before ORDER BY day LIMIT how_many
               FOR UPDATE SKIP LOCKED)
        RETURNING 1)
    SELECT count(*) INTO rows_deleted FROM gone;
    RETURN NEXT;

    table_name := 'automation_circuits';
    WITH gone AS (
        DELETE FROM automation_circuits WHERE (tenant_id, worker, endpoint) IN (
            SELECT tenant_id, worker, endpoint FROM automation_circuits
             WHERE reported_at < p_finished_before ORDER BY reported_at LIMIT how_many
               FOR UPDATE SKIP LOCKED)
        RETURNING 1)
    SELECT count(*) INTO rows_deleted FROM gone;
    RETURN NEXT;
END;
$$;

REVOKE EXECUTE ON FUNCTION robusto_retention_cleanup(timestamptz, date, integer),
    robusto_retention_cleanup_tickets(timestamptz, date, integer),
    robusto_worker_report_circuits(text, text[], boolean[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION robusto_worker_report_circuits(text, text[], boolean[]) TO robusto_tenant;
