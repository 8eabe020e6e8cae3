//! The mail outbox: every message is first a row of `mail_outbox`, written in the same
//! transaction as the change it tells about, so a change that is rolled back sends nothing and
//! a change that is saved never loses its message. Right after the commit the message is
//! delivered through the [`Mailer`]'s transport; when that fails (SMTP down, disk full) it
//! stays queued and the worker ([`Outbox::deliver_due`], every half minute) tries again on a
//! growing schedule, then gives up with an error in the log.
//!
//! Several server processes share one database: a delivery first claims its row for a while,
//! so no two processes send the same message. Once sent or abandoned, a message keeps its
//! envelope (recipient, subject, times, last error) and loses its bodies, which may hold a
//! one-time link.

use std::sync::Arc;

use sqlx::{Any, Executor, Row};

use crate::{
    clock::Clock,
    crypto::new_id,
    db::Database,
    mail::{Email, Mailer},
};

/// Minutes to wait after the n-th failed attempt (the last entry is the last wait); after
/// `RETRY_MINUTES.len() + 1` failed attempts, about a day in all, the message is abandoned.
pub const RETRY_MINUTES: [i64; 7] = [1, 5, 15, 60, 180, 360, 720];

/// How long a delivery holds its message; longer than any transport's timeout.
const CLAIM_MILLIS: i64 = 5 * 60_000;

/// What became of one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Failed; tried again at this time (UTC milliseconds).
    Retrying(i64),
    /// Failed for the last time.
    Abandoned,
    /// Sent, abandoned, or being delivered by someone else already.
    NotMine,
}

#[derive(Clone)]
pub struct Outbox {
    db: Database,
    clock: Arc<dyn Clock>,
    mailer: Mailer,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Outbox({:?})", self.mailer)
    }
}

impl Outbox {
    pub fn new(db: Database, clock: Arc<dyn Clock>, mailer: Mailer) -> Self {
        Self { db, clock, mailer }
    }

    /// Queues `email` on `exec` (a transaction, usually); returns its id for [`Self::deliver`]
    /// once the transaction is committed.
    pub async fn queue<'e, E>(&self, exec: E, email: &Email) -> Result<String, sqlx::Error>
    where
        E: Executor<'e, Database = Any>,
    {
        let id = new_id();
        let now = self.clock.now_millis();
        sqlx::query(
            "INSERT INTO mail_outbox (id, to_addr, subject, text_body, html_body, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(&email.to)
        .bind(&email.subject)
        .bind(&email.text)
        .bind(&email.html)
        .bind(now)
        .execute(exec)
        .await?;
        Ok(id)
    }

    /// Queues `email` on its own and delivers it at once. `Ok` means the message is safely
    /// queued, whether or not this first delivery worked.
    pub async fn send(&self, email: &Email) -> Result<(), sqlx::Error> {
        let id = self.queue(self.db.pool(), email).await?;
        self.deliver_queued(&id).await;
        Ok(())
    }

    /// Delivers a message just queued and committed. It is safely queued already, so a failure
    /// here (even of the database) is logged and left to the worker, not passed to the caller.
    pub async fn deliver_queued(&self, id: &str) {
        if let Err(e) = self.deliver(id).await {
            tracing::error!(error = %e, "mail outbox: first delivery; the worker retries");
        }
    }

    /// Delivers one queued message if it is still pending and nobody else holds it.
    pub async fn deliver(&self, id: &str) -> Result<Delivery, sqlx::Error> {
        let pool = self.db.pool();
        let now = self.clock.now_millis();
        let claimed = sqlx::query(
            "UPDATE mail_outbox SET claimed_until = $1 WHERE id = $2 AND sent_at IS NULL \
             AND failed_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3)",
        )
        .bind(now + CLAIM_MILLIS)
        .bind(id)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected();
        if claimed != 1 {
            return Ok(Delivery::NotMine);
        }
        let row = sqlx::query(
            "SELECT to_addr, subject, text_body, html_body, attempts FROM mail_outbox WHERE id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await?;
        let email = Email {
            to: row.get("to_addr"),
            subject: row.get("subject"),
            text: row.get("text_body"),
            html: row.get("html_body"),
        };
        let attempts = i64::from(row.get::<i32, _>("attempts")) + 1;
        let done = self.clock.now_millis();
        match self.mailer.send(&email).await {
            Ok(()) => {
                sqlx::query(
                    "UPDATE mail_outbox SET sent_at = $1, attempts = $2, claimed_until = NULL, \
                     text_body = '', html_body = '' WHERE id = $3",
                )
                .bind(done)
                .bind(attempts)
                .bind(id)
                .execute(pool)
                .await?;
                Ok(Delivery::Sent)
            }
            Err(e) => {
                let error = e.to_string();
                let wait = usize::try_from(attempts - 1)
                    .ok()
                    .and_then(|i| RETRY_MINUTES.get(i));
                let outcome = match wait {
                    Some(minutes) => {
                        let next = done + minutes * 60_000;
                        sqlx::query(
                            "UPDATE mail_outbox SET attempts = $1, next_attempt_at = $2, \
                             claimed_until = NULL, last_error = $3 WHERE id = $4",
                        )
                        .bind(attempts)
                        .bind(next)
                        .bind(&error)
                        .bind(id)
                        .execute(pool)
                        .await?;
                        tracing::warn!(error = %error, to = %email.to, subject = %email.subject, attempts, retry_in_minutes = minutes, "mail not delivered; will retry");
                        Delivery::Retrying(next)
                    }
                    None => {
                        sqlx::query(
                            "UPDATE mail_outbox SET attempts = $1, failed_at = $2, claimed_until = NULL, \
                             last_error = $3, text_body = '', html_body = '' WHERE id = $4",
                        )
                        .bind(attempts)
                        .bind(done)
                        .bind(&error)
                        .bind(id)
                        .execute(pool)
                        .await?;
                        tracing::error!(error = %error, to = %email.to, subject = %email.subject, attempts, "mail abandoned after its last attempt");
                        Delivery::Abandoned
                    }
                };
                Ok(outcome)
            }
        }
    }

    /// Delivers every pending message that is due, oldest first (the worker calls this);
    /// returns how many were sent.
    pub async fn deliver_due(&self) -> Result<usize, sqlx::Error> {
        let now = self.clock.now_millis();
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL \
             AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1) \
             ORDER BY next_attempt_at LIMIT 500",
        )
        .bind(now)
        .fetch_all(self.db.pool())
        .await?;
        let mut sent = 0;
        for id in due {
            if self.deliver(&id).await? == Delivery::Sent {
                sent += 1;
            }
        }
        Ok(sent)
    }
}
