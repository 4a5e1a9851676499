-- Undoes V9__usage_metering.sql: V6's worker functions back; the metering triggers, the usage and
-- latency tables and the new columns gone (what they counted with them); V1's unused outcome
-- columns of automation_metrics back, empty.
DROP TRIGGER IF EXISTS automation_item_outcomes_metered ON automation_item_outcomes;
DROP FUNCTION IF EXISTS robusto_meter_outcomes();
DROP TRIGGER IF EXISTS tenant_config_forget_usage ON tenant_config;
DROP FUNCTION IF EXISTS robusto_forget_tenant_usage();

-- Records the success of claims still held with their token, once; returns the ids recorded.
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
                                                 payload, state, attempts, last_error, created_at)
    SELECT item_id, batch_id, tenant_id, idempotency_key, payload, 'succeeded', attempts, NULL,
           created_at FROM done
    RETURNING item_id
$$;

-- Records a failed attempt of a claim still held with its token. A permanent failure fails the
-- ticket; otherwise it is due again after p_delay_ms (at most a day), or dead-lettered when it
-- used its batch's last attempt (the batch says how many, not the caller). The error is kept, cut
-- to 2,000 characters. Returns retry_scheduled, failed, dead_lettered or fenced.
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
                                                     payload, state, attempts, last_error, created_at)
        SELECT item_id, batch_id, tenant_id, idempotency_key, payload, outcome, attempts, error,
               created_at FROM done;
        RETURN outcome;
    END IF;
    UPDATE public.automation_items
       SET state = 'pending', updated_at = now(), last_error = error,
           next_attempt_at = now() + least(greatest(p_delay_ms, 0), 86400000) * interval '1 millisecond',
           lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL
     WHERE item_id = p_item;
    RETURN 'retry_scheduled';
END;
$$;

-- Returns the caller's expired leases in a batch (or a fleet's batches) to the queue, or
-- dead-letters those that used their last attempt; returns how many.
CREATE OR REPLACE FUNCTION robusto_worker_rescue(p_batch uuid, p_deployment text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    tenant text := public.robusto_worker_tenant();
    rescued integer;
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
                                                     payload, state, attempts, last_error, created_at)
        SELECT item_id, batch_id, tenant_id, idempotency_key, payload, 'dead_lettered', attempts,
               'lease of attempt ' || attempts || ' expired: the worker died or stopped heartbeating',
               created_at FROM dead RETURNING 1),
    back AS (
        UPDATE public.automation_items i
           SET state = 'pending', updated_at = now(), lease_owner = NULL, lease_expires_at = NULL,
               claim_token = NULL,
               last_error = 'lease of attempt ' || i.attempts || ' expired: the worker died or stopped heartbeating'
          FROM expired e WHERE i.item_id = e.item_id AND NOT e.last RETURNING 1)
    SELECT (SELECT count(*) FROM buried) + (SELECT count(*) FROM back) INTO rescued;
    RETURN rescued;
END;
$$;

DROP FUNCTION IF EXISTS robusto_held_ms(timestamptz);
DROP FUNCTION IF EXISTS robusto_count_retries(text, bigint);
DROP FUNCTION IF EXISTS robusto_latency_bucket(bigint);
DROP TABLE IF EXISTS automation_latency;
DROP TABLE IF EXISTS automation_usage;
ALTER TABLE automation_item_outcomes DROP COLUMN IF EXISTS processing_ms;
ALTER TABLE automation_items DROP COLUMN IF EXISTS processing_ms;
ALTER TABLE automation_metrics ADD COLUMN IF NOT EXISTS jobs_succeeded integer NOT NULL DEFAULT 0
    CHECK (jobs_succeeded >= 0);
ALTER TABLE automation_metrics ADD COLUMN IF NOT EXISTS jobs_failed integer NOT NULL DEFAULT 0
    CHECK (jobs_failed >= 0);
ALTER TABLE automation_metrics ADD COLUMN IF NOT EXISTS processing_ms bigint NOT NULL DEFAULT 0
    CHECK (processing_ms >= 0);
ALTER TABLE tenant_config DROP COLUMN IF EXISTS price_per_ticket_mxn;
