//! Who is calling a server function, and the services it calls. The server's session
//! middleware resolves the cookie and puts the caller's [`Actor`] (with the session's key) in
//! the request's extensions, and every request's [`Visitor`]; the server puts the
//! [`Services`] in each request's context. Server functions read them here.

use leptos::prelude::use_context;
use tally_core::{
    actor::{Actor, OperatorActor, Visitor},
    operators::OperatorAction,
    roles::Action,
};
use tally_services::{
    identity::{
        accounts::sessions::{PendingSignIn, SessionKey, SetCookie},
        operators::sessions::{OperatorSessionKey, PendingOperatorSignIn},
        sign_in::SignedIn,
    },
    Services,
};

use crate::error::AppError;

/// The services, from the request's context.
pub fn services() -> Result<Services, AppError> {
    use_context::<Services>()
        .ok_or_else(|| AppError::Internal("server services are missing from context".into()))
}

fn extension<T: Clone + Send + Sync + 'static>() -> Option<T> {
    use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<T>().cloned())
}

/// The signed-in caller of this request, if it has a live session.
pub fn current_actor() -> Option<Actor> {
    extension::<Actor>()
}

/// This request's session, to end it or mark it proven.
pub fn session_key() -> Option<SessionKey> {
    extension::<SessionKey>()
}

/// The caller, even one who must set up two-step verification first (the calls that set it
/// up, and reading who one is); 401 without a session.
pub fn require_session() -> Result<Actor, AppError> {
    current_actor().ok_or(AppError::Unauthenticated)
}

/// The caller, or 401; 403 while their account requires two-step verification they have not
/// set up.
pub fn require_signed_in() -> Result<Actor, AppError> {
    let actor = require_session()?;
    if actor.must_set_up_two_step {
        return Err(AppError::TwoStepSetupRequired);
    }
    Ok(actor)
}

/// The caller if their role allows `action` and their account's standing does; 401 without
/// a session, 403 otherwise (with what a suspended or closed account allows).
pub fn require(action: Action) -> Result<Actor, AppError> {
    use tally_core::account_status::{refusal, status_allows};
    let actor = require_signed_in()?;
    if !actor.may(action) {
        return Err(AppError::Forbidden);
    }
    if !status_allows(actor.account_status, action) {
        return Err(AppError::AccountStanding(
            refusal(actor.account_status).to_string(),
        ));
    }
    Ok(actor)
}

/// The signed-in operator (the seller's staff) of this request, if it has a live operator
/// session. Never an [`Actor`]: an operator session opens no customer page or function.
pub fn current_operator() -> Option<OperatorActor> {
    extension::<OperatorActor>()
}

/// This request's operator session.
pub fn operator_session_key() -> Option<OperatorSessionKey> {
    extension::<OperatorSessionKey>()
}

/// The operator's half-done sign-in, if any.
pub fn pending_operator_sign_in() -> Option<PendingOperatorSignIn> {
    extension::<PendingOperatorSignIn>()
}

/// The operator, even one who must set up their (mandatory) second step; 401 without an
/// operator session — a customer session is none.
pub fn require_operator_session() -> Result<OperatorActor, AppError> {
    current_operator().ok_or(AppError::Unauthenticated)
}

/// The operator if their role allows `action`: 401 without an operator session, 403 until
/// their second step is set up, 403 when the role does not allow it.
pub fn require_operator(action: OperatorAction) -> Result<OperatorActor, AppError> {
    let operator = require_operator_session()?;
    if operator.must_set_up_two_step {
        return Err(AppError::TwoStepSetupRequired);
    }
    if operator.may(action) {
        Ok(operator)
    } else {
        Err(AppError::Forbidden)
    }
}

/// The half-done sign-in of this request, if any.
pub fn pending_sign_in() -> Option<PendingSignIn> {
    extension::<PendingSignIn>()
}

/// The caller of a public server function, known by their address.
pub fn visitor() -> Visitor {
    extension::<Visitor>().unwrap_or_default()
}

/// Adds a `Set-Cookie` header to the response.
pub fn set_cookie(cookie: &SetCookie) {
    if let (Some(res), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(&cookie.0),
    ) {
        res.append_header(http::header::SET_COOKIE, value);
    }
}

/// After a sign-in went through: its cookies, then on to `next` — by way of the second
/// step's page while that is still to come.
/// The "type it again" field of a new password: the live page checks it as typed; a form sent
/// before the page is live (or with scripts off) is checked here, by the same rule.
pub fn typed_twice(password: &str, confirm: Option<&str>) -> Result<(), AppError> {
    let Some(confirm) = confirm else {
        return Ok(());
    };
    let errors = tally_core::forms::new_password_errors(
        "password",
        password,
        Some(("confirm_password", confirm)),
    );
    match errors.get("confirm_password") {
        Some(message) => Err(AppError::field("confirm_password", message)),
        None => Ok(()),
    }
}

pub fn go_on(signed_in: &SignedIn, next: Option<&str>) {
    for cookie in &signed_in.cookies {
        set_cookie(cookie);
    }
    leptos_axum::redirect(&signed_in.location(next));
}
