-- Undoes V6__worker_functions.sql: tenant roles get back the table privileges of V2, V4 and V5
-- (row-level security confining them to their rows), and the worker functions go.
DROP FUNCTION IF EXISTS robusto_worker_claim(uuid, text, text, integer, bigint);
DROP FUNCTION IF EXISTS robusto_worker_heartbeat(bigint[], uuid[], bigint);
DROP FUNCTION IF EXISTS robusto_worker_release(bigint[], uuid[], bigint);
DROP FUNCTION IF EXISTS robusto_worker_succeed(bigint[], uuid[]);
DROP FUNCTION IF EXISTS robusto_worker_fail(bigint, uuid, text, boolean, bigint);
DROP FUNCTION IF EXISTS robusto_worker_rescue(uuid, text);
DROP FUNCTION IF EXISTS robusto_worker_record_attempts(text, integer, boolean[], integer[]);
DROP FUNCTION IF EXISTS robusto_worker_live_items(uuid);
DROP FUNCTION IF EXISTS robusto_worker_tenant();
DROP FUNCTION IF EXISTS robusto_worker_bounded(anyarray);
GRANT EXECUTE ON FUNCTION robusto_current_tenant() TO robusto_tenant;
GRANT EXECUTE ON FUNCTION robusto_retention_cleanup(interval, interval) TO PUBLIC;
GRANT SELECT ON tenant_config TO robusto_tenant;
GRANT SELECT ON feature_flags TO robusto_tenant;
GRANT SELECT, INSERT, UPDATE, DELETE ON automation_batches, automation_items, automation_metrics TO robusto_tenant;
GRANT SELECT ON automation_item_keys TO robusto_tenant;
GRANT SELECT, INSERT ON automation_item_outcomes TO robusto_tenant;
GRANT SELECT, INSERT ON automation_attempts TO robusto_tenant;
