-- Undoes V8__queue_batch_index.sql: back to V1's index of live items by state and batch.
DROP INDEX IF EXISTS automation_items_by_batch;
CREATE INDEX IF NOT EXISTS automation_items_progress ON automation_items (state, batch_id);
