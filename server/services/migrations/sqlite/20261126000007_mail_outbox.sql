-- The mail outbox (issue 4): a message is written here in the same transaction as the change
-- that sends it, delivered at once, and retried by a worker when the transport fails. A sent
-- or abandoned message keeps its envelope for the record; its bodies (which may hold a
-- one-time link) are cleared.

CREATE TABLE mail_outbox (
    id TEXT NOT NULL CONSTRAINT mail_outbox_pk PRIMARY KEY,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- A delivery in progress holds the message until then, so two workers never both send it.
    claimed_until BIGINT,
    sent_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
-- The worker's query: pending messages by due time.
CREATE INDEX mail_outbox_pending_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
