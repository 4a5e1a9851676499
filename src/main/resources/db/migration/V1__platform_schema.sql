-- The platform's tables, with the names the existing application reads.
-- Idempotent (IF NOT EXISTS) so running it twice is safe; Flyway runs it in one transaction.
-- Rollback: db/rollback/V1__platform_schema.sql

CREATE TABLE IF NOT EXISTS tenant_config (
    tenant_id           text PRIMARY KEY
                        CHECK (tenant_id ~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' AND length(tenant_id) <= 56),
    tier                text NOT NULL CHECK (tier IN ('enterprise', 'startup', 'custom')),
    namespace           text NOT NULL,
    max_concurrent_jobs integer NOT NULL CHECK (max_concurrent_jobs > 0),
    max_daily_jobs      integer NOT NULL CHECK (max_daily_jobs > 0),
    requests_per_minute integer NOT NULL CHECK (requests_per_minute > 0),
    suspended           boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (max_concurrent_jobs <= max_daily_jobs)
);

CREATE TABLE IF NOT EXISTS feature_flags (
    tenant_id  text NOT NULL REFERENCES tenant_config ON DELETE CASCADE,
    flag_key   text NOT NULL CHECK (flag_key ~ '^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$'),
    enabled    boolean NOT NULL,
    variant    text,
    value      jsonb,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, flag_key)
);

CREATE TABLE IF NOT EXISTS automation_batches (
    batch_id     uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenant_config ON DELETE CASCADE,
    namespace    text NOT NULL,
    name         text NOT NULL,
    priority     text NOT NULL DEFAULT 'normal' CHECK (priority IN ('baja', 'normal', 'alta', 'urgente')),
    phase        text NOT NULL DEFAULT 'Pending'
                 CHECK (phase IN ('Pending', 'Queued', 'Running', 'Throttled', 'Succeeded', 'PartiallyFailed', 'Failed')),
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    UNIQUE (tenant_id, namespace, name)
);

-- The work queue. One row per ticket; the idempotency key makes re-submission a no-op.
CREATE TABLE IF NOT EXISTS automation_items (
    item_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id         uuid NOT NULL REFERENCES automation_batches ON DELETE CASCADE,
    tenant_id        text NOT NULL REFERENCES tenant_config ON DELETE CASCADE,
    idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    payload          jsonb NOT NULL DEFAULT '{}',
    priority         text NOT NULL DEFAULT 'normal' CHECK (priority IN ('baja', 'normal', 'alta', 'urgente')),
    -- Claiming orders by this, most urgent first; text order would put 'alta' before 'urgente'.
    priority_rank    smallint GENERATED ALWAYS AS (
                         CASE priority WHEN 'urgente' THEN 0 WHEN 'alta' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END
                     ) STORED,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'dead_lettered')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_owner      text,
    lease_expires_at timestamptz,
    claim_token      uuid,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    UNIQUE (tenant_id, idempotency_key),
    CHECK (state <> 'running' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL AND claim_token IS NOT NULL))
);
-- Claiming: a batch's next pending items, most urgent and oldest first.
CREATE INDEX IF NOT EXISTS automation_items_claim
    ON automation_items (batch_id, priority_rank, next_attempt_at) WHERE state = 'pending';
-- Progress counts per batch and state, and rescuing expired leases (state = 'running'): every
-- index is rewritten when an item changes state, so one serves both.
CREATE INDEX IF NOT EXISTS automation_items_progress ON automation_items (state, batch_id);
-- Retention: finished items by age.
CREATE INDEX IF NOT EXISTS automation_items_finished
    ON automation_items (finished_at) WHERE finished_at IS NOT NULL;

-- Daily usage and cost per tenant, for billing.
CREATE TABLE IF NOT EXISTS automation_metrics (
    tenant_id      text NOT NULL REFERENCES tenant_config ON DELETE CASCADE,
    day            date NOT NULL,
    jobs_admitted  integer NOT NULL DEFAULT 0 CHECK (jobs_admitted >= 0),
    jobs_succeeded integer NOT NULL DEFAULT 0 CHECK (jobs_succeeded >= 0),
    jobs_failed    integer NOT NULL DEFAULT 0 CHECK (jobs_failed >= 0),
    processing_ms  bigint NOT NULL DEFAULT 0 CHECK (processing_ms >= 0),
    cost_mxn       numeric(14, 4) NOT NULL DEFAULT 0 CHECK (cost_mxn >= 0),
    PRIMARY KEY (tenant_id, day)
);
CREATE INDEX IF NOT EXISTS automation_metrics_day ON automation_metrics (day);

-- Retention: deletes finished queue rows and old daily metrics; returns how many rows went.
CREATE OR REPLACE FUNCTION robusto_retention_cleanup(
    finished_items_older_than interval DEFAULT interval '30 days',
    metrics_older_than interval DEFAULT interval '400 days')
RETURNS TABLE (items_deleted bigint, metrics_deleted bigint)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_items WHERE finished_at < now() - finished_items_older_than;
    GET DIAGNOSTICS items_deleted = ROW_COUNT;
    DELETE FROM automation_metrics WHERE day < (now() - metrics_older_than)::date;
    GET DIAGNOSTICS metrics_deleted = ROW_COUNT;
    RETURN NEXT;
END;
$$;
