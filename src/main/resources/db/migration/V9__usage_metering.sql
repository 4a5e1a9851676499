-- V9: usage and billing.
--
-- Billing is what the operator itself records: a ticket costs its tenant's price when the daily
-- ledger admits it (automation_metrics.cost_mxn, in DailyLedger's transaction), whatever its
-- outcome. Outcomes come from workers, and a tenant runs its own pods with its own credentials: it
-- could report a ticket it processed as failed. So they are counted, never billed.
--
-- Outcomes: every ticket's outcome updates its tenant's daily automation_usage row in the
-- transaction that records it (a statement trigger on automation_item_outcomes: success, failure
-- and dead-lettering, by a worker or by lease rescue, each once, as an outcome row is inserted
-- once), and each finished ticket falls in a latency bucket (automation_latency: upper bounds in
-- ms, not cumulative). Retries (an attempt failed and the ticket was queued again) are counted
-- there too. These rows are written with the tenant's role and have no foreign key, like
-- automation_item_outcomes: a tenant holding its transaction open locks only its own usage rows,
-- never a row the operator locks (tenant_config, automation_metrics).
-- Processing time is how long the ticket's attempts held their claims, from claim to outcome (the
-- portal's answer and the tenant's rate-limit wait; real processors claim one ticket at a time).
-- A retried attempt's time is kept on its queue row, the last one's is added when the outcome is
-- recorded (a claim sets updated_at; heartbeats do not touch it). An attempt whose lease expired
-- adds nothing: its worker died, and what it did is unknown.
-- Money is numeric, never a float.
-- Rollback: db/rollback/V9__usage_metering.sql

ALTER TABLE tenant_config ADD COLUMN IF NOT EXISTS price_per_ticket_mxn numeric(12, 4) NOT NULL
    DEFAULT 0 CHECK (price_per_ticket_mxn >= 0);
-- V1 meant automation_metrics to hold outcomes too; nothing ever wrote them, and they moved to
-- automation_usage.
ALTER TABLE automation_metrics DROP COLUMN IF EXISTS jobs_succeeded;
ALTER TABLE automation_metrics DROP COLUMN IF EXISTS jobs_failed;
ALTER TABLE automation_metrics DROP COLUMN IF EXISTS processing_ms;
CREATE TABLE IF NOT EXISTS automation_usage (
    tenant_id          text NOT NULL,
    day                date NOT NULL,
    jobs_succeeded     integer NOT NULL DEFAULT 0 CHECK (jobs_succeeded >= 0),
    jobs_failed        integer NOT NULL DEFAULT 0 CHECK (jobs_failed >= 0),
    jobs_dead_lettered integer NOT NULL DEFAULT 0 CHECK (jobs_dead_lettered >= 0),
    jobs_retried       integer NOT NULL DEFAULT 0 CHECK (jobs_retried >= 0),
    processing_ms      bigint NOT NULL DEFAULT 0 CHECK (processing_ms >= 0),
    PRIMARY KEY (tenant_id, day)
);
CREATE INDEX IF NOT EXISTS automation_usage_day ON automation_usage (day);
CREATE TABLE IF NOT EXISTS automation_latency (
    tenant_id text NOT NULL,
    day       date NOT NULL,
    le_ms     integer NOT NULL,
    tickets   bigint NOT NULL DEFAULT 0 CHECK (tickets >= 0),
    PRIMARY KEY (tenant_id, day, le_ms)
);
CREATE INDEX IF NOT EXISTS automation_latency_day ON automation_latency (day);
-- An erased tenant's usage goes with its tenant_config row (no foreign key to cascade).
CREATE OR REPLACE FUNCTION robusto_forget_tenant_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_usage WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_latency WHERE tenant_id = OLD.tenant_id;
    RETURN OLD;
END;
$$;
DROP TRIGGER IF EXISTS tenant_config_forget_usage ON tenant_config;
CREATE TRIGGER tenant_config_forget_usage AFTER DELETE ON tenant_config
    FOR EACH ROW EXECUTE FUNCTION robusto_forget_tenant_usage();
ALTER TABLE automation_items ADD COLUMN IF NOT EXISTS processing_ms bigint NOT NULL DEFAULT 0;
ALTER TABLE automation_item_outcomes ADD COLUMN IF NOT EXISTS processing_ms bigint NOT NULL
    DEFAULT 0;

