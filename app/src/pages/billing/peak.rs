//! The Billing page's "Where the peak comes from" and "What if" cards. The first lists the
//! changes that set this month's peak; the second answers "if I add (or remove) N users
//! today" with core's `what_if`, in the browser, without a request. Without the page's script
//! the what-if is a plain search of `/billing` (`?what_if=add&users=3`), answered by the server
//! with the same function and words.

use leptos::prelude::*;
use tally_core::{
    estimate::{peak_statement, what_if, what_if_sentences, WhatIfChange},
    views::billing::BillingOverview,
};

use crate::components::{
    field::{Field, SelectField},
    form::Form,
};

#[component]
pub(super) fn PeakCard(o: BillingOverview) -> impl IntoView {
    let statement = peak_statement(o.peak_so_far, Some(o.peak_reached_on), o.free_users);
    let opening = format!(
        "The month began with {} {}.",
        o.opening_users,
        if o.opening_users == 1 {
            "user"
        } else {
            "users"
        }
    );
    let rows = o
        .peak_steps
        .iter()
        .map(|s| {
            let when = s.when();
            let change = if s.change > 0 {
                format!("+{}", s.change)
            } else {
                s.change.to_string()
            };
            view! {
                <tr>
                    <th scope="row">{when}</th>
                    <td class="number">{change}</td>
                    <td class="number">{s.users}</td>
                </tr>
            }
        })
        .collect_view();
    let earlier = (o.earlier_peak_steps > 0).then(|| {
        view! { <p>{format!("And {} earlier rises, not listed.", o.earlier_peak_steps)}</p> }
    });
    let steps = if o.peak_steps.is_empty() {
        view! { <p>"No change this month took the count above where it began: the peak is the month's opening count."</p> }.into_any()
    } else {
        view! {
            <table id="peak-steps">
                <caption>"The changes that set the peak, each to a new high for the month"</caption>
                <thead><tr><th scope="col">"When"</th><th scope="col" class="number">"Change"</th><th scope="col" class="number">"Users after"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {earlier}
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="peak-title">
            <h2 id="peak-title">"Where the peak comes from"</h2>
            <p id="peak-statement">{statement}</p>
            <p>{opening}</p>
            {steps}
        </section>
    }
}

/// The what-if's answer for `direction` and `count`: the sentences, or what is wrong with the
/// count. Nothing for a blank count.
fn answer(
    o: &BillingOverview,
    direction: &str,
    count: &str,
) -> Option<Result<Vec<String>, String>> {
    if count.trim().is_empty() {
        return None;
    }
    Some(
        WhatIfChange::parse(direction, count, o.users_now).map(|change| {
            let plan = o.plan();
            let result = what_if(
                o.users_now,
                o.peak_so_far,
                change,
                &plan,
                &o.next_month_plan(),
                o.tax.as_ref(),
            );
            let now = (o.projected_cents != i64::MAX).then(|| o.money(o.projected_cents));
            what_if_sentences(change, &result, o.peak_so_far, now)
        }),
    )
}

#[component]
pub(super) fn WhatIfCard(o: BillingOverview) -> impl IntoView {
    let asked = leptos_router::hooks::use_query_map().with_untracked(|q| {
        (
            q.get("what_if").unwrap_or_else(|| "add".into()),
            q.get("users").unwrap_or_default(),
        )
    });
    let direction = RwSignal::new(if asked.0 == "remove" {
        "remove".to_string()
    } else {
        "add".to_string()
    });
    let count = RwSignal::new(asked.1);
    let o = StoredValue::new(o);
    let result = Memo::new(move |_| o.with_value(|o| answer(o, &direction.get(), &count.get())));
    let error = Signal::derive(move || result.get().and_then(|r| r.err()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        // Answered as typed; the button only matters without the page's script.
        ev.prevent_default();
    };
    view! {
        <section class="card" aria-labelledby="what-if-title">
            <h2 id="what-if-title">"What if"</h2>
            <p class="field-hint">"See what adding or removing users today would do to this month's peak and estimate, and to next month's."</p>
            <Form to="/billing" method="get" class="form what-if" role="search" label="What if" on_submit=submit>
                <SelectField name="what_if" label="Change today"
                    options=vec![("add".into(), "Add users".into()), ("remove".into(), "Remove users".into())]
                    value=Signal::derive(move || direction.get()) error=Signal::derive(|| None::<String>)
                    on_change=Callback::new(move |v: String| direction.set(v)) />
                <Field name="users" label="How many" kind="text" autocomplete="off"
                    value=Signal::derive(move || count.get()) error=error
                    on_input=Callback::new(move |v: String| count.set(v)) />
                <button type="submit">"Show"</button>
            </Form>
            <div id="what-if-answer" aria-live="polite">
                {move || match result.get() {
                    Some(Ok(said)) => said.into_iter().map(|s| view! { <p>{s}</p> }).collect_view().into_any(),
                    _ => ().into_any(),
                }}
            </div>
        </section>
    }
}
