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
ALTER TABLE admin_totp DROP CONSTRAINT admin_totp_admin_fk;
ALTER TABLE admin_totp RENAME COLUMN admin_id TO owner_id;
ALTER TABLE admin_passkeys DROP CONSTRAINT admin_passkeys_admin_fk;
ALTER TABLE admin_passkeys RENAME COLUMN admin_id TO owner_id;
ALTER TABLE admin_passkeys ALTER COLUMN account_id DROP NOT NULL;
DROP INDEX admin_passkeys_admin_idx;
CREATE INDEX admin_passkeys_owner_idx ON admin_passkeys (owner_id);
ALTER TABLE admin_recovery_codes DROP CONSTRAINT admin_recovery_codes_admin_fk;
ALTER TABLE admin_recovery_codes RENAME COLUMN admin_id TO owner_id;
ALTER TABLE webauthn_ceremonies DROP CONSTRAINT webauthn_ceremonies_admin_fk;
ALTER TABLE webauthn_ceremonies RENAME COLUMN admin_id TO owner_id;
