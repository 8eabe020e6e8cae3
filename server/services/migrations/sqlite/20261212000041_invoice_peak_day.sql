-- The UTC day each invoice's peak was first reached (YYYY-MM-DD), which the invoice states
-- beside the peak. Invoices made before Tally kept it have none.
ALTER TABLE invoices ADD COLUMN peak_reached_on TEXT;
