//! `/v1/accounts`: the seller's customer accounts — made with their first administrator's
//! invitation, listed, read, their plan changed from next month, suspended, reactivated and
//! closed — and each account's usage this month.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};
use serde::{Deserialize, Serialize};
use tally_core::{
    account_status::AccountStatus,
    api_keys::ApiScope,
    billing::Plan,
    forms::{FieldErrors, NewAccountInput},
    roles::Role,
    seller::PlanInput,
};
use tally_services::{platform::error::ServiceError, seller::customers::AccountSummary};
use utoipa::ToSchema;

use super::{problem::Problem, timestamp, Body, Key, Page, PageQuery, Query};
use crate::http::AppState;

/// A customer account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Account {
    pub id: String,
    /// The company's name.
    pub name: String,
    pub status: Status,
    /// Why it was suspended or closed, as its administrators are told.
    pub status_reason: Option<String>,
    /// Its last invoice could not be charged after every retry.
    pub past_due: bool,
    /// When it was made, RFC 3339.
    pub created_at: String,
    /// This month's plan.
    pub plan: PlanOut,
    /// A plan that starts in a later month.
    pub next_plan: Option<NextPlan>,
}

/// An account's standing with the seller.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything works; charged each month.
    Active,
    /// Its administrators may only pay; nothing is charged.
    Suspended,
    /// Billed one last time; read-only.
    Closed,
}

impl From<AccountStatus> for Status {
    fn from(s: AccountStatus) -> Self {
        match s {
            AccountStatus::Active => Status::Active,
            AccountStatus::Suspended => Status::Suspended,
            AccountStatus::Closed => Status::Closed,
        }
    }
}

/// A plan: the price of each user beyond the free ones, billed on a day of the next month.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanOut {
    /// A decimal amount in `currency`, two places: `"5.00"`.
    #[schema(example = "5.00")]
    pub price_per_user: String,
    /// ISO 4217.
    #[schema(example = "USD")]
    pub currency: String,
    /// Users not charged for.
    pub free_users: u64,
    /// The day of the next month each month is invoiced and charged on, 1 to 28.
    pub billing_day: u32,
}

impl From<&Plan> for PlanOut {
    fn from(p: &Plan) -> Self {
        PlanOut {
            price_per_user: p.price_per_user.decimal(),
            currency: p.price_per_user.currency().code().into(),
            free_users: p.free_users,
            billing_day: p.billing_day,
        }
    }
}

/// A plan set for a later month.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextPlan {
    /// The first month it applies to, `YYYY-MM`.
    #[schema(example = "2027-01")]
    pub from_month: String,
    #[serde(flatten)]
    pub plan: PlanOut,
}

impl From<AccountSummary> for Account {
    fn from(a: AccountSummary) -> Self {
        Account {
            plan: PlanOut::from(&a.plan),
            next_plan: a.next_plan.map(|(from_month, p)| NextPlan {
                from_month,
                plan: PlanOut::from(&p),
            }),
            id: a.id,
            name: a.name,
            status: a.status.into(),
            status_reason: a.status_reason,
            past_due: a.past_due,
            created_at: timestamp(a.created_at),
        }
    }
}

/// A plan as sent: the same rules as the console's fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanIn {
    /// The plan's currency, ISO 4217: one of USD, EUR, GBP, CHF and JPY. Without one, a new
    /// account's is the seller's default plan's and a changed plan keeps the account's; it
    /// cannot change once the account has invoices.
    #[schema(example = "EUR", pattern = r"^(USD|EUR|GBP|CHF|JPY)$")]
    pub currency: Option<String>,
    /// A decimal amount in the plan's currency, at most 10000.00 (¥1000000, with no decimals,
    /// for yen): `"7.50"`.
    #[schema(example = "7.50", pattern = r"^[0-9]{1,7}(\.[0-9]{1,2})?$")]
    pub price_per_user: String,
    /// Users not charged for (10 without one).
    #[schema(minimum = 0, maximum = 1000000)]
    pub free_users: Option<u64>,
    /// 1 to 28 (the 1st without one).
    #[schema(minimum = 1, maximum = 28)]
    pub billing_day: Option<u32>,
}

impl PlanIn {
    fn input(&self) -> PlanInput {
        PlanInput {
            currency: self.currency.clone().unwrap_or_default(),
            price_per_user: self.price_per_user.clone(),
            free_users: self.free_users.unwrap_or(10).to_string(),
            billing_day: self.billing_day.map(|d| d.to_string()).unwrap_or_default(),
        }
    }
}

/// A new account and its first administrator, who is invited by email.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[schema(example = "Globex Corporation", min_length = 1, max_length = 200)]
    pub company_name: String,
    pub administrator: NewAdministrator,
    /// The seller's default plan without one.
    pub plan: Option<PlanIn>,
}

