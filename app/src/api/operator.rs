//! The operator console's server functions (the seller's staff): signing in — with the
//! second step that is mandatory for operators — and out, who one is, and setting up one's
//! own second step. Each takes the operator from the operator session only: a customer
//! session is refused (401) here, as an operator session is at every customer function.
// A form's fields are a server function's arguments, one each.
#![allow(clippy::too_many_arguments)]

use leptos::{prelude::*, server_fn::codec::Json};
use tally_core::{
    actor::OperatorActor,
    seller::PlanInput,
    views::two_step::{AppEnrolment, PasskeyCreation, PasskeyRequest, TwoStepStatus},
};
use webauthn_rs_proto::{PublicKeyCredential, RegisterPublicKeyCredential};

#[cfg(feature = "ssr")]
use crate::auth::{
    current_operator, operator_session_key, pending_operator_sign_in, require_operator_session,
    services, set_cookie, visitor,
};
use crate::error::AppError;

/// The console's list of customer accounts.
pub const CONSOLE_PATH: &str = "/operator/accounts";
/// The console's first page: the seller's revenue.
pub const REVENUE_PATH: &str = "/operator";
/// The operators' sign-in page.
pub const SIGN_IN_PATH: &str = "/operator/login";
/// Its second step.
pub const SECOND_STEP_PATH: &str = "/operator/login/two-step";
/// Where an operator sets up their second step (before anything else opens).
pub const TWO_STEP_PATH: &str = "/operator/two-step";

/// The signed-in operator, or `None`.
#[server(endpoint = "operator/me")]
pub async fn get_current_operator() -> Result<Option<OperatorActor>, AppError> {
    Ok(current_operator())
}

/// An operator's sign-in with email and password: on to the second step, or (for an operator
/// who has none yet) to setting it up. True when the second step is next.
#[server(endpoint = "operator/sign-in")]
pub async fn operator_sign_in(email: String, password: String) -> Result<bool, AppError> {
    let signed_in = services()?
        .operators
        .sign_in(&visitor(), &email, &password)
        .await?;
    for cookie in &signed_in.cookies {
        set_cookie(cookie);
    }
    leptos_axum::redirect(if signed_in.second_step {
        SECOND_STEP_PATH
    } else {
        TWO_STEP_PATH
    });
    Ok(signed_in.second_step)
}

/// An operator's second step with a code (authenticator app or recovery code).
#[server(endpoint = "operator/second-step")]
pub async fn operator_second_step(code: String) -> Result<(), AppError> {
    use tally_services::identity::sign_in::Proof;
    let pending = pending_operator_sign_in().ok_or(AppError::Unauthenticated)?;
    let signed_in = services()?
        .operators
        .second_step(&visitor(), &pending, &Proof::Code(code))
        .await?;
    for cookie in &signed_in.cookies {
        set_cookie(cookie);
    }
    leptos_axum::redirect(CONSOLE_PATH);
    Ok(())
}

/// Ends the operator's session.
#[server(endpoint = "operator/sign-out")]
pub async fn operator_sign_out() -> Result<(), AppError> {
    if let (Some(operator), Some(key)) = (current_operator(), operator_session_key()) {
        let clear = services()?.operators.sign_out(&operator, &key).await;
        set_cookie(&clear);
    }
    leptos_axum::redirect(SIGN_IN_PATH);
    Ok(())
}

/// The operator's own second steps (also before one is set up).
#[server(endpoint = "operator/two-step/status")]
pub async fn operator_two_step_status() -> Result<TwoStepStatus, AppError> {
    let operator = require_operator_session()?;
    Ok(services()?.two_step.status(&operator).await?)
}

/// Starts setting up the operator's authenticator app (fresh check).
#[server(endpoint = "operator/two-step/start-app")]
pub async fn operator_start_app() -> Result<AppEnrolment, AppError> {
    let operator = require_operator_session()?;
    Ok(services()?.two_step.start_app(&operator).await?)
}

/// Turns the operator's app on with a code from it; the recovery codes, shown once.
#[server(endpoint = "operator/two-step/confirm-app")]
pub async fn operator_confirm_app(code: String) -> Result<Vec<String>, AppError> {
    let operator = require_operator_session()?;
    Ok(services()?.two_step.confirm_app(&operator, &code).await?)
}

/// Starts registering a passkey called `name` as one of the operator's second steps (also
/// the first one, instead of an app).
#[server(endpoint = "operator/two-step/passkey-options")]
pub async fn operator_passkey_options(name: String) -> Result<PasskeyCreation, AppError> {
    let operator = require_operator_session()?;
    Ok(services()?
        .two_step
        .start_passkey_registration(&operator, &name)
        .await?)
}

