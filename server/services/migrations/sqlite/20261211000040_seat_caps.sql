-- A limit on an account's users, set by its Administrators With Billing: adding a user beyond
-- it is refused, however it is added (the Users page, a CSV file, the API, SCIM). No row: no
-- limit.
CREATE TABLE seat_caps (
    account_id TEXT NOT NULL CONSTRAINT seat_caps_pk PRIMARY KEY CONSTRAINT seat_caps_account_fk REFERENCES accounts (id),
    cap BIGINT NOT NULL CONSTRAINT seat_caps_cap_check CHECK (cap > 0),
    updated_at BIGINT NOT NULL
);
