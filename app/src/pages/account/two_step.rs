//! Account settings' two-step verification: an authenticator app (QR code and key, then a code
//! to turn it on), passkeys (named, listed, removable), and recovery codes (shown once, to
//! download; made anew on request). Removing and making anew need a fresh check.

use leptos::{prelude::*, server_fn::ServerFn};

use tally_core::{
    actor::Actor,
    views::two_step::{AppEnrolment, PasskeyCreation, TwoStepStatus},
};
use webauthn_rs_proto::RegisterPublicKeyCredential;

use crate::{
    api::two_step::{
        add_passkey, confirm_app, get_two_step_status, new_recovery_codes, passkey_options,
        remove_app, remove_passkey, start_app, AddPasskey, ConfirmApp,
    },
    components::{field::Field, form::Form, fresh_check, passkeys},
    error::AppError,
};

/// A date from UTC milliseconds, `YYYY-MM-DD`.
fn day(millis: i64) -> String {
    tally_core::billing::date_of_millis(millis)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// The recovery codes as a text file to download.
fn codes_file(codes: &[String]) -> String {
    let text = format!(
        "Tally recovery codes. Each works once, instead of your authenticator app or passkey.\n\n{}\n",
        codes.join("\n")
    );
    let encoded: String = text
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("data:text/plain;charset=utf-8,{encoded}")
}

#[component]
pub fn TwoStepSection(admin: Actor) -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let status = Resource::new(move || reload.get(), |_| get_two_step_status());
    let notice = RwSignal::new(None::<Result<String, String>>);
    // Recovery codes just made: shown this once.
    let codes = RwSignal::new(Vec::<String>::new());
    let changed = move |result: Result<String, AppError>| match result {
        Ok(done) => {
            notice.set(Some(Ok(done)));
            reload.update(|n| *n += 1);
        }
        Err(e) => notice.set(Some(Err(e.to_string()))),
    };
    let _ = admin;
    view! {
        <section class="card" aria-labelledby="two-step-heading">
            <h2 id="two-step-heading">"Two-step verification"</h2>
            <p>"After your password, signing in asks for a second step: a code from an authenticator app, or a passkey. Changing the card, billing information, administrators and roles asks for it again if it has been more than 10 minutes."</p>
            <p class="notice" role="status" class:notice-error=move || matches!(notice.get(), Some(Err(_)))>
                {move || notice.get().map(|n| n.unwrap_or_else(|e| e))}
            </p>
            <RecoveryCodes codes=codes />
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(s) => view! { <Factors status=s codes=codes changed=Callback::new(changed) /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Recovery codes just made, with a download.
#[component]
pub(crate) fn RecoveryCodes(codes: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <Show when=move || !codes.with(Vec::is_empty)>
            <div class="recovery-codes" role="region" aria-labelledby="codes-heading">
                <h3 id="codes-heading">"Your recovery codes"</h3>
                <p>"Keep them somewhere safe. Each works once if you lose your device. They are shown only now."</p>
                <ul class="codes">{move || codes.get().into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
                <a href=move || codes_file(&codes.get()) download="tally-recovery-codes.txt">"Download as a text file"</a>
                " "
                <button type="button" on:click=move |_| codes.set(Vec::new())>"I've saved them"</button>
            </div>
        </Show>
    }
}

#[component]
fn Factors(
    status: TwoStepStatus,
    codes: RwSignal<Vec<String>>,
    changed: Callback<Result<String, AppError>>,
) -> impl IntoView {
    let fresh = fresh_check::use_fresh_check();
    let enrolment = RwSignal::new(None::<AppEnrolment>);
    let busy = RwSignal::new(false);
    let start = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match fresh_check::run(fresh, start_app).await {
                Ok(e) => enrolment.set(Some(e)),
                Err(e) => changed.run(Err(e)),
            }
            busy.set(false);
        });
    };
    let remove = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = fresh_check::run(fresh, remove_app).await;
            busy.set(false);
            changed.run(result.map(|()| "The authenticator app is removed.".to_string()));
        });
    };
    let regenerate = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = fresh_check::run(fresh, new_recovery_codes).await;
            busy.set(false);
            match result {
                Ok(new) => {
                    codes.set(new);
                    changed.run(Ok(
                        "New recovery codes are made; the old ones no longer work.".into(),
                    ));
                }
                Err(e) => changed.run(Err(e)),
            }
        });
    };
    let app_on = status.app;
    let left = status.recovery_codes_left;
    let on = status.on();
    view! {
        <h3>"Authenticator app"</h3>
        {if app_on {
            view! {
                <p>"On. Codes come from the app you set up."</p>
                <button type="button" on:click=remove disabled=move || busy.get()>"Remove the authenticator app"</button>
            }.into_any()
        } else {
            view! {
                <Show when=move || enrolment.with(Option::is_none)>
                    <button type="button" class="primary" on:click=start disabled=move || busy.get()>"Set up an authenticator app"</button>
                </Show>
                {move || enrolment.get().map(|e| view! { <AppEnrolmentForm enrolment=e codes=codes changed=changed to=ConfirmApp::url() confirm=confirm_app /> })}
            }.into_any()
        }}
        <Passkeys status=status.clone() codes=codes changed=changed to=AddPasskey::url()
            options=passkey_options add=add_passkey remove=remove_passkey />
        {on.then(|| view! {
            <h3>"Recovery codes"</h3>
            <p>{format!("{left} of 10 left.")}</p>
            {(left == 0).then(|| view! {
                <p class="warning">"You have no recovery codes. Without one, losing your device locks you out until an Administrator With Billing resets your two-step verification. (Codes made before Tally's last upgrade were removed: they were too short to keep safe.) Make new ones and keep them somewhere safe."</p>
            })}
            <button type="button" on:click=regenerate disabled=move || busy.get()>"Make new recovery codes"</button>
        })}
    }
}