-- The latency buckets' upper bounds in ms (the last one stands for +Inf); PlatformCollector has
-- the same list.
CREATE OR REPLACE FUNCTION robusto_latency_bucket(p_ms bigint) RETURNS integer
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN p_ms <= 100 THEN 100 WHEN p_ms <= 250 THEN 250 WHEN p_ms <= 500 THEN 500
                WHEN p_ms <= 1000 THEN 1000 WHEN p_ms <= 2000 THEN 2000
                WHEN p_ms <= 5000 THEN 5000 WHEN p_ms <= 10000 THEN 10000
                WHEN p_ms <= 30000 THEN 30000 WHEN p_ms <= 60000 THEN 60000
                ELSE 2147483647 END
$$;

-- Counts a day's retries of a tenant.
CREATE OR REPLACE FUNCTION robusto_count_retries(p_tenant text, p_retries bigint) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, public, pg_temp
AS $$
    INSERT INTO public.automation_usage AS u (tenant_id, day, jobs_retried)
    SELECT p_tenant, (now() AT TIME ZONE 'UTC')::date, p_retries WHERE p_retries > 0
    ON CONFLICT (tenant_id, day) DO UPDATE SET jobs_retried = u.jobs_retried + excluded.jobs_retried
$$;

-- Milliseconds since a claim was taken.
CREATE OR REPLACE FUNCTION robusto_held_ms(p_claimed_at timestamptz) RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT greatest((extract(epoch FROM now() - p_claimed_at) * 1000)::bigint, 0)
$$;

CREATE OR REPLACE FUNCTION robusto_meter_outcomes() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    INSERT INTO public.automation_usage AS u (tenant_id, day, jobs_succeeded, jobs_failed,
                                              jobs_dead_lettered, processing_ms)
    SELECT o.tenant_id, (o.finished_at AT TIME ZONE 'UTC')::date,
           count(*) FILTER (WHERE o.state = 'succeeded'),
           count(*) FILTER (WHERE o.state = 'failed'),
           count(*) FILTER (WHERE o.state = 'dead_lettered'),
           sum(o.processing_ms)
      FROM new_outcomes o
     GROUP BY 1, 2
    ON CONFLICT (tenant_id, day) DO UPDATE SET
        jobs_succeeded = u.jobs_succeeded + excluded.jobs_succeeded,
        jobs_failed = u.jobs_failed + excluded.jobs_failed,
        jobs_dead_lettered = u.jobs_dead_lettered + excluded.jobs_dead_lettered,
        processing_ms = u.processing_ms + excluded.processing_ms;
    INSERT INTO public.automation_latency AS l (tenant_id, day, le_ms, tickets)
    SELECT o.tenant_id, (o.finished_at AT TIME ZONE 'UTC')::date,
           public.robusto_latency_bucket(o.processing_ms), count(*)
      FROM new_outcomes o
     GROUP BY 1, 2, 3
    ON CONFLICT (tenant_id, day, le_ms) DO UPDATE SET tickets = l.tickets + excluded.tickets;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS automation_item_outcomes_metered ON automation_item_outcomes;
CREATE TRIGGER automation_item_outcomes_metered AFTER INSERT ON automation_item_outcomes
    REFERENCING NEW TABLE AS new_outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION robusto_meter_outcomes();

-- V6's functions, now carrying processing time to the outcome.
CREATE OR REPLACE FUNCTION robusto_worker_succeed(p_items bigint[], p_tokens uuid[])
RETURNS SETOF bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
    WITH done AS (
        DELETE FROM public.automation_items i
         USING unnest(p_items, p_tokens) AS d(item_id, token)
         WHERE public.robusto_worker_bounded(p_items) AND public.robusto_worker_bounded(p_tokens)
           AND i.item_id = d.item_id AND i.claim_token = d.token AND i.state = 'running'
           AND i.tenant_id = public.robusto_worker_tenant()
        RETURNING i.*)
    INSERT INTO public.automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,
                                                 payload, state, attempts, last_error, created_at,
                                                 processing_ms)
    SELECT item_id, batch_id, tenant_id, idempotency_key, payload, 'succeeded', attempts, NULL,
           created_at, processing_ms + public.robusto_held_ms(updated_at) FROM done
    RETURNING item_id
