-- The audit checkpointer's role (dev.robusto.audit.AuditCheckpointer): a process under its own
-- Kubernetes identity copies where the chain stands into checkpoints the operator cannot write.
-- It reads each row's seq and hash and nothing else: no entry's content, no other table, no write.
-- The migration step grants it to the login the chart names (audit.checkpointer.database).
-- Rollback: db/rollback/V26__audit_reader_role.sql

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'robusto_audit_reader') THEN
        CREATE ROLE robusto_audit_reader NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO robusto_audit_reader;
GRANT SELECT (seq, hash) ON audit_log TO robusto_audit_reader;
