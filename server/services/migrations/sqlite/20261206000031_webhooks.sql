-- Webhook endpoints an Owner registered: where events go, which ones, and the signing secret
-- (sealed with the server's data key; shown once when made, never again).
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);

-- One event for one endpoint, written in the transaction of the change it tells about. The id
-- is the `webhook-id` every attempt sends. `next_attempt_at` is NULL once it is delivered or
-- given up; `claimed_until` holds it while one server sends it.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    claimed_until BIGINT,
    last_status INTEGER,
    last_error TEXT,
    last_attempt_at BIGINT,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