$$;

CREATE OR REPLACE FUNCTION robusto_worker_fail(
    p_item bigint, p_token uuid, p_error text, p_permanent boolean, p_delay_ms bigint)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    tenant text := public.robusto_worker_tenant();
    used integer;
    allowed integer;
    outcome text;
    error text := left(p_error, 2000);
BEGIN
    SELECT i.attempts, b.max_attempts INTO used, allowed
      FROM public.automation_items i JOIN public.automation_batches b ON b.batch_id = i.batch_id
     WHERE i.item_id = p_item AND i.claim_token = p_token AND i.state = 'running'
       AND i.tenant_id = tenant
       FOR UPDATE OF i;
    IF NOT FOUND THEN
        RETURN 'fenced';
    END IF;
    IF coalesce(p_permanent, false) OR used >= allowed THEN
        outcome := CASE WHEN coalesce(p_permanent, false) THEN 'failed' ELSE 'dead_lettered' END;
        WITH done AS (DELETE FROM public.automation_items i WHERE i.item_id = p_item RETURNING i.*)
        INSERT INTO public.automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,
                                                     payload, state, attempts, last_error, created_at,
                                                     processing_ms)
        SELECT item_id, batch_id, tenant_id, idempotency_key, payload, outcome, attempts, error,
               created_at, processing_ms + public.robusto_held_ms(updated_at) FROM done;
        RETURN outcome;
    END IF;
    UPDATE public.automation_items
       SET state = 'pending', processing_ms = processing_ms + public.robusto_held_ms(updated_at),
           updated_at = now(), last_error = error,
           next_attempt_at = now() + least(greatest(p_delay_ms, 0), 86400000) * interval '1 millisecond',
           lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL
     WHERE item_id = p_item;
    PERFORM public.robusto_count_retries(tenant, 1);
    RETURN 'retry_scheduled';
END;
$$;

CREATE OR REPLACE FUNCTION robusto_worker_rescue(p_batch uuid, p_deployment text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    tenant text := public.robusto_worker_tenant();
    buried_count integer;
    back_count integer;
BEGIN
    WITH expired AS (
        SELECT i.item_id, i.attempts >= b.max_attempts AS last
          FROM public.automation_items i JOIN public.automation_batches b ON b.batch_id = i.batch_id
         WHERE i.tenant_id = tenant AND b.tenant_id = tenant
           AND (i.batch_id = p_batch OR (p_batch IS NULL AND b.deployment = p_deployment))
           AND i.state = 'running' AND i.lease_expires_at < now()
           FOR UPDATE OF i SKIP LOCKED),
    dead AS (
        DELETE FROM public.automation_items i USING expired e
         WHERE i.item_id = e.item_id AND e.last RETURNING i.*),
    buried AS (
        INSERT INTO public.automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key,
                                                     payload, state, attempts, last_error, created_at,
                                                     processing_ms)
        SELECT item_id, batch_id, tenant_id, idempotency_key, payload, 'dead_lettered', attempts,
               'lease of attempt ' || attempts || ' expired: the worker died or stopped heartbeating',
               created_at, processing_ms FROM dead RETURNING 1),
    back AS (
        UPDATE public.automation_items i
           SET state = 'pending', updated_at = now(), lease_owner = NULL, lease_expires_at = NULL,
               claim_token = NULL,
               last_error = 'lease of attempt ' || i.attempts || ' expired: the worker died or stopped heartbeating'
          FROM expired e WHERE i.item_id = e.item_id AND NOT e.last RETURNING 1)
    SELECT (SELECT count(*) FROM buried), (SELECT count(*) FROM back)
      INTO buried_count, back_count;
    PERFORM public.robusto_count_retries(tenant, back_count);
    RETURN buried_count + back_count;
END;
$$;

REVOKE EXECUTE ON FUNCTION robusto_held_ms(timestamptz), robusto_meter_outcomes(),
    robusto_count_retries(text, bigint), robusto_latency_bucket(bigint),
    robusto_forget_tenant_usage() FROM PUBLIC;
