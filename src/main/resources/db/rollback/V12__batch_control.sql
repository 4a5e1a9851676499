-- Undoes V12__batch_control.sql: V6's claim and live count (suspension ignored) back, the columns
-- gone. Runs twice as well as once. Suspended batches are suspended no more: their fleets claim
-- their tickets at once, and their next Jobs start. The outcome rows of redriven tickets (their
-- history: the tickets themselves were requeued) are deleted, which V6's vocabulary has no word for.
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

-- A suspended batch's row says Queued, as before V12 (its next reconcile writes the phase again).
UPDATE automation_batches SET phase = 'Queued' WHERE phase = 'Suspended';
ALTER TABLE automation_batches DROP CONSTRAINT IF EXISTS automation_batches_phase_check;
ALTER TABLE automation_batches ADD CONSTRAINT automation_batches_phase_check
    CHECK (phase IN ('Pending', 'Queued', 'Running', 'Throttled', 'Succeeded', 'PartiallyFailed', 'Failed'));
ALTER TABLE automation_batches DROP COLUMN IF EXISTS redriven_generation;
ALTER TABLE automation_batches DROP COLUMN IF EXISTS suspended;
DELETE FROM automation_item_outcomes WHERE state = 'redriven';
ALTER TABLE automation_item_outcomes DROP CONSTRAINT IF EXISTS automation_item_outcomes_state_check;
ALTER TABLE automation_item_outcomes ADD CONSTRAINT automation_item_outcomes_state_check
    CHECK (state IN ('succeeded', 'failed', 'dead_lettered'));