/// The account's first administrator: a role with billing, so someone can pay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdministrator {
    #[schema(example = "Ada", min_length = 1, max_length = 100)]
    pub first_name: String,
    #[schema(example = "Byron", min_length = 1, max_length = 100)]
    pub last_name: String,
    #[schema(example = "ada@globex.test", format = Email, max_length = 254)]
    pub email: String,
    /// `admin_billing` (Administrator With Billing) without one.
    pub role: Option<BillingRole>,
}

/// The roles that include billing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingRole {
    /// Administrator With Billing.
    AdminBilling,
    /// Command Runner With Billing (bound to no command: billing only).
    CommandRunnerBilling,
}

/// Why an account is suspended or closed; its administrators are shown it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    #[schema(example = "Unpaid since March.", min_length = 1, max_length = 500)]
    pub reason: String,
}

/// An account's users this month.
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    /// `YYYY-MM`.
    pub month: String,
    /// Users now, active and suspended alike (both are billed).
    pub users_now: u64,
    /// The most users at once so far this month: what the month is billed on.
    pub peak: u64,
    /// The first day the peak was reached, `YYYY-MM-DD`.
    pub peak_on: String,
    pub plan: PlanOut,
    /// This month's invoice on today's peak, a decimal amount in `currency`.
    #[schema(example = "20.00")]
    pub estimate: String,
    #[schema(example = "USD")]
    pub currency: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AccountPath {
    /// The account's id.
    #[param(max_length = 64)]
    pub account_id: String,
}

/// Names a field of the account's form after the request's: the administrator's and the
/// plan's are nested.
fn account_field(field: &str) -> String {
    match field {
        "first_name" | "last_name" | "email" | "role" => format!("administrator.{field}"),
        "price_per_user" | "free_users" | "billing_day" => format!("plan.{field}"),
        other => other.to_owned(),
    }
}

fn account_problem(e: ServiceError) -> Problem {
    match e {
        ServiceError::Invalid(errors) => {
            let mut named = FieldErrors::new();
            for (field, message) in errors.iter() {
                named.add(account_field(field), message);
            }
            Problem::invalid(&named, "")
        }
        other => other.into(),
    }
}

/// The account as it is after `change`, a change of its standing.
async fn after(
    state: &AppState,
    operator: &tally_core::actor::OperatorActor,
    account_id: &str,
    change: Result<(), ServiceError>,
) -> Result<Json<Account>, Problem> {
    change?;
    let account = state
        .services
        .customers
        .summary(operator, account_id)
        .await?;
    Ok(Json(account.into()))
}

/// List customer accounts, in the order they were made.
#[utoipa::path(get, path = "/v1/accounts", tag = "Accounts", operation_id = "listAccounts",
    params(PageQuery),
    security(("api_key" = ["accounts:read"])),
    responses((status = 200, description = "A page of accounts.", body = Page<Account>)))]
pub async fn list(
    State(state): State<AppState>,
    key: Key,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Account>>, Problem> {
    let operator = key.needs(ApiScope::AccountsRead)?;
    let (limit, cursor) = page.checked()?;
    let rows = state
        .services
        .customers
        .summaries(operator, cursor, limit + 1)
        .await?;
    let page = Page::of(rows, limit, |a| a.id.clone());
    Ok(Json(Page {
        data: page.data.into_iter().map(Account::from).collect(),
        has_more: page.has_more,
        next_cursor: page.next_cursor,
    }))
}

/// Create a customer account; its first administrator is invited by email.
#[utoipa::path(post, path = "/v1/accounts", tag = "Accounts", operation_id = "createAccount",
    request_body = NewAccount,
    security(("api_key" = ["accounts:write"])),
    responses((status = 201, description = "The account, made.", body = Account)))]
pub async fn create(
    State(state): State<AppState>,
    key: Key,
    Body(body): Body<NewAccount>,
) -> Result<impl IntoResponse, Problem> {
    let operator = key.needs(ApiScope::AccountsWrite)?;
    let input = NewAccountInput {
        company_name: body.company_name,
        first_name: body.administrator.first_name,
        last_name: body.administrator.last_name,
        email: body.administrator.email,
    };
    let role = match body.administrator.role {
        None | Some(BillingRole::AdminBilling) => Role::AdministratorWithBilling,
        Some(BillingRole::CommandRunnerBilling) => Role::CommandRunnerWithBilling,
    };
    let plan = body.plan.as_ref().map(PlanIn::input);
    let customers = &state.services.customers;
    let id = customers
        .create(operator, &input, role, plan.as_ref())
        .await
        .map_err(account_problem)?;
    let account = customers.summary(operator, &id).await?;
    Ok((StatusCode::CREATED, Json(Account::from(account))))
}

