-- The charge date (YYYY-MM-DD) the billing contact was last warned about: the card on file
-- expires before it (spec §8). Saving a card clears it, so a new card is judged afresh.
ALTER TABLE payment_methods ADD COLUMN expiry_warned_for TEXT;
