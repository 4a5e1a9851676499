-- V17: each ticket's attempts one by one (the ticket API's automation_steps): when the attempt
-- started, how long it took as the worker measured it, and how it ended ('succeeded', 'failed',
-- to be retried or dead-lettered as the database counts, or 'refused', for good), with the
-- worker's detail (an HTTP status, never the portal's body).
-- Workers write their own tenant's rows only, through robusto_worker_record_steps, and only for
-- an attempt the database handed out (1 to the ticket's attempts so far), once: a tenant can
-- misreport its own tickets' timings, not add rows without bound nor touch another's.
-- A redriven ticket is a new item: its earlier attempts stay, under the earlier item.
-- No foreign keys, as for outcomes: rows go with their batch (a trigger) and with their outcome
-- (retention).
-- Rollback: db/rollback/V17__ticket_steps.sql

CREATE TABLE IF NOT EXISTS automation_ticket_steps (
    item_id         bigint NOT NULL,
    attempt         integer NOT NULL CHECK (attempt BETWEEN 1 AND 100),
    batch_id        uuid NOT NULL,
    tenant_id       text NOT NULL,
    idempotency_key text NOT NULL,
    started_at      timestamptz NOT NULL,
    duration_ms     integer NOT NULL CHECK (duration_ms >= 0),
    outcome         text NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'refused')),
    detail          text CHECK (length(detail) <= 500),
    PRIMARY KEY (item_id, attempt)
);
CREATE INDEX IF NOT EXISTS automation_ticket_steps_key
    ON automation_ticket_steps (tenant_id, idempotency_key);
CREATE INDEX IF NOT EXISTS automation_ticket_steps_batch ON automation_ticket_steps (batch_id);
ALTER TABLE automation_ticket_steps ENABLE ROW LEVEL SECURITY;

CREATE OR REPLACE FUNCTION robusto_forget_batch_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_ticket_steps WHERE batch_id = OLD.batch_id;
    RETURN OLD;
END;
$$;
DROP TRIGGER IF EXISTS automation_batches_forget_steps ON automation_batches;
CREATE TRIGGER automation_batches_forget_steps BEFORE DELETE ON automation_batches
    FOR EACH ROW EXECUTE FUNCTION robusto_forget_batch_steps();

CREATE OR REPLACE FUNCTION robusto_forget_outcome_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_ticket_steps s USING gone g WHERE s.item_id = g.item_id;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS automation_item_outcomes_forget_steps ON automation_item_outcomes;
CREATE TRIGGER automation_item_outcomes_forget_steps AFTER DELETE ON automation_item_outcomes
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION robusto_forget_outcome_steps();

-- Records attempts of the caller's tenant's tickets, live or finished. An attempt the ticket has
-- not reached, of another tenant's ticket, or recorded already is skipped; a start is kept between
-- the ticket's creation and now.
CREATE OR REPLACE FUNCTION robusto_worker_record_steps(
    p_items bigint[], p_attempts integer[], p_started_ms bigint[], p_duration_ms integer[],
    p_outcomes text[], p_details text[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    tenant text := public.robusto_worker_tenant();
BEGIN
    PERFORM public.robusto_worker_bounded(p_items), public.robusto_worker_bounded(p_attempts),
            public.robusto_worker_bounded(p_started_ms), public.robusto_worker_bounded(p_duration_ms),
            public.robusto_worker_bounded(p_outcomes), public.robusto_worker_bounded(p_details);
    INSERT INTO public.automation_ticket_steps AS s (item_id, attempt, batch_id, tenant_id,
                                                     idempotency_key, started_at, duration_ms,
                                                     outcome, detail)
    SELECT t.item_id, a.attempt, t.batch_id, t.tenant_id, t.idempotency_key,
           least(greatest(to_timestamp(a.started_ms / 1000.0), t.created_at), now()),
           least(greatest(a.duration_ms, 0), 86400000), a.outcome, left(a.detail, 500)
      FROM unnest(p_items, p_attempts, p_started_ms, p_duration_ms, p_outcomes, p_details)
               AS a(item_id, attempt, started_ms, duration_ms, outcome, detail)
      JOIN (SELECT i.item_id, i.batch_id, i.tenant_id, i.idempotency_key, i.attempts, i.created_at
              FROM public.automation_items i
            UNION ALL
            SELECT o.item_id, o.batch_id, o.tenant_id, o.idempotency_key, o.attempts, o.created_at
              FROM public.automation_item_outcomes o) t ON t.item_id = a.item_id
     WHERE t.tenant_id = tenant AND a.attempt BETWEEN 1 AND least(t.attempts, 100)
       AND a.started_ms IS NOT NULL AND a.duration_ms IS NOT NULL
       AND a.outcome IN ('succeeded', 'failed', 'refused')
    ON CONFLICT (item_id, attempt) DO NOTHING;
END;
$$;

REVOKE EXECUTE ON FUNCTION
    robusto_worker_record_steps(bigint[], integer[], bigint[], integer[], text[], text[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    robusto_worker_record_steps(bigint[], integer[], bigint[], integer[], text[], text[])
    TO robusto_tenant;
