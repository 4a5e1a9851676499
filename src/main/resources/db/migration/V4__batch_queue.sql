-- The queue keeps only live items (held, pending, running); finished ones move to
-- automation_item_outcomes, so claiming stays fast however many tickets went through.
-- Items wait as 'held' until the tenant's daily quota admits them.
-- Idempotency keys have their own table, which outlives the queue rows (until retention), so a
-- ticket that succeeded is never queued again, wherever its row went.
-- automation_batches.parallelism and .workers record how many workers a batch wants and holds of
-- the tenant's concurrency cap; they are changed only under the tenant_config row lock.
-- Rollback: db/rollback/V4__batch_queue.sql

DROP INDEX IF EXISTS automation_items_finished;

CREATE TABLE IF NOT EXISTS automation_item_keys (
    tenant_id       text NOT NULL,
    idempotency_key text NOT NULL,
    batch_id        uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS automation_item_keys_batch ON automation_item_keys (batch_id);
CREATE INDEX IF NOT EXISTS automation_item_keys_age ON automation_item_keys (created_at);

-- No foreign keys: every worker's success inserts here, and a key-share lock on the batch row per
-- insert would make them queue behind each other. A trigger on automation_batches cleans up.
CREATE TABLE IF NOT EXISTS automation_item_outcomes (
    item_id         bigint PRIMARY KEY,
    batch_id        uuid NOT NULL,
    tenant_id       text NOT NULL,
    idempotency_key text NOT NULL,
    payload         jsonb NOT NULL,
    state           text NOT NULL CHECK (state IN ('succeeded', 'failed', 'dead_lettered')),
    attempts        integer NOT NULL CHECK (attempts >= 0),
    last_error      text,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS automation_item_outcomes_batch ON automation_item_outcomes (batch_id, state);
CREATE INDEX IF NOT EXISTS automation_item_outcomes_age ON automation_item_outcomes (finished_at);

ALTER TABLE automation_batches ADD COLUMN IF NOT EXISTS parallelism integer NOT NULL DEFAULT 1;
ALTER TABLE automation_batches ADD COLUMN IF NOT EXISTS workers integer NOT NULL DEFAULT 0;
ALTER TABLE automation_batches DROP CONSTRAINT IF EXISTS automation_batches_workers_check;
ALTER TABLE automation_batches ADD CONSTRAINT automation_batches_workers_check
    CHECK (parallelism > 0 AND workers >= 0);

-- Rows queued before this migration: keys registered, finished ones moved.
INSERT INTO automation_item_keys (tenant_id, idempotency_key, batch_id, created_at)
    SELECT tenant_id, idempotency_key, batch_id, created_at FROM automation_items
    ON CONFLICT DO NOTHING;
DO $$
BEGIN
    IF EXISTS (SELECT FROM information_schema.columns
               WHERE table_name = 'automation_items' AND column_name = 'finished_at') THEN
        INSERT INTO automation_item_outcomes (item_id, batch_id, tenant_id, idempotency_key, payload,
                                              state, attempts, last_error, created_at, finished_at)
            SELECT item_id, batch_id, tenant_id, idempotency_key, payload, state, attempts,
                   last_error, created_at, coalesce(finished_at, updated_at)
            FROM automation_items WHERE state IN ('succeeded', 'failed', 'dead_lettered')
            ON CONFLICT DO NOTHING;
        DELETE FROM automation_items WHERE state IN ('succeeded', 'failed', 'dead_lettered');
        ALTER TABLE automation_items DROP COLUMN finished_at;
    END IF;
END
$$;
ALTER TABLE automation_items DROP CONSTRAINT IF EXISTS automation_items_state_check;
ALTER TABLE automation_items ADD CONSTRAINT automation_items_state_check
    CHECK (state IN ('held', 'pending', 'running'));

-- A deleted batch takes its outcomes along; the keys of its tickets that succeeded stay until
-- retention (they were invoiced: submitting them again must not invoice them twice), the others
-- go, so the same tickets can be submitted again.
CREATE OR REPLACE FUNCTION robusto_forget_batch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_item_keys k
     WHERE k.batch_id = OLD.batch_id
       AND NOT EXISTS (SELECT FROM automation_item_outcomes o
                        WHERE o.batch_id = OLD.batch_id AND o.state = 'succeeded'
                          AND o.tenant_id = k.tenant_id AND o.idempotency_key = k.idempotency_key);
    DELETE FROM automation_item_outcomes WHERE batch_id = OLD.batch_id;
    RETURN OLD;
END;
$$;
DROP TRIGGER IF EXISTS automation_batches_forget ON automation_batches;
CREATE TRIGGER automation_batches_forget BEFORE DELETE ON automation_batches
    FOR EACH ROW EXECUTE FUNCTION robusto_forget_batch();

-- Retention now ages out outcomes, and with them the keys (the ticket may then come again).
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
    DELETE FROM automation_metrics WHERE day < (now() - metrics_older_than)::date;
    GET DIAGNOSTICS metrics_deleted = ROW_COUNT;
    RETURN NEXT;
END;
$$;

ALTER TABLE automation_item_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE automation_item_outcomes ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON automation_item_keys;
CREATE POLICY tenant_isolation ON automation_item_keys
    USING (tenant_id = robusto_current_tenant()) WITH CHECK (tenant_id = robusto_current_tenant());
DROP POLICY IF EXISTS tenant_isolation ON automation_item_outcomes;
CREATE POLICY tenant_isolation ON automation_item_outcomes
    USING (tenant_id = robusto_current_tenant()) WITH CHECK (tenant_id = robusto_current_tenant());
-- Workers (tenant roles) record outcomes; the operator alone registers keys.
GRANT SELECT ON automation_item_keys TO robusto_tenant;
GRANT SELECT, INSERT ON automation_item_outcomes TO robusto_tenant;
