-- Saved commands, the administrators bound to run them, and their run history (spec §3).

CREATE TABLE commands (
    id TEXT NOT NULL CONSTRAINT commands_pk PRIMARY KEY,
    account_id TEXT NOT NULL CONSTRAINT commands_account_fk REFERENCES accounts (id),
    name TEXT NOT NULL,
    shell TEXT NOT NULL,
    script TEXT NOT NULL,
    description TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX commands_account_name_idx ON commands (account_id, name);

CREATE TABLE command_runners (
    command_id TEXT NOT NULL CONSTRAINT command_runners_command_fk REFERENCES commands (id),
    admin_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT command_runners_pk PRIMARY KEY (command_id, admin_id)
);
CREATE INDEX command_runners_admin_idx ON command_runners (admin_id);
CREATE INDEX command_runners_account_idx ON command_runners (account_id);

-- A run is recorded as queued; executing it on devices is outside Tally.
CREATE TABLE command_runs (
    id TEXT NOT NULL CONSTRAINT command_runs_pk PRIMARY KEY,
    command_id TEXT NOT NULL CONSTRAINT command_runs_command_fk REFERENCES commands (id),
    account_id TEXT NOT NULL,
    admin_id TEXT,
    admin_email TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX command_runs_command_idx ON command_runs (command_id, created_at DESC);
