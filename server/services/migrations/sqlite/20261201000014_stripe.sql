-- The Stripe gateway (issue 22). Tally keeps the processor's ids, never a card number.
-- One processor customer per account, made the first time the account saves a card.
CREATE TABLE stripe_customers (
    account_id TEXT NOT NULL CONSTRAINT stripe_customers_pk PRIMARY KEY
        CONSTRAINT stripe_customers_account_fk REFERENCES accounts (id),
    customer_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- One PaymentIntent per charge attempt (the attempt's idempotency key). The row is written
-- before the processor is asked, and the intent's id as soon as the processor answers, before
-- the answer is used: a run killed in between finds the intent again instead of making a
-- second one.
CREATE TABLE stripe_payment_intents (
    idempotency_key TEXT NOT NULL CONSTRAINT stripe_payment_intents_pk PRIMARY KEY,
    invoice_id TEXT,
    customer_id TEXT NOT NULL,
    payment_intent_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX stripe_payment_intents_invoice_idx ON stripe_payment_intents (invoice_id);
CREATE INDEX stripe_payment_intents_intent_idx ON stripe_payment_intents (payment_intent_id);
-- Webhook events applied, by the processor's event id: a replay is applied once.
CREATE TABLE stripe_events (
    event_id TEXT NOT NULL CONSTRAINT stripe_events_pk PRIMARY KEY,
    type TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
