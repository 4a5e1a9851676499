-- Undoes V16__batch_merchant.sql.
ALTER TABLE automation_batches DROP COLUMN IF EXISTS merchant;
