-- Undoes V19__tenant_rows_by_tenant.sql: V18's erasure trigger back, api_calls by namespace only.
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
DROP INDEX IF EXISTS automation_item_outcomes_tenant;
DROP INDEX IF EXISTS api_calls_tenant;
ALTER TABLE api_calls DROP COLUMN IF EXISTS tenant_id;
