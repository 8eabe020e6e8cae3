-- The sandbox gateway's card set-ups (issue 28): the sandbox imitates a processor's set-up
-- flow, so the browser confirms a card with it as with a real processor, and the server
-- reads back what it confirmed. This is the processor's side of the world: like
-- sandbox_charges, it keeps a token, the brand, the last 4 digits, the expiry and a keyed
-- fingerprint, never the number or the security code. The client secret is kept as its hash.
CREATE TABLE sandbox_setup_intents (
    id TEXT NOT NULL CONSTRAINT sandbox_setup_intents_pk PRIMARY KEY,
    account_id TEXT NOT NULL CONSTRAINT sandbox_setup_intents_account_fk REFERENCES accounts (id),
    secret_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    -- Why the last confirmation was refused (a decline code), while it was.
    last_error TEXT,
    token TEXT,
    brand TEXT,
    last4 TEXT,
    exp_month BIGINT,
    exp_year BIGINT,
    fingerprint TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX sandbox_setup_intents_account_idx ON sandbox_setup_intents (account_id);
