//! The frame of the console's pages and the guard in front of them: the operator from the
//! operator session (never a customer's), sent to sign in without one, and to set up a second
//! step until they have one. "Confirm it's you" asks for a code in a dialog.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::components::{Redirect, A};
use tally_core::{actor::OperatorActor, operators::OperatorAction};

use crate::{
    api::operator::{
        get_current_operator, operator_confirm, operator_confirm_passkey,
        operator_confirm_passkey_options, OperatorConfirm, OperatorSignOut, CONSOLE_PATH,
        REVENUE_PATH, SIGN_IN_PATH, TWO_STEP_PATH,
    },
    api::settings::SETTINGS_PATH,
    api::staff::OPERATORS_PATH,
    api::{api_keys::API_KEYS_PATH, webhooks::WEBHOOKS_PATH},
    components::{
        dialog::Modal,
        field::Field,
        form::Form,
        fresh_check::{FreshCheck, FreshCheckAnswer},
        passkeys,
    },
};

/// Renders `children` with the signed-in operator. With `action`, a role without it gets a
/// "no access" page; `sets_up_two_step` marks the one page open before a second step is set.
#[component]
pub fn OperatorSignedIn<F, IV>(
    #[prop(optional)] action: Option<OperatorAction>,
    #[prop(optional)] sets_up_two_step: bool,
    children: F,
) -> impl IntoView
where
    F: Fn(OperatorActor) -> IV + Send + Sync + 'static,
    IV: IntoView + 'static,
{
    let me = Resource::new(|| (), |_| get_current_operator());
    let children = StoredValue::new(children);
    let fresh = FreshCheck::new();
    provide_context(fresh);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(op)) if op.must_set_up_two_step && !sets_up_two_step => {
                        view! { <Redirect path=TWO_STEP_PATH /> }.into_any()
                    }
                    Ok(Some(op)) => {
                        let content = if action.is_some_and(|a| !op.may(a)) {
                            view! { <NoAccess /> }.into_any()
                        } else {
                            children.with_value(|c| c(op.clone())).into_any()
                        };
                        view! { <Shell operator=op>{content}<ConfirmDialog check=fresh /></Shell> }.into_any()
                    }
                    _ => view! { <Redirect path=SIGN_IN_PATH /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The top bar (who is signed in, and signing out) and the console's navigation.
#[component]
fn Shell(operator: OperatorActor, children: Children) -> impl IntoView {
    let settings = operator.may(OperatorAction::ManageSellerSettings);
    let operators = operator.may(OperatorAction::ManageOperators);
    let api_keys = operator.may(OperatorAction::ManageApiKeys);
    let nav = (!operator.must_set_up_two_step).then(|| {
        view! {
            <nav class="sidenav" aria-label="Console">
                <ul>
                    <li><A href=REVENUE_PATH>"Revenue"</A></li>
                    <li><A href=CONSOLE_PATH>"Customer accounts"</A></li>
                    {operators.then(|| view! { <li><A href=OPERATORS_PATH>"Operators"</A></li> })}
                    {api_keys.then(|| view! { <li><A href=API_KEYS_PATH>"API keys"</A></li> })}
                    {api_keys.then(|| view! { <li><A href=WEBHOOKS_PATH>"Webhooks"</A></li> })}
                    {settings.then(|| view! { <li><A href=SETTINGS_PATH>"Settings"</A></li> })}
                    <li><A href=TWO_STEP_PATH>"Your two-step verification"</A></li>
                </ul>
            </nav>
        }
    });
    view! {
        <header class="topbar">
            <a class="brand" href=REVENUE_PATH>"Tally"</a>
            <span class="account-name">"Operator console"</span>
            <div class="topbar-end">
                <span class="operator-who">{operator.email.clone()}" · "{operator.role.display_name()}</span>
                <Form to=OperatorSignOut::url() class="inline-form" on_submit=|_| ()>
                    <button type="submit">"Sign out"</button>
                </Form>
            </div>
        </header>
        {nav}
        <main class="content" id="main">{children()}</main>
    }
}

#[component]
fn NoAccess() -> impl IntoView {
    view! {
        <Title text="No access" />
        <h1>"You don't have access to this page"</h1>
        <p>"Your operator role doesn't include this part of the console. An Owner can change your role."</p>
        <p><a href=CONSOLE_PATH>"Go to the customer accounts"</a></p>
    }
}

/// "Confirm it's you" for an operator: a code from the app, a recovery code, or a passkey.
#[component]
fn ConfirmDialog(check: FreshCheck) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let typed = code.get_untracked();
        leptos::task::spawn_local(async move {
            let result = operator_confirm(typed).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    code.set(String::new());
                    check.answered(FreshCheckAnswer::Confirmed);
                }
                Err(e) => error.set(Some(
                    e.field_errors()
                        .and_then(|f| f.get("code"))
                        .map_or_else(|| e.to_string(), str::to_string),
                )),
            }
        });
    };
    let use_passkey = move |_| {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let outcome = async {
                let request = operator_confirm_passkey_options()
                    .await
                    .map_err(|e| e.to_string())?;
                let credential = passkeys::get(request.options).await?;
                operator_confirm_passkey(request.ceremony, credential)
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            busy.set(false);
            match outcome {
                Ok(()) => check.answered(FreshCheckAnswer::Confirmed),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let on_closed = Callback::new(move |_| check.answered(FreshCheckAnswer::Cancelled));
    view! {
        <Modal open=check.open_signal() labelled_by="fresh-title" on_closed=on_closed class="fresh-check">
            <h2 id="fresh-title">"Confirm it's you"</h2>
            <p>"This change needs you to prove it's you again. What you typed on the page is kept."</p>
            <Form to=OperatorConfirm::url() class="form" on_submit=submit live_only=true>
                <Field name="code" label="Code from your authenticator app, or a recovery code" autocomplete="one-time-code" required=true
                    value=Signal::derive(move || code.get()) error=Signal::derive(move || error.get())
                    on_input=Callback::new(move |v| { code.set(v); error.set(None); }) />
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || busy.get()>"Confirm"</button>
                    <button type="button" on:click=use_passkey disabled=move || busy.get()>"Use a passkey"</button>
                    <button type="button" on:click=move |_| check.answered(FreshCheckAnswer::Cancelled)>"Cancel"</button>
                </div>
            </Form>
        </Modal>
    }
}
