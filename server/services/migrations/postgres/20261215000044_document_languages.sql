-- The language of an account's invoices, credit notes and billing emails (en, de, fr), and
-- of each billing contact's own (NULL: the account's).
ALTER TABLE invoice_fields ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE billing_contacts ADD COLUMN language TEXT;
