-- The first answer to each API request sent with an Idempotency-Key, kept 24 hours: the same
-- key with the same request gets it again, with another request a refusal. `status` is 0
-- while the first request is still being answered.
CREATE TABLE api_idempotency (
    api_key_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT api_idempotency_pk PRIMARY KEY (api_key_id, idempotency_key)
);
CREATE INDEX api_idempotency_created_idx ON api_idempotency (created_at);
