-- V23: who asked for a change, with the groups they asked as.
-- Changes to Robusto's resources are recorded at admission (the operator's audit webhook) under
-- the requesting user (actor, e.g. kube:alice) and the groups the API server authenticated them
-- with (actor_groups, a sorted JSON array of names). The canonical form ends with the groups only when they
-- are set, so every row written before keeps its hash and seal.
-- Rollback: db/rollback/V23__audit_actor_groups.sql

ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS actor_groups text;

CREATE OR REPLACE FUNCTION audit_canonical(r audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT audit_field(r.seq::text) || '|'
        || audit_field(((extract(epoch FROM r.at) * 1000000)::bigint)::text) || '|'
        || audit_field(r.actor) || '|' || audit_field(r.action) || '|' || audit_field(r.resource) || '|'
        || audit_field(r.tenant_id) || '|' || audit_field(r.before_hash) || '|' || audit_field(r.after_hash)
        || CASE WHEN r.actor_groups IS NULL THEN '' ELSE '|' || audit_field(r.actor_groups) END
$$;
