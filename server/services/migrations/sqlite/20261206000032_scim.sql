-- SCIM 2.0 provisioning (issue 32). Each customer account's administrators make tokens for
-- their identity provider: shown once, kept as a SHA-256 hash, known by their first
-- characters, revocable. A token reaches only its own account's users.
CREATE TABLE scim_tokens (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    visible TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX scim_tokens_account_idx ON scim_tokens (account_id, created_at);

-- Users gain the identity provider's name for them (SCIM `userName`; without one a user's
-- userName is their address) and a third status, `deactivated`: kept for the provider to
-- reactivate, no longer a seat. SQLite changes a CHECK only by rebuilding the table.
CREATE TABLE users_rebuilt (
    id TEXT NOT NULL CONSTRAINT users_pk PRIMARY KEY,
    account_id TEXT NOT NULL CONSTRAINT users_account_fk REFERENCES accounts (id),
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    status TEXT NOT NULL CONSTRAINT users_status_check CHECK (status IN ('active', 'suspended', 'deactivated')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    external_id TEXT,
    user_name TEXT,
    CONSTRAINT users_account_email_unique UNIQUE (account_id, email_key)
);
INSERT INTO users_rebuilt (id, account_id, first_name, last_name, email, email_key, status, created_at, updated_at, external_id)
    SELECT id, account_id, first_name, last_name, email, email_key, status, created_at, updated_at, external_id FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE INDEX users_account_name_idx ON users (account_id, last_name, first_name, id);
CREATE UNIQUE INDEX users_external_id_unique ON users (account_id, external_id);
CREATE INDEX users_account_id_idx ON users (account_id, id);
-- The userName is unique within the account whatever its case.
CREATE UNIQUE INDEX users_user_name_unique ON users (account_id, LOWER(user_name));
