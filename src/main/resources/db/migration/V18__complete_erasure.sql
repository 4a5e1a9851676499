-- V18: a tenant's rows, exported and erased completely.
-- Erasing a tenant (onDelete: Erase deletes its tenant_config row) removes every row about it.
-- Foreign keys and the earlier triggers already took its batches, queue, outcomes, steps, usage,
-- latency, circuits and merchant figures; left behind were the idempotency keys of its invoiced
-- tickets (kept when only a batch goes, so a ticket is never invoiced twice), its fleets'
-- attempts and its namespace's ticket API calls. Retaining a tenant keeps them all.
-- Exporting them (GET /api/v1/tenants/{name}/export) is recorded in the audit trail as 'export'.
-- Rollback: db/rollback/V18__complete_erasure.sql

ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
    CHECK (action IN ('create', 'update', 'delete', 'rotate', 'retain', 'erase', 'export'));

CREATE OR REPLACE FUNCTION robusto_forget_tenant_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_usage WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_latency WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_attempt_latency WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_circuits WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_merchant_calls WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_item_keys WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_attempts WHERE tenant_id = OLD.tenant_id;
    DELETE FROM api_calls WHERE namespace = OLD.namespace;
    RETURN OLD;
END;
$$;
