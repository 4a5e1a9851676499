-- Undoes V22__audit_chain_hardening.sql: V3's trigger function back, the constraints dropped.
ALTER TABLE audit_seals DROP CONSTRAINT IF EXISTS audit_seals_seq_fkey;
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_seq_positive;
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
