-- V6: a tenant's database role holds no table privilege. Everything a worker does goes through the
-- robusto_worker_* functions below, which tenant roles may EXECUTE and nothing else: row-level
-- security filtered rows, but not locks, unique keys or columns a tenant should never set (a held
-- ticket's state, the daily counters, outcomes of tickets it never claimed).
--
-- Each function is SECURITY DEFINER with a pinned search_path. The caller's tenant comes from the
-- role it logged in as (session_user), never from an argument; an item is touched only with the
-- token of its current claim (fencing); counts, leases and delays are bounded here, whatever the
-- caller asks (arrays of more than 10,000 are refused); a tenant cannot name a state. lock_timeout is set on
-- each function, so no session setting makes a call wait on a lock for more than 5 s. A session
-- that holds a transaction open is ended by the operator (TenantSessionWatchdog).
-- Rollback: db/rollback/V6__worker_functions.sql

-- The caller's tenant; an error for any role that is not a tenant's.
CREATE OR REPLACE FUNCTION robusto_worker_tenant() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    tenant text;
BEGIN
    SELECT r.tenant_id INTO tenant FROM public.tenant_db_roles r WHERE r.role_name = session_user;
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'role % is not a tenant''s database role', session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN tenant;
END;
$$;

-- Refuses what a bound on one dimension would not bound: arrays of more than one dimension
-- (a slice [1:10000] cuts only the first) or of more than 10,000 elements.
CREATE OR REPLACE FUNCTION robusto_worker_bounded(p_array anyarray) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF coalesce(array_ndims(p_array), 1) > 1 OR coalesce(cardinality(p_array), 0) > 10000 THEN
        RAISE EXCEPTION 'at most 10,000 claims or attempts a call, in a one-dimensional array'
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    RETURN true;
END;
$$;

-- Claims up to p_limit (1 to 1000) due items of one of the caller's batches, or of the batches
-- handed to one of its fleets, most urgent and oldest first, under a lease of 1 s to 10 min.
CREATE OR REPLACE FUNCTION robusto_worker_claim(
    p_batch uuid, p_deployment text, p_worker text, p_limit integer, p_lease_ms bigint)
RETURNS TABLE (item_id bigint, idempotency_key text, payload text, claim_token uuid,
               attempts integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
#variable_conflict use_column
DECLARE
    tenant text := public.robusto_worker_tenant();
    how_many integer := least(greatest(coalesce(p_limit, 1), 1), 1000);
    lease interval := least(greatest(coalesce(p_lease_ms, 30000), 1000), 600000) * interval '1 millisecond';
BEGIN
    IF (p_batch IS NULL) = (p_deployment IS NULL) THEN
        RAISE EXCEPTION 'claim from a batch or from a deployment''s batches, not both or neither';
    END IF;
    -- Two statements, not one with an OR: each keeps its own plan on the claim index.
    IF p_batch IS NOT NULL THEN
        RETURN QUERY
        WITH due AS (
            SELECT i.item_id FROM public.automation_items i
             WHERE i.batch_id = p_batch AND i.tenant_id = tenant
               AND i.state = 'pending' AND i.next_attempt_at <= now()
             ORDER BY i.priority_rank, i.next_attempt_at
             LIMIT how_many FOR UPDATE SKIP LOCKED)
        UPDATE public.automation_items i
           SET state = 'running', lease_owner = left(p_worker, 253), lease_expires_at = now() + lease,
               claim_token = gen_random_uuid(), attempts = i.attempts + 1, updated_at = now()
          FROM due WHERE i.item_id = due.item_id
        RETURNING i.item_id, i.idempotency_key, i.payload::text, i.claim_token, i.attempts;
    ELSE
        RETURN QUERY
        WITH due AS (
            SELECT i.item_id FROM public.automation_items i
             WHERE i.batch_id IN (SELECT b.batch_id FROM public.automation_batches b
                                   WHERE b.tenant_id = tenant AND b.deployment = p_deployment)
               AND i.tenant_id = tenant
               AND i.state = 'pending' AND i.next_attempt_at <= now()
             ORDER BY i.priority_rank, i.next_attempt_at
             LIMIT how_many FOR UPDATE SKIP LOCKED)
        UPDATE public.automation_items i
           SET state = 'running', lease_owner = left(p_worker, 253), lease_expires_at = now() + lease,
               claim_token = gen_random_uuid(), attempts = i.attempts + 1, updated_at = now()
          FROM due WHERE i.item_id = due.item_id
        RETURNING i.item_id, i.idempotency_key, i.payload::text, i.claim_token, i.attempts;
    END IF;
END;
$$;

-- Extends the leases of the claims still held with their token; returns their ids.
CREATE OR REPLACE FUNCTION robusto_worker_heartbeat(p_items bigint[], p_tokens uuid[], p_lease_ms bigint)
RETURNS SETOF bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
    UPDATE public.automation_items i
       SET lease_expires_at = now() + least(greatest(p_lease_ms, 1000), 600000) * interval '1 millisecond'
      FROM unnest(p_items, p_tokens) AS d(item_id, token)
     WHERE public.robusto_worker_bounded(p_items) AND public.robusto_worker_bounded(p_tokens)
       AND i.item_id = d.item_id AND i.claim_token = d.token AND i.state = 'running'
       AND i.tenant_id = public.robusto_worker_tenant()
    RETURNING i.item_id
$$;

-- Puts claims back unattempted (the worker stops, or its circuit is open), due after at most a day.
CREATE OR REPLACE FUNCTION robusto_worker_release(p_items bigint[], p_tokens uuid[], p_delay_ms bigint)
RETURNS SETOF bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
    UPDATE public.automation_items i
       SET state = 'pending', attempts = i.attempts - 1, updated_at = now(),
           next_attempt_at = now() + least(greatest(p_delay_ms, 0), 86400000) * interval '1 millisecond',
           lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL
      FROM unnest(p_items, p_tokens) AS d(item_id, token)
     WHERE public.robusto_worker_bounded(p_items) AND public.robusto_worker_bounded(p_tokens)
       AND i.item_id = d.item_id AND i.claim_token = d.token AND i.state = 'running'
       AND i.tenant_id = public.robusto_worker_tenant()
    RETURNING i.item_id
$$;

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

-- Records a fleet worker's attempts for one of the caller's deployments (at most 10,000 a call).
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

-- How many of one of the caller's batches' tickets are still to be processed (pending or running).
CREATE OR REPLACE FUNCTION robusto_worker_live_items(p_batch uuid)
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT count(*) FROM public.automation_items
     WHERE batch_id = p_batch AND tenant_id = public.robusto_worker_tenant()
       AND state IN ('pending', 'running')
$$;

-- Tenant roles: these functions, and not a single table; and nobody creates objects in public that
-- could stand in for what the functions call (clusters upgraded from PostgreSQL 14 still allow it).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM robusto_tenant;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM robusto_tenant;
REVOKE EXECUTE ON FUNCTION robusto_current_tenant() FROM robusto_tenant;
REVOKE EXECUTE ON FUNCTION robusto_current_tenant(), robusto_retention_cleanup(interval, interval),
    robusto_worker_tenant(), robusto_worker_claim(uuid, text, text, integer, bigint),
    robusto_worker_heartbeat(bigint[], uuid[], bigint), robusto_worker_release(bigint[], uuid[], bigint),
    robusto_worker_succeed(bigint[], uuid[]), robusto_worker_fail(bigint, uuid, text, boolean, bigint),
    robusto_worker_rescue(uuid, text), robusto_worker_record_attempts(text, integer, boolean[], integer[]),
    robusto_worker_live_items(uuid), robusto_worker_bounded(anyarray)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION robusto_worker_claim(uuid, text, text, integer, bigint),
    robusto_worker_heartbeat(bigint[], uuid[], bigint), robusto_worker_release(bigint[], uuid[], bigint),
    robusto_worker_succeed(bigint[], uuid[]), robusto_worker_fail(bigint, uuid, text, boolean, bigint),
    robusto_worker_rescue(uuid, text), robusto_worker_record_attempts(text, integer, boolean[], integer[]),
    robusto_worker_live_items(uuid)
    TO robusto_tenant;
