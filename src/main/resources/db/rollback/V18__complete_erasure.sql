-- Undoes V18__complete_erasure.sql: V14's erasure trigger back, and V3's audit actions (which
-- fails while the trail holds an 'export': the trail is append-only, so that rollback is refused).
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
    CHECK (action IN ('create', 'update', 'delete', 'rotate', 'retain', 'erase'));

CREATE OR REPLACE FUNCTION robusto_forget_tenant_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_usage WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_latency WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_attempt_latency WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_circuits WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_merchant_calls WHERE tenant_id = OLD.tenant_id;
    RETURN OLD;
END;
$$;
