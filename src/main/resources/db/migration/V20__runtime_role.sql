-- The operator's runtime role, apart from the owner that runs these migrations.
-- The operator process logs in as a member of robusto_runtime (dev.robusto.operator.DatabaseMigration
-- grants it to the login named by the chart); only the migration step holds the owner's password.
-- The runtime role reads and writes the platform's tables and manages tenant roles, but owns
-- nothing: on audit_log it may only read and append, so it cannot update, delete, truncate,
-- disable the triggers that refuse those, or replace the function that computes the chain.
-- Tables under row-level security get a policy letting it see every tenant's rows (the owner
-- bypassed them by owning the tables).
-- Rollback: db/rollback/V20__runtime_role.sql

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'robusto_runtime') THEN
        CREATE ROLE robusto_runtime NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO robusto_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO robusto_runtime;
REVOKE UPDATE, DELETE ON audit_log FROM robusto_runtime;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO robusto_runtime;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO robusto_runtime;
-- Tables, sequences and functions of later migrations: the same, unless a migration says otherwise.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO robusto_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO robusto_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO robusto_runtime;

-- Flyway's history is the migration step's: the operator reads it (to refuse a schema it was not
-- built for) and changes nothing in it. It does not exist when these scripts run without Flyway.
DO $$
BEGIN
    IF to_regclass('flyway_schema_history') IS NOT NULL THEN
        REVOKE INSERT, UPDATE, DELETE ON flyway_schema_history FROM robusto_runtime;
    END IF;
END
$$;

DO $$
DECLARE
    protected regclass;
BEGIN
    FOR protected IN
        SELECT c.oid::regclass FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relrowsecurity
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS operator_access ON %s', protected);
        EXECUTE format('CREATE POLICY operator_access ON %s TO robusto_runtime USING (true) WITH CHECK (true)',
                       protected);
    END LOOP;
END
$$;

-- Tenant roles are created IN ROLE robusto_tenant, which takes its admin option (not its
-- privileges); roles made by the operator before the split are handed over the same way.
GRANT robusto_tenant TO robusto_runtime WITH ADMIN TRUE, INHERIT FALSE, SET FALSE;
DO $$
DECLARE
    tenant_role name;
BEGIN
    FOR tenant_role IN
        SELECT t.role_name FROM tenant_db_roles t JOIN pg_roles r ON r.rolname = t.role_name
    LOOP
        EXECUTE format('GRANT %I TO robusto_runtime WITH ADMIN TRUE, INHERIT FALSE, SET FALSE', tenant_role);
    END LOOP;
END
$$;
