-- Guessing second steps (issue 30). Wrong second steps are counted apart from wrong
-- passwords: the lockout's count starts again when a lock expires and a reset link clears
-- it, this one does neither. Only a successful second step clears it; at 20 the second step
-- is closed until an Administrator With Billing resets the administrator's two-step
-- verification.
ALTER TABLE admins ADD COLUMN second_step_failures BIGINT NOT NULL DEFAULT 0;

-- Recovery codes made until now carried about 50 bits each, stored as an unsalted SHA-256:
-- one pass over that space recovers every code from a copy of the database or a backup.
-- They are removed; new ones carry 119 bits, and the Account page offers to make them.
DELETE FROM admin_recovery_codes;
