-- Invitations of operators the Owner adds: as the customers' one-time links (the token kept as
-- its SHA-256, single use, 72 hours), in a table of their own so an operator's link can never
-- open a customer's account or the other way round.
CREATE TABLE operator_invitations (
    token_hash TEXT NOT NULL CONSTRAINT operator_invitations_pk PRIMARY KEY,
    operator_id TEXT NOT NULL CONSTRAINT operator_invitations_operator_fk REFERENCES operators (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX operator_invitations_operator_idx ON operator_invitations (operator_id);