/// Read one customer account.
#[utoipa::path(get, path = "/v1/accounts/{account_id}", tag = "Accounts", operation_id = "getAccount",
    params(AccountPath),
    security(("api_key" = ["accounts:read"])),
    responses((status = 200, description = "The account.", body = Account)))]
pub async fn get(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<AccountPath>,
) -> Result<Json<Account>, Problem> {
    let operator = key.needs(ApiScope::AccountsRead)?;
    let account = state
        .services
        .customers
        .summary(operator, &path.account_id)
        .await?;
    Ok(Json(account.into()))
}

/// Set the account's plan from next month on; this month is billed on the plan it began with.
#[utoipa::path(put, path = "/v1/accounts/{account_id}/plan", tag = "Accounts", operation_id = "setAccountPlan",
    params(AccountPath),
    request_body = PlanIn,
    security(("api_key" = ["accounts:write"])),
    responses((status = 200, description = "The account, with the plan as `next_plan`.", body = Account)))]
pub async fn set_plan(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<AccountPath>,
    Body(body): Body<PlanIn>,
) -> Result<Json<Account>, Problem> {
    let operator = key.needs(ApiScope::AccountsWrite)?;
    let change = state
        .services
        .customers
        .set_plan(operator, &path.account_id, &body.input())
        .await
        .map(|_| ());
    after(&state, operator, &path.account_id, change).await
}

/// Suspend an active account: its administrators may only pay, and nothing is charged.
#[utoipa::path(post, path = "/v1/accounts/{account_id}/suspend", tag = "Accounts", operation_id = "suspendAccount",
    params(AccountPath),
    request_body = Reason,
    security(("api_key" = ["accounts:write"])),
    responses((status = 200, description = "The account, suspended.", body = Account)))]
pub async fn suspend(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<AccountPath>,
    Body(body): Body<Reason>,
) -> Result<Json<Account>, Problem> {
    let operator = key.needs(ApiScope::AccountsWrite)?;
    let standing = &state.services.standing;
    let change = standing
        .suspend(operator, &path.account_id, &body.reason)
        .await;
    after(&state, operator, &path.account_id, change).await
}

/// Make a suspended account active again; charges resume.
#[utoipa::path(post, path = "/v1/accounts/{account_id}/reactivate", tag = "Accounts", operation_id = "reactivateAccount",
    params(AccountPath),
    security(("api_key" = ["accounts:write"])),
    responses((status = 200, description = "The account, active.", body = Account)))]
pub async fn reactivate(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<AccountPath>,
) -> Result<Json<Account>, Problem> {
    let operator = key.needs(ApiScope::AccountsWrite)?;
    let change = state
        .services
        .standing
        .reactivate(operator, &path.account_id)
        .await;
    after(&state, operator, &path.account_id, change).await
}

/// Close an account: a last invoice for this month so far is made and charged, then it is
/// read-only and never billed again.
#[utoipa::path(post, path = "/v1/accounts/{account_id}/close", tag = "Accounts", operation_id = "closeAccount",
    params(AccountPath),
    request_body = Reason,
    security(("api_key" = ["accounts:write"])),
    responses((status = 200, description = "The account, closed.", body = Account)))]
pub async fn close(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<AccountPath>,
    Body(body): Body<Reason>,
) -> Result<Json<Account>, Problem> {
    let operator = key.needs(ApiScope::AccountsWrite)?;
    let standing = &state.services.standing;
    let change = standing
        .close(operator, &path.account_id, &body.reason)
        .await;
    after(&state, operator, &path.account_id, change).await
}

/// The account's users this month: now, the peak and the day it was reached, and the
/// estimate of this month's invoice.
#[utoipa::path(get, path = "/v1/accounts/{account_id}/usage", tag = "Accounts", operation_id = "getAccountUsage",
    params(AccountPath),
    security(("api_key" = ["accounts:read"])),
    responses((status = 200, description = "This month's usage.", body = Usage)))]
pub async fn usage(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<AccountPath>,
) -> Result<Json<Usage>, Problem> {
    let operator = key.needs(ApiScope::AccountsRead)?;
    let u = state
        .services
        .customers
        .usage(operator, &path.account_id)
        .await?;
    Ok(Json(Usage {
        month: u.month.to_string(),
        users_now: u.users_now,
        peak: u.peak,
        peak_on: u.peak_on.to_string(),
        plan: PlanOut::from(&u.plan),
        estimate: u.plan.price_per_user.with_minor(u.estimate_cents).decimal(),
        currency: u.plan.price_per_user.currency().code().into(),
    }))
}
