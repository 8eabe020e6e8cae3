//! The signed-in start page: the account at a glance, for what the role may see — users and
//! this month's peak against the free users, the projected charge and the next charge date,
//! the card on file (or a call to add one), what billing needs fixing, pending invitations,
//! and the latest audit events; each links to its page. Route: `/`. Requires: a session
//! (visitors go to `/login`, or to `/setup` on first start). Server functions:
//! `get_current_admin`, `first_start`, `get_account_glance`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use tally_core::{
    actor::Actor,
    views::{overview::AccountGlance, system::SystemStatus},
};

use crate::{
    api::{overview::get_account_glance, setup::first_start},
    components::{billing_notices::BillingNotices, layout::SignedIn, payments::PaymentsDialog},
    error::AppError,
};

/// The overview's greeting and the account at a glance (the payments page shows them under
/// its modal too). `glance` is made by the page, outside the sign-in check.
#[component]
pub(crate) fn Welcome(
    admin: Actor,
    glance: Resource<Result<AccountGlance, AppError>>,
) -> impl IntoView {
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <p>"Welcome, "{admin.first_name.clone()}". You're signed in to "<strong>{admin.account_name.clone()}</strong>" as "{admin.role.display_name()}"."</p>
        <Transition fallback=|| view! { <p>"Loading the overview…"</p> }>
            {move || Suspend::new(async move {
                match glance.await {
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(g) => view! { <Glance g=g /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The glance for the account: one card per part the role may see.
pub(crate) fn new_glance() -> Resource<Result<AccountGlance, AppError>> {
    Resource::new(|| (), |_| get_account_glance())
}

#[component]
fn Glance(g: AccountGlance) -> impl IntoView {
    let payments = use_context::<PaymentsDialog>();
    let open_payments = move |_| {
        if let Some(p) = payments {
            p.0.set(true);
        }
    };
    let notices = g.billing.clone().map(|o| view! { <BillingNotices o=o /> });
    let users = g.users.map(|n| {
        let peak = g
            .billing
            .as_ref()
            .map(|o| tally_core::billing::peak_sentence(o.peak_so_far, o.free_users));
        view! {
            <section class="card glance" aria-labelledby="glance-users">
                <h2 id="glance-users">"Users"</h2>
                <p class="figure" id="glance-users-now">{n}</p>
                <p>{if n == 1 { "user, active or suspended".to_string() } else { "users, active or suspended".to_string() }}</p>
                {peak.map(|p| view! { <p id="glance-peak">{p}</p> })}
                <a href="/users">"Manage users"</a>
            </section>
        }
    });
    let charge = g.billing.clone().map(|o| {
        let plan = o.plan();
        view! {
            <section class="card glance" aria-labelledby="glance-charge">
                <h2 id="glance-charge">"This month's charge"</h2>
                <p class="figure" id="glance-projected">{o.money(o.projected_cents).to_string()}</p>
                <p>{tally_core::billing::projection_sentence(o.peak_so_far, &plan)}</p>
                <p>"Charged on "<span id="glance-next-charge">{o.next_charge_date.format("%B %-d, %Y").to_string()}</span></p>
                {(!o.spend_alerts_fired.is_empty()).then(|| view! {
                    <ul class="warning" id="glance-alerts" aria-label="Spend alerts this month">
                        {o.spend_alerts_fired.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}
                    </ul>
                })}
                <a href="/billing">"See billing and invoices"</a>
            </section>
        }
    });
    let card = g.billing.clone().map(|o| {
        let on_file = match o.card.clone() {
            Some(c) => view! {
                <p class="figure-text" id="glance-card">{c.label()}</p>
                <p>{format!("Expires {}", c.expiry_label())}</p>
            }
            .into_any(),
            None => view! { <p>"No card on file."</p> }.into_any(),
        };
        let action = if o.card.is_some() {
            "Update the card"
        } else {
            "Add a card"
        };
        view! {
            <section class="card glance" aria-labelledby="glance-card-title">
                <h2 id="glance-card-title">"Card on file"</h2>
                {on_file}
                <button type="button" on:click=open_payments>{action}</button>
            </section>
        }
    });
    let waiting = g.invitations_waiting.unwrap_or_default();
    let invitations = g.invitations.map(|list| {
        let more = waiting.saturating_sub(list.len() as u64);
        let items = list
            .into_iter()
            .map(|i| {
                view! {
                    <li>
                        {i.name}" ("{i.email}") · "{i.role.display_name()}
                        {(!i.link_valid).then(|| view! { " " <span class="tag">"Link expired"</span> })}
                    </li>
                }
            })
            .collect::<Vec<_>>();
        let empty = items.is_empty();
        view! {
            <section class="card glance" aria-labelledby="glance-invitations">
                <h2 id="glance-invitations">"Pending invitations"</h2>
                {if empty {
                    view! { <p>"No invitations waiting."</p> }.into_any()
                } else {
                    view! { <ul class="plain">{items}</ul> }.into_any()
                }}
                {(more > 0).then(|| view! {
                    <p id="invitations-more">{format!("…and {more} more, on the Administrators page.")}</p>
                })}
                <a href="/administrators">"Manage administrators"</a>
            </section>
        }
    });
    let events = g.latest_events.map(|list| {
        let items = list
            .into_iter()
            .map(|e| view! { <li><span class="muted">{e.at}</span>" "{e.kind}" · "{e.actor}</li> })
            .collect::<Vec<_>>();
        view! {
            <section class="card glance wide" aria-labelledby="glance-events">
                <h2 id="glance-events">"Latest activity"</h2>
                <ul class="plain">{items}</ul>
                <a href="/audit">"Open the audit log"</a>
            </section>
        }
    });
    let commands = g.runnable_commands.map(|n| {
        view! {
            <section class="card glance" aria-labelledby="glance-commands">
                <h2 id="glance-commands">"Your commands"</h2>
                <p class="figure">{n}</p>
                <p>{if n == 1 { "command you can run" } else { "commands you can run" }}</p>
                <a href="/commands">"Run commands"</a>
            </section>
        }
    });
    let system = g.system.map(|s| view! { <SystemCard s=s /> });
    view! {
        {notices}
        <div class="cards">
            {users}
            {charge}
            {card}
            {invitations}
            {commands}
            {events}
            {system}
        </div>
    }
}

/// The System section: the database and what keeps its data safe.
#[component]
fn SystemCard(s: SystemStatus) -> impl IntoView {
    let backups = if s.daily_backups {
        let latest = s
            .backups
            .first()
            .map(|b| format!("Latest: {} ({}).", b.day, size_text(b.bytes)));
        view! {
            <p>{format!("Tally backs the database up every day and keeps the last {}.", s.keep)}</p>
            {match latest {
                Some(l) => view! { <p>{l}</p> }.into_any(),
                None => view! { <p class="warning">"No backup yet: the first is taken within an hour of the server starting."</p> }.into_any(),
            }}
            {(!s.backups.is_empty()).then(|| view! {
                <details>
                    <summary>{match s.backups.len() {
                        1 => "1 backup".to_string(),
                        n => format!("{n} backups"),
                    }}</summary>
                    <ul class="plain">
                        {s.backups.iter().map(|b| view! { <li>{b.day.clone()}" · "{size_text(b.bytes)}</li> }).collect_view()}
                    </ul>
                </details>
            })}
        }
        .into_any()
    } else if s.database == "SQLite" {
        view! { <p class="warning">"Daily backups are off (TALLY_BACKUP_KEEP=0). Take them with tally backup."</p> }.into_any()
    } else {
        view! { <p>"Backups of PostgreSQL are made with pg_dump, outside Tally."</p> }.into_any()
    };
    view! {
        <section class="card glance" aria-labelledby="glance-system">
            <h2 id="glance-system">"System"</h2>
            <p>{format!("Database: {}.", s.database)}</p>
            {backups}
        </section>
    }
}

/// A file size for people: KB or MB, one decimal.
fn size_text(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    } else {
        format!("{:.1} KB", bytes as f64 / 1_000.0)
    }
}

/// Sends a brand-new installation to set-up, everyone else through the sign-in guard.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let needed = Resource::new(|| (), |_| first_start());
    let glance = new_glance();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                if matches!(needed.await, Ok(true)) {
                    view! { <Redirect path="/setup" /> }.into_any()
                } else {
                    view! {
                        <SignedIn children=move |admin| view! { <Welcome admin=admin glance=glance /> } />
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
