-- Undoes V21__audit_seals.sql. The seals go; the chain's hashes are untouched.
DROP TABLE IF EXISTS audit_seals;
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
