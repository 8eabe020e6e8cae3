-- Corrections: an invoice reissued with the account's current billing details is a new
-- invoice of the same month that names the one it corrects (corrects, its id; corrects_number,
-- its number as printed), cancelled by a credit note; the original names its correction
-- (corrected_by, the number). A month now has one invoice made by the billing run and any
-- corrections after it, so "one invoice per account and month" holds for the run's invoices
-- only (a partial unique index, which the run's upsert names), and an invoice is corrected once.
--
-- SQLite cannot drop a table's inline UNIQUE constraint, so the table is made again with every
-- row, column and index it had, in the migrator's transaction, where foreign keys stay on
-- (they cannot be turned off in a transaction, and renaming a table with them on rewrites the
-- references to it). So the rows are copied aside, the table dropped and made again under the
-- same name, and the rows put back, with the foreign keys deferred to the commit: dropping the
-- table leaves charge_attempts and credit_notes pointing at missing invoices for a moment, and
-- putting each invoice back settles its references; none is left when the transaction commits.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE invoices_old AS SELECT * FROM invoices;
DROP TABLE invoices;
CREATE TABLE invoices (
    id TEXT NOT NULL CONSTRAINT invoices_pk PRIMARY KEY,
    account_id TEXT NOT NULL CONSTRAINT invoices_account_fk REFERENCES accounts (id),
    number TEXT NOT NULL,
    month TEXT NOT NULL,
    peak_users BIGINT NOT NULL,
    free_users BIGINT NOT NULL,
    price_per_user_cents BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    -- open: to charge; paid; failed: a retry is scheduled; past_due: retries used up; zero:
    -- nothing to charge; action_required; void; corrected: replaced while unpaid.
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    first_failure_at BIGINT,
    next_attempt_at BIGINT,
    charge_id TEXT,
    paid_at BIGINT,
    emailed_at BIGINT,
    company_name TEXT NOT NULL,
    contact_email TEXT,
    created_at BIGINT NOT NULL,
    billed_to TEXT,
    card_label TEXT,
    payment_reference TEXT,
    void_reason TEXT,
    credited_cents BIGINT NOT NULL DEFAULT 0,
    credit_applied_cents BIGINT NOT NULL DEFAULT 0,
    seller TEXT,
    reference_lines TEXT,
    tax_cents BIGINT NOT NULL DEFAULT 0,
    tax_rate_bp BIGINT NOT NULL DEFAULT 0,
    tax_category TEXT,
    parties TEXT,
    currency TEXT NOT NULL DEFAULT 'USD',
    corrects TEXT CONSTRAINT invoices_corrects_fk REFERENCES invoices (id),
    corrects_number TEXT,
    corrected_by TEXT
);
INSERT INTO invoices (id, account_id, number, month, peak_users, free_users, price_per_user_cents,
    amount_cents, status, attempts, first_failure_at, next_attempt_at, charge_id, paid_at, emailed_at,
    company_name, contact_email, created_at, billed_to, card_label, payment_reference, void_reason,
    credited_cents, credit_applied_cents, seller, reference_lines, tax_cents, tax_rate_bp, tax_category,
    parties, currency)
SELECT id, account_id, number, month, peak_users, free_users, price_per_user_cents,
    amount_cents, status, attempts, first_failure_at, next_attempt_at, charge_id, paid_at, emailed_at,
    company_name, contact_email, created_at, billed_to, card_label, payment_reference, void_reason,
    credited_cents, credit_applied_cents, seller, reference_lines, tax_cents, tax_rate_bp, tax_category,
    parties, currency
FROM invoices_old;
DROP TABLE invoices_old;
CREATE UNIQUE INDEX invoices_account_month_unique ON invoices (account_id, month) WHERE corrects IS NULL;
CREATE UNIQUE INDEX invoices_corrects_unique ON invoices (corrects) WHERE corrects IS NOT NULL;
CREATE INDEX invoices_account_month_idx ON invoices (account_id, month DESC);
CREATE INDEX invoices_status_next_idx ON invoices (status, next_attempt_at);
CREATE INDEX invoices_paid_figures_idx ON invoices (paid_at, status, amount_cents);
CREATE INDEX invoices_unpaid_idx ON invoices (status, account_id, amount_cents, month);
CREATE INDEX invoices_number_idx ON invoices (number);
CREATE INDEX invoices_month_figures_idx ON invoices (month, status, amount_cents, peak_users, free_users);
CREATE UNIQUE INDEX invoices_series_number_unique ON invoices (number) WHERE number LIKE 'INV-%';
