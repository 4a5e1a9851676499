-- Undoes V3__audit_log.sql. This destroys the audit trail: export it first.
DROP FUNCTION IF EXISTS audit_canonical(audit_log);
DROP TABLE IF EXISTS audit_log;
DROP FUNCTION IF EXISTS audit_chain_append();
DROP FUNCTION IF EXISTS audit_refuse_change();
DROP FUNCTION IF EXISTS audit_field(text);
