-- The audit trail: append-only and hash-chained.
--   hash = sha256(prev_hash || canonical row), prev_hash = the previous row's hash ('' before the first).
-- The database assigns seq, at, prev_hash and hash in a trigger that first locks the one-row chain
-- head, so inserts are serialised and the chain never forks, whoever writes. UPDATE, DELETE and
-- TRUNCATE are refused by triggers. The canonical row (audit_canonical) is rebuilt independently by
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

CREATE TABLE IF NOT EXISTS audit_chain_head (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq  bigint NOT NULL,
    hash text NOT NULL
);
INSERT INTO audit_chain_head (id, seq, hash) VALUES (true, 0, '') ON CONFLICT DO NOTHING;

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
    head audit_chain_head;
BEGIN
    SELECT * INTO head FROM audit_chain_head WHERE id FOR UPDATE;
    NEW.seq := head.seq + 1;
    NEW.at := date_trunc('microseconds', clock_timestamp());
    NEW.prev_hash := head.hash;
    NEW.hash := encode(sha256(convert_to(head.hash || audit_canonical(NEW), 'UTF8')), 'hex');
    UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id;
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
-- The head may only move forward through the insert trigger.
DROP TRIGGER IF EXISTS audit_head_refuse_delete ON audit_chain_head;
CREATE TRIGGER audit_head_refuse_delete BEFORE DELETE OR TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

REVOKE ALL ON audit_log, audit_chain_head FROM PUBLIC;
