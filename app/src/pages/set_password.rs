//! Setting a password from an invitation. Route: `/invitation/:token`. Requires: a valid
//! link. Server functions: `inspect_link`, `set_password_from_link`, `check_password`. (A
//! reset link's page is the server's plain page, without wasm.)

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use tally_core::{
    codes::LinkKind as TokenKind, forms::new_password_errors,
    views::account::LinkState as TokenState,
};

use super::form_error;
use crate::{
    api::sign_in::{inspect_link, SetPasswordFromLink},
    components::{
        field::Field,
        form::{form_action, Form},
        live_errors::LiveErrors,
        password_meter::PasswordMeter,
    },
};

#[component]
pub fn InvitationPage() -> impl IntoView {
    view! { <SetPasswordPage kind=TokenKind::Invitation /> }
}

#[component]
fn SetPasswordPage(kind: TokenKind) -> impl IntoView {
    let token = move || {
        use_params_map()
            .with(|p| p.get("token"))
            .unwrap_or_default()
    };
    let info = Resource::new(token, move |t| inspect_link(kind, t));
    let title = match kind {
        TokenKind::Invitation => "Set your password",
        TokenKind::Reset => "Choose a new password",
    };
    view! {
        <Title text=title />
        <main class="centered-page narrow">
            <h1>{title}</h1>
            <Suspense fallback=|| view! { <p>"Checking your link…"</p> }>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(i) if i.state == TokenState::Valid => view! {
                            <PasswordForm kind token=token() email=i.email.unwrap_or_default() first_name=i.first_name.unwrap_or_default() />
                        }.into_any(),
                        Ok(i) => view! { <LinkProblem kind state=i.state /> }.into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn PasswordForm(
    kind: TokenKind,
    token: String,
    email: String,
    first_name: String,
) -> impl IntoView {
    let action = form_action::<SetPasswordFromLink>();
    let value = action.value();
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = LiveErrors::new(move || {
        new_password_errors(
            "password",
            &password.get(),
            Some(("confirm_password", &confirm.get())),
        )
    });
    errors.follow(value);
    let greeting = if first_name.is_empty() {
        "Welcome.".to_string()
    } else {
        format!("Welcome, {first_name}.")
    };
    let kind_code = serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let token_field = token.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() || action.pending().get_untracked() {
            return;
        }
        action.dispatch(SetPasswordFromLink {
            kind,
            token: token.clone(),
            password: password.get_untracked(),
            confirm_password: Some(confirm.get_untracked()),
        });
    };
    view! {
        <p>{greeting}" You'll sign in as "<strong>{email.clone()}</strong>"."</p>
        <Form to=SetPasswordFromLink::url() class="card form" on_submit=submit>
            <input type="hidden" name="kind" value=kind_code />
            <input type="hidden" name="token" value=token_field />
            <NewPasswordFields email=email first_name=first_name password=password confirm=confirm errors=errors />
            <p class="form-error" role="alert">{form_error(value)}</p>
            <button type="submit" class="primary" disabled=move || action.pending().get()>"Save password and sign in"</button>
        </Form>
    }
}

/// A new password typed twice, for the person signing in as `email` (their address and name
/// count against the strength estimate; the hidden username lets a password manager save it).
#[component]
pub(crate) fn NewPasswordFields(
    email: String,
    first_name: String,
    password: RwSignal<String>,
    confirm: RwSignal<String>,
    errors: LiveErrors,
) -> impl IntoView {
    view! {
        <input type="email" name="username" value=email.clone() autocomplete="username" hidden=true readonly=true aria-hidden="true" tabindex="-1" />
        <Field name="password" label="New password" kind="password" autocomplete="new-password" required=true value=password
            error=errors.error("password") on_input=errors.typed(password, "password") on_blur=errors.touch("password") />
        <PasswordMeter password=password known_words=vec![email, first_name] />
        <Field name="confirm_password" label="Type it again" kind="password" autocomplete="new-password" required=true value=confirm
            error=errors.error("confirm_password") on_input=errors.typed(confirm, "confirm_password") on_blur=errors.touch("confirm_password") />
    }
}

#[component]
fn LinkProblem(kind: TokenKind, state: TokenState) -> impl IntoView {
    let what = match state {
        TokenState::Expired => "This link has expired.",
        TokenState::Used => "This link has already been used.",
        _ => "This link isn't valid.",
    };
    let next = match kind {
        TokenKind::Invitation => view! {
            <p>"Invitations work once and expire after 72 hours. Ask the administrator who invited you to resend the invitation. If you already set your password, "<a href="/login" rel="external">"sign in"</a>"."</p>
        }.into_any(),
        TokenKind::Reset => view! {
            <p>"Reset links work once and expire after 30 minutes. "<a href="/forgot-password" rel="external">"Ask for a new link"</a>" or "<a href="/login" rel="external">"sign in"</a>"."</p>
        }.into_any(),
    };
    view! {
        <div class="card" role="alert">
            <p><strong>{what}</strong></p>
            {next}
        </div>
    }
}
