-- The console's accounts list at 100,000 accounts (bench/console.py). Each filter reads its
-- page, and its count, from an index in the list's order.
CREATE INDEX accounts_past_due_order_idx ON accounts (LOWER(name), id) WHERE past_due;
DROP INDEX accounts_status_idx;
CREATE INDEX accounts_status_idx ON accounts (status, LOWER(name), id);
