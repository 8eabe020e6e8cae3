//! The route table, on its own so every page a URL can reach is listed in one place.

use leptos::prelude::*;
use leptos::tachys::view::any_view::AnyView;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute, SsrMode,
};

use crate::pages::{
    account::AccountPage,
    administrators::AdministratorsPage,
    audit::AuditPage,
    billing::BillingPage,
    commands::CommandsPage,
    confirm_payment::ConfirmPaymentPage,
    invoice::InvoicePage,
    not_found::NotFoundPage,
    operator::{
        account::CustomerAccountPage,
        accounts::CustomerAccountsPage,
        api_keys::ApiKeysPage,
        invitation::OperatorInvitationPage,
        operators::OperatorsPage,
        revenue::RevenuePage,
        settings::SellerSettingsPage,
        sign_in::{OperatorSecondStepPage, OperatorSignInPage},
        two_step::OperatorTwoStepPage,
        webhooks::WebhooksPage,
    },
    overview::OverviewPage,
    payments::PaymentsPage,
    second_step::SecondStepPage,
    set_password::InvitationPage,
    setup::SetupPage,
    status::StatusPage,
    users::UsersPage,
};

/// The whole app: document metadata, the stylesheet and the routes.
///
/// Pages render with `SsrMode::Async`: the server waits for their data before sending the
/// first byte, so a page can still answer 404 or redirect (headers go out with that byte),
/// and the HTML arrives whole rather than streamed.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    // Sign-in, forgot password and reset password are the server's plain pages (no wasm):
    // links to them load them whole (`rel="external"`).
    view! {
        <Title formatter=|text| format!("{text} · Tally") />
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=path!("/") view=OverviewPage ssr=SsrMode::Async />
                <Route path=path!("/status") view=StatusPage ssr=SsrMode::Async />
                // Once in an installation's life: its seller form is no page's first download.
                <Route path=path!("/setup") view={Lazy::<SetupRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/login/two-step") view=SecondStepPage ssr=SsrMode::Async />
                <Route path=path!("/invitation/:token") view=InvitationPage ssr=SsrMode::Async />
                <Route path=path!("/account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/administrators") view={Lazy::<AdministratorsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/billing/payment") view={Lazy::<PaymentsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/users") view={Lazy::<UsersRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/billing") view={Lazy::<BillingRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/commands") view={Lazy::<CommandsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/billing/invoices/:id") view={Lazy::<InvoiceRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/billing/authenticate/:number") view={Lazy::<ConfirmPaymentRoute>::new()} ssr=SsrMode::Async />
                // The operator console: lazy, so no customer page downloads its code.
                <Route path=path!("/operator") view={Lazy::<RevenueRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/operator/login") view={Lazy::<OperatorSignInRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/operator/login/two-step") view={Lazy::<OperatorSecondStepRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/operator/two-step") view={Lazy::<OperatorTwoStepRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/operator/accounts") view={Lazy::<CustomerAccountsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/operator/accounts/:id") view={Lazy::<CustomerAccountRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/operator/settings") view={Lazy::<SellerSettingsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/operator/operators") view={Lazy::<OperatorsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/operator/api-keys") view={Lazy::<ApiKeysRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/operator/webhooks") view={Lazy::<WebhooksRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/operator/invitation/:token") view={Lazy::<OperatorInvitationRoute>::new()} ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

/// A page only some roles open: its code is a chunk of its own that the browser loads when
/// the page is first shown (`cargo leptos build --split`), not part of every first page.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(this: Self) -> AnyView {
                let _ = this;
                view! { <$page /> }.into_any()
            }
        }
    };
}

lazy_page!(SetupRoute, SetupPage);
lazy_page!(AccountRoute, AccountPage);
lazy_page!(AuditRoute, AuditPage);
lazy_page!(AdministratorsRoute, AdministratorsPage);
lazy_page!(PaymentsRoute, PaymentsPage);
lazy_page!(UsersRoute, UsersPage);
lazy_page!(BillingRoute, BillingPage);
lazy_page!(CommandsRoute, CommandsPage);
lazy_page!(InvoiceRoute, InvoicePage);
lazy_page!(ConfirmPaymentRoute, ConfirmPaymentPage);
lazy_page!(OperatorSignInRoute, OperatorSignInPage);
lazy_page!(OperatorSecondStepRoute, OperatorSecondStepPage);
lazy_page!(OperatorTwoStepRoute, OperatorTwoStepPage);
lazy_page!(CustomerAccountsRoute, CustomerAccountsPage);
lazy_page!(CustomerAccountRoute, CustomerAccountPage);
lazy_page!(RevenueRoute, RevenuePage);
lazy_page!(SellerSettingsRoute, SellerSettingsPage);
lazy_page!(OperatorsRoute, OperatorsPage);
lazy_page!(ApiKeysRoute, ApiKeysPage);
lazy_page!(WebhooksRoute, WebhooksPage);
lazy_page!(OperatorInvitationRoute, OperatorInvitationPage);
