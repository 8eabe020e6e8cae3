-- A queued message's attachments in rows of their own, as bytes. In the outbox row they were
-- base64 in a JSON list, a third larger, and rewritten with the row each time its delivery
-- claimed it or recorded it; a billing run's invoice PDFs made that most of its disk writes.
-- A row goes once its message is sent or abandoned. Messages queued before this keep their
-- list in mail_outbox.attachments, which delivery still reads.

CREATE TABLE mail_attachments (
    message_id TEXT NOT NULL REFERENCES mail_outbox (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL,
    CONSTRAINT mail_attachments_pk PRIMARY KEY (message_id, position)
);
