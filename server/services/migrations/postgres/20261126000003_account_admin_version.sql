-- Every change to an account's administrators first bumps this counter in its transaction.
-- The row lock (PostgreSQL) or the write lock (SQLite) it takes serialises concurrent changes
-- per account, so "always one active billing admin" is checked against what is really there.
ALTER TABLE accounts ADD COLUMN admin_version BIGINT NOT NULL DEFAULT 0;
