-- Accounts, administrators, sessions, one-time tokens, sign-in throttling and the audit log.
-- Written identically for SQLite and PostgreSQL (BIGINT, BOOLEAN, TEXT decode the same way
-- through sqlx Any). Times are UTC milliseconds since the epoch (BIGINT); ids are random text.

CREATE TABLE accounts (
    id TEXT NOT NULL CONSTRAINT accounts_pk PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE admins (
    id TEXT NOT NULL CONSTRAINT admins_pk PRIMARY KEY,
    account_id TEXT NOT NULL CONSTRAINT admins_account_fk REFERENCES accounts (id),
    email TEXT NOT NULL,
    -- Lower-cased address: one administrator per address across all of Tally.
    email_key TEXT NOT NULL CONSTRAINT admins_email_key_unique UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    role TEXT NOT NULL,
    status TEXT NOT NULL CONSTRAINT admins_status_check CHECK (status IN ('invited', 'active', 'suspended')),
    password_hash TEXT,
    failed_sign_ins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    receives_invoices BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX admins_account_idx ON admins (account_id, created_at);

CREATE TABLE sessions (
    -- SHA-256 of the cookie's random value: a stolen database does not yield live cookies.
    id_hash TEXT NOT NULL CONSTRAINT sessions_pk PRIMARY KEY,
    admin_id TEXT NOT NULL CONSTRAINT sessions_admin_fk REFERENCES admins (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip TEXT
);
CREATE INDEX sessions_admin_idx ON sessions (admin_id);

CREATE TABLE one_time_tokens (
    token_hash TEXT NOT NULL CONSTRAINT one_time_tokens_pk PRIMARY KEY,
    kind TEXT NOT NULL CONSTRAINT one_time_tokens_kind_check CHECK (kind IN ('invitation', 'reset')),
    admin_id TEXT NOT NULL CONSTRAINT one_time_tokens_admin_fk REFERENCES admins (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX one_time_tokens_admin_idx ON one_time_tokens (admin_id, kind);

-- Sign-in attempts per client address per minute, shared by every replica.
CREATE TABLE sign_in_throttle (
    ip TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT sign_in_throttle_pk PRIMARY KEY (ip, window_start)
);

CREATE TABLE audit_events (
    id TEXT NOT NULL CONSTRAINT audit_events_pk PRIMARY KEY,
    account_id TEXT,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT,
    actor_email TEXT,
    target TEXT,
    ip TEXT,
    detail TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_events_account_at_idx ON audit_events (account_id, at DESC);
