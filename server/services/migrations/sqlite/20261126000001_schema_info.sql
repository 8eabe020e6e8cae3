-- The first migration: a table naming the schema's owner, so an empty database is
-- recognisably Tally's. Later migrations add the product's tables; none is ever edited.
CREATE TABLE tally_instance (
    id INTEGER NOT NULL CONSTRAINT tally_instance_pk PRIMARY KEY CHECK (id = 1),
    created_at BIGINT NOT NULL
);
INSERT INTO tally_instance (id, created_at) VALUES (1, CAST(strftime('%s', 'now') AS BIGINT) * 1000);
