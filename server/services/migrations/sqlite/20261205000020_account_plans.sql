-- Each customer account's plan, by the month it starts: the plan of a month is the row with
-- the latest `from_month` not after it. An operator's change starts next month, so a month
-- is billed on one plan throughout; an account with no row (one from before the seller) is on
-- the server's standard plan (TALLY_PRICE_PER_USER_CENTS, 10 free users).
CREATE TABLE account_plans (
    account_id TEXT NOT NULL CONSTRAINT account_plans_account_fk REFERENCES accounts (id) ON DELETE CASCADE,
    from_month TEXT NOT NULL,
    price_per_user_cents BIGINT NOT NULL CONSTRAINT account_plans_price_check CHECK (price_per_user_cents >= 0),
    free_users BIGINT NOT NULL CONSTRAINT account_plans_free_users_check CHECK (free_users >= 0),
    created_at BIGINT NOT NULL,
    CONSTRAINT account_plans_pk PRIMARY KEY (account_id, from_month)
);
