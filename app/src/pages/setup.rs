//! First start. Route: `/setup`. Requires: no seller exists yet (404 afterwards).
//! Server functions: `setup_needed`, `set_up_seller`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;

use tally_core::{
    address::AddressInput,
    forms::{new_password_errors, required},
    seller::{NewSellerInput, PlanInput},
};

use super::{form_error, not_found::NotFoundPage};
use crate::{
    api::setup::{setup_needed, SetUpSeller},
    components::{
        field::Field,
        form::{echo, form_action, Form},
        live_errors::LiveErrors,
        password_meter::PasswordMeter,
        seller_fields::SellerFields,
    },
};

/// Makes the seller and its first operator (an Owner).
#[component]
pub fn SetupPage() -> impl IntoView {
    let needed = Resource::new(|| (), |_| setup_needed());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match needed.await {
                    Ok(true) => view! { <SetupForm /> }.into_any(),
                    _ => view! { <NotFoundPage /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SetupForm() -> impl IntoView {
    let create = form_action::<SetUpSeller>();
    let value = create.value();
    let setup_code = RwSignal::new(String::new());
    let input = RwSignal::new(NewSellerInput::default());
    let plan = RwSignal::new(PlanInput::default());
    // A refused plain post draws the page again: the address starts from what was sent, so
    // the state field a chosen country needs is drawn too.
    let sent = |name: &str| {
        echo()
            .filter(|e| e.action == SetUpSeller::url())
            .and_then(|e| e.value(name).map(str::to_string))
            .unwrap_or_default()
    };
    let address = RwSignal::new(AddressInput {
        country: sent("country"),
        line1: sent("line1"),
        line2: sent("line2"),
        city: sent("city"),
        region: sent("region"),
        postal_code: sent("postal_code"),
    });
    let password = RwSignal::new(String::new());
    // Core's rules as typed, with the network off; the server checks them again, and the code
    // and the password's strength besides.
    let errors = LiveErrors::new(move || {
        let mut typed = input.get();
        typed.seller.address = address.get();
        typed.seller.plan = plan.get();
        let mut e = typed.parse().err().unwrap_or_default();
        required(&mut e, "setup_code", &setup_code.get(), "set-up code");
        e.merge(new_password_errors("password", &password.get(), None));
        e
    });
    errors.follow(value);
    let text = move |get: fn(&NewSellerInput) -> &String| {
        Signal::derive(move || input.with(|i| get(i).clone()))
    };
    let set = move |field: &'static str, put: fn(&mut NewSellerInput, String)| {
        Callback::new(move |v: String| {
            input.update(|i| put(i, v));
            errors.edited(field);
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !errors.submit() || create.pending().get_untracked() {
            return;
        }
        let i = input.get_untracked();
        let a = address.get_untracked();
        let p = plan.get_untracked();
        create.dispatch(SetUpSeller {
            setup_code: setup_code.get_untracked(),
            legal_name: i.seller.legal_name,
            contact_email: i.seller.contact_email,
            country: a.country,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            tax_id: i.seller.tax_id,
            currency: p.currency,
            price_per_user: p.price_per_user,
            free_users: p.free_users,
            billing_day: p.billing_day,
            first_name: i.first_name,
            last_name: i.last_name,
            email: i.email,
            password: password.get_untracked(),
        });
    };
    view! {
        <Title text="Set up Tally" />
        <main class="centered-page">
            <h1>"Set up Tally"</h1>
            <p>"Tell Tally about your company — the seller its customer accounts pay — and make your own operator account. You'll be its Owner, and create customer accounts from the operator console."</p>
            <Form to=SetUpSeller::url() class="card form" on_submit=submit>
                <Field name="setup_code" label="Set-up code" autocomplete="one-time-code" required=true value=setup_code
                    hint="Printed in the server's log when it first started, and saved in the file setup-code in its data folder."
                    error=errors.error("setup_code") on_input=errors.typed(setup_code, "setup_code") on_blur=errors.touch("setup_code") />
                <SellerFields legal_name=text(|i| &i.seller.legal_name) contact_email=text(|i| &i.seller.contact_email)
                    on_legal_name=set("legal_name", |i, v| i.seller.legal_name = v)
                    on_contact_email=set("contact_email", |i, v| i.seller.contact_email = v)
                    tax_id=text(|i| &i.seller.tax_id) on_tax_id=set("tax_id", |i, v| i.seller.tax_id = v)
                    address=address plan=plan errors=errors />
                <fieldset class="group">
                    <legend>"You, the first operator"</legend>
                    <Field name="first_name" label="Your first name" autocomplete="given-name" required=true value=text(|i| &i.first_name)
                        error=errors.error("first_name") on_input=set("first_name", |i, v| i.first_name = v) on_blur=errors.touch("first_name") />
                    <Field name="last_name" label="Your last name" autocomplete="family-name" required=true value=text(|i| &i.last_name)
                        error=errors.error("last_name") on_input=set("last_name", |i, v| i.last_name = v) on_blur=errors.touch("last_name") />
                    <Field name="email" label="Your email" kind="email" autocomplete="email" required=true value=text(|i| &i.email)
                        error=errors.error("email") on_input=set("email", |i, v| i.email = v) on_blur=errors.touch("email") />
                    <Field name="password" label="Choose a password" kind="password" autocomplete="new-password" required=true value=password
                        error=errors.error("password") on_input=errors.typed(password, "password") on_blur=errors.touch("password") />
                    <PasswordMeter password=password known_words=vec![] />
                </fieldset>
                <p class="form-error" role="alert">{form_error(value)}</p>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Set up Tally"</button>
            </Form>
        </main>
    }
}
