-- Undoes V26__audit_reader_role.sql: the checkpointer's login can no longer read the chain.
REVOKE SELECT (seq, hash) ON audit_log FROM robusto_audit_reader;
REVOKE USAGE ON SCHEMA public FROM robusto_audit_reader;
-- Roles are cluster-wide: keep it while another database of the cluster still uses it.
DO $$
BEGIN
    DROP ROLE IF EXISTS robusto_audit_reader;
EXCEPTION WHEN dependent_objects_still_exist THEN
    RAISE NOTICE 'robusto_audit_reader is still used by another database; kept';
END
$$;
