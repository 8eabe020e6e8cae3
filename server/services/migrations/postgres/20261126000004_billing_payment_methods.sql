-- Billing information and the payment method on file (spec §6): one of each per account.
-- The payment method holds only what spec §6 allows: the gateway's token, brand, last 4,
-- expiry, cardholder, the card's billing address and a keyed fingerprint of the number.
-- Never the number or the security code.

CREATE TABLE billing_info (
    account_id TEXT NOT NULL CONSTRAINT billing_info_pk PRIMARY KEY
        CONSTRAINT billing_info_account_fk REFERENCES accounts (id),
    company_name TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    -- The billing contact: invoices and answers to billing requests go here.
    contact_email TEXT NOT NULL,
    contact_phone TEXT,
    country TEXT NOT NULL,
    line1 TEXT NOT NULL,
    line2 TEXT,
    city TEXT NOT NULL,
    region TEXT,
    postal_code TEXT NOT NULL,
    tax_id TEXT,
    updated_by TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE payment_methods (
    account_id TEXT NOT NULL CONSTRAINT payment_methods_pk PRIMARY KEY
        CONSTRAINT payment_methods_account_fk REFERENCES accounts (id),
    gateway_token TEXT NOT NULL,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    exp_month BIGINT NOT NULL,
    exp_year BIGINT NOT NULL,
    cardholder_name TEXT NOT NULL,
    country TEXT NOT NULL,
    line1 TEXT NOT NULL,
    line2 TEXT,
    city TEXT NOT NULL,
    region TEXT,
    postal_code TEXT NOT NULL,
    -- HMAC-SHA256 of the number under the server's fingerprint key (server_secrets).
    fingerprint TEXT NOT NULL,
    saved_by TEXT,
    saved_at BIGINT NOT NULL
);

-- One row per successful "Submit Payment Method": a second submit with the same key (a double
-- click, a retry after a lost answer) finds its row and saves nothing again.
CREATE TABLE payment_method_submissions (
    account_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT payment_method_submissions_pk PRIMARY KEY (account_id, idempotency_key)
);

-- Keys the server generates once and every replica shares (e.g. the card fingerprint key).
CREATE TABLE server_secrets (
    name TEXT NOT NULL CONSTRAINT server_secrets_pk PRIMARY KEY,
    value TEXT NOT NULL
);
