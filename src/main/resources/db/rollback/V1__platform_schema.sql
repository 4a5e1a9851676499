-- Undoes V1__platform_schema.sql.
DROP FUNCTION IF EXISTS robusto_retention_cleanup(interval, interval);
DROP TABLE IF EXISTS automation_metrics;
DROP TABLE IF EXISTS automation_items;
DROP TABLE IF EXISTS automation_batches;
DROP TABLE IF EXISTS feature_flags;
DROP TABLE IF EXISTS tenant_config;
