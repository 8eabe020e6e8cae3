-- An invoice's emails are now queued in the outbox in the transaction that creates the
-- invoice (emailed_at is set there), so the claim that kept two runs from sending them twice
-- is no longer needed.
ALTER TABLE invoices DROP COLUMN email_claimed_at;

-- The billing run sums each account's user-count changes: with the delta in the index, it
-- reads the index alone, not a table row per change.
DROP INDEX user_count_changes_account_at_idx;
CREATE INDEX user_count_changes_account_at_idx ON user_count_changes (account_id, at, delta);
