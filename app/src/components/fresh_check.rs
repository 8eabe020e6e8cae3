//! "Confirm it's you": the most sensitive changes (the card, billing information,
//! administrators and roles, the two-step policy) need a second step — or the password, for
//! someone without one — within the last 10 minutes. When the server answers that one is
//! needed, [`FreshCheck::run`] asks for it in a dialog on top of the page, which keeps
//! everything typed, and then makes the change again.

use std::future::Future;

use futures_channel::oneshot;
use leptos::{prelude::*, server_fn::ServerFn};

use crate::{
    api::two_step::{
        confirm_identity, confirm_passkey, confirm_passkey_options, get_two_step_status,
        ConfirmIdentity,
    },
    components::{dialog::Modal, field::Field, form::Form, passkeys},
    error::AppError,
};

/// The fresh check of a signed-in page, provided by its frame.
#[derive(Clone, Copy)]
pub struct FreshCheck {
    open: RwSignal<bool>,
    waiting: StoredValue<Option<oneshot::Sender<bool>>>,
}

impl FreshCheck {
    pub fn new() -> Self {
        Self {
            open: RwSignal::new(false),
            waiting: StoredValue::new(None),
        }
    }

    /// Makes `call`; when the server answers that a fresh check is needed, asks for one and,
    /// once confirmed, makes `call` again.
    pub async fn run<T, F, Fut>(self, call: F) -> Result<T, AppError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, AppError>>,
    {
        match call().await {
            Err(AppError::FreshCheckRequired) => {
                if self.ask().await {
                    call().await
                } else {
                    Err(AppError::FreshCheckRequired)
                }
            }
            other => other,
        }
    }

    /// Opens the dialog; true once the person confirmed, false if they cancelled.
    async fn ask(self) -> bool {
        let (tx, rx) = oneshot::channel();
        self.waiting.set_value(Some(tx));
        self.open.set(true);
        rx.await.unwrap_or(false)
    }

    fn answer(self, confirmed: bool) {
        if let Some(tx) = self.waiting.try_update_value(Option::take).flatten() {
            let _ = tx.send(confirmed);
        }
        self.open.set(false);
    }

    /// Whether the dialog is open: for a frame that draws a dialog of its own (the console's).
    pub fn open_signal(self) -> RwSignal<bool> {
        self.open
    }

    /// The person's answer in a frame's own dialog.
    pub fn answered(self, answer: FreshCheckAnswer) {
        self.answer(answer == FreshCheckAnswer::Confirmed);
    }
}

/// How a fresh check's dialog was left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreshCheckAnswer {
    Confirmed,
    Cancelled,
}

impl Default for FreshCheck {
    fn default() -> Self {
        Self::new()
    }
}

/// The page's fresh check, when there is one (signed-in pages). Taken while a component is
/// built: contexts are out of reach from the tasks its event handlers spawn.
pub fn use_fresh_check() -> Option<FreshCheck> {
    use_context::<FreshCheck>()
}

/// Makes `call` through `check` (see [`FreshCheck::run`]); without one, a request that needs
/// a fresh check just fails with its message.
pub async fn run<T, F, Fut>(check: Option<FreshCheck>, call: F) -> Result<T, AppError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    match check {
        Some(check) => check.run(call).await,
        None => call().await,
    }
}

/// The dialog, rendered once in the signed-in frame.
#[component]
pub fn FreshCheckDialog(check: FreshCheck) -> impl IntoView {
    let on_closed = Callback::new(move |_| check.answer(false));
    view! {
        <Modal open=check.open labelled_by="fresh-title" on_closed=on_closed class="fresh-check">
            <FreshCheckForm check=check />
        </Modal>
    }
}

#[component]
fn FreshCheckForm(check: FreshCheck) -> impl IntoView {
    let status = Resource::new(|| (), |_| get_two_step_status());
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    view! {
        <h2 id="fresh-title">"Confirm it's you"</h2>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let status = status.await.ok();
                let second = status.as_ref().is_some_and(|s| s.on());
                let passkey = status
                    .as_ref()
                    .is_some_and(|s| s.passkeys_available && !s.passkeys.is_empty());
                let (name, label, kind, autocomplete) = if second {
                    ("code", "Code from your authenticator app, or a recovery code", "text", "one-time-code")
                } else {
                    ("password", "Your password", "password", "current-password")
                };
                let submit = move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    if busy.get_untracked() {
                        return;
                    }
                    busy.set(true);
                    let typed = value.get_untracked();
                    leptos::task::spawn_local(async move {
                        let (code, password) = if second { (typed, String::new()) } else { (String::new(), typed) };
                        let result = confirm_identity(code, password).await;
                        busy.set(false);
                        match result {
                            Ok(()) => check.answer(true),
                            Err(e) => error.set(Some(e.field_errors().and_then(|f| f.get(name)).map_or_else(|| e.to_string(), str::to_string))),
                        }
                    });
                };
                let use_passkey = move |_| {
                    busy.set(true);
                    leptos::task::spawn_local(async move {
                        let outcome = async {
                            let request = confirm_passkey_options().await.map_err(|e| e.to_string())?;
                            let credential = passkeys::get(request.options).await?;
                            confirm_passkey(request.ceremony, credential).await.map_err(|e| e.to_string())
                        }
                        .await;
                        busy.set(false);
                        match outcome {
                            Ok(()) => check.answer(true),
                            Err(e) => error.set(Some(e)),
                        }
                    });
                };
                view! {
                    <p>"This change needs you to prove it's you again. What you typed on the page is kept."</p>
                    <Form to=ConfirmIdentity::url() class="form" on_submit=submit>
                        <Field name=name label=label.to_string() kind=kind autocomplete=autocomplete required=true
                            value=Signal::derive(move || value.get()) error=Signal::derive(move || error.get())
                            on_input=Callback::new(move |v| { value.set(v); error.set(None); }) />
                        <div class="actions">
                            <button type="submit" class="primary" disabled=move || busy.get()>"Confirm"</button>
                            {passkey.then(|| view! {
                                <button type="button" on:click=use_passkey disabled=move || busy.get()>"Use a passkey"</button>
                            })}
                            <button type="button" on:click=move |_| check.answer(false)>"Cancel"</button>
                        </div>
                    </Form>
                }
            })}
        </Suspense>
    }
}
