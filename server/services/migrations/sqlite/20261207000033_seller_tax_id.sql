-- The seller's own tax ID (its VAT number, UID, ABN…), in the normal form core's tax_id
-- stores; who issues the invoices as they print it (name, address, tax ID — kept current by
-- the seller's settings); and on each invoice that issuer as it was when the invoice was made,
-- printed as "From" (an invoice keeps it when the settings change).
ALTER TABLE sellers ADD COLUMN tax_id TEXT;
ALTER TABLE billing_settings ADD COLUMN issuer TEXT;
ALTER TABLE invoices ADD COLUMN seller TEXT;
