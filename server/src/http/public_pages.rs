//! The pages a visitor sees before signing in — sign-in, forgot password, and choosing a new
//! password from a reset link — rendered here as plain HTML: no wasm and no script, a few KB
//! with the stylesheet. Their forms post back to the page, whose handler calls the matching
//! server function itself (`sign_in`, `request_password_reset`, `set_password_from_link`; the
//! reset page reads its link with `inspect_link`) just as that function's `/api/` endpoint
//! would, so they work with scripts off: the browser's own checks come from the fields'
//! constraint attributes, and the server's messages come back next to their fields with what
//! was typed (never a password).

use std::future::Future;

use axum::{
    extract::{Path, Query, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    Form,
};
use leptos::{
    prelude::provide_context,
    reactive::{computed::ScopedFuture, owner::Owner},
};
use leptos_axum::ResponseOptions;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use tally_app::{
    api::account::{
        inspect_link, request_password_reset, set_password_from_link, sign_in as sign_in_fn,
        TokenKind, TokenState,
    },
    error::AppError,
};
use tally_core::{
    contact::MAX_EMAIL_LEN,
    forms::{new_password_errors, FieldErrors},
    password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS},
};

use super::AppState;

/// The page around a public form: the stylesheet, a title, and the content.
fn page(state: &AppState, title: &str, content: Markup) -> Markup {
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

/// A labelled field with its server message (as the app's `Field` draws one).
struct Input<'a> {
    name: &'a str,
    label: &'a str,
    kind: &'a str,
    autocomplete: &'a str,
    value: &'a str,
    min: Option<usize>,
    max: usize,
}

fn field(input: &Input<'_>, errors: &FieldErrors) -> Markup {
    let error = errors.get(input.name);
    let error_id = format!("{}-error", input.name);
    html! {
        div class=(if error.is_some() { "field field-invalid" } else { "field" }) {
            label for=(input.name) { (input.label) }
            input id=(input.name) name=(input.name) type=(input.kind) autocomplete=(input.autocomplete)
                required value=(input.value) minlength=[input.min] maxlength=(input.max)
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| error_id.as_str())];
            p class="field-error" id=(error_id) { @if let Some(e) = error { (e) } }
        }
    }
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

/// Calls a server function the way its `/api/` endpoint does: in a reactive owner that holds
/// the request's parts (the session, the caller's address), the services and a fresh
/// `ResponseOptions`, whose headers (cookies, `Location`) come back with the result.
async fn call_server_fn<T, Fut>(
    state: &AppState,
    parts: Parts,
    server_fn: impl FnOnce() -> Fut,
) -> (Result<T, AppError>, HeaderMap)
where
    Fut: Future<Output = Result<T, AppError>>,
{
    let owner = Owner::new();
    let response = ResponseOptions::default();
    let result = owner
        .with(|| {
            provide_context(state.services.clone());
            provide_context(parts);
            provide_context(response.clone());
            ScopedFuture::new(server_fn())
        })
        .await;
    let headers = response
        .0
        .read()
        .map(|r| r.headers.clone())
        .unwrap_or_default();
    (result, headers)
}

/// After a sign-in: the session (or half-done sign-in) cookies the server function set, and on
/// to where it sends the browser (`next`, or the second step) — a 303, so the browser loads it
/// with GET.
fn signed_in(headers: &HeaderMap) -> Response {
    let to = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("/");
    let mut res = Redirect::to(to).into_response();
    for cookie in headers.get_all(header::SET_COOKIE) {
        res.headers_mut().append(header::SET_COOKIE, cookie.clone());
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
            form class="card form" method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                (field(&Input { name: "email", label: "Email", kind: "email", autocomplete: "username", value: email, min: None, max: MAX_EMAIL_LEN }, &errors))
                (field(&Input { name: "password", label: "Password", kind: "password", autocomplete: "current-password", value: "", min: None, max: MAX_PASSWORD_CHARS }, &errors))
                (form_error(error))
                button type="submit" class="primary" { "Sign in" }
            }
            p { a href="/forgot-password" { "Forgot your password?" } }
        },
    )
}

/// `GET /login`.
pub async fn sign_in(State(state): State<AppState>, Query(q): Query<NextQuery>) -> Response {
    let next = q.next.unwrap_or_default();
    respond(StatusCode::OK, sign_in_page(&state, "", &next, None))
}

