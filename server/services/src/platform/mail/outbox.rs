//! The mail outbox: every message is first a row of `mail_outbox`, written in the same
//! transaction as the change it tells about, so a change that is rolled back sends nothing and
//! a change that is saved never loses its message. Right after the commit the message is
//! delivered through the [`Mailer`]'s transport; when that fails (SMTP down, disk full) it
//! stays queued and the worker ([`Outbox::deliver_due`], every half minute) tries again on a
//! growing schedule, then gives up with an error in the log.
//!
//! Several server processes share one database: a delivery first claims its row for a while,
//! so no two processes send the same message. Over SMTP each group of messages in flight is
//! recorded as sent as soon as the server has accepted it, so a process killed mid-delivery
//! sends again at most the messages it had in flight; a process that stops cleanly gives its
//! claims back ([`Outbox::release_claims`]) rather than leaving them to time out. Once sent or abandoned, a message keeps its
//! envelope (recipient, subject, times, last error) and loses its bodies, which may hold a
//! one-time link.

use std::sync::Arc;

use sqlx::AnyConnection;

use super::{attachments_from_text, Attachment, Mail, Mailer};
use crate::platform::{
    clock::Clock,
    crypto::Ids,
    db::{Backend, Database, ROWS_PER_STATEMENT},
    metrics,
};

/// A message claimed for delivery.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: String,
    to_addr: String,
    cc_addr: Option<String>,
    topic: Option<String>,
    subject: String,
    text_body: String,
    html_body: String,
    attachments: String,
    attempts: i32,
}

impl Claimed {
    /// The message, and the number of the attempt about to be made.
    fn into_message(self) -> (String, Mail, i64) {
        // Written by `queue` from a list: unreadable only if the row was edited by hand, and
        // then the message still goes, with what could be read.
        let attachments = attachments_from_text(&self.attachments).unwrap_or_else(|| {
            tracing::error!(id = %self.id, "mail outbox: unreadable attachments left off");
            Vec::new()
        });
        let email = Mail {
            id: Some(self.id.clone()),
            to: self.to_addr,
            cc: self
                .cc_addr
                .map(|cc| cc.split(',').map(|a| a.trim().to_string()).collect())
                .unwrap_or_default(),
            topic: self.topic,
            subject: self.subject,
            text: self.text_body,
            html: self.html_body,
            attachments,
        };
        (self.id, email, i64::from(self.attempts) + 1)
    }
}

const CLAIMED_COLUMNS: &str =
    "id, to_addr, cc_addr, topic, subject, text_body, html_body, attachments, attempts";

/// Minutes to wait after the n-th failed attempt (the last entry is the last wait); after
/// `RETRY_MINUTES.len() + 1` failed attempts, about a day in all, the message is abandoned.
pub const RETRY_MINUTES: [i64; 7] = [1, 5, 15, 60, 180, 360, 720];

/// How long a delivery holds its message; longer than any transport's timeout.
const CLAIM_MILLIS: i64 = 5 * 60_000;

/// The messages about each of `topics` (see [`Mail::about`]), oldest first, and where each
/// stands: what the Billing page shows beside each invoice.
pub async fn deliveries(
    pool: &sqlx::AnyPool,
    topics: &[String],
) -> Result<Vec<(String, tally_core::views::billing::MailDelivery)>, sqlx::Error> {
    use tally_core::views::billing::{DeliveryStatus, MailDelivery};
    type Row = (
        String,
        String,
        Option<String>,
        Option<i64>,
        Option<i64>,
        i32,
        Option<String>,
    );
    let mut found = Vec::new();
    for batch in topics.chunks(ROWS_PER_STATEMENT) {
        let marks: Vec<String> = (1..=batch.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT topic, to_addr, cc_addr, sent_at, failed_at, attempts, last_error FROM mail_outbox \
             WHERE topic IN ({}) ORDER BY created_at, id",
            marks.join(", ")
        );
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for t in batch {
            q = q.bind(t);
        }
        for (topic, to, cc, sent_at, failed_at, attempts, error) in q.fetch_all(pool).await? {
            let error = error.unwrap_or_else(|| "no reason given".into());
            let status = match (sent_at, failed_at) {
                (Some(at), _) => DeliveryStatus::Sent(at),
                (None, Some(_)) => DeliveryStatus::Failed(error),
                (None, None) if attempts > 0 => DeliveryStatus::Retrying(error),
                (None, None) => DeliveryStatus::Queued,
            };
            let cc = cc
                .map(|c| c.split(',').map(|a| a.trim().to_string()).collect())
                .unwrap_or_default();
            found.push((topic, MailDelivery { to, cc, status }));
        }
    }
    Ok(found)
}

