-- Row-level security: a tenant's database roles see and write only that tenant's rows.
-- Each tenant has login roles (two during a credential rotation) mapped here to its tenant id;
-- all of them are members of robusto_tenant, which holds the table privileges.
-- Rollback: db/rollback/V2__tenant_isolation.sql

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'robusto_tenant') THEN
        CREATE ROLE robusto_tenant NOLOGIN;
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS tenant_db_roles (
    role_name  name PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenant_config ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The tenant of the logged-in role, or NULL (which matches no row) for any other role.
-- SECURITY DEFINER, so tenant roles need no access to tenant_db_roles; inside it current_user is
-- the function's owner, so the caller is session_user: the role the tenant logged in as.
CREATE OR REPLACE FUNCTION robusto_current_tenant() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT tenant_id FROM public.tenant_db_roles WHERE role_name = session_user
$$;
REVOKE ALL ON FUNCTION robusto_current_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION robusto_current_tenant() TO robusto_tenant;

ALTER TABLE tenant_config ENABLE ROW LEVEL SECURITY;
ALTER TABLE feature_flags ENABLE ROW LEVEL SECURITY;
ALTER TABLE automation_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE automation_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE automation_metrics ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON tenant_config;
CREATE POLICY tenant_isolation ON tenant_config USING (tenant_id = robusto_current_tenant());
DROP POLICY IF EXISTS tenant_isolation ON feature_flags;
CREATE POLICY tenant_isolation ON feature_flags
    USING (tenant_id = robusto_current_tenant()) WITH CHECK (tenant_id = robusto_current_tenant());
DROP POLICY IF EXISTS tenant_isolation ON automation_batches;
CREATE POLICY tenant_isolation ON automation_batches
    USING (tenant_id = robusto_current_tenant()) WITH CHECK (tenant_id = robusto_current_tenant());
DROP POLICY IF EXISTS tenant_isolation ON automation_items;
CREATE POLICY tenant_isolation ON automation_items
    USING (tenant_id = robusto_current_tenant()) WITH CHECK (tenant_id = robusto_current_tenant());
DROP POLICY IF EXISTS tenant_isolation ON automation_metrics;
CREATE POLICY tenant_isolation ON automation_metrics
    USING (tenant_id = robusto_current_tenant()) WITH CHECK (tenant_id = robusto_current_tenant());

-- Tenants read their own config; they work their own queue, batches, flags and metrics.
GRANT USAGE ON SCHEMA public TO robusto_tenant;
GRANT SELECT ON tenant_config TO robusto_tenant;
GRANT SELECT ON feature_flags TO robusto_tenant;
GRANT SELECT, INSERT, UPDATE, DELETE ON automation_batches, automation_items, automation_metrics TO robusto_tenant;
