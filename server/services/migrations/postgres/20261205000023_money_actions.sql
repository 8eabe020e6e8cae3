-- The seller's money actions (issue 31): invoices paid by bank transfer or voided, credit
-- notes (numbered documents refunded to the card or kept as a credit balance), and the
-- account's credit balance, taken off its next invoices.
ALTER TABLE invoices ADD COLUMN payment_reference TEXT;
ALTER TABLE invoices ADD COLUMN void_reason TEXT;
ALTER TABLE invoices ADD COLUMN credited_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN credit_applied_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN credit_balance_cents BIGINT NOT NULL DEFAULT 0;

-- Documents numbered in one unbroken series each: the next number is taken in the
-- transaction that makes the document, so a rolled-back one gives its number back.
CREATE TABLE document_series (
    series TEXT NOT NULL CONSTRAINT document_series_pk PRIMARY KEY,
    last_number BIGINT NOT NULL
);

CREATE TABLE credit_notes (
    id TEXT NOT NULL CONSTRAINT credit_notes_pk PRIMARY KEY,
    account_id TEXT NOT NULL CONSTRAINT credit_notes_account_fk REFERENCES accounts (id),
    invoice_id TEXT NOT NULL CONSTRAINT credit_notes_invoice_fk REFERENCES invoices (id),
    number TEXT NOT NULL CONSTRAINT credit_notes_number_unique UNIQUE,
    -- As the invoice had them when the note was made: a document does not change.
    invoice_number TEXT NOT NULL,
    company_name TEXT NOT NULL,
    billed_to TEXT,
    amount_cents BIGINT NOT NULL CONSTRAINT credit_notes_amount_check CHECK (amount_cents > 0),
    reason TEXT NOT NULL,
    -- refund_pending: the processor is asked to refund the card; refunded; balance: kept as
    -- credit for the next invoices (also where a refused refund ends).
    settlement TEXT NOT NULL CONSTRAINT credit_notes_settlement_check CHECK (settlement IN ('refund_pending', 'refunded', 'balance')),
    refund_id TEXT,
    refund_failure TEXT,
    -- The invoice's charge, refunded (its id with the processor).
    charge_id TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    refunded_at BIGINT
);
CREATE INDEX credit_notes_account_idx ON credit_notes (account_id, created_at DESC);
CREATE INDEX credit_notes_refunded_idx ON credit_notes (refunded_at);
CREATE INDEX credit_notes_pending_idx ON credit_notes (settlement);

-- The sandbox gateway's refunds, as a processor keeps them: one per idempotency key.
CREATE TABLE sandbox_refunds (
    idempotency_key TEXT NOT NULL CONSTRAINT sandbox_refunds_pk PRIMARY KEY,
    refund_id TEXT NOT NULL,
    charge_id TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX sandbox_refunds_charge_idx ON sandbox_refunds (charge_id);
CREATE INDEX sandbox_charges_charge_idx ON sandbox_charges (charge_id);

-- The console's account page lists an account's newest charge attempts.
CREATE INDEX charge_attempts_account_at_idx ON charge_attempts (account_id, at);
-- The console's search finds an account by one of its invoices' numbers.
CREATE INDEX invoices_number_idx ON invoices (number);
-- Revenue leaves voided invoices out of a month's figures: the month's index holds the status
-- too, so the figures are still read from the index alone.
DROP INDEX invoices_month_figures_idx;
CREATE INDEX invoices_month_figures_idx ON invoices (month, status, amount_cents, peak_users, free_users);
