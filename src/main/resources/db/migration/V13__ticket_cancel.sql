-- Cancelled tickets: a ticket taken out of the queue while no worker held it ends as an outcome
-- of its own, counted in its batch, never in usage or the latency histogram (and the operator's
-- cancel never waits on a tenant's lock of its usage row).
ALTER TABLE automation_item_outcomes DROP CONSTRAINT IF EXISTS automation_item_outcomes_state_check;
ALTER TABLE automation_item_outcomes ADD CONSTRAINT automation_item_outcomes_state_check
    CHECK (state IN ('succeeded', 'failed', 'dead_lettered', 'redriven', 'cancelled'));

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
     WHERE o.state <> 'cancelled'
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
     WHERE o.state <> 'cancelled'
     GROUP BY 1, 2, 3
    ON CONFLICT (tenant_id, day, le_ms) DO UPDATE SET tickets = l.tickets + excluded.tickets;
    RETURN NULL;
END;
$$;
