-- V8: live items are found by batch and state through an index that ends with the item's id. The
-- index it replaces, on (state, batch_id) alone, gave every item of a batch in one state the same
-- key, which PostgreSQL keeps as one deduplicated posting list: every claim rewrote that list, and
-- concurrent claimers queued on it. Measured with hack/bench/queue (16 workers, claims of 100):
-- about 7,000 items/s before, 16,000 to 21,000 after. The same queries use it (a batch's counts,
-- its live items, rescuing expired leases): batch_id leads, then state.
-- It is built in the migration's transaction: the table holds live items only, so it is small.
-- Rollback: db/rollback/V8__queue_batch_index.sql
DROP INDEX IF EXISTS automation_items_progress;
CREATE INDEX IF NOT EXISTS automation_items_by_batch ON automation_items (batch_id, state, item_id);
