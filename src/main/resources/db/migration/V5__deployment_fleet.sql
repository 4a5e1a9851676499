-- V5: the worker fleet of an AutomationDeployment. A batch may hand its tickets to a deployment's
-- fleet instead of starting its own Jobs (automation_batches.deployment; such a batch wants no
-- workers of the tenant's cap, hence parallelism 0). Every attempt a fleet worker makes is
-- recorded with the revision that made it, its duration and whether it failed, so a canary is
-- judged on its own error rate and latency (automation_attempts).
ALTER TABLE automation_batches ADD COLUMN IF NOT EXISTS deployment text;
ALTER TABLE automation_batches DROP CONSTRAINT IF EXISTS automation_batches_workers_check;
ALTER TABLE automation_batches ADD CONSTRAINT automation_batches_workers_check
    CHECK (parallelism >= 0 AND workers >= 0 AND (deployment IS NULL OR parallelism = 0));
CREATE INDEX IF NOT EXISTS automation_batches_deployment
    ON automation_batches (tenant_id, deployment) WHERE deployment IS NOT NULL;

-- Append-only figures, no keys: workers insert many rows a second and nothing refers to them.
CREATE TABLE IF NOT EXISTS automation_attempts (
    tenant_id   text NOT NULL,
    deployment  text NOT NULL,
    revision    integer NOT NULL CHECK (revision >= 1),
    failed      boolean NOT NULL,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    finished_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS automation_attempts_revision
    ON automation_attempts (tenant_id, deployment, revision, finished_at);
CREATE INDEX IF NOT EXISTS automation_attempts_age ON automation_attempts (finished_at);

ALTER TABLE automation_attempts ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON automation_attempts;
CREATE POLICY tenant_isolation ON automation_attempts
    USING (tenant_id = robusto_current_tenant()) WITH CHECK (tenant_id = robusto_current_tenant());
GRANT SELECT, INSERT ON automation_attempts TO robusto_tenant;

-- Retention ages out attempts with the outcomes.
CREATE OR REPLACE FUNCTION robusto_retention_cleanup(
    finished_items_older_than interval DEFAULT interval '30 days',
    metrics_older_than interval DEFAULT interval '400 days')
RETURNS TABLE (items_deleted bigint, metrics_deleted bigint)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_item_outcomes WHERE finished_at < now() - finished_items_older_than;
    GET DIAGNOSTICS items_deleted = ROW_COUNT;
    DELETE FROM automation_item_keys k
     WHERE k.created_at < now() - finished_items_older_than
       AND NOT EXISTS (SELECT FROM automation_items i
                        WHERE i.tenant_id = k.tenant_id AND i.idempotency_key = k.idempotency_key);
    DELETE FROM automation_attempts WHERE finished_at < now() - finished_items_older_than;
    DELETE FROM automation_metrics WHERE day < (now() - metrics_older_than)::date;
    GET DIAGNOSTICS metrics_deleted = ROW_COUNT;
    RETURN NEXT;
END;
$$;
