-- The seller's staff. Not administrators of any customer account: a table, a sign-in, a
-- cookie and roles of their own (tally_core::operators).
CREATE TABLE operators (
    id TEXT NOT NULL CONSTRAINT operators_pk PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL CONSTRAINT operators_email_key_unique UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    role TEXT NOT NULL CONSTRAINT operators_role_check CHECK (role IN ('owner', 'finance', 'support', 'read_only')),
    status TEXT NOT NULL CONSTRAINT operators_status_check CHECK (status IN ('invited', 'active', 'suspended')),
    password_hash TEXT,
    failed_sign_ins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    second_step_failures BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- An operator's sessions: as the customers' (the cookie's random value kept as its hash),
-- in a table of their own, so an operator session is never a customer's.
CREATE TABLE operator_sessions (
    id_hash TEXT NOT NULL CONSTRAINT operator_sessions_pk PRIMARY KEY,
    operator_id TEXT NOT NULL CONSTRAINT operator_sessions_operator_fk REFERENCES operators (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip TEXT,
    verified_at BIGINT NOT NULL
);
CREATE INDEX operator_sessions_operator_idx ON operator_sessions (operator_id);

-- An operator's password was right and the second step is still to come (5 minutes).
CREATE TABLE operator_pending_sign_ins (
    token_hash TEXT NOT NULL CONSTRAINT operator_pending_sign_ins_pk PRIMARY KEY,
    operator_id TEXT NOT NULL CONSTRAINT operator_pending_sign_ins_operator_fk REFERENCES operators (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Second steps are an administrator's or an operator's: the factor tables name their owner
-- (`owner_id`, either's id) rather than an administrator, and no longer refer to `admins`
-- (deleting an administrator or an operator deletes their factors in the same transaction).
CREATE TABLE admin_totp_owned (
    owner_id TEXT NOT NULL CONSTRAINT admin_totp_pk PRIMARY KEY,
    secret_sealed TEXT NOT NULL,
    enabled_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
INSERT INTO admin_totp_owned (owner_id, secret_sealed, enabled_at, last_step, created_at)
    SELECT admin_id, secret_sealed, enabled_at, last_step, created_at FROM admin_totp;
DROP TABLE admin_totp;
ALTER TABLE admin_totp_owned RENAME TO admin_totp;

CREATE TABLE admin_passkeys_owned (
    id TEXT NOT NULL CONSTRAINT admin_passkeys_pk PRIMARY KEY,
    owner_id TEXT NOT NULL,
    account_id TEXT,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    last_used_at BIGINT,
    created_at BIGINT NOT NULL
);
INSERT INTO admin_passkeys_owned (id, owner_id, account_id, name, credential, last_used_at, created_at)
    SELECT id, admin_id, account_id, name, credential, last_used_at, created_at FROM admin_passkeys;
DROP TABLE admin_passkeys;
ALTER TABLE admin_passkeys_owned RENAME TO admin_passkeys;
CREATE INDEX admin_passkeys_owner_idx ON admin_passkeys (owner_id);

CREATE TABLE admin_recovery_codes_owned (
    owner_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL,
    CONSTRAINT admin_recovery_codes_pk PRIMARY KEY (owner_id, code_hash)
);
INSERT INTO admin_recovery_codes_owned (owner_id, code_hash, used_at, created_at)
    SELECT admin_id, code_hash, used_at, created_at FROM admin_recovery_codes;
DROP TABLE admin_recovery_codes;
ALTER TABLE admin_recovery_codes_owned RENAME TO admin_recovery_codes;

CREATE TABLE webauthn_ceremonies_owned (
    id TEXT NOT NULL CONSTRAINT webauthn_ceremonies_pk PRIMARY KEY,
    owner_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO webauthn_ceremonies_owned (id, owner_id, kind, state, expires_at, created_at)
    SELECT id, admin_id, kind, state, expires_at, created_at FROM webauthn_ceremonies;
DROP TABLE webauthn_ceremonies;
ALTER TABLE webauthn_ceremonies_owned RENAME TO webauthn_ceremonies;