/// Finishes registering the operator's passkey; ten recovery codes (shown once) when it is
/// their first second step.
#[server(endpoint = "operator/two-step/add-passkey", input = Json)]
pub async fn operator_add_passkey(
    ceremony: String,
    credential: RegisterPublicKeyCredential,
) -> Result<Vec<String>, AppError> {
    let operator = require_operator_session()?;
    Ok(services()?
        .two_step
        .finish_passkey_registration(&operator, &ceremony, &credential)
        .await?)
}

/// Removes one of the operator's passkeys (a fresh check; never their last second step).
#[server(endpoint = "operator/two-step/remove-passkey")]
pub async fn operator_remove_passkey(id: String) -> Result<(), AppError> {
    let operator = require_operator_session()?;
    Ok(services()?.two_step.remove_passkey(&operator, &id).await?)
}

/// Starts an operator's second step with a passkey.
#[server(endpoint = "operator/second-step-passkey-options")]
pub async fn operator_second_step_passkey_options() -> Result<PasskeyRequest, AppError> {
    let pending = pending_operator_sign_in().ok_or(AppError::Unauthenticated)?;
    Ok(services()?
        .operators
        .second_step_passkey_options(&visitor(), &pending)
        .await?)
}

/// Finishes an operator's second step with a passkey's answer.
#[server(endpoint = "operator/second-step-passkey", input = Json)]
pub async fn operator_second_step_passkey(
    ceremony: String,
    credential: PublicKeyCredential,
) -> Result<(), AppError> {
    use tally_services::identity::sign_in::Proof;
    let pending = pending_operator_sign_in().ok_or(AppError::Unauthenticated)?;
    let proof = Proof::Passkey {
        ceremony,
        credential: Box::new(credential),
    };
    let signed_in = services()?
        .operators
        .second_step(&visitor(), &pending, &proof)
        .await?;
    for cookie in &signed_in.cookies {
        set_cookie(cookie);
    }
    Ok(())
}

/// Starts "confirm it's you" with a passkey, for an operator.
#[server(endpoint = "operator/confirm-passkey-options")]
pub async fn operator_confirm_passkey_options() -> Result<PasskeyRequest, AppError> {
    let operator = require_operator_session()?;
    Ok(services()?
        .operators
        .confirm_passkey_options(&operator)
        .await?)
}

/// Finishes "confirm it's you" with a passkey's answer: the session is fresh for 10 minutes.
#[server(endpoint = "operator/confirm-passkey", input = Json)]
pub async fn operator_confirm_passkey(
    ceremony: String,
    credential: PublicKeyCredential,
) -> Result<(), AppError> {
    use tally_services::identity::sign_in::Proof;
    let operator = require_operator_session()?;
    let proof = Proof::Passkey {
        ceremony,
        credential: Box::new(credential),
    };
    Ok(services()?.operators.confirm(&operator, &proof).await?)
}

/// "Confirm it's you" for an operator, with a code: the session is fresh for 10 minutes.
#[server(endpoint = "operator/confirm")]
pub async fn operator_confirm(code: String) -> Result<(), AppError> {
    use tally_services::identity::sign_in::Proof;
    let operator = require_operator_session()?;
    Ok(services()?
        .operators
        .confirm(&operator, &Proof::Code(code))
        .await?)
}

/// Makes a customer account on a plan (the seller's default when both plan fields are
/// empty) and invites its first administrator (Owner and Support; a fresh check). The new
/// account's id.
#[server(endpoint = "operator/accounts/create")]
pub async fn create_customer_account(
    company_name: String,
    first_name: String,
    last_name: String,
    email: String,
    /// A role's code; an Administrator With Billing when absent.
    #[server(default)]
    role: String,
    /// The plan's currency's code; blank: the default plan's.
    #[server(default)]
    currency: String,
    #[server(default)] price_per_user: String,
    #[server(default)] free_users: String,
    /// Blank: the 1st (or the seller's default's, when the whole plan is blank).
    #[server(default)]
    billing_day: String,
) -> Result<String, AppError> {
    use tally_core::{forms::NewAccountInput, operators::OperatorAction, roles::Role};
    let operator = crate::auth::require_operator(OperatorAction::ManageAccounts)?;
    let role = match role.trim() {
        "" => Role::AdministratorWithBilling,
        code => Role::from_code(code).ok_or_else(|| AppError::field("role", "Choose a role."))?,
    };
    let input = NewAccountInput {
        company_name,
        first_name,
        last_name,
        email,
    };
    let plan = PlanInput {
        currency,
        price_per_user,
        free_users,
        billing_day,
    };
    let given = ![&plan.price_per_user, &plan.free_users, &plan.billing_day]
        .iter()
        .all(|f| f.trim().is_empty());
    Ok(services()?
        .customers
        .create(&operator, &input, role, given.then_some(&plan))
        .await?)
}

