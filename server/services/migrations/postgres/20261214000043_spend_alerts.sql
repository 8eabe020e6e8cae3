-- An account's spend alerts: an amount for the month (tax included, in the account's
-- currency) and the percentages of it at which this month's estimate raises an alert
-- (comma-separated), with a forecast alert (1) or not (0). No row: no alerts.
CREATE TABLE spend_alerts (
    account_id TEXT NOT NULL CONSTRAINT spend_alerts_pk PRIMARY KEY CONSTRAINT spend_alerts_account_fk REFERENCES accounts (id),
    budget_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    thresholds TEXT NOT NULL,
    forecast BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Each alert fired: once per account, month and threshold (0: the forecast), with what it said.
CREATE TABLE spend_alerts_fired (
    account_id TEXT NOT NULL CONSTRAINT spend_alerts_fired_account_fk REFERENCES accounts (id),
    month TEXT NOT NULL,
    threshold BIGINT NOT NULL,
    said TEXT NOT NULL,
    fired_at BIGINT NOT NULL,
    CONSTRAINT spend_alerts_fired_pk PRIMARY KEY (account_id, month, threshold)
);
