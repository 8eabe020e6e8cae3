-- The operator console over 100,000 accounts and a year of their invoices (bench/console.py):
-- the accounts list reads its page in name or creation order from an index and stops at the
-- page; the revenue figures add up a month's invoices, the payments of a month and what is
-- unpaid from indexes that hold every column they read.
CREATE INDEX accounts_name_order_idx ON accounts (LOWER(name), id);
CREATE INDEX accounts_created_order_idx ON accounts (created_at, id);
CREATE INDEX invoices_month_figures_idx ON invoices (month, amount_cents, peak_users, free_users);
CREATE INDEX invoices_paid_figures_idx ON invoices (paid_at, status, amount_cents);
CREATE INDEX invoices_unpaid_idx ON invoices (status, account_id, amount_cents, month);
