-- Two-step verification (issue 18).

-- An authenticator app's secret, sealed under the server's secret key; enabled once a code
-- from it was entered. `last_step` is the newest 30-second step a code was accepted for: a
-- code is never accepted twice.
CREATE TABLE admin_totp (
    admin_id TEXT NOT NULL CONSTRAINT admin_totp_pk PRIMARY KEY CONSTRAINT admin_totp_admin_fk REFERENCES admins (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    enabled_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- Passkeys and security keys (WebAuthn credentials: public keys, no secrets).
CREATE TABLE admin_passkeys (
    id TEXT NOT NULL CONSTRAINT admin_passkeys_pk PRIMARY KEY,
    admin_id TEXT NOT NULL CONSTRAINT admin_passkeys_admin_fk REFERENCES admins (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    last_used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX admin_passkeys_admin_idx ON admin_passkeys (admin_id);

-- Single-use recovery codes, stored hashed.
CREATE TABLE admin_recovery_codes (
    admin_id TEXT NOT NULL CONSTRAINT admin_recovery_codes_admin_fk REFERENCES admins (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL,
    CONSTRAINT admin_recovery_codes_pk PRIMARY KEY (admin_id, code_hash)
);

-- A passkey ceremony under way (its challenge and state), for 5 minutes.
CREATE TABLE webauthn_ceremonies (
    id TEXT NOT NULL CONSTRAINT webauthn_ceremonies_pk PRIMARY KEY,
    admin_id TEXT NOT NULL CONSTRAINT webauthn_ceremonies_admin_fk REFERENCES admins (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Half signed in: the password was right and the second step is still to come. Grants
-- nothing but the second step, for 5 minutes.
CREATE TABLE pending_sign_ins (
    token_hash TEXT NOT NULL CONSTRAINT pending_sign_ins_pk PRIMARY KEY,
    admin_id TEXT NOT NULL CONSTRAINT pending_sign_ins_admin_fk REFERENCES admins (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- When the session's administrator last proved it is them (a second step, or the password):
-- the most sensitive changes need it within the last 10 minutes.
ALTER TABLE sessions ADD COLUMN verified_at BIGINT NOT NULL DEFAULT 0;

-- The account's policy: every administrator must use two-step verification.
ALTER TABLE accounts ADD COLUMN require_two_step BOOLEAN NOT NULL DEFAULT FALSE;
