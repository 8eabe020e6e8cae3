-- API keys for the seller's own systems (the REST API under /v1). The key itself is shown once
-- and kept only as its SHA-256 (a 190-bit random secret needs no slow hash); `visible` is its
-- first characters, to tell keys apart. Revoked keys stay listed, refused.
CREATE TABLE api_keys (
    id TEXT NOT NULL CONSTRAINT api_keys_pk PRIMARY KEY,
    name TEXT NOT NULL,
    visible TEXT NOT NULL,
    key_hash TEXT NOT NULL CONSTRAINT api_keys_key_hash_unique UNIQUE,
    -- Scope codes, space-separated (tally_core::api_keys).
    scopes TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

-- The seller's own id for a user, which its systems send instead of keeping Tally's: one per
-- user within an account.
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_id_unique ON users (account_id, external_id);
-- The API lists an account's users by id, from where the last page stopped.
CREATE INDEX users_account_id_idx ON users (account_id, id);
