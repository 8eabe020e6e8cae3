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

-- Users gain the identity provider's name for them (SCIM `userName`, unique within the
-- account whatever its case; without one a user's userName is their address) and a third
-- status, `deactivated`: kept for the provider to reactivate, no longer a seat.
ALTER TABLE users ADD COLUMN user_name TEXT;
ALTER TABLE users DROP CONSTRAINT users_status_check;
ALTER TABLE users ADD CONSTRAINT users_status_check CHECK (status IN ('active', 'suspended', 'deactivated'));
CREATE UNIQUE INDEX users_user_name_unique ON users (account_id, LOWER(user_name));
