//! Invitation and password-reset links (owner of `one_time_tokens`): 256-bit random tokens
//! stored as their SHA-256, single use, invitations valid 72 hours and resets 30 minutes. Each
//! link is saved in the same transaction as its email, so there is never a link without its
//! message.

use std::collections::HashMap;

use sqlx::{Any, Executor};
use tally_core::{audit::AuditKind, codes::LinkKind, roles::Role, views::account::LinkState};

use crate::platform::{
    audit::Event,
    context::Context,
    crypto::{new_token, token_hash},
    error::{ResultExt, ServiceError},
    mail::emails,
    work::Work,
};

/// A link as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct LinkRow {
    pub admin_id: String,
    pub account_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
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

/// An invitation to send: whom, and on whose behalf.
pub struct Invitation<'a> {
    pub admin_id: &'a str,
    pub account_id: &'a str,
    pub email: &'a str,
    pub role: Role,
    /// The inviting administrator's name, for the message.
    pub invited_by: &'a str,
}

/// Adds an invitation link for an invited administrator, and its email, to `work`.
pub async fn invite(
    ctx: &Context,
    work: &mut Work,
    invitation: &Invitation<'_>,
) -> Result<(), ServiceError> {
    let hours = ctx.settings.invitation_hours;
    let url = issue(
        ctx,
        work.tx(),
        LinkKind::Invitation,
        invitation.admin_id,
        invitation.account_id,
        hours * 60,
    )
    .await?;
    work.mail(emails::invitation(
        invitation.email,
        invitation.invited_by,
        invitation.role,
        &url,
        hours,
    ));
    Ok(())
}

/// Makes an invitation link for an invited administrator and emails it, in one unit of work,
/// recording that it was sent.
pub async fn send_invitation(
    ctx: &Context,
    admin_id: &str,
    account_id: &str,
    email: &str,
    invited_by: &str,
) -> Result<(), ServiceError> {
    let admin = super::accounts::admins::in_account(ctx.db.pool(), account_id, admin_id).await?;
    let mut work = ctx.begin("sending an invitation").await?;
    let invitation = Invitation {
        admin_id,
        account_id,
        email,
        role: admin.role,
        invited_by,
    };
    invite(ctx, &mut work, &invitation).await?;
    work.audit(Event {
        account_id: Some(account_id.into()),
        target: Some(email.into()),
        ..Event::new(AuditKind::InvitationSent)
    });
    work.commit().await
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
        "SELECT admin_id, account_id, expires_at, used_at FROM one_time_tokens WHERE token_hash = $1 AND kind = $2",
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
         WHERE admin_id = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(admin_id)
    .bind(LinkKind::Reset.code())
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
         WHERE admin_id = $2 AND account_id = $3 AND kind = $4 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(admin_id)
    .bind(account_id)
    .bind(LinkKind::Invitation.code())
    .execute(ctx.db.pool())
    .await
    .context("expiring earlier invitation links")?;
    Ok(())
}

/// When each administrator's newest unused invitation link of the account expires, for those
/// who have one still valid at `now`.
pub async fn newest_invitations(
    pool: &sqlx::AnyPool,
    account_id: &str,
    now: i64,
) -> Result<HashMap<String, i64>, ServiceError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT admin_id, MAX(expires_at) FROM one_time_tokens WHERE account_id = $1 AND kind = $2 \
         AND used_at IS NULL AND expires_at > $3 GROUP BY admin_id",
    )
    .bind(account_id)
    .bind(LinkKind::Invitation.code())
    .bind(now)
    .fetch_all(pool)
    .await
    .context("reading invitation links")?;
    Ok(rows.into_iter().collect())
}
