-- V7: a tenant's rows belong to one Tenant object, identified by its Kubernetes UID, not to its
-- name. A Tenant deleted with onDelete: Retain leaves its rows behind, marked retained_at; a new
-- Tenant that reuses the name has another UID, and the operator refuses to hand it the old rows
-- unless its spec.database.adoptRetained says so. Only live rows answer "whose namespace is this",
-- and one live row at most names a namespace.
-- Rollback: db/rollback/V7__tenant_identity.sql
ALTER TABLE tenant_config ADD COLUMN IF NOT EXISTS tenant_uid uuid;
ALTER TABLE tenant_config ADD COLUMN IF NOT EXISTS retained_at timestamptz;

-- Rows written before this migration have no UID. A tenant whose roles are gone was deleted and its
-- rows retained (a live Tenant whose role was never made is taken for one too: it then says
-- RetainedRowsConflict, and adoptRetained: true gives it its rows back).
UPDATE tenant_config t SET retained_at = t.updated_at
 WHERE t.retained_at IS NULL
   AND NOT EXISTS (SELECT FROM tenant_db_roles r WHERE r.tenant_id = t.tenant_id);
-- Of two live rows naming one namespace, the older is stale. A separate statement, so that it
-- sees the rows the one above retained as retained.
UPDATE tenant_config t SET retained_at = t.updated_at
 WHERE t.retained_at IS NULL
   AND EXISTS (SELECT FROM tenant_config o
                WHERE o.namespace = t.namespace AND o.retained_at IS NULL
                  AND (o.updated_at, o.tenant_id) > (t.updated_at, t.tenant_id));

CREATE UNIQUE INDEX IF NOT EXISTS tenant_config_live_namespace
    ON tenant_config (namespace) WHERE retained_at IS NULL;