/// A message's Cc line as stored: none, or its addresses separated by commas.
fn cc_text(email: &Mail) -> Option<String> {
    (!email.cc.is_empty()).then(|| email.cc.join(", "))
}

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

/// The outbox (owner of `mail_outbox`) and its worker.
#[derive(Clone)]
pub struct Outbox {
    db: Database,
    clock: Arc<dyn Clock>,
    ids: Ids,
    mailer: Mailer,
    /// Wakes the worker ([`Outbox::work`]) for mail queued to go out now.
    wake: Arc<tokio::sync::Notify>,
    /// This process's name on its claims.
    instance: Arc<str>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Outbox({:?})", self.mailer)
    }
}

impl Outbox {
    pub fn new(db: Database, clock: Arc<dyn Clock>, ids: Ids, mailer: Mailer) -> Self {
        Self {
            db,
            clock,
            ids,
            mailer,
            wake: Arc::default(),
            instance: crate::platform::crypto::short_random().into(),
        }
    }

    /// Gives back the claims of this process on messages it has not delivered (a clean stop:
    /// another process, or the next start, sends them without waiting for the claims to time
    /// out). Returns how many.
    pub async fn release_claims(&self) -> Result<u64, sqlx::Error> {
        let released = sqlx::query(
            "UPDATE mail_outbox SET claimed_until = NULL, claimed_by = NULL \
             WHERE claimed_by = $1 AND sent_at IS NULL AND failed_at IS NULL",
        )
        .bind(&*self.instance)
        .execute(self.db.pool())
        .await?;
        Ok(released.rows_affected())
    }

    /// Messages still to be delivered (queued or retrying).
    pub async fn pending(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(self.db.pool())
        .await
    }

