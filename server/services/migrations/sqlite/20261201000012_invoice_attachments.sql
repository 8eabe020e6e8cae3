-- Invoices that reach the billing contact in full (issue 19): an outbox message keeps its
-- attachments (a JSON list, the files' bytes in base64) until it is delivered or abandoned,
-- when they are cleared with the bodies; an invoice keeps whom it was made out to and the
-- card it was to be charged to, as they were when it was made, for its PDF.
ALTER TABLE mail_outbox ADD COLUMN attachments TEXT NOT NULL DEFAULT '';
ALTER TABLE invoices ADD COLUMN billed_to TEXT;
ALTER TABLE invoices ADD COLUMN card_label TEXT;
