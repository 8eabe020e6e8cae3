//! The account's administrators. Route: `/administrators`. Requires: View administrators.
//! Server functions: `list_admins`.

use leptos::prelude::*;
use leptos_meta::Title;
use tally_core::roles::Action;

use crate::{api::admins::list_admins, components::layout::SignedIn};

#[component]
pub fn AdministratorsPage() -> impl IntoView {
    view! { <SignedIn action=Action::ViewAdministrators children=|_| view! { <AdministratorsTable /> } /> }
}

#[component]
fn AdministratorsTable() -> impl IntoView {
    let admins = Resource::new(|| (), |_| list_admins());
    view! {
        <Title text="Administrators" />
        <h1>"Administrators"</h1>
        <Transition fallback=|| view! { <p>"Loading administrators…"</p> }>
            {move || Suspend::new(async move {
                match admins.await {
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                            <table>
                                <caption class="visually-hidden">"Administrators of this account"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"Email"</th>
                                        <th scope="col">"Role"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col">"Receives invoices"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|a| {
                                        let name = format!("{} {}", a.first_name, a.last_name);
                                        view! {
                                            <tr>
                                                <th scope="row">
                                                    {name}
                                                    {a.is_you.then(|| view! { <span class="tag">" (you)"</span> })}
                                                </th>
                                                <td>{a.email}</td>
                                                <td>
                                                    {a.role.display_name()}
                                                    {a.billing_only.then(|| view! { " " <span class="tag">"Billing only"</span> })}
                                                </td>
                                                <td>{a.status.label()}</td>
                                                <td>{if a.receives_invoices { "Yes" } else { "No" }}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
