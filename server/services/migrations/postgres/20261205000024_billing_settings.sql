-- The seller's billing settings (issue 31): when failed charges are tried again, and after
-- how many days unpaid an account is suspended automatically (NULL: never). One row; without
-- it, the standard schedule (1, 3 and 7 days) and no automatic suspension.
CREATE TABLE billing_settings (
    id BIGINT NOT NULL CONSTRAINT billing_settings_pk PRIMARY KEY CONSTRAINT billing_settings_one_row CHECK (id = 1),
    retry_days TEXT NOT NULL,
    auto_suspend_days BIGINT,
    updated_at BIGINT NOT NULL
);
