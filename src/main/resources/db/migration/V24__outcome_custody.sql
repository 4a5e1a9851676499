-- V24: the chain of custody of ticket outcomes.
-- The leader chains finished tickets in rounds (dev.robusto.audit.OutcomeCustody): per tenant, one
-- audit_log row ('create TicketOutcomes/<tenant>/<first item>-<last item>') whose after_hash is
-- the digest of the round's outcome hashes, and here each outcome's hash under that row's seq, in
-- the same transaction. The audit row is chained and sealed, so a changed outcome, a changed hash
-- here, or a row removed from here is found by verification; an outcome removed since (its batch
-- deleted, retention, its tenant erased) is told apart by why it went.
-- custody_seq on the outcome marks it chained (NULL: not yet), for the next round to skip it.
-- Append-only, like the log; no tenant_id: it holds hashes and ids, nothing a tenant wrote.
-- Rollback: db/rollback/V24__outcome_custody.sql

CREATE TABLE IF NOT EXISTS outcome_custody (
    seq      bigint NOT NULL REFERENCES audit_log (seq),
    item_id  bigint NOT NULL,
    batch_id uuid NOT NULL,
    finished_at timestamptz NOT NULL,   -- when retention may have removed the outcome
    hash     text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (seq, item_id)
);

DROP TRIGGER IF EXISTS outcome_custody_refuse_change ON outcome_custody;
CREATE TRIGGER outcome_custody_refuse_change BEFORE UPDATE OR DELETE ON outcome_custody
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
DROP TRIGGER IF EXISTS outcome_custody_refuse_truncate ON outcome_custody;
CREATE TRIGGER outcome_custody_refuse_truncate BEFORE TRUNCATE ON outcome_custody
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
REVOKE ALL ON outcome_custody FROM PUBLIC;
REVOKE ALL ON outcome_custody FROM robusto_runtime;
GRANT SELECT, INSERT ON outcome_custody TO robusto_runtime;

ALTER TABLE automation_item_outcomes ADD COLUMN IF NOT EXISTS custody_seq bigint;
CREATE INDEX IF NOT EXISTS automation_item_outcomes_unchained
    ON automation_item_outcomes (item_id) WHERE custody_seq IS NULL;