/// The plan a new account starts on unless told otherwise (for the create form).
#[server(endpoint = "operator/accounts/default-plan")]
pub async fn default_plan() -> Result<PlanInput, AppError> {
    crate::auth::require_operator(tally_core::operators::OperatorAction::ViewConsole)?;
    Ok(PlanInput::from(
        &services()?.customers.default_plan().await?,
    ))
}

/// A customer account's page (every operator role).
#[server(endpoint = "operator/accounts/get")]
pub async fn get_customer_account(
    id: String,
) -> Result<tally_core::views::operator::CustomerAccountDetail, AppError> {
    let operator =
        crate::auth::require_operator(tally_core::operators::OperatorAction::ViewConsole)?;
    Ok(services()?.customers.get(&operator, &id).await?)
}

/// Sets an account's plan from next month on (Finance and Owner; a fresh check).
#[server(endpoint = "operator/accounts/set-plan")]
pub async fn set_customer_plan(
    id: String,
    /// The plan's currency's code; blank: the account's.
    #[server(default)]
    currency: String,
    price_per_user: String,
    free_users: String,
    /// Blank: the 1st.
    #[server(default)]
    billing_day: String,
) -> Result<tally_core::views::billing::PlanChange, AppError> {
    let operator =
        crate::auth::require_operator(tally_core::operators::OperatorAction::ChangePlans)?;
    let plan = PlanInput {
        currency,
        price_per_user,
        free_users,
        billing_day,
    };
    Ok(services()?
        .customers
        .set_plan(&operator, &id, &plan)
        .await?)
}

/// One page of the seller's customer accounts: searched by company or an administrator's
/// address, filtered, ordered, paged on the server (every operator role).
#[server(endpoint = "operator/accounts/list")]
pub async fn list_customer_accounts(
    #[server(default)] search: String,
    #[server(default)] past_due_only: bool,
    #[server(default)] no_card_only: bool,
    /// A standing's code (`active`, `suspended`, `closed`); every account when empty.
    #[server(default)]
    status: String,
    #[server(default)] order: tally_core::views::operator::AccountOrder,
    #[server(default)] page: Option<u32>,
) -> Result<tally_core::views::operator::CustomerAccountPage, AppError> {
    use tally_core::operators::OperatorAction;
    use tally_services::seller::customers::AccountQuery;
    let operator = crate::auth::require_operator(OperatorAction::ViewConsole)?;
    tally_core::card_in_text::no_card_number(&search).map_err(|e| AppError::field("search", e))?;
    let status = match status.trim() {
        "" => None,
        code => Some(
            tally_core::account_status::AccountStatus::from_code(code)
                .ok_or_else(|| AppError::field("status", "Choose a status from the list."))?,
        ),
    };
    let query = AccountQuery {
        search,
        past_due_only,
        no_card_only,
        status,
        order,
        page: page.unwrap_or(1),
    };
    Ok(services()?.customers.list(&operator, &query).await?)
}

/// Suspends an active account, with the reason its administrators are shown (Owner, Support;
/// a fresh check). Audited, and emailed to its billing contact.
#[server(endpoint = "operator/accounts/suspend")]
pub async fn suspend_customer_account(id: String, reason: String) -> Result<(), AppError> {
    use tally_core::operators::OperatorAction;
    let operator = crate::auth::require_operator(OperatorAction::ManageAccounts)?;
    Ok(services()?
        .standing
        .suspend(&operator, &id, &reason)
        .await?)
}

/// Makes a suspended account active again (Owner, Support; a fresh check).
#[server(endpoint = "operator/accounts/reactivate")]
pub async fn reactivate_customer_account(id: String) -> Result<(), AppError> {
    use tally_core::operators::OperatorAction;
    let operator = crate::auth::require_operator(OperatorAction::ManageAccounts)?;
    Ok(services()?.standing.reactivate(&operator, &id).await?)
}

/// Closes an account: its last invoice for the month so far is made and charged now; then it
/// is read-only (Owner, Support; a fresh check).
#[server(endpoint = "operator/accounts/close")]
pub async fn close_customer_account(id: String, reason: String) -> Result<(), AppError> {
    use tally_core::operators::OperatorAction;
    let operator = crate::auth::require_operator(OperatorAction::ManageAccounts)?;
    Ok(services()?.standing.close(&operator, &id, &reason).await?)
}

