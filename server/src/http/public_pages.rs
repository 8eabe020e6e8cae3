//! The pages a visitor sees before signing in — sign-in, forgot password, and choosing a new
//! password from a reset link — rendered here as plain HTML: no wasm and no script, a few KB
//! with the stylesheet. Their forms post back to the page, whose handler calls the same
//! service the app's server function does (`sign_ins`), so they work with scripts off: the
//! browser's own checks come from the fields' constraint attributes, and the service's
//! messages come back next to their fields with what was typed (never a password).

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    Extension, Form,
};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;
use tally_app::{components::field::PlainField, error::AppError};
use tally_core::{
    actor::Visitor,
    codes::LinkKind,
    contact::MAX_EMAIL_LEN,
    forms::{new_password_errors, FieldErrors},
    password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS},
    views::account::LinkState,
};
use tally_services::identity::sign_in::SignedIn;

use super::AppState;

/// The page around a public form (and a refused download's messages): the stylesheet, a
/// title, and the content.
pub(super) fn page(state: &AppState, title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                link rel="icon" type="image/svg+xml" href="/favicon.svg";
                link rel="stylesheet" href=(tally_app::stylesheet_href(&state.leptos));
                title { (title) " · Tally" }
            }
            body {
                main class="centered-page narrow" { (content) }
            }
        }
    }
}

/// A labelled field with its server message: the app's `Field`, drawn as HTML, so the plain
/// pages and the app's have one field markup.
fn field(input: &PlainField<'_>, errors: &FieldErrors) -> Markup {
    PreEscaped(input.to_html(errors.get(input.name)))
}

/// A plain page's form, posting back to its page: the one form element these pages draw (the
/// app's forms are `components::form::Form`).
fn plain_form(action: &str, content: Markup) -> Markup {
    html! { form class="card form" method="post" action=(action) { (content) } }
}

/// The form-wide message for errors that belong to no field.
fn form_error(error: Option<&AppError>) -> Markup {
    let text = error
        .filter(|e| e.field_errors().is_none())
        .map(ToString::to_string);
    html! { p class="form-error" role="alert" { @if let Some(t) = text { (t) } } }
}

fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut res = (status, Html(markup.into_string())).into_response();
    // The answer to a post says what was typed back: never kept by a cache.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// After a sign-in: the session (or half-done sign-in) cookies, and on to `next` or the
/// second step — a 303, so the browser loads it with GET.
fn signed_in(signed_in: &SignedIn, next: Option<&str>) -> Response {
    let mut res = Redirect::to(&signed_in.location(next)).into_response();
    for cookie in &signed_in.cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie.0) {
            res.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    res
}

