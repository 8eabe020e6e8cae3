-- An account's billing contacts: up to 10 people, not necessarily administrators, each on the
-- To or Cc line of the billing messages they subscribe to (codes, comma-separated: invoices,
-- receipts, payment_problems, spend_alerts). One address once per account.
CREATE TABLE billing_contacts (
    id TEXT NOT NULL CONSTRAINT billing_contacts_pk PRIMARY KEY,
    account_id TEXT NOT NULL CONSTRAINT billing_contacts_account_fk REFERENCES accounts (id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    line TEXT NOT NULL,
    subscriptions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT billing_contacts_email_uq UNIQUE (account_id, email_key)
);

-- A message's Cc line (addresses, comma-separated) and what it is about (`invoice:<id>`), so
-- the Billing page can say to whom each invoice went and whether it arrived.
ALTER TABLE mail_outbox ADD COLUMN cc_addr TEXT;
ALTER TABLE mail_outbox ADD COLUMN topic TEXT;
CREATE INDEX mail_outbox_topic_idx ON mail_outbox (topic) WHERE topic IS NOT NULL;
