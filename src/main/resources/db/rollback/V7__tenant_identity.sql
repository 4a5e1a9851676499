-- Undoes V7__tenant_identity.sql: tenant rows are known by the Tenant's name alone again.
DROP INDEX IF EXISTS tenant_config_live_namespace;
ALTER TABLE tenant_config DROP COLUMN IF EXISTS retained_at;
ALTER TABLE tenant_config DROP COLUMN IF EXISTS tenant_uid;
