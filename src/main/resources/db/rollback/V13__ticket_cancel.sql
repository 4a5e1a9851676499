-- Undoes V13__ticket_cancel.sql: V9's metering back; cancelled tickets' outcome rows, which
-- V12's vocabulary has no word for, are deleted (their batches count them no more).
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

DELETE FROM automation_item_outcomes WHERE state = 'cancelled';
ALTER TABLE automation_item_outcomes DROP CONSTRAINT IF EXISTS automation_item_outcomes_state_check;
ALTER TABLE automation_item_outcomes ADD CONSTRAINT automation_item_outcomes_state_check
    CHECK (state IN ('succeeded', 'failed', 'dead_lettered', 'redriven'));
