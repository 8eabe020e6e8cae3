//! A suspended or closed account, as its administrators see it: a page saying why and whom to
//! ask in place of what the standing no longer allows (a suspended account's billing
//! administrators can still pay), and a line on every page of a closed one.

use leptos::prelude::*;
use leptos_meta::Title;
use tally_core::{
    account_status::{status_allows, AccountStatus},
    actor::Actor,
    roles::Action,
};

use crate::api::account::get_account_standing;

/// Whether the page for `action` (`None`: the overview and one's own settings) is replaced
/// by the standing page: everything but paying while suspended, every change while closed.
pub fn blocked(status: AccountStatus, action: Option<Action>) -> bool {
    match (status, action) {
        (AccountStatus::Active, _) => false,
        (AccountStatus::Suspended, None) => true,
        (AccountStatus::Closed, None) => false,
        (s, Some(a)) => !status_allows(s, a),
    }
}

/// Why the account is suspended or closed, and whom to ask.
#[component]
pub fn StandingPage(admin: Actor) -> impl IntoView {
    let standing = Resource::new(|| (), |_| get_account_standing());
    let (title, what) = match admin.account_status {
        AccountStatus::Closed => (
            "This account is closed",
            "It was billed a last time and can still be read, but not changed.",
        ),
        _ => (
            "This account is suspended",
            "Its pages are closed until the company that provides your service makes it active again.",
        ),
    };
    let pay = (admin.account_status == AccountStatus::Suspended
        && admin.may(Action::ManagePaymentMethod))
    .then(|| {
        view! {
            <p>"You can still pay what is due: "<a href="/billing">"go to Billing"</a>"."</p>
        }
    });
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <p>{what}</p>
        {pay}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                standing.await.ok().map(|s| view! {
                    {s.reason.map(|r| view! { <p>"The reason given: "{r}</p> })}
                    {s.seller_name.map(|n| view! {
                        <p>"Questions go to "{n}{s.seller_email.map(|e| view! { ": "<a href=format!("mailto:{e}")>{e.clone()}</a> })}"."</p>
                    })}
                })
            })}
        </Suspense>
    }
}

/// The line at the top of every page of a closed account.
#[component]
pub fn ClosedBanner() -> impl IntoView {
    view! {
        <p class="warning past-due-banner" role="status">"This account is closed: you can read it, not change it."</p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspended_accounts_open_billing_only_and_closed_ones_reading() {
        assert!(blocked(AccountStatus::Suspended, None));
        assert!(blocked(AccountStatus::Suspended, Some(Action::ViewUsers)));
        assert!(!blocked(
            AccountStatus::Suspended,
            Some(Action::ViewBilling)
        ));
        assert!(!blocked(AccountStatus::Closed, None));
        assert!(!blocked(AccountStatus::Closed, Some(Action::ViewUsers)));
        assert!(blocked(
            AccountStatus::Closed,
            Some(Action::ManagePaymentMethod)
        ));
        assert!(!blocked(AccountStatus::Active, Some(Action::ManageUsers)));
    }
}
