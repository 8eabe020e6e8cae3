-- Several servers on one database (issue 21): a month's billing run is taken by one server at
-- a time through a lease it renews while it runs. A server killed mid-run stops renewing, and
-- once the lease has expired another server's scheduler takes the month over.
CREATE TABLE scheduler_leases (
    name TEXT NOT NULL CONSTRAINT scheduler_leases_pk PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
