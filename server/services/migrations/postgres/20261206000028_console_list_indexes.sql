-- The console's accounts list at 100,000 accounts (bench/console.py). Each filter reads its
-- page, and its count, from an index in the list's order; the name is carried in the order's
-- indexes so that a page far down the list is found in the index alone (PostgreSQL reads a
-- row to use an index on LOWER(name) unless the index also holds name itself).
DROP INDEX accounts_name_order_idx;
CREATE INDEX accounts_name_order_idx ON accounts (LOWER(name), id) INCLUDE (name);
CREATE INDEX accounts_past_due_order_idx ON accounts (LOWER(name), id) INCLUDE (name)
    WHERE past_due;
DROP INDEX accounts_status_idx;
CREATE INDEX accounts_status_idx ON accounts (status, LOWER(name), id) INCLUDE (name);

-- A company found by any part of its name: pg_trgm's index answers LIKE '%…%'. pg_trgm ships
-- with PostgreSQL (Debian's postgresql package, the managed services); where it cannot be
-- installed, the search still works by reading every name.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX accounts_name_search_idx ON accounts USING gin (LOWER(name) gin_trgm_ops);
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm could not be installed: the console searches company names without an index';
END
$$;
