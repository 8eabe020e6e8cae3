-- E-invoices name both parties with their addresses and tax IDs as they were when the invoice
-- was made: billing keeps the seller's (issuer_party, JSON, kept current by the seller's
-- details like issuer) and each invoice keeps both (parties, JSON; none on invoices made
-- before, whose e-invoices take the parties as they are now).
ALTER TABLE billing_settings ADD COLUMN issuer_party TEXT;
ALTER TABLE invoices ADD COLUMN parties TEXT;
