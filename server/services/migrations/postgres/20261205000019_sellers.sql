-- The seller: the company that runs Tally and is paid by its customer accounts. One row,
-- made by set-up with the first operator; its insert is set-up's claim (a second, racing
-- set-up fails on the key). Its details are printed on invoices and emails; its plan is the
-- one a new customer account starts on.
CREATE TABLE sellers (
    id BIGINT NOT NULL CONSTRAINT sellers_pk PRIMARY KEY CONSTRAINT sellers_one CHECK (id = 1),
    legal_name TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    country TEXT NOT NULL,
    line1 TEXT NOT NULL,
    line2 TEXT,
    city TEXT NOT NULL,
    region TEXT,
    postal_code TEXT NOT NULL,
    price_per_user_cents BIGINT NOT NULL CONSTRAINT sellers_price_check CHECK (price_per_user_cents >= 0),
    free_users BIGINT NOT NULL CONSTRAINT sellers_free_users_check CHECK (free_users >= 0),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
