-- Tax on invoices. The seller's registrations are billing's to apply: its country, where it
-- charges VAT and at what rate ("DE:1900,FR:2000", basis points), and whether it declares EU
-- consumers' VAT through the One-Stop Shop. Each invoice keeps the tax it was made with: its
-- amount, rate and EN 16931 category (S, AE, O; none on invoices that bear no tax). Its
-- amount_cents stays what is left to pay: net + tax - credit applied.
ALTER TABLE billing_settings ADD COLUMN tax_home TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_settings ADD COLUMN tax_registrations TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_settings ADD COLUMN tax_oss BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE invoices ADD COLUMN tax_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN tax_rate_bp BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN tax_category TEXT;
