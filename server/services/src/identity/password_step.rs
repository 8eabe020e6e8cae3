//! The password step every sign-in shares, an administrator's or an operator's: the address's
//! throttle, a card number refused before the address is kept, the length limits, the
//! per-address throttle, the lookup, the lockout and the check — each failure the same answer
//! ("Email or password is incorrect."), in about the same time (a hash is checked whatever
//! went wrong). What follows (a second step, a session) is each sign-in's own.

use tally_core::{actor::Visitor, password};

use super::{
    lockout::Guarded,
    passwords::Passwords,
    sign_in::{MAX_EMAIL, SIGN_IN_FAILED},
    throttle,
};
use crate::platform::{context::Context, error::ServiceError, metrics};

/// Who signs in with a password: how to find them, and how a failure is recorded.
pub(crate) trait Signers: Sync {
    /// Whoever was found by their address.
    type Who: Send + Sync;
    /// Their table's lockout.
    const LOCKOUT: Guarded;
    /// The per-address throttle's scope (each table's addresses counted apart).
    const SCOPE: &'static str;

    fn context(&self) -> &Context;

    async fn find(&self, email: &str) -> Result<Option<Self::Who>, ServiceError>;

    fn id(who: &Self::Who) -> &str;

    /// Their password's hash while they may sign in (active, with a password).
    fn active_hash(who: &Self::Who) -> Option<String>;

    /// Records a failed attempt (`detail` says why) for the audit log.
    async fn failed(
        &self,
        visitor: &Visitor,
        email: &str,
        who: Option<&Self::Who>,
        detail: &str,
    ) -> Result<(), ServiceError>;
}

/// The password step: whoever `email` and `password` sign in as, their attempt reserved
/// against their lockout (give it back with [`Guarded::refund_attempt`] when the password
/// only opens a second step, clear it when the whole sign-in succeeds).
pub(crate) async fn check_password<S: Signers>(
    signers: &S,
    passwords: &Passwords,
    visitor: &Visitor,
    email: &str,
    password: &str,
) -> Result<S::Who, ServiceError> {
    let ctx = signers.context();
    let failed = || ServiceError::field("password", SIGN_IN_FAILED);
    let email = email.trim();
    throttle::sign_in_address(ctx, visitor).await?;
    // An address is no place for a card number: refused before the address is kept
    // anywhere (the throttle's key, the audit log), with the rule's own message.
    if tally_core::card_in_text::contains_card_number(email) {
        signers
            .failed(visitor, "(not kept)", None, "card number in email")
            .await?;
        return Err(ServiceError::field(
            "email",
            tally_core::card_in_text::CARD_IN_TEXT,
        ));
    }
    // No address is longer, no password may be: refused before any other work, and only
    // what an address can be is kept of it.
    if email.chars().count() > MAX_EMAIL || password.chars().count() > password::MAX_PASSWORD_CHARS
    {
        signers
            .failed(visitor, &throttle::subject(email), None, "too long")
            .await?;
        return Err(failed());
    }
    let per_address = throttle::Limit {
        scope: S::SCOPE,
        attempts: ctx.settings.sign_in_attempts_per_address,
        ..throttle::SIGN_IN_PER_ADDRESS
    };
    throttle::check(ctx, per_address, &throttle::subject(email))
        .await
        .inspect_err(|_| metrics::sign_in("throttled"))?;
    let Some(who) = signers.find(email).await? else {
        passwords.verify_nothing(password).await?;
        signers
            .failed(visitor, email, None, "unknown email")
            .await?;
        return Err(failed());
    };
    let Some(hash) = S::active_hash(&who) else {
        passwords.verify_nothing(password).await?;
        signers
            .failed(visitor, email, Some(&who), "not active")
            .await?;
        return Err(failed());
    };
    if !S::LOCKOUT.reserve(ctx, S::id(&who)).await? {
        passwords.verify_nothing(password).await?;
        signers.failed(visitor, email, Some(&who), "locked").await?;
        return Err(failed());
    }
    if !passwords.verify(password, &hash).await? {
        signers
            .failed(visitor, email, Some(&who), "wrong password")
            .await?;
        return Err(failed());
    }
    Ok(who)
}
