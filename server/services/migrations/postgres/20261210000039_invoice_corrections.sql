-- Corrections: an invoice reissued with the account's current billing details is a new
-- invoice of the same month that names the one it corrects (corrects, its id; corrects_number,
-- its number as printed), cancelled by a credit note; the original names its correction
-- (corrected_by, the number). A month now has one invoice made by the billing run and any
-- corrections after it, so "one invoice per account and month" holds for the run's invoices
-- only (a partial unique index, which the run's upsert names), and an invoice is corrected once.
ALTER TABLE invoices ADD COLUMN corrects TEXT CONSTRAINT invoices_corrects_fk REFERENCES invoices (id);
ALTER TABLE invoices ADD COLUMN corrects_number TEXT;
ALTER TABLE invoices ADD COLUMN corrected_by TEXT;
ALTER TABLE invoices DROP CONSTRAINT invoices_account_month_unique;
CREATE UNIQUE INDEX invoices_account_month_unique ON invoices (account_id, month) WHERE corrects IS NULL;
CREATE UNIQUE INDEX invoices_corrects_unique ON invoices (corrects) WHERE corrects IS NOT NULL;
