-- V16: the Merchant a batch's http processor names, kept with the batch, so the ticket API reads
-- a ticket from the database alone (GET /invoicing/v*/tickets/{id}: one query).
-- Rollback: db/rollback/V16__batch_merchant.sql

ALTER TABLE automation_batches ADD COLUMN IF NOT EXISTS merchant text;
