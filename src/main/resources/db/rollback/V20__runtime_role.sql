-- Undoes V20__runtime_role.sql: the owner is again the only role with access.
DO $$
DECLARE
    protected regclass;
BEGIN
    FOR protected IN
        SELECT c.oid::regclass FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relrowsecurity
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS operator_access ON %s', protected);
    END LOOP;
END
$$;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM robusto_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM robusto_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON FUNCTIONS FROM robusto_runtime;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM robusto_runtime;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM robusto_runtime;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM robusto_runtime;
REVOKE USAGE ON SCHEMA public FROM robusto_runtime;
-- Roles and their memberships are cluster-wide: keep both while another database of the cluster
-- still uses the role (dropping it ends its memberships).
DO $$
BEGIN
    DROP ROLE IF EXISTS robusto_runtime;
EXCEPTION WHEN dependent_objects_still_exist THEN
    RAISE NOTICE 'robusto_runtime is still used by another database; kept';
END
$$;
