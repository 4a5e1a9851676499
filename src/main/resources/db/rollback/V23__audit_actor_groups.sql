-- Undoes V23__audit_actor_groups.sql: V3's canonical form back, the groups column dropped.
-- Rows recorded with groups no longer verify after this: roll back only before any was written.
CREATE OR REPLACE FUNCTION audit_canonical(r audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT audit_field(r.seq::text) || '|'
        || audit_field(((extract(epoch FROM r.at) * 1000000)::bigint)::text) || '|'
        || audit_field(r.actor) || '|' || audit_field(r.action) || '|' || audit_field(r.resource) || '|'
        || audit_field(r.tenant_id) || '|' || audit_field(r.before_hash) || '|' || audit_field(r.after_hash)
$$;
ALTER TABLE audit_log DROP COLUMN IF EXISTS actor_groups;
