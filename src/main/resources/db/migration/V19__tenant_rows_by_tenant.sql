-- V19: a tenant's rows found by its tenant_id wherever they are, after an attack review of V17/V18.
-- - Erasure also deletes the tenant's outcomes and ticket steps by tenant_id: a worker can hold a
--   transaction open across its batch's deletion and commit rows whose batch is gone, which the
--   batch's triggers never see.
-- - api_calls gets the tenant it was recorded for (its namespace's tenant when the operator adds
--   the calls), so a namespace given to another tenant later does not mix their calls in an
--   export or an erasure; rows before this migration take their namespace's live tenant.
-- - Outcomes get an index by tenant and time: an export, the CFDI report and an erasure read one
--   tenant's rows without scanning every tenant's.
-- Rollback: db/rollback/V19__tenant_rows_by_tenant.sql

ALTER TABLE api_calls ADD COLUMN IF NOT EXISTS tenant_id text;
UPDATE api_calls a SET tenant_id = t.tenant_id
  FROM tenant_config t
 WHERE a.tenant_id IS NULL AND t.namespace = a.namespace AND t.retained_at IS NULL;
CREATE INDEX IF NOT EXISTS api_calls_tenant ON api_calls (tenant_id);
CREATE INDEX IF NOT EXISTS automation_item_outcomes_tenant
    ON automation_item_outcomes (tenant_id, finished_at);

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
    DELETE FROM automation_item_outcomes WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_ticket_steps WHERE tenant_id = OLD.tenant_id;
    DELETE FROM api_calls WHERE tenant_id = OLD.tenant_id;
    RETURN OLD;
END;
$$;
