-- Invoice numbers of the yearly series (INV-2026-000123) are each given once: the series
-- guarantees it, and the database now refuses a second one too. Numbers from before the series
-- (month and account) are left out of the rule.
CREATE UNIQUE INDEX invoices_series_number_unique ON invoices (number) WHERE number LIKE 'INV-%';
