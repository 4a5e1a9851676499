-- V25: ticket payloads encrypted at rest, with a data key per tenant (envelope encryption).
-- A sealed payload is the jsonb object {"robusto.dev/sealed": {"key": <version>, "iv", "data"}}
-- (dev.robusto.tenant.PayloadCipher): the payload columns, the worker functions that return them
-- and the moves between items and outcomes are unchanged, and rows of the clear stay readable
-- until the operator re-encrypts them (dev.robusto.tenant.PayloadKeys).
-- A data key is kept here only wrapped: by a platform key the database never sees (kek_id names it:
-- the operator's robusto.payload.keys, from a Kubernetes Secret), and by the tenant's own payload
-- key (worker_key_id: key payload-key of the Secret in its namespace) for its workers, which read
-- them through robusto_worker_payload_keys() and so learn a rotation's new key while they run.
-- superseded_at: when a newer version took over; the old one goes once no payload needs it.
-- Keys go with their tenant's erasure (the foreign key); tenant roles reach none of it directly.
-- Rollback: db/rollback/V25__payload_encryption.sql

CREATE TABLE IF NOT EXISTS tenant_payload_keys (
    tenant_id      text NOT NULL REFERENCES tenant_config ON DELETE CASCADE,
    version        integer NOT NULL CHECK (version > 0),
    kek_id         text NOT NULL,
    wrapped        bytea NOT NULL,
    worker_key_id  text,
    worker_wrapped bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    superseded_at  timestamptz,
    PRIMARY KEY (tenant_id, version),
    CHECK ((worker_key_id IS NULL) = (worker_wrapped IS NULL))
);
REVOKE ALL ON tenant_payload_keys FROM PUBLIC;
REVOKE ALL ON tenant_payload_keys FROM robusto_tenant;

-- The caller's tenant's data keys as its workers may open them (wrapped by its payload key).
CREATE OR REPLACE FUNCTION robusto_worker_payload_keys()
RETURNS TABLE (tenant_id text, version integer, worker_key_id text, worker_wrapped bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT k.tenant_id, k.version, k.worker_key_id, k.worker_wrapped
      FROM public.tenant_payload_keys k
     WHERE k.tenant_id = public.robusto_worker_tenant() AND k.worker_wrapped IS NOT NULL
     ORDER BY k.version
$$;
REVOKE EXECUTE ON FUNCTION robusto_worker_payload_keys() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION robusto_worker_payload_keys() TO robusto_tenant;