/// The QR code and the key, then a code from the app, sent by `confirm` (an administrator's
/// or an operator's server function, at `to`).
#[component]
pub(crate) fn AppEnrolmentForm<C, Fut>(
    enrolment: AppEnrolment,
    codes: RwSignal<Vec<String>>,
    changed: Callback<Result<String, AppError>>,
    to: &'static str,
    confirm: C,
) -> impl IntoView
where
    C: Fn(String) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<String>, AppError>> + 'static,
{
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let typed = code.get_untracked();
        leptos::task::spawn_local(async move {
            let result = confirm(typed).await;
            busy.set(false);
            match result {
                Ok(new) => {
                    codes.set(new);
                    changed.run(Ok(
                        "Two-step verification is on: the authenticator app is set up.".into(),
                    ));
                }
                Err(e) => error.set(Some(
                    e.field_errors()
                        .and_then(|f| f.get("code"))
                        .map_or_else(|| e.to_string(), str::to_string),
                )),
            }
        });
    };
    view! {
        <div class="enrolment">
            <p>"Scan this QR code with your authenticator app, or type the key into it."</p>
            <figure class="qr" role="img" aria-label="QR code with the key below" inner_html=enrolment.qr_svg></figure>
            <p>"Key: "<code class="key">{enrolment.key}</code></p>
            <Form to=to class="form" on_submit=submit live_only=true>
                <Field name="code" label="6-digit code from the app" autocomplete="one-time-code" required=true
                    value=Signal::derive(move || code.get()) error=Signal::derive(move || error.get())
                    on_input=Callback::new(move |v| { code.set(v); error.set(None); }) />
                <button type="submit" class="primary" disabled=move || busy.get()>"Turn on"</button>
            </Form>
        </div>
    }
}

/// One's passkeys, and adding one: the ceremony started by `options`, finished by `add` (at
/// `to`), a passkey removed by `remove` — an administrator's server functions or an
/// operator's.
#[component]
pub(crate) fn Passkeys<O, OF, A, AF, R, RF>(
    status: TwoStepStatus,
    codes: RwSignal<Vec<String>>,
    changed: Callback<Result<String, AppError>>,
    to: &'static str,
    options: O,
    add: A,
    remove: R,
) -> impl IntoView
where
    O: Fn(String) -> OF + Copy + Send + Sync + 'static,
    OF: std::future::Future<Output = Result<PasskeyCreation, AppError>> + 'static,
    A: Fn(String, RegisterPublicKeyCredential) -> AF + Copy + Send + Sync + 'static,
    AF: std::future::Future<Output = Result<Vec<String>, AppError>> + 'static,
    R: Fn(String) -> RF + Copy + Send + Sync + 'static,
    RF: std::future::Future<Output = Result<(), AppError>> + 'static,
{
    let fresh = fresh_check::use_fresh_check();
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    if !status.passkeys_available {
        return view! {
            <h3>"Passkeys"</h3>
            <p>"Passkeys work when Tally is reached at a host name, not an IP address."</p>
        }
        .into_any();
    }
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let typed = name.get_untracked();
        leptos::task::spawn_local(async move {
            let outcome = async {
                let creation = fresh_check::run(fresh, || options(typed.clone()))
                    .await
                    .map_err(|e| {
                        e.field_errors()
                            .and_then(|f| f.get("name"))
                            .map_or_else(|| e.to_string(), str::to_string)
                    })?;
                let credential = passkeys::create(creation.options).await?;
                add(creation.ceremony, credential)
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            busy.set(false);
            match outcome {
                Ok(new) => {
                    name.set(String::new());
                    if !new.is_empty() {
                        codes.set(new);
                    }
                    changed.run(Ok(format!(
                        "The passkey \u{201c}{}\u{201d} is added.",
                        typed.trim()
                    )));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let rows = status
        .passkeys
        .into_iter()
        .map(|p| {
            let (id, label) = (p.id.clone(), p.name.clone());
            let remove = move |_| {
                let id = id.clone();
                leptos::task::spawn_local(async move {
                    let result = fresh_check::run(fresh, move || remove(id.clone())).await;
                    changed.run(result.map(|()| "The passkey is removed.".to_string()));
                });
            };
            view! {
                <tr>
                    <th scope="row">{p.name}</th>
                    <td>{day(p.created_at)}</td>
                    <td>{p.last_used_at.map(day).unwrap_or_else(|| "Never".into())}</td>
                    <td><button type="button" aria-label=format!("Remove the passkey {label}") on:click=remove>"Remove"</button></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h3>"Passkeys"</h3>
        <div class="table-wrap">
            <table>
                <caption class="visually-hidden">"Your passkeys"</caption>
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Added"</th><th scope="col">"Last used"</th><th scope="col">"Actions"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <Form to=to class="form" on_submit=submit live_only=true>
            <Field name="passkey_name" label="Name of a new passkey (e.g. \"Work laptop\")" required=true
                value=Signal::derive(move || name.get()) error=Signal::derive(move || error.get())
                on_input=Callback::new(move |v| { name.set(v); error.set(None); }) />
            <button type="submit" disabled=move || busy.get()>"Add a passkey"</button>
        </Form>
    }
    .into_any()
}
