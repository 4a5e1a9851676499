-- Undoes V2__tenant_isolation.sql. Tenant login roles are dropped by the operator, not here.
REVOKE ALL ON tenant_config, feature_flags, automation_batches, automation_items, automation_metrics FROM robusto_tenant;
REVOKE USAGE ON SCHEMA public FROM robusto_tenant;
DROP POLICY IF EXISTS tenant_isolation ON tenant_config;
DROP POLICY IF EXISTS tenant_isolation ON feature_flags;
DROP POLICY IF EXISTS tenant_isolation ON automation_batches;
DROP POLICY IF EXISTS tenant_isolation ON automation_items;
DROP POLICY IF EXISTS tenant_isolation ON automation_metrics;
ALTER TABLE tenant_config DISABLE ROW LEVEL SECURITY;
ALTER TABLE feature_flags DISABLE ROW LEVEL SECURITY;
ALTER TABLE automation_batches DISABLE ROW LEVEL SECURITY;
ALTER TABLE automation_items DISABLE ROW LEVEL SECURITY;
ALTER TABLE automation_metrics DISABLE ROW LEVEL SECURITY;
DROP FUNCTION IF EXISTS robusto_current_tenant();
DROP TABLE IF EXISTS tenant_db_roles;
-- Roles are cluster-wide: keep the role while another database of the cluster still uses it.
DO $$
BEGIN
    DROP ROLE IF EXISTS robusto_tenant;
EXCEPTION WHEN dependent_objects_still_exist THEN
    RAISE NOTICE 'robusto_tenant is still used by another database; kept';
END
$$;
