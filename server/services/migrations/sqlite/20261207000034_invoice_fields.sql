-- What a customer's billing administrators want printed on their invoices: a purchase order
-- number and up to five fields of their own (name and value, kept as JSON pairs in order);
-- and on each invoice those lines as they were when it was made.
CREATE TABLE invoice_fields (
    account_id TEXT NOT NULL CONSTRAINT invoice_fields_pk PRIMARY KEY CONSTRAINT invoice_fields_account_fk REFERENCES accounts (id),
    po_number TEXT,
    custom TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
ALTER TABLE invoices ADD COLUMN reference_lines TEXT;
