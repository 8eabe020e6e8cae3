-- Currencies. A plan bills in one currency (ISO 4217 code; every row before this was in US
-- dollars): the seller's standard plan and each account's plan rows. An invoice keeps the
-- currency it was made in, and so does a credit note (its invoice's); every *_cents column
-- of theirs is in minor units of it (yen for the yen). The sandbox processor records the
-- currency of each charge and refund, as a real one does. The revenue page keeps an ended
-- month's figures per currency (figures_json); kept rows from before have none and are
-- added up again.
ALTER TABLE sellers ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';
ALTER TABLE account_plans ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';
ALTER TABLE invoices ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';
ALTER TABLE credit_notes ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';
ALTER TABLE sandbox_charges ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';
ALTER TABLE sandbox_refunds ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';
ALTER TABLE invoice_month_figures ADD COLUMN figures_json TEXT;
