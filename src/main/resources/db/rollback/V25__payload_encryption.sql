-- Undoes V25__payload_encryption.sql. Run it only after every payload is back in the clear (no row
-- of automation_items or automation_item_outcomes has a "robusto.dev/sealed" payload): the data
-- keys go, and a sealed payload without its key can never be read again.
DROP FUNCTION IF EXISTS robusto_worker_payload_keys();
DROP TABLE IF EXISTS tenant_payload_keys;