    /// The worker: delivers queued mail whose earlier delivery failed, when its retry is due,
    /// every half minute, and at once when a request hands it mail to send
    /// ([`Self::wake_worker`]). Runs until the process ends.
    pub async fn work(self) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.woken() => {}
            }
            if let Err(e) = self.deliver_due().await {
                tracing::error!(error = %e, "mail outbox worker");
            }
        }
    }

    /// Hands messages just queued and committed to the worker, without waiting for them: a
    /// request that must answer in the same time whether or not it sent mail calls this.
    pub fn wake_worker(&self) {
        self.wake.notify_one();
    }

    /// Resolves when [`Self::wake_worker`] was called.
    pub async fn woken(&self) {
        self.wake.notified().await
    }

    /// Queues `email` on `conn` (a transaction, usually); returns its id for [`Self::deliver`]
    /// once the transaction is committed.
    pub async fn queue(
        &self,
        conn: &mut AnyConnection,
        email: &Mail,
    ) -> Result<String, sqlx::Error> {
        let mut ids = self.queue_many(conn, std::slice::from_ref(email)).await?;
        Ok(ids.pop().expect("one id per message"))
    }

    /// Queues many emails on `conn` in a few multi-row statements (a billing run's thousands);
    /// returns their ids. Their attachments go into `mail_attachments`, as bytes.
    pub async fn queue_many(
        &self,
        conn: &mut AnyConnection,
        emails: &[Mail],
    ) -> Result<Vec<String>, sqlx::Error> {
        use sqlx::Connection;
        if emails.iter().any(|e| !e.attachments.is_empty()) {
            // A message and its attachments are seen together or not at all, even on a
            // connection outside a transaction (inside one, this is a savepoint).
            let mut tx = conn.begin().await?;
            let ids = self.insert(&mut tx, emails).await?;
            tx.commit().await?;
            return Ok(ids);
        }
        self.insert(conn, emails).await
    }

    /// The rows of `emails` and of their attachments.
    async fn insert(
        &self,
        conn: &mut AnyConnection,
        emails: &[Mail],
    ) -> Result<Vec<String>, sqlx::Error> {
        let now = self.clock.now_millis();
        let mut ids = Vec::with_capacity(emails.len());
        for batch in emails.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO mail_outbox (id, to_addr, subject, text_body, html_body, attachments, created_at, next_attempt_at, cc_addr, topic) VALUES {}",
                Backend::of(conn).values_list(batch.len(), 10)
            );
            let batch_ids: Vec<String> = batch.iter().map(|_| self.ids.new_id(now)).collect();
            let mut q = sqlx::query(&sql);
            for (id, e) in batch_ids.iter().zip(batch) {
                q = q
                    .bind(id)
                    .bind(&e.to)
                    .bind(&e.subject)
                    .bind(&e.text)
                    .bind(&e.html)
                    .bind("")
                    .bind(now)
                    .bind(now)
                    .bind(cc_text(e))
                    .bind(e.topic.as_deref());
            }
            q.execute(&mut *conn).await?;
            ids.extend(batch_ids);
        }
        let files: Vec<(&String, i32, &Attachment)> = ids
            .iter()
            .zip(emails)
            .flat_map(|(id, e)| (0..).zip(&e.attachments).map(move |(n, a)| (id, n, a)))
            .collect();
        for batch in files.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO mail_attachments (message_id, position, filename, content_type, data) VALUES {}",
                Backend::of(conn).values_list(batch.len(), 5)
            );
            let mut q = sqlx::query(&sql);
            for (id, position, a) in batch {
                q = q
                    .bind(*id)
                    .bind(*position)
                    .bind(&a.filename)
                    .bind(&a.content_type)
                    .bind(&a.data[..]);
            }
            q.execute(&mut *conn).await?;
        }
        Ok(ids)
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
        let Some(claimed) = sqlx::query_as::<_, Claimed>(&format!(
            "UPDATE mail_outbox SET claimed_until = $1, claimed_by = $4 WHERE id = $2 AND sent_at IS NULL \
             AND failed_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3) \
             RETURNING {CLAIMED_COLUMNS}"
        ))
        .bind(now + CLAIM_MILLIS)
        .bind(id)
        .bind(now)
        .bind(&*self.instance)
        .fetch_optional(pool)
        .await?
        else {
            return Ok(Delivery::NotMine);
        };
        let (_, email, attempts) = self
            .with_attachments(vec![claimed])
            .await?
            .pop()
            .expect("the message claimed");
        match self.mailer.send(&email).await {
            Ok(()) => {
                self.record_sent(&[id]).await?;
                metrics::mail_delivery("sent");
                Ok(Delivery::Sent)
            }
            Err(e) => {
                self.record_failure(id, &email, attempts, &e.to_string())
                    .await
            }
        }
    }

    /// A delivery failed: retried after the schedule's next wait, or abandoned after the last.
    async fn record_failure(
        &self,
        id: &str,
        email: &Mail,
        attempts: i64,
        error: &str,
    ) -> Result<Delivery, sqlx::Error> {
        let pool = self.db.pool();
        let done = self.clock.now_millis();
        let wait = usize::try_from(attempts - 1)
            .ok()
            .and_then(|i| RETRY_MINUTES.get(i));
        match wait {
            Some(minutes) => {
                let next = done + minutes * 60_000;
                sqlx::query(
                    "UPDATE mail_outbox SET attempts = $1, next_attempt_at = $2, \
                     claimed_until = NULL, last_error = $3 WHERE id = $4",
                )
                .bind(attempts)
                .bind(next)
                .bind(error)
                .bind(id)
                .execute(pool)
                .await?;
                metrics::mail_delivery("retrying");
                tracing::warn!(error = %error, to = %email.to, subject = %email.subject, attempts, retry_in_minutes = minutes, "mail not delivered; will retry");
                Ok(Delivery::Retrying(next))
            }
            None => {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "UPDATE mail_outbox SET attempts = $1, failed_at = $2, claimed_until = NULL, \
                     last_error = $3, text_body = '', html_body = '', attachments = '' WHERE id = $4",
                )
                .bind(attempts)
                .bind(done)
                .bind(error)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM mail_attachments WHERE message_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                metrics::mail_delivery("abandoned");
                tracing::error!(error = %error, to = %email.to, subject = %email.subject, attempts, "mail abandoned after its last attempt");
                Ok(Delivery::Abandoned)
            }
        }
    }

    /// Delivers every pending message that is due, oldest first, a claim at a time
    /// ([`Mailer::claim_at_most`]) until none is left (the worker and the billing run call
    /// this); returns how many were sent.
    ///
    /// Each claim is one statement that checks every row's state again as it claims it, so
    /// two processes never claim the same message. The claimed messages then go in groups of
    /// [`Mailer::unrecorded_at_most`], and each group's sent ones are recorded before the next
    /// group goes: a process killed mid-claim sends again at most one group. A failed message
    /// is rescheduled for later, so it ends the loop.
    pub async fn deliver_due(&self) -> Result<usize, sqlx::Error> {
        let pool = self.db.pool();
        let claim_at_most = self.mailer.claim_at_most();
        let group = self.mailer.unrecorded_at_most();
        let mut sent = 0;
        loop {
            let now = self.clock.now_millis();
            let claimed: Vec<Claimed> = sqlx::query_as(&format!(
                "UPDATE mail_outbox SET claimed_until = $1, claimed_by = $4 WHERE id IN \
                 (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL \
                  AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) \
                  ORDER BY next_attempt_at LIMIT $3) \
                 AND sent_at IS NULL AND failed_at IS NULL AND (claimed_until IS NULL OR claimed_until < $2) \
                 RETURNING {CLAIMED_COLUMNS}"
            ))
            .bind(now + CLAIM_MILLIS)
            .bind(now)
            .bind(claim_at_most)
            .bind(&*self.instance)
            .fetch_all(pool)
            .await?;
            let claimed_count = claimed.len();
            let messages = self.with_attachments(claimed).await?;
            for group in messages.chunks(group) {
                let emails: Vec<Mail> = group.iter().map(|(_, e, _)| e.clone()).collect();
                let results = self.mailer.send_many(&emails).await;
                let mut done = Vec::with_capacity(group.len());
                for ((id, email, attempt), result) in group.iter().zip(results) {
                    match result {
                        Ok(()) => done.push(id.as_str()),
                        Err(e) => {
                            self.record_failure(id, email, *attempt, &e.to_string())
                                .await?;
                        }
                    }
                }
                self.record_sent(&done).await?;
                sent += done.len();
            }
            if claimed_count < claim_at_most as usize {
                return Ok(sent);
            }
        }
    }

    /// The claimed messages, each with its attachments (from `mail_attachments`, after those
    /// a message queued before it existed kept in its row).
    async fn with_attachments(
        &self,
        claimed: Vec<Claimed>,
    ) -> Result<Vec<(String, Mail, i64)>, sqlx::Error> {
        let mut messages: Vec<(String, Mail, i64)> =
            claimed.into_iter().map(Claimed::into_message).collect();
        let mut files: std::collections::HashMap<String, Vec<Attachment>> = Default::default();
        let ids: Vec<&str> = messages.iter().map(|(id, _, _)| id.as_str()).collect();
        for batch in ids.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT message_id, filename, content_type, data FROM mail_attachments \
                 WHERE message_id IN ({}) ORDER BY message_id, position",
                self.db.backend().marks_from(1, batch.len())
            );
            let mut q = sqlx::query_as::<_, (String, String, String, Vec<u8>)>(&sql);
            for id in batch {
                q = q.bind(*id);
            }
            for (id, filename, content_type, data) in q.fetch_all(self.db.pool()).await? {
                files.entry(id).or_default().push(Attachment {
                    filename,
                    content_type,
                    data,
                });
            }
        }
        for (id, email, _) in &mut messages {
            if let Some(found) = files.remove(id.as_str()) {
                email.attachments.extend(found);
            }
        }
        Ok(messages)
    }

    /// Records messages as sent, and drops their bodies and attachments.
    async fn record_sent(&self, ids: &[&str]) -> Result<(), sqlx::Error> {
        let done_at = self.clock.now_millis();
        for batch in ids.chunks(ROWS_PER_STATEMENT) {
            let marks = self.db.backend();
            let sql = format!(
                "UPDATE mail_outbox SET sent_at = {}, attempts = attempts + 1, claimed_until = NULL, \
                 claimed_by = NULL, text_body = '', html_body = '', attachments = '' WHERE id IN ({})",
                marks.marks_from(1, 1),
                marks.marks_from(2, batch.len())
            );
            let mut q = sqlx::query(&sql).bind(done_at);
            for id in batch {
                q = q.bind(*id);
            }
            let mut tx = self.db.pool().begin().await?;
            q.execute(&mut *tx).await?;
            let sql = format!(
                "DELETE FROM mail_attachments WHERE message_id IN ({})",
                marks.marks_from(1, batch.len())
            );
            let mut q = sqlx::query(&sql);
            for id in batch {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await?;
            tx.commit().await?;
        }
        Ok(())
    }
}
