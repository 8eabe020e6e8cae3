-- Users (seats), the history of the user count, invoices and charge attempts (spec §5).

CREATE TABLE users (
    id TEXT NOT NULL CONSTRAINT users_pk PRIMARY KEY,
    account_id TEXT NOT NULL CONSTRAINT users_account_fk REFERENCES accounts (id),
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    status TEXT NOT NULL CONSTRAINT users_status_check CHECK (status IN ('active', 'suspended')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT users_account_email_unique UNIQUE (account_id, email_key)
);
CREATE INDEX users_account_name_idx ON users (account_id, last_name, first_name, id);

-- +1 when a user is added, −1 when one is deleted, written in the same transaction as the
-- change: the month's peak is computed from this history exactly (suspending changes nothing,
-- suspended users are billable).
CREATE TABLE user_count_changes (
    id TEXT NOT NULL CONSTRAINT user_count_changes_pk PRIMARY KEY,
    account_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    delta BIGINT NOT NULL
);
CREATE INDEX user_count_changes_account_at_idx ON user_count_changes (account_id, at);

-- One invoice per account and month, whatever runs the billing and however often.
CREATE TABLE invoices (
    id TEXT NOT NULL CONSTRAINT invoices_pk PRIMARY KEY,
    account_id TEXT NOT NULL CONSTRAINT invoices_account_fk REFERENCES accounts (id),
    number TEXT NOT NULL,
    month TEXT NOT NULL,
    peak_users BIGINT NOT NULL,
    free_users BIGINT NOT NULL,
    price_per_user_cents BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    -- open: to charge; paid; failed: a retry is scheduled; past_due: retries used up; zero: nothing to charge.
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    first_failure_at BIGINT,
    next_attempt_at BIGINT,
    -- A process emailing this invoice claims it first (so two runs never both send it); the
    -- claim lapses after a few minutes, so a process killed mid-send is made up for.
    email_claimed_at BIGINT,
    charge_id TEXT,
    paid_at BIGINT,
    emailed_at BIGINT,
    company_name TEXT NOT NULL,
    contact_email TEXT,
    created_at BIGINT NOT NULL,
    CONSTRAINT invoices_account_month_unique UNIQUE (account_id, month)
);
CREATE INDEX invoices_account_month_idx ON invoices (account_id, month DESC);
CREATE INDEX invoices_status_next_idx ON invoices (status, next_attempt_at);

CREATE TABLE charge_attempts (
    id TEXT NOT NULL CONSTRAINT charge_attempts_pk PRIMARY KEY,
    invoice_id TEXT NOT NULL CONSTRAINT charge_attempts_invoice_fk REFERENCES invoices (id),
    account_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    CONSTRAINT charge_attempts_invoice_attempt_unique UNIQUE (invoice_id, attempt)
);

-- The sandbox gateway's own records, as a processor keeps them on its side: one charge per
-- idempotency key, shared by every server process.
CREATE TABLE sandbox_charges (
    idempotency_key TEXT NOT NULL CONSTRAINT sandbox_charges_pk PRIMARY KEY,
    charge_id TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

ALTER TABLE accounts ADD COLUMN past_due BOOLEAN NOT NULL DEFAULT FALSE;
