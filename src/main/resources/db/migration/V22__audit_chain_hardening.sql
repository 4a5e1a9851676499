-- After an attack review of the seals (V21):
--  * the chain trigger names the table and function it reads by schema: a session could otherwise
--    put a temporary audit_log in front of the real one and have its row numbered from that
--    (functions and operators are never looked up in pg_temp, and no role but the owner may create
--    in public, so the rest needs no qualifying; a SET search_path would cost every row);
--  * seq starts at 1, so no row sits below where verification starts;
--  * a seal must name a row that exists: a seal planted on a row not yet appended would make the
--    operator's next append fail on it.
-- Rollback: db/rollback/V22__audit_chain_hardening.sql

CREATE OR REPLACE FUNCTION audit_chain_append() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_seq  bigint;
    last_hash text;
BEGIN
    -- Held until commit: one appending transaction at a time.
    PERFORM pg_advisory_xact_lock(hashtext('robusto.audit_log'));
    SELECT seq, hash INTO last_seq, last_hash FROM public.audit_log ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.at := date_trunc('microseconds', clock_timestamp());
    NEW.prev_hash := coalesce(last_hash, '');
    NEW.hash := encode(sha256(convert_to(NEW.prev_hash || public.audit_canonical(NEW), 'UTF8')), 'hex');
    RETURN NEW;
END;
$$;

ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_seq_positive;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_seq_positive CHECK (seq > 0);
ALTER TABLE audit_seals DROP CONSTRAINT IF EXISTS audit_seals_seq_fkey;
ALTER TABLE audit_seals ADD CONSTRAINT audit_seals_seq_fkey FOREIGN KEY (seq) REFERENCES audit_log (seq);
