//! Invitation and password-reset links (spec §7): 256-bit random tokens stored as their
//! SHA-256, single use, invitations valid 72 hours and resets 30 minutes. Each link is saved
//! in the same transaction as its email, so there is never a link without its message.

use sqlx::{Any, Executor};

use crate::{
    context::Context,
    crypto::{new_token, token_hash},
    emails,
    error::{Context as _, ServiceError},
};

/// Which kind of emailed link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    Invitation,
    Reset,
}

impl LinkKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::Reset => "reset",
        }
    }

    /// Where the link opens.
    fn path(self) -> &'static str {
        match self {
            Self::Invitation => "/invitation/",
            Self::Reset => "/reset-password/",
        }
    }
}

/// What a link is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Valid,
    Expired,
    Used,
    Unknown,
}

/// A link as stored, with whose it is.
#[derive(Debug, sqlx::FromRow)]
pub struct LinkRow {
    pub admin_id: String,
    pub account_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub status: String,
}

impl LinkRow {
    pub fn state(&self, now: i64) -> LinkState {
        if self.used_at.is_some() {
            LinkState::Used
        } else if self.expires_at <= now {
            LinkState::Expired
        } else {
            LinkState::Valid
        }
    }
}

/// Makes a link of `kind` for an administrator in `exec`, valid for `valid_minutes`;
/// returns its full URL.
pub async fn issue<'e, E>(
    ctx: &Context,
    exec: E,
    kind: LinkKind,
    admin_id: &str,
    account_id: &str,
    valid_minutes: i64,
) -> Result<String, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let token = new_token();
    let now = ctx.now();
    sqlx::query(
        "INSERT INTO one_time_tokens (token_hash, kind, admin_id, account_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash(&token))
    .bind(kind.code())
    .bind(admin_id)
    .bind(account_id)
    .bind(now + valid_minutes * 60_000)
    .bind(now)
    .execute(exec)
    .await
    .context("saving a one-time link")?;
    Ok(ctx.link(&format!("{}{token}", kind.path())))
}

/// Makes an invitation link for an invited administrator and emails it, in one transaction,
/// then delivers the email.
pub async fn send_invitation(
    ctx: &Context,
    admin_id: &str,
    account_id: &str,
    email: &str,
    invited_by: &str,
) -> Result<(), ServiceError> {
    let hours = ctx.settings.invitation_hours;
    let mut tx = ctx
        .db
        .pool()
        .begin()
        .await
        .context("sending an invitation")?;
    let url = issue(
        ctx,
        &mut *tx,
        LinkKind::Invitation,
        admin_id,
        account_id,
        hours * 60,
    )
    .await?;
    let role: String = sqlx::query_scalar("SELECT role FROM admins WHERE id = $1")
        .bind(admin_id)
        .fetch_one(&mut *tx)
        .await
        .context("reading an invitee's role")?;
    let role = tally_core::roles::Role::from_code(&role).ok_or_else(|| {
        ServiceError::invariant("sending an invitation", "an unknown role is stored")
    })?;
    let message = emails::invitation(email, invited_by, role, &url, hours);
    let id = ctx
        .outbox
        .queue(&mut *tx, &message)
        .await
        .context("queueing an invitation")?;
    tx.commit().await.context("saving an invitation")?;
    ctx.outbox.deliver_queued(&id).await;
    Ok(())
}

/// The link with this token and kind, read in `exec`.
pub async fn find<'e, E>(
    exec: E,
    kind: LinkKind,
    token: &str,
) -> Result<Option<LinkRow>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query_as(
        "SELECT t.admin_id, t.account_id, t.expires_at, t.used_at, a.email, a.first_name, a.last_name, a.status \
         FROM one_time_tokens t JOIN admins a ON a.id = t.admin_id WHERE t.token_hash = $1 AND t.kind = $2",
    )
    .bind(token_hash(token))
    .bind(kind.code())
    .fetch_optional(exec)
    .await
    .context("looking up a one-time link")
}

/// Marks the link used in `exec`; false when another request used it first (single use even
/// when two race).
pub async fn claim<'e, E>(exec: E, token: &str, now: i64) -> Result<bool, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let claimed = sqlx::query(
        "UPDATE one_time_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(token_hash(token))
    .execute(exec)
    .await
    .context("using a one-time link")?;
    Ok(claimed.rows_affected() == 1)
}

/// Ends an administrator's unused reset links, in `exec`: their password just changed, so a
/// link asked for before (and perhaps seen by someone else) must not change it again.
pub async fn end_resets<'e, E>(exec: E, admin_id: &str, now: i64) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "UPDATE one_time_tokens SET expires_at = $1 \
         WHERE admin_id = $2 AND kind = 'reset' AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(admin_id)
    .execute(exec)
    .await
    .context("ending outstanding reset links")?;
    Ok(())
}

/// Ends an administrator's unused invitation links (a new one is about to be sent).
pub async fn expire_invitations(
    ctx: &Context,
    admin_id: &str,
    account_id: &str,
) -> Result<(), ServiceError> {
    let now = ctx.now();
    sqlx::query(
        "UPDATE one_time_tokens SET expires_at = $1 \
         WHERE admin_id = $2 AND account_id = $3 AND kind = 'invitation' AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(admin_id)
    .bind(account_id)
    .execute(ctx.db.pool())
    .await
    .context("expiring earlier invitation links")?;
    Ok(())
}
