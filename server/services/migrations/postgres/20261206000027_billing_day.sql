-- The billing day of a plan: the day of the following month each month is invoiced and
-- charged on (1–28, so every month has it). The month's users are still counted through its
-- last day; only the bill waits. Plans and the seller's default from before bill on the 1st.
ALTER TABLE account_plans ADD COLUMN billing_day BIGINT NOT NULL DEFAULT 1
    CONSTRAINT account_plans_billing_day_check CHECK (billing_day BETWEEN 1 AND 28);
ALTER TABLE sellers ADD COLUMN billing_day BIGINT NOT NULL DEFAULT 1
    CONSTRAINT sellers_billing_day_check CHECK (billing_day BETWEEN 1 AND 28);
