-- The audit trail: append-only and hash-chained.
--   hash = sha256(prev_hash || canonical row), prev_hash = the previous row's hash ('' before the first).
-- The database assigns seq, at, prev_hash and hash in a trigger that first takes a transaction-scoped
-- advisory lock, so inserts are serialised and the chain never forks, whoever writes; the previous
-- row is read through the primary key (no head row is updated per insert, which would make a large
-- transaction quadratic). UPDATE, DELETE and TRUNCATE are refused by triggers. A cut tail leaves a
-- valid-looking chain: the anchor kept outside the database catches it. The canonical row (audit_canonical) is rebuilt independently by
-- the verifier (dev.robusto.store.AuditCanonical) and must stay byte-identical to it.
-- Rollback: db/rollback/V3__audit_log.sql

CREATE TABLE IF NOT EXISTS audit_log (
    seq         bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete', 'rotate', 'retain', 'erase')),
    resource    text NOT NULL,
    tenant_id   text,                -- no foreign key: the trail outlives the tenant
    before_hash text,                -- sha256 of the state before (NULL for a create)
    after_hash  text,                -- sha256 of the state after (NULL for a delete)
    prev_hash   text NOT NULL,
    hash        text NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS audit_log_tenant ON audit_log (tenant_id, seq);

-- Length-prefixed fields ('-' for NULL), so no two different rows share a canonical form.
CREATE OR REPLACE FUNCTION audit_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN '-' ELSE length(value)::text || ':' || value END
$$;

CREATE OR REPLACE FUNCTION audit_canonical(r audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT audit_field(r.seq::text) || '|'
        || audit_field(((extract(epoch FROM r.at) * 1000000)::bigint)::text) || '|'
        || audit_field(r.actor) || '|' || audit_field(r.action) || '|' || audit_field(r.resource) || '|'
        || audit_field(r.tenant_id) || '|' || audit_field(r.before_hash) || '|' || audit_field(r.after_hash)
$$;

CREATE OR REPLACE FUNCTION audit_chain_append() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_seq  bigint;
    last_hash text;
BEGIN
    -- Held until commit: one appending transaction at a time.
    PERFORM pg_advisory_xact_lock(hashtext('robusto.audit_log'));
    SELECT seq, hash INTO last_seq, last_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.at := date_trunc('microseconds', clock_timestamp());
    NEW.prev_hash := coalesce(last_hash, '');
    NEW.hash := encode(sha256(convert_to(NEW.prev_hash || audit_canonical(NEW), 'UTF8')), 'hex');
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER IF EXISTS audit_chain_append ON audit_log;
CREATE TRIGGER audit_chain_append BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_chain_append();
DROP TRIGGER IF EXISTS audit_refuse_change ON audit_log;
CREATE TRIGGER audit_refuse_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
DROP TRIGGER IF EXISTS audit_refuse_truncate ON audit_log;
CREATE TRIGGER audit_refuse_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
REVOKE ALL ON audit_log FROM PUBLIC;
