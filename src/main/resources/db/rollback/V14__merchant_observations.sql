-- Undoes V14__merchant_observations.sql: V11's erasure trigger back, the merchants' figures gone.
DROP FUNCTION IF EXISTS robusto_worker_report_merchant(text, integer, integer, integer, text);

CREATE OR REPLACE FUNCTION robusto_forget_tenant_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_usage WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_latency WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_attempt_latency WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_circuits WHERE tenant_id = OLD.tenant_id;
    RETURN OLD;
END;
$$;

DROP TABLE IF EXISTS automation_merchant_calls;