/// The seller's revenue figures, from the invoices themselves (every operator role).
#[server(endpoint = "operator/revenue")]
pub async fn get_revenue() -> Result<tally_core::views::operator::Revenue, AppError> {
    use tally_core::operators::OperatorAction;
    let operator = crate::auth::require_operator(OperatorAction::ViewConsole)?;
    Ok(services()?.revenue.figures(&operator).await?)
}

/// Charges a failed or past-due invoice now (Finance and Owner; a fresh check); the invoice as
/// it then stands.
#[server(endpoint = "operator/invoices/retry")]
pub async fn retry_invoice_charge(
    account_id: String,
    invoice_id: String,
) -> Result<tally_core::views::billing::Invoice, AppError> {
    use tally_core::operators::OperatorAction;
    let operator = crate::auth::require_operator(OperatorAction::MoneyActions)?;
    Ok(services()?
        .money
        .retry_now(&operator, &account_id, &invoice_id)
        .await?)
}

/// Records an unpaid invoice as paid by bank transfer, with its reference (Finance and Owner;
/// a fresh check).
#[server(endpoint = "operator/invoices/mark-paid")]
pub async fn mark_invoice_paid(
    account_id: String,
    invoice_id: String,
    reference: String,
) -> Result<(), AppError> {
    use tally_core::operators::OperatorAction;
    let operator = crate::auth::require_operator(OperatorAction::MoneyActions)?;
    Ok(services()?
        .money
        .mark_paid(&operator, &account_id, &invoice_id, &reference)
        .await?)
}

/// Voids an unpaid invoice, with the reason its billing contact reads (Finance and Owner; a
/// fresh check).
#[server(endpoint = "operator/invoices/void")]
pub async fn void_invoice(
    account_id: String,
    invoice_id: String,
    reason: String,
) -> Result<(), AppError> {
    use tally_core::operators::OperatorAction;
    let operator = crate::auth::require_operator(OperatorAction::MoneyActions)?;
    Ok(services()?
        .money
        .void(&operator, &account_id, &invoice_id, &reason)
        .await?)
}

/// Corrects an invoice: made again with the account's billing details as they are now, the
/// original cancelled by a credit note, with the reason the billing contact reads (Finance and
/// Owner; a fresh check). Returns the correction.
#[server(endpoint = "operator/invoices/correct")]
pub async fn correct_invoice(
    account_id: String,
    invoice_id: String,
    #[server(default)] reason: String,
) -> Result<tally_core::views::billing::Invoice, AppError> {
    use tally_core::operators::OperatorAction;
    let operator = crate::auth::require_operator(OperatorAction::MoneyActions)?;
    Ok(services()?
        .money
        .correct(&operator, &account_id, &invoice_id, &reason)
        .await?)
}

/// Issues a credit note against a paid invoice, whole or in part, with a reason: refunded to
/// the card it was paid with, or kept as credit (Finance and Owner; a fresh check).
#[server(endpoint = "operator/invoices/credit-note")]
pub async fn issue_credit_note(
    account_id: String,
    invoice_id: String,
    #[server(default)] whole: bool,
    #[server(default)] amount: String,
    #[server(default)] reason: String,
) -> Result<tally_core::views::billing::CreditNote, AppError> {
    use tally_core::{money_actions::CreditNoteInput, operators::OperatorAction};
    let operator = crate::auth::require_operator(OperatorAction::MoneyActions)?;
    let input = CreditNoteInput {
        whole,
        amount,
        reason,
    };
    Ok(services()?
        .money
        .credit_note(&operator, &account_id, &invoice_id, &input)
        .await?)
}

/// Emails an account's invited administrator a new invitation link (Owner, Support; a fresh
/// check).
#[server(endpoint = "operator/admins/resend-invitation")]
pub async fn resend_account_invitation(
    account_id: String,
    admin_id: String,
) -> Result<(), AppError> {
    use tally_core::operators::OperatorAction;
    let operator = crate::auth::require_operator(OperatorAction::ManageAccountAdministrators)?;
    Ok(services()?
        .account_admins
        .resend_invitation(&operator, &account_id, &admin_id)
        .await?)
}

/// Resets an account administrator's two-step verification on their request (Owner, Support;
/// a fresh check).
#[server(endpoint = "operator/admins/reset-two-step")]
pub async fn reset_account_admin_two_step(
    account_id: String,
    admin_id: String,
) -> Result<(), AppError> {
    use tally_core::operators::OperatorAction;
    let operator = crate::auth::require_operator(OperatorAction::ManageAccountAdministrators)?;
    Ok(services()?
        .account_admins
        .reset_two_step(&operator, &account_id, &admin_id)
        .await?)
}
