-- A customer account's standing with the seller (tally_core::account_status): active,
-- suspended (only paying works; nothing is charged), or closed (billed a last time for the
-- month so far, then read-only and never billed again). Why, and since when.
ALTER TABLE accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CONSTRAINT accounts_status_check CHECK (status IN ('active', 'suspended', 'closed'));
ALTER TABLE accounts ADD COLUMN status_reason TEXT;
ALTER TABLE accounts ADD COLUMN status_changed_at BIGINT;
ALTER TABLE accounts ADD COLUMN closed_at BIGINT;
CREATE INDEX accounts_status_idx ON accounts (status);
