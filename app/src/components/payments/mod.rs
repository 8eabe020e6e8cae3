//! The Billing & Payments modal (docs/pages.md): opened from the email menu's Payments item, or by
//! its own URL (`/billing/payment`). It shows the card on file with **Update**, or the steps
//! to add one: the Billing Information tab → Next → the Payment Information tab → Enter card
//! → the card window → Submit Payment Method.
//!
//! Every field is checked by core while it is typed, with no network. The server checks it all
//! again; if it cannot be reached, the modal says so and keeps everything typed.

mod bank_step;
mod billing_tab;
mod card_fields;
mod card_flow;
mod card_window;
mod payment_tab;
pub mod processor;

use leptos::{html, prelude::*};
use tally_core::{
    billing::next_charge_date,
    forms::{BillingInfoInput, PaymentInfoInput},
    views::billing::{BillingSettings, CardSummary},
};

use crate::{api::payments::get_billing_settings, components::dialog::Modal};

/// Opens the modal from anywhere inside the signed-in frame.
#[derive(Clone, Copy)]
pub struct PaymentsDialog(pub RwSignal<bool>);

/// Where the modal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// The card on file, with Update.
    Summary,
    BillingInformation,
    PaymentInformation,
    Card,
}

/// What the steps share: the loaded settings and everything typed so far.
#[derive(Clone, Copy)]
struct Flow {
    step: RwSignal<Step>,
    settings: RwSignal<BillingSettings>,
    info: RwSignal<BillingInfoInput>,
    payment: RwSignal<PaymentInfoInput>,
    /// Shown above the summary after a save.
    saved_notice: RwSignal<Option<String>>,
}

impl Flow {
    fn new(settings: BillingSettings) -> Self {
        let info = settings
            .info
            .as_ref()
            .map(BillingInfoInput::from)
            .unwrap_or_default();
        let payment = match &settings.card {
            // Pre-filled where safe: the cardholder and address, never the number or code.
            Some(card) => PaymentInfoInput {
                cardholder_name: card.cardholder_name.clone(),
                same_as_billing: settings
                    .info
                    .as_ref()
                    .is_some_and(|i| i.address == card.address),
                address: (&card.address).into(),
            },
            None => PaymentInfoInput {
                same_as_billing: true,
                ..Default::default()
            },
        };
        let step = if settings.card.is_some() {
            Step::Summary
        } else {
            Step::BillingInformation
        };
        Self {
            step: RwSignal::new(step),
            settings: RwSignal::new(settings),
            info: RwSignal::new(info),
            payment: RwSignal::new(payment),
            saved_notice: RwSignal::new(None),
        }
    }

