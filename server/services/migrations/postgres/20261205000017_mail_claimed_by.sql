-- Mail after a crash (issue 30): which process holds a message's claim, so a process that
-- stops cleanly gives its claims back at once instead of leaving them for five minutes.
ALTER TABLE mail_outbox ADD COLUMN claimed_by TEXT;
