-- Throttles for every costly or mail-sending request (sign-in, set-up, password changes,
-- reset requests, invitation resends, invoice copies), shared by every server: attempts per
-- scope (what is limited), subject (an address, an account, an invoice) and fixed window.
CREATE TABLE rate_limits (
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT rate_limits_pk PRIMARY KEY (scope, subject, window_start)
);
-- Sign-in attempts per address move to rate_limits.
DROP TABLE sign_in_throttle;

-- Set-up happens once: the set-up that inserts this row creates the account, and a second
-- one racing it fails on the key, on SQLite and PostgreSQL alike.
CREATE TABLE setup_done (
    id BIGINT NOT NULL CONSTRAINT setup_done_pk PRIMARY KEY CONSTRAINT setup_done_one CHECK (id = 1),
    created_at BIGINT NOT NULL
);
INSERT INTO setup_done (id, created_at) SELECT 1, 0 WHERE EXISTS (SELECT 1 FROM accounts);