/// The status a failed post answers with (the page shows why).
fn status_of(e: &AppError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

fn sign_in_page(state: &AppState, email: &str, next: &str, error: Option<&AppError>) -> Markup {
    let errors = error
        .and_then(AppError::field_errors)
        .cloned()
        .unwrap_or_default();
    page(
        state,
        "Sign in",
        html! {
            h1 { "Sign in to Tally" }
            (plain_form("/login", html! {
                input type="hidden" name="next" value=(next);
                (field(&PlainField { name: "email", label: "Email", kind: "email", autocomplete: "username", value: email, minlength: None, maxlength: MAX_EMAIL_LEN }, &errors))
                (field(&PlainField { name: "password", label: "Password", kind: "password", autocomplete: "current-password", value: "", minlength: None, maxlength: MAX_PASSWORD_CHARS }, &errors))
                (form_error(error))
                button type="submit" class="primary" { "Sign in" }
            }))
            p { a href="/forgot-password" { "Forgot your password?" } }
        },
    )
}

/// `GET /login`.
pub async fn sign_in(State(state): State<AppState>, Query(q): Query<NextQuery>) -> Response {
    let next = q.next.unwrap_or_default();
    respond(StatusCode::OK, sign_in_page(&state, "", &next, None))
}

/// `POST /login`: signing in, for a plain form.
pub async fn sign_in_submit(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Form(form): Form<SignInForm>,
) -> Response {
    let result = state
        .services
        .sign_ins
        .sign_in(&visitor, &form.email, &form.password)
        .await;
    match result.map_err(AppError::from) {
        Ok(done) => signed_in(&done, form.next.as_deref()),
        Err(e) => {
            let mut res = respond(
                status_of(&e),
                sign_in_page(
                    &state,
                    &form.email,
                    form.next.as_deref().unwrap_or_default(),
                    Some(&e),
                ),
            );
            if let Some(retry_after) = e.retry_after() {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            res
        }
    }
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

fn forgot_page(state: &AppState, email: &str, sent: bool, error: Option<&AppError>) -> Markup {
    let errors = error
        .and_then(AppError::field_errors)
        .cloned()
        .unwrap_or_default();
    page(
        state,
        "Reset your password",
        html! {
            h1 { "Reset your password" }
            @if sent {
                p role="status" class="card" { "If an administrator signs in with that address, we've sent them a link. It works once and expires in 30 minutes." }
            } @else {
                p { "Enter the email you sign in with. We'll send a link to choose a new password." }
                (plain_form("/forgot-password", html! {
                    (field(&PlainField { name: "email", label: "Email", kind: "email", autocomplete: "username", value: email, minlength: None, maxlength: MAX_EMAIL_LEN }, &errors))
                    (form_error(error))
                    button type="submit" class="primary" { "Send the link" }
                }))
            }
            p { a href="/login" { "Back to sign in" } }
        },
    )
}

/// `GET /forgot-password`.
pub async fn forgot(State(state): State<AppState>) -> Response {
    respond(StatusCode::OK, forgot_page(&state, "", false, None))
}

/// `POST /forgot-password`: asking for a reset link.
pub async fn forgot_submit(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Form(form): Form<ForgotForm>,
) -> Response {
    let result = state
        .services
        .sign_ins
        .request_reset(&visitor, &form.email)
        .await;
    match result.map_err(AppError::from) {
        Ok(()) => respond(StatusCode::OK, forgot_page(&state, "", true, None)),
        Err(e) => respond(
            status_of(&e),
            forgot_page(&state, &form.email, false, Some(&e)),
        ),
    }
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

fn reset_page(
    state: &AppState,
    token: &str,
    link: Result<(LinkState, Option<String>, Option<String>), AppError>,
    error: Option<&AppError>,
) -> Markup {
    let errors = error
        .and_then(AppError::field_errors)
        .cloned()
        .unwrap_or_default();
    let body = match link {
        Ok((LinkState::Valid, email, first_name)) => {
            let email = email.unwrap_or_default();
            let greeting = match first_name.filter(|n| !n.is_empty()) {
                Some(n) => format!("Welcome, {n}."),
                None => "Welcome.".to_string(),
            };
            html! {
                p { (greeting) " You'll sign in as " strong { (email) } "." }
                (plain_form(&format!("/reset-password/{token}"), html! {
                    input type="email" name="username" value=(email) autocomplete="username" hidden readonly aria-hidden="true" tabindex="-1";
                    (field(&PlainField { name: "password", label: "New password", kind: "password", autocomplete: "new-password", value: "", minlength: Some(MIN_PASSWORD_CHARS), maxlength: MAX_PASSWORD_CHARS }, &errors))
                    p class="field-hint" { (format!("At least {MIN_PASSWORD_CHARS} characters. A few unrelated words make a strong one.")) }
                    (field(&PlainField { name: "confirm_password", label: "Type it again", kind: "password", autocomplete: "new-password", value: "", minlength: Some(MIN_PASSWORD_CHARS), maxlength: MAX_PASSWORD_CHARS }, &errors))
                    (form_error(error))
                    button type="submit" class="primary" { "Save password and sign in" }
                }))
            }
        }
        Ok((state, _, _)) => {
            let what = match state {
                LinkState::Expired => "This link has expired.",
                LinkState::Used => "This link has already been used.",
                _ => "This link isn't valid.",
            };
            html! {
                div class="card" role="alert" {
                    p { strong { (what) } }
                    p { "Reset links work once and expire after 30 minutes. " a href="/forgot-password" { "Ask for a new link" } " or " a href="/login" { "sign in" } "." }
                }
            }
        }
        Err(e) => html! { p role="alert" { (e.to_string()) } },
    };
    page(
        state,
        "Choose a new password",
        html! { h1 { "Choose a new password" } (body) },
    )
}

/// What the reset link is worth.
async fn inspect(
    state: &AppState,
    token: &str,
) -> Result<(LinkState, Option<String>, Option<String>), AppError> {
    let info = state
        .services
        .sign_ins
        .inspect_link(LinkKind::Reset, token)
        .await?;
    Ok((info.state, info.email, info.first_name))
}

/// `GET /reset-password/{token}`.
pub async fn reset(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let link = inspect(&state, &token).await;
    let status = match &link {
        Ok((LinkState::Valid, _, _)) => StatusCode::OK,
        Ok(_) => StatusCode::GONE,
        Err(e) => status_of(e),
    };
    respond(status, reset_page(&state, &token, link, None))
}

/// `POST /reset-password/{token}`: a new password from a reset link.
pub async fn reset_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Extension(visitor): Extension<Visitor>,
    Form(form): Form<NewPasswordForm>,
) -> Response {
    // Typed twice: the same check the app's forms run offline, here after the round trip.
    let mismatch = new_password_errors(
        "password",
        &form.password,
        Some(("confirm_password", &form.confirm_password)),
    );
    if mismatch.get("confirm_password").is_some() {
        let e = AppError::Validation(mismatch);
        let link = inspect(&state, &token).await;
        return respond(status_of(&e), reset_page(&state, &token, link, Some(&e)));
    }
    let result = state
        .services
        .sign_ins
        .complete_link(&visitor, LinkKind::Reset, &token, &form.password)
        .await;
    match result.map_err(AppError::from) {
        Ok(done) => signed_in(&done, None),
        Err(e) => {
            let link = inspect(&state, &token).await;
            respond(status_of(&e), reset_page(&state, &token, link, Some(&e)))
        }
    }
}
