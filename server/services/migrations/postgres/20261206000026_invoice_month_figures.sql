-- The revenue page's figures of each month that has ended (invoiced, users billed, accounts
-- invoiced, collected), kept once added up so the page does not add up every invoice of a
-- year at each visit. A month's row counts as known only while `computed_changes` equals
-- `changes`: invoicing that month or voiding one of its invoices adds one to `changes` in
-- the same transaction, so a figure added up before is never read again.
CREATE TABLE invoice_month_figures (
    month TEXT NOT NULL CONSTRAINT invoice_month_figures_pk PRIMARY KEY,
    changes BIGINT NOT NULL DEFAULT 0,
    computed_changes BIGINT,
    invoiced_cents BIGINT NOT NULL DEFAULT 0,
    users_billed BIGINT NOT NULL DEFAULT 0,
    accounts_invoiced BIGINT NOT NULL DEFAULT 0,
    collected_cents BIGINT NOT NULL DEFAULT 0
);
