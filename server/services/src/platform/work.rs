//! A change is one unit of work: begin a transaction, make the change, record its audit
//! events and queue its mail and webhooks in that same transaction, commit, then deliver the
//! mail (webhooks are the webhook worker's to send). Written
//! once here, so no service can forget a step or take them in another order: a change that
//! is rolled back records and sends nothing, and a change that is saved never loses its
//! message (the outbox's worker retries what the first delivery could not send).

use sqlx::{Any, AnyConnection, Transaction};

use super::{
    audit::{self, Event},
    context::Context,
    error::{ResultExt, ServiceError},
    mail::Mail,
    webhooks::{self, Hook},
};

/// A change under way. Dropped without [`Work::commit`], it is rolled back.
pub struct Work {
    ctx: Context,
    tx: Transaction<'static, Any>,
    doing: &'static str,
    now: i64,
    events: Vec<Event>,
    mail: Vec<Mail>,
    hooks: Vec<Hook>,
}

/// Mail a committed change queued, not delivered yet.
#[must_use = "queued mail is delivered by `deliver`, or left to the worker by `wake_worker`"]
pub struct Queued {
    ctx: Context,
    ids: Vec<String>,
}

impl Work {
    pub(super) async fn begin(ctx: &Context, doing: &'static str) -> Result<Self, ServiceError> {
        let tx = ctx.db.pool().begin().await.context(doing)?;
        Ok(Self {
            now: ctx.now(),
            ctx: ctx.clone(),
            tx,
            doing,
            events: Vec::new(),
            mail: Vec::new(),
            hooks: Vec::new(),
        })
    }

    /// The transaction, for the change's own statements.
    pub fn tx(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// When the change began (UTC milliseconds): the time of its rows and of its events.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Records `event` with the change.
    pub fn audit(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Sends `email` once the change is saved.
    pub fn mail(&mut self, email: Mail) {
        self.mail.push(email);
    }

    /// Tells the webhook endpoints that want it about `hook` once the change is saved (never
    /// sent from here: the webhook worker sends it after the commit).
    pub fn hook(&mut self, hook: Hook) {
        self.hooks.push(hook);
    }

    /// Saves the change with its events and mail, then delivers the mail. A delivery that
    /// fails is left to the outbox's worker, not passed to the caller: the change is saved.
    pub async fn commit(self) -> Result<(), ServiceError> {
        self.commit_queued().await?.deliver().await;
        Ok(())
    }

    /// Saves the change with its events and mail, and leaves the mail queued: for a caller
    /// that must answer in the same time whether or not it sent mail, or that delivers in
    /// bulk.
    pub async fn commit_queued(mut self) -> Result<Queued, ServiceError> {
        let doing = self.doing;
        audit::record_many(&self.ctx, &mut self.tx, self.now, &self.events)
            .await
            .context(doing)?;
        let ids = self
            .ctx
            .outbox
            .queue_many(&mut self.tx, &self.mail)
            .await
            .context(doing)?;
        let hooks = webhooks::queue_many(&self.ctx, &mut self.tx, self.now, &self.hooks)
            .await
            .context(doing)?;
        self.tx.commit().await.context(doing)?;
        if hooks > 0 {
            self.ctx.hooks.notify_one();
        }
        Ok(Queued { ctx: self.ctx, ids })
    }
}

impl Queued {
    /// Delivers the messages now (a failure is the worker's to retry).
    pub async fn deliver(self) {
        for id in &self.ids {
            self.ctx.outbox.deliver_queued(id).await;
        }
    }

    /// Hands the messages to the outbox's worker without waiting for them.
    pub fn wake_worker(self) {
        if !self.ids.is_empty() {
            self.ctx.outbox.wake_worker();
        }
    }

    /// The messages' outbox ids, for a caller that delivers them itself later.
    pub fn into_ids(self) -> Vec<String> {
        self.ids
    }
}