    /// Moves focus to the first field (or button) of what is shown now.
    fn focus_step(container: NodeRef<html::Div>) {
        #[cfg(feature = "hydrate")]
        request_animation_frame(move || {
            use wasm_bindgen::JsCast;
            let Some(c) = container.get_untracked() else {
                return;
            };
            // In order of preference: a marked element, the step's first field, any button.
            for selector in [
                "[data-step-focus]",
                ".tabpanel input, .tabpanel select",
                "button",
            ] {
                if let Some(el) = c
                    .query_selector(selector)
                    .ok()
                    .flatten()
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = el.focus();
                    return;
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = container;
    }
}

/// The billing settings last loaded in this tab: the modal opens with them when the network
/// is off, and shows core's messages as usual (saving then says the server can't be reached).
/// One per tab in the browser (sign-out loads a new page, so it never outlives the session);
/// on the server, one per render.
#[derive(Clone)]
struct SettingsCache(ArcRwSignal<Option<BillingSettings>>);

impl SettingsCache {
    fn get() -> Self {
        #[cfg(feature = "hydrate")]
        {
            thread_local!(static CACHE: SettingsCache = SettingsCache(ArcRwSignal::new(None)));
            CACHE.with(Clone::clone)
        }
        #[cfg(not(feature = "hydrate"))]
        SettingsCache(ArcRwSignal::new(None))
    }
}

/// Once the page has loaded and the browser is idle, fetches the modal's code (its chunk) and
/// the billing settings it opens with, so that opening it needs no network. When both are in,
/// `<body>` gets `data-payments-ready`.
fn prefetch_when_idle(cache: SettingsCache) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        // Once a tab: the chunk stays loaded, and the modal refreshes the settings itself.
        thread_local!(static STARTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
        if STARTED.with(|s| s.replace(true)) {
            return;
        }
        let cache = cache.clone();
        request_idle_callback(move || {
            let cache = cache.clone();
            leptos::task::spawn_local(async move {
                __preload_payments_content().await;
                if let Ok(s) = get_billing_settings().await {
                    cache.0.set(Some(s));
                    if let Some(body) = document().body() {
                        let _ = body.set_attribute("data-payments-ready", "");
                    }
                }
            });
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = cache;
}

/// The modal itself; rendered once in the signed-in frame.
#[component]
pub fn PaymentsModal(open: RwSignal<bool>, on_closed: Callback<()>) -> impl IntoView {
    prefetch_when_idle(SettingsCache::get());
    view! {
        <Modal open=open labelled_by="payments-title" class="payments-modal" on_closed=on_closed>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(payments_content(open))}
            </Suspense>
        </Modal>
    }
}

/// What the modal shows. Only the billing roles ever open it, so with `cargo leptos build
/// --split` its code (the forms, core's card and address rules) is a chunk of its own, not
/// part of every signed-in page: billing roles fetch it once the page is idle
/// ([`prefetch_when_idle`]), everyone else never.
#[lazy]
fn payments_content(open: RwSignal<bool>) -> AnyView {
    view! { <PaymentsContent open=open /> }.into_any()
}

#[component]
fn PaymentsContent(open: RwSignal<bool>) -> impl IntoView {
    let cache = SettingsCache::get();
    // Fresh from the server when it answers; offline, what was fetched after the page loaded.
    let settings = LocalResource::new(move || {
        let cache = cache.clone();
        async move {
            match get_billing_settings().await {
                Ok(s) => {
                    cache.0.set(Some(s.clone()));
                    Ok(s)
                }
                Err(e) => cache.0.get_untracked().ok_or(e),
            }
        }
    });
    view! {
        <div class="modal-head">
            <h2 id="payments-title">"Billing & Payments"</h2>
            <button type="button" class="icon-button" aria-label="Close" on:click=move |_| open.set(false)>"×"</button>
        </div>
        <Suspense fallback=|| view! { <p>"Loading your billing details…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(s) => view! { <Steps flow=Flow::new(s) /> }.into_any(),
                    Err(e) => view! {
                        <p role="alert" class="form-error">{e.to_string()}</p>
                        <button type="button" on:click=move |_| settings.refetch()>"Try again"</button>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Steps(flow: Flow) -> impl IntoView {
    let container = NodeRef::<html::Div>::new();
    let go = move |step: Step| {
        flow.step.set(step);
        Flow::focus_step(container);
    };
    // Once loaded, focus moves from the Close button to the first thing to fill in.
    Effect::new(move |_| Flow::focus_step(container));
    // The tabs stay put while the steps inside them change (the card window opens on top of
    // Payment Information, whose "Enter card" gets the focus back when it closes).
    let summary = Memo::new(move |_| flow.step.get() == Step::Summary);
    view! {
        <div node_ref=container>
            {move || if summary.get() {
                view! { <Summary flow=flow on_update=Callback::new(move |_| go(Step::BillingInformation)) /> }.into_any()
            } else {
                view! { <Tabs flow=flow go=Callback::new(go) /> }.into_any()
            }}
        </div>
    }
}

/// Moves the focus to the selected tab, once the step's panel is drawn.
fn focus_selected_tab() {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        if let Some(tab) = document()
            .query_selector("[role=tab][aria-selected=true]")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = tab.focus();
        }
    });
}

/// Leaving Billing Information for Payment Information by the tab strip or the arrow keys
/// goes the way Next goes: what was typed is checked and saved, or the step stays with its
/// messages. Nothing typed is dropped silently.
fn next_from_billing() -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(form) = document()
            .query_selector("#panel-billing form")
            .ok()
            .flatten()
            .and_then(|f| f.dyn_into::<web_sys::HtmlFormElement>().ok())
        {
            let _ = form.request_submit();
            return true;
        }
    }
    false
}

/// The WAI-ARIA tabs of the two steps; the card window opens on top of Payment Information as
/// a dialog of its own.
#[component]
fn Tabs(flow: Flow, go: Callback<Step>) -> impl IntoView {
    let step = Memo::new(move |_| flow.step.get());
    // Payment Information stays drawn under the card window.
    let panel = Memo::new(move |_| match step.get() {
        Step::Card => Step::PaymentInformation,
        s => s,
    });
    let card_open = RwSignal::new(false);
    Effect::new(move |_| card_open.set(step.get() == Step::Card));
    // Closed by Esc, Back or a save: back to Payment Information unless the save moved on.
    let card_closed = Callback::new(move |_| {
        if flow.step.get_untracked() == Step::Card {
            flow.step.set(Step::PaymentInformation);
        }
    });
    // Arrow keys keep the focus on the tabs, also when the step moves on after a save.
    let tab_focus = StoredValue::new(false);
    Effect::new(move |_| {
        panel.track();
        if tab_focus.get_value() {
            tab_focus.set_value(false);
            focus_selected_tab();
        }
    });
    // To Payment Information from Billing Information: as Next does.
    let to = move |target: Step| {
        tab_focus.set_value(false);
        if panel.get_untracked() == Step::BillingInformation
            && target == Step::PaymentInformation
            && next_from_billing()
        {
            return;
        }
        go.run(target);
    };
    let tabs = [
        (
            Step::BillingInformation,
            "tab-billing",
            "panel-billing",
            "Billing Information",
        ),
        (
            Step::PaymentInformation,
            "tab-payment",
            "panel-payment",
            "Payment Information",
        ),
    ];
    let selected = move |s: Step| panel.get() == s;
    // Arrow keys move between tabs and select them (automatic activation).
    let on_key = move |e: leptos::ev::KeyboardEvent| {
        let next = match e.key().as_str() {
            "ArrowRight" | "ArrowLeft" | "Home" | "End" => {
                if panel.get_untracked() == Step::BillingInformation {
                    Step::PaymentInformation
                } else {
                    Step::BillingInformation
                }
            }
            _ => return,
        };
        let next = match e.key().as_str() {
            "Home" => Step::BillingInformation,
            "End" => Step::PaymentInformation,
            _ => next,
        };
        e.prevent_default();
        if next == panel.get_untracked() {
            return;
        }
        tab_focus.set_value(true);
        if next == Step::PaymentInformation && next_from_billing() {
            return;
        }
        flow.step.set(next);
    };
    let buttons = tabs
        .into_iter()
        .map(|(s, id, panel_id, label)| {
            view! {
                <button type="button" role="tab" id=id aria-controls=panel_id
                    aria-selected=move || if selected(s) { "true" } else { "false" }
                    tabindex=move || if selected(s) { "0" } else { "-1" }
                    on:click=move |_| to(s)>
                    {label}
                </button>
            }
        })
        .collect_view();
    view! {
        <div role="tablist" class="tabs" aria-label="Steps" on:keydown=on_key>{buttons}</div>
        {move || match panel.get() {
            Step::BillingInformation => view! {
                <div role="tabpanel" id="panel-billing" aria-labelledby="tab-billing" class="tabpanel">
                    <billing_tab::BillingTab flow=flow on_next=Callback::new(move |_| go.run(Step::PaymentInformation)) />
                </div>
            }.into_any(),
            _ => view! {
                <div role="tabpanel" id="panel-payment" aria-labelledby="tab-payment" class="tabpanel">
                    <payment_tab::PaymentTab flow=flow on_enter_card=Callback::new(move |_| flow.step.set(Step::Card)) />
                </div>
            }.into_any(),
        }}
        <Modal open=card_open labelled_by="card-title" class="card-dialog" on_closed=card_closed>
            <card_window::CardWindow flow=flow
                on_back=Callback::new(move |_| card_open.set(false))
                on_saved=Callback::new(move |_| go.run(Step::Summary)) />
        </Modal>
    }
}

/// The card on file, the billing contact, and Update.
#[component]
fn Summary(flow: Flow, on_update: Callback<()>) -> impl IntoView {
    let s = flow.settings.get_untracked();
    let card = s.card.clone();
    let next_charge = next_charge_date(s.today);
    view! {
        <p class="notice" role="status" tabindex="-1" data-step-focus=flow.saved_notice.get_untracked().map(|_| "")>
            {move || flow.saved_notice.get()}
        </p>
        {card.map(|c| view! { <CardFacts card=c next_charge=next_charge /> })}
        {s.info.map(|i| view! {
            <h3>"Billing contact"</h3>
            <p>{i.contact_name}" · "{i.contact_email.to_string()}<br />{i.company_name}</p>
            <p class="field-hint">"Invoices are emailed to the billing contact."</p>
        })}
        <div class="dialog-buttons">
            <button type="button" class="primary" on:click=move |_| on_update.run(())>"Update"</button>
        </div>
    }
}

#[component]
fn CardFacts(card: CardSummary, next_charge: tally_core::NaiveDate) -> impl IntoView {
    let expires_first = tally_core::expiry::Expiry::from_parts(card.exp_year, card.exp_month)
        .is_some_and(|e| e.expires_before(next_charge));
    view! {
        <h3>"Payment method"</h3>
        <dl class="facts">
            <dt>"Card"</dt><dd>{card.label()}</dd>
            <dt>"Expires"</dt><dd>{card.expiry_label()}</dd>
            <dt>"Cardholder"</dt><dd>{card.cardholder_name.clone()}</dd>
        </dl>
        {expires_first.then(|| view! {
            <p class="warning">{format!("This card expires before the next charge on {}. Update it to avoid a failed payment.", next_charge.format("%B %-d, %Y"))}</p>
        })}
    }
}
