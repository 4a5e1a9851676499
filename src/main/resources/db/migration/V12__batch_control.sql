-- Batch control: a suspended batch's tickets are claimed by no worker (its Jobs' nor its fleet's),
-- and its Jobs' workers exit once their claims are done; a batch's dead letters are requeued once
-- per spec.redriveGeneration (the generation the database last redrove is kept here, so a
-- reconcile that dies half-way does not redrive twice), their outcome rows kept as 'redriven'.
ALTER TABLE automation_batches ADD COLUMN IF NOT EXISTS suspended boolean NOT NULL DEFAULT false;
ALTER TABLE automation_batches ADD COLUMN IF NOT EXISTS redriven_generation bigint NOT NULL DEFAULT 0;
ALTER TABLE automation_item_outcomes DROP CONSTRAINT IF EXISTS automation_item_outcomes_state_check;
ALTER TABLE automation_item_outcomes ADD CONSTRAINT automation_item_outcomes_state_check
    CHECK (state IN ('succeeded', 'failed', 'dead_lettered', 'redriven'));
ALTER TABLE automation_batches DROP CONSTRAINT IF EXISTS automation_batches_phase_check;
ALTER TABLE automation_batches ADD CONSTRAINT automation_batches_phase_check
    CHECK (phase IN ('Pending', 'Queued', 'Running', 'Throttled', 'Suspended', 'Succeeded',
                     'PartiallyFailed', 'Failed'));

-- Claims up to p_limit (1 to 1000) due items of one of the caller's batches, or of the batches
-- handed to one of its fleets, most urgent and oldest first, under a lease of 1 s to 10 min; none
-- of a suspended batch.
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
               AND NOT EXISTS (SELECT 1 FROM public.automation_batches b
                                WHERE b.batch_id = p_batch AND b.suspended)
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
                                   WHERE b.tenant_id = tenant AND b.deployment = p_deployment
                                     AND NOT b.suspended)
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


-- How many of one of the caller's batches' tickets are still to be processed (pending or running);
-- none while the batch is suspended, so its Job's workers exit once their claims are done.
CREATE OR REPLACE FUNCTION robusto_worker_live_items(p_batch uuid)
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT count(*) FROM public.automation_items
     WHERE batch_id = p_batch AND tenant_id = public.robusto_worker_tenant()
       AND state IN ('pending', 'running')
       AND NOT EXISTS (SELECT 1 FROM public.automation_batches b
                        WHERE b.batch_id = p_batch AND b.suspended)
$$;
