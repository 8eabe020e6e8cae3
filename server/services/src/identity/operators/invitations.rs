//! The `operator_invitations` table: one-time links that let an invited operator set their
//! password. As the customers' links (256-bit random tokens kept as their SHA-256, single use,
//! valid `invitation_hours`), in a table of their own so that neither kind of link can ever
//! open the other's side. Every statement on it is here.

use std::collections::HashMap;

use sqlx::{Any, Executor};
use tally_core::views::account::LinkState;

use crate::platform::{
    context::Context,
    crypto::{new_token, token_hash},
    error::{ResultExt, ServiceError},
};

/// Where an invited operator sets their password; the token follows.
pub const PATH: &str = "/operator/invitation/";

/// An invitation as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct InvitationRow {
    pub operator_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl InvitationRow {
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

/// Makes an invitation link for `operator_id` in `exec`, ending their earlier unused ones (the
/// newest link is the only one that works); returns its full URL.
pub async fn issue(
    ctx: &Context,
    conn: &mut sqlx::AnyConnection,
    operator_id: &str,
) -> Result<String, ServiceError> {
    let now = ctx.now();
    sqlx::query(
        "UPDATE operator_invitations SET expires_at = $1 \
         WHERE operator_id = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(operator_id)
    .execute(&mut *conn)
    .await
    .context("ending an operator's earlier invitations")?;
    let token = new_token();
    sqlx::query(
        "INSERT INTO operator_invitations (token_hash, operator_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash(&token))
    .bind(operator_id)
    .bind(now + ctx.settings.invitation_hours * 3_600_000)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("saving an operator's invitation")?;
    Ok(ctx.link(&format!("{PATH}{token}")))
}

/// The invitation with this token.
pub async fn find<'e, E>(exec: E, token: &str) -> Result<Option<InvitationRow>, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query_as(
        "SELECT operator_id, expires_at, used_at FROM operator_invitations WHERE token_hash = $1",
    )
    .bind(token_hash(token))
    .fetch_optional(exec)
    .await
    .context("looking up an operator's invitation")
}

/// Marks the invitation used in `exec`; false when it was used (or ended) first — single use
/// even when two requests race.
pub async fn claim<'e, E>(exec: E, token: &str, now: i64) -> Result<bool, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let claimed = sqlx::query(
        "UPDATE operator_invitations SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(token_hash(token))
    .execute(exec)
    .await
    .context("using an operator's invitation")?;
    Ok(claimed.rows_affected() == 1)
}

/// Ends an operator's unused invitations in `exec` (they were suspended).
pub async fn end<'e, E>(exec: E, operator_id: &str, now: i64) -> Result<(), ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "UPDATE operator_invitations SET expires_at = $1 \
         WHERE operator_id = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(operator_id)
    .execute(exec)
    .await
    .context("ending an operator's invitations")?;
    Ok(())
}

/// When each operator's newest unused invitation stops working, for those with one valid at
/// `now`.
pub async fn newest(pool: &sqlx::AnyPool, now: i64) -> Result<HashMap<String, i64>, ServiceError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT operator_id, MAX(expires_at) FROM operator_invitations \
         WHERE used_at IS NULL AND expires_at > $1 GROUP BY operator_id",
    )
    .bind(now)
    .fetch_all(pool)
    .await
    .context("reading operators' invitations")?;
    Ok(rows.into_iter().collect())
}
