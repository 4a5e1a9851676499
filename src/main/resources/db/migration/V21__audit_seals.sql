-- Seals on the audit chain: an HMAC-SHA256 of each row's seq and hash under a key the database
-- never sees (robusto.audit.seal-keys, from a Kubernetes Secret). Whoever can write audit_log with
-- its triggers off (a superuser) can recompute every hash of the chain, but not a seal, so
-- verification names the first row rewritten. The operator seals its rows in the transaction that
-- appends them. A row carries a seal under each key it was sealed with: on a rotation the new key
-- seals new rows and re-seals old ones, then the old key can go. Append-only, like the log.
-- Rollback: db/rollback/V21__audit_seals.sql

CREATE TABLE IF NOT EXISTS audit_seals (
    seq    bigint NOT NULL,   -- the audit_log row sealed (no foreign key: a seal outlives nothing)
    key_id text NOT NULL CHECK (key_id ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
    mac    text NOT NULL CHECK (mac ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (seq, key_id)
);

-- One refusal for both append-only tables, naming the table.
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER IF EXISTS audit_seals_refuse_change ON audit_seals;
CREATE TRIGGER audit_seals_refuse_change BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
DROP TRIGGER IF EXISTS audit_seals_refuse_truncate ON audit_seals;
CREATE TRIGGER audit_seals_refuse_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
REVOKE ALL ON audit_seals FROM PUBLIC;
-- V20's default privileges gave the runtime role all four: it may only read and append.
REVOKE ALL ON audit_seals FROM robusto_runtime;
GRANT SELECT, INSERT ON audit_seals TO robusto_runtime;