/// `POST /login`: the `sign_in` server function, for a plain form.
pub async fn sign_in_submit(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<SignInForm>,
) -> Response {
    let (email, next) = (form.email.clone(), form.next.clone());
    let (result, headers) =
        call_server_fn(&state, parts, || sign_in_fn(email, form.password, next)).await;
    match result {
        Ok(()) => signed_in(&headers),
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
            if let AppError::TooManyRequests { retry_after, .. } = e {
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
                form class="card form" method="post" action="/forgot-password" {
                    (field(&Input { name: "email", label: "Email", kind: "email", autocomplete: "username", value: email, min: None, max: MAX_EMAIL_LEN }, &errors))
                    (form_error(error))
                    button type="submit" class="primary" { "Send the link" }
                }
            }
            p { a href="/login" { "Back to sign in" } }
        },
    )
}

/// `GET /forgot-password`.
pub async fn forgot(State(state): State<AppState>) -> Response {
    respond(StatusCode::OK, forgot_page(&state, "", false, None))
}

/// `POST /forgot-password`: the `request_password_reset` server function.
pub async fn forgot_submit(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<ForgotForm>,
) -> Response {
    let email = form.email.clone();
    match call_server_fn(&state, parts, || request_password_reset(email))
        .await
        .0
    {
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
    link: Result<(TokenState, Option<String>, Option<String>), AppError>,
    error: Option<&AppError>,
) -> Markup {
    let errors = error
        .and_then(AppError::field_errors)
        .cloned()
        .unwrap_or_default();
    let body = match link {
        Ok((TokenState::Valid, email, first_name)) => {
            let email = email.unwrap_or_default();
            let greeting = match first_name.filter(|n| !n.is_empty()) {
                Some(n) => format!("Welcome, {n}."),
                None => "Welcome.".to_string(),
            };
            html! {
                p { (greeting) " You'll sign in as " strong { (email) } "." }
                form class="card form" method="post" action=(format!("/reset-password/{token}")) {
                    input type="email" name="username" value=(email) autocomplete="username" hidden readonly aria-hidden="true" tabindex="-1";
                    (field(&Input { name: "password", label: "New password", kind: "password", autocomplete: "new-password", value: "", min: Some(MIN_PASSWORD_CHARS), max: MAX_PASSWORD_CHARS }, &errors))
                    p class="field-hint" { (format!("At least {MIN_PASSWORD_CHARS} characters. A few unrelated words make a strong one.")) }
                    (field(&Input { name: "confirm_password", label: "Type it again", kind: "password", autocomplete: "new-password", value: "", min: Some(MIN_PASSWORD_CHARS), max: MAX_PASSWORD_CHARS }, &errors))
                    (form_error(error))
                    button type="submit" class="primary" { "Save password and sign in" }
                }
            }
        }
        Ok((state, _, _)) => {
            let what = match state {
                TokenState::Expired => "This link has expired.",
                TokenState::Used => "This link has already been used.",
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

/// What the link is worth, from the `inspect_link` server function.
async fn inspect(
    state: &AppState,
    parts: Parts,
    token: &str,
) -> Result<(TokenState, Option<String>, Option<String>), AppError> {
    let token = token.to_string();
    let info = call_server_fn(state, parts, || inspect_link(TokenKind::Reset, token))
        .await
        .0?;
    Ok((info.state, info.email, info.first_name))
}

/// `GET /reset-password/{token}`.
pub async fn reset(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
) -> Response {
    let link = inspect(&state, parts, &token).await;
    let status = match &link {
        Ok((TokenState::Valid, _, _)) => StatusCode::OK,
        Ok(_) => StatusCode::GONE,
        Err(e) => status_of(e),
    };
    respond(status, reset_page(&state, &token, link, None))
}

/// `POST /reset-password/{token}`: the `set_password_from_link` server function.
pub async fn reset_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
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
        let link = inspect(&state, parts, &token).await;
        return respond(status_of(&e), reset_page(&state, &token, link, Some(&e)));
    }
    let password = form.password;
    let (result, headers) = call_server_fn(&state, parts.clone(), || {
        set_password_from_link(TokenKind::Reset, token.clone(), password)
    })
    .await;
    match result {
        Ok(()) => signed_in(&headers),
        Err(e) => {
            let link = inspect(&state, parts, &token).await;
            respond(status_of(&e), reset_page(&state, &token, link, Some(&e)))
        }
    }
}
