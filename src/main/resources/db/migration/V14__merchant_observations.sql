-- V14: what workers see of each Merchant (a portal with two credentials), for the Merchant's
-- status: per minute, the calls that succeeded and failed, how often the primary credential was
-- refused and the fallback tried, and which credential the last call used ('primary',
-- 'fallback'), or that the Secret lacks both ('missing'), the portal refused both ('refused') or
-- the merchant takes none ('none').
-- Workers write their own tenant's rows only, through robusto_worker_report_merchant; no secret
-- reaches the database, only which of the two was used.
-- Bounded: a report drops its tenant's rows older than 2 hours (the status reads the last hour),
-- and a tenant reports at most 50 merchants.
-- Rollback: db/rollback/V14__merchant_observations.sql

CREATE TABLE IF NOT EXISTS automation_merchant_calls (
    tenant_id   text NOT NULL,
    merchant    text NOT NULL,
    minute      timestamptz NOT NULL,
    succeeded   bigint NOT NULL DEFAULT 0 CHECK (succeeded >= 0),
    failed      bigint NOT NULL DEFAULT 0 CHECK (failed >= 0),
    fallbacks   bigint NOT NULL DEFAULT 0 CHECK (fallbacks >= 0),
    credential  text NOT NULL CHECK (credential IN ('primary', 'fallback', 'missing', 'refused', 'none')),
    reported_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, merchant, minute)
);

-- An erased tenant's figures go with its tenant_config row (no foreign key to cascade).
CREATE OR REPLACE FUNCTION robusto_forget_tenant_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM automation_usage WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_latency WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_attempt_latency WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_circuits WHERE tenant_id = OLD.tenant_id;
    DELETE FROM automation_merchant_calls WHERE tenant_id = OLD.tenant_id;
    RETURN OLD;
END;
$$;

-- Adds a worker's calls to merchant p_merchant since its last report to the current minute of the
-- caller's tenant, and records the credential it used last. Merchant names are Kubernetes names,
-- so a tenant cannot write free text into a status; a tenant's calls are serialized (an advisory
-- lock on its name), so concurrent calls cannot pass the cap together.
CREATE OR REPLACE FUNCTION robusto_worker_report_merchant(
    p_merchant text, p_succeeded integer, p_failed integer, p_fallbacks integer,
    p_credential text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    tenant text := public.robusto_worker_tenant();
BEGIN
    IF coalesce(length(p_merchant), 0) NOT BETWEEN 1 AND 253
       OR p_merchant !~ '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'
       OR coalesce(p_succeeded, -1) NOT BETWEEN 0 AND 1000000
       OR coalesce(p_failed, -1) NOT BETWEEN 0 AND 1000000
       OR coalesce(p_fallbacks, -1) NOT BETWEEN 0 AND 1000000
       OR coalesce(p_credential, '') NOT IN ('primary', 'fallback', 'missing', 'refused', 'none') THEN
        RAISE EXCEPTION 'a merchant (a Kubernetes name), counts from 0 to 1,000,000 and a credential (primary, fallback, missing, refused or none)'
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('robusto.merchants'), hashtext(tenant));
    DELETE FROM public.automation_merchant_calls
     WHERE tenant_id = tenant AND minute < now() - interval '2 hours';
    IF NOT EXISTS (SELECT FROM public.automation_merchant_calls
                    WHERE tenant_id = tenant AND merchant = p_merchant)
       AND (SELECT count(DISTINCT merchant) FROM public.automation_merchant_calls
             WHERE tenant_id = tenant) >= 50 THEN
        RAISE EXCEPTION 'a tenant''s workers report at most 50 merchants'
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    INSERT INTO public.automation_merchant_calls AS m (tenant_id, merchant, minute, succeeded,
                                                       failed, fallbacks, credential)
    VALUES (tenant, p_merchant, date_trunc('minute', now()), p_succeeded, p_failed, p_fallbacks,
            p_credential)
    ON CONFLICT (tenant_id, merchant, minute) DO UPDATE SET
        succeeded = m.succeeded + excluded.succeeded,
        failed = m.failed + excluded.failed,
        fallbacks = m.fallbacks + excluded.fallbacks,
        credential = excluded.credential,
        reported_at = clock_timestamp();
END;
$$;

REVOKE EXECUTE ON FUNCTION robusto_worker_report_merchant(text, integer, integer, integer, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION robusto_worker_report_merchant(text, integer, integer, integer, text)
    TO robusto_tenant;
