//! Signing in and out, invitation and reset links, one's own account, and the audit log.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use tally_core::roles::Action;

#[cfg(feature = "ssr")]
use crate::api::setup::set_cookie;
use crate::{auth::CurrentAdmin, error::AppError};

/// The signed-in administrator, or `None`.
#[server(endpoint = "account/me")]
pub async fn get_current_admin() -> Result<Option<CurrentAdmin>, AppError> {
    Ok(crate::auth::current_admin())
}

/// Signs in and goes to `next` (a local path) or `/`. Every failure gets the same message.
#[server(endpoint = "account/sign-in")]
pub async fn sign_in(
    email: String,
    password: String,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    let services = crate::ports::services()?;
    let session = services
        .auth
        .sign_in(&crate::auth::visitor(), email, password)
        .await?;
    go_on(&session, next.as_deref());
    Ok(())
}

/// After a sign-in went through: its cookies, then `next` — by way of the second step's page
/// when that is still to come.
#[cfg(feature = "ssr")]
fn go_on(session: &crate::ports::NewSession, next: Option<&str>) {
    for cookie in &session.set_cookies {
        set_cookie(cookie);
    }
    let next = safe_next(next);
    if session.second_step {
        let query: String = crate::query::encode(&next);
        leptos_axum::redirect(&format!("{SECOND_STEP_PATH}?next={query}"));
    } else {
        leptos_axum::redirect(&next);
    }
}

/// Where the second step of a sign-in is made.
pub const SECOND_STEP_PATH: &str = "/login/two-step";

pub use tally_core::redirect::safe_next;

/// Ends this session. The menu then loads the sign-in page itself, with a full page load
/// that drops everything the signed-in pages held; a redirect here would add a second,
/// client-side navigation racing that one.
#[server(endpoint = "account/sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    let services = crate::ports::services()?;
    if let (Some(session), Ok(actor)) = (crate::auth::session(), crate::auth::require_session()) {
        let clear = services.auth.sign_out(&actor, &session).await;
        set_cookie(&clear);
    }
    Ok(())
}

/// Which kind of emailed link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    Invitation,
    Reset,
}

/// What a link is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenState {
    Valid,
    Expired,
    Used,
    Unknown,
}

/// A link's state and, when valid, whose it is (for the page's greeting and the password
/// check's known words).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub state: TokenState,
    pub email: Option<String>,
    pub first_name: Option<String>,
}

/// Asks for a password-reset email. Answers the same whether or not the address exists.
#[server(endpoint = "account/request-reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    let services = crate::ports::services()?;
    services
        .auth
        .request_reset(&crate::auth::visitor(), email)
        .await
}

/// Reads what an invitation or reset link is worth, without using it.
#[server(endpoint = "account/inspect-link")]
pub async fn inspect_link(kind: TokenKind, token: String) -> Result<TokenInfo, AppError> {
    crate::ports::services()?
        .auth
        .inspect_token(kind, token)
        .await
}

/// Uses an invitation or reset link to set a password; signs in and goes to `/`.
#[server(endpoint = "account/set-password")]
pub async fn set_password_from_link(
    kind: TokenKind,
    token: String,
    password: String,
) -> Result<(), AppError> {
    let services = crate::ports::services()?;
    let session = services
        .auth
        .complete_token(&crate::auth::visitor(), kind, token, password)
        .await?;
    go_on(&session, None);
    Ok(())
}

/// The password rule's verdict, for the strength meter: the same check the server enforces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordCheck {
    pub score: u8,
    pub label: String,
    pub problem: Option<String>,
}

/// Scores a candidate password with the server's rule. `known_words` are the person's own
/// details (name, email), which make a password weaker.
#[server(endpoint = "account/check-password")]
pub async fn check_password(
    password: String,
    #[server(default)] known_words: Vec<String>,
) -> Result<PasswordCheck, AppError> {
    let words: Vec<&str> = known_words.iter().map(String::as_str).take(8).collect();
    let s = tally_core::password::strength(&password, &words);
    Ok(PasswordCheck {
        score: s.score,
        label: s.label().to_string(),
        problem: s.verdict.err().map(|e| e.to_string()),
    })
}

/// Changes one's own password; every other session of this administrator ends.
#[server(endpoint = "account/change-password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    let actor = crate::auth::require_signed_in()?;
    let services = crate::ports::services()?;
    let session = services
        .auth
        .change_password(&actor, current_password, new_password)
        .await?;
    for cookie in &session.set_cookies {
        set_cookie(cookie);
    }
    Ok(())
}

/// Changes one's own name.
#[server(endpoint = "account/update-name")]
pub async fn update_name(first_name: String, last_name: String) -> Result<(), AppError> {
    let actor = crate::auth::require_signed_in()?;
    let services = crate::ports::services()?;
    services
        .auth
        .update_name(&actor, first_name, last_name)
        .await
}

/// Filters for the audit log; blank fields filter nothing. Dates are `YYYY-MM-DD` (UTC),
/// both inclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditFilter {
    pub kind: String,
    pub actor: String,
    pub from: String,
    pub to: String,
    /// 1-based.
    pub page: u32,
}

/// One audit event as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub target: String,
    pub ip: String,
    pub detail: String,
}

/// A page of the audit log, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub page: u32,
    pub page_count: u32,
    pub total: u64,
    /// Every kind of event, for the filter.
    pub kinds: Vec<String>,
}

/// Lists the caller's account's audit events. Roles per the matrix (View the audit log).
#[server(endpoint = "audit/list")]
pub async fn list_audit_events(filter: AuditFilter) -> Result<AuditPage, AppError> {
    let actor = crate::auth::require(Action::ViewAuditLog)?;
    let services = crate::ports::services()?;
    services.audit.list(&actor, filter).await
}
