//! The route table, on its own so every page a URL can reach is listed in one place.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::components::hydration_marker::HydrationMarker;
use crate::pages::{
    account::AccountPage,
    administrators::AdministratorsPage,
    audit::AuditPage,
    billing::{BillingPage, InvoicePage},
    commands::CommandsPage,
    forgot_password::ForgotPasswordPage,
    home::HomePage,
    login::LoginPage,
    not_found::NotFoundPage,
    overview::{OverviewPage, PaymentsPage},
    set_password::{InvitationPage, ResetPasswordPage},
    setup::SetupPage,
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

    view! {
        <Title formatter=|text| format!("{text} · Tally") />
        <HydrationMarker />
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=path!("/") view=OverviewPage ssr=SsrMode::Async />
                <Route path=path!("/status") view=HomePage ssr=SsrMode::Async />
                <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async />
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/reset-password/:token") view=ResetPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/invitation/:token") view=InvitationPage ssr=SsrMode::Async />
                <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async />
                <Route path=path!("/administrators") view=AdministratorsPage ssr=SsrMode::Async />
                <Route path=path!("/billing/payment") view=PaymentsPage ssr=SsrMode::Async />
                <Route path=path!("/users") view=UsersPage ssr=SsrMode::Async />
                <Route path=path!("/billing") view=BillingPage ssr=SsrMode::Async />
                <Route path=path!("/commands") view=CommandsPage ssr=SsrMode::Async />
                <Route path=path!("/billing/invoices/:id") view=InvoicePage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}
