//! Customer accounts as the seller's staff see and make them: an account made from the
//! console with its first administrator, who is invited by email; and the console's list,
//! searched, filtered, ordered and paged on the server.
//!
//! The list reads each account's summary — its administrators, users and card on file — in
//! one statement, across the tables of three domains (an exception `tests/layers.rs` names),
//! and its counts in one or two more: a fixed number of statements however many accounts
//! there are. The search finds a company by any part of its name, or an administrator by the
//! start of their address (an index range, not a scan of every address).

use tally_core::{
    account_status::AccountStatus,
    actor::{Actor, OperatorActor},
    audit::AuditKind,
    billing::{daily_peaks, peak_users, BillingMonth, Plan},
    forms::NewAccountInput,
    money::Money,
    operators::OperatorAction,
    roles::Role,
    seller::PlanInput,
    views::{
        billing::PlanChange,
        operator::{
            AccountAdministrator, AccountOrder, CustomerAccountDetail, CustomerAccountPage,
            CustomerAccountRow,
        },
    },
    webhooks::WebhookEvent,
};

use super::profile;
use crate::{
    billing::{cards, charts, credit_notes, invoices, plans},
    directory::users,
    identity::{
        accounts::{self, admins},
        links::{self, Invitation},
        two_step,
    },
    platform::{
        audit::{self, Event},
        context::Context,
        db::{offset, search_text},
        error::{ResultExt, ServiceError},
        webhooks::Hook,
    },
};

/// Accounts per page of the console's list.
pub const ACCOUNTS_PER_PAGE: u32 = 50;

/// What an operator asks of the list.
#[derive(Clone, Debug, Default)]
pub struct AccountQuery {
    /// Part of the company's name or of one of its administrators' addresses.
    pub search: String,
    pub past_due_only: bool,
    pub no_card_only: bool,
    /// Only accounts in this standing.
    pub status: Option<AccountStatus>,
    pub order: AccountOrder,
    /// From 1.
    pub page: u32,
}

/// The seller's customer accounts.
#[derive(Clone)]
pub struct Customers {
    ctx: Context,
}

pub(super) fn allowed(
    operator: &OperatorActor,
    action: OperatorAction,
) -> Result<(), ServiceError> {
    if operator.must_set_up_two_step {
        return Err(ServiceError::TwoStepSetupRequired);
    }
    if operator.may(action) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

impl Customers {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The plan a new account starts on unless it is given one: the seller's default, or
    /// (before the seller is set up) the server's standard plan.
    pub async fn default_plan(&self) -> Result<Plan, ServiceError> {
        Ok(profile::details(self.ctx.db.pool())
            .await?
            .map_or(self.standard_plan(), |s| s.default_plan))
    }

    fn standard_plan(&self) -> Plan {
        Plan::per_user(self.ctx.settings.price_per_user)
    }

    /// Makes a customer account on `plan` (the default plan when `None`) and invites its first
    /// administrator (a billing role: an account always has someone who can pay). Needs a
    /// fresh check, as making an administrator does. The account's audit log shows it done by
    /// the seller's staff.
    pub async fn create(
        &self,
        operator: &OperatorActor,
        input: &NewAccountInput,
        role: Role,
        plan: Option<&PlanInput>,
    ) -> Result<String, ServiceError> {
        allowed(operator, OperatorAction::ManageAccounts)?;
        if !operator.is_fresh(self.ctx.now()) {
            return Err(ServiceError::FreshCheckRequired);
        }
        let parsed = input.parse();
        let mut errors = parsed.as_ref().err().cloned().unwrap_or_default();
        let default = self.default_plan().await?;
        let plan = match plan {
            // A plan typed without a currency is in the default plan's.
            Some(p) => with_currency(p, &default).check(&mut errors),
            None => Some(default),
        };
        ServiceError::unless_any(errors)?;
        let (new, plan) = match (parsed, plan) {
            (Ok(new), Some(plan)) => (new, plan),
            (parsed, _) => return Err(ServiceError::Invalid(parsed.err().unwrap_or_default())),
        };
        if !role.has_billing() {
            return Err(ServiceError::field(
                "role",
                "The first administrator needs a role with billing, so someone can pay.",
            ));
        }
        let account_id = self.ctx.new_id();
        let admin_id = self.ctx.new_id();
        let mut work = self.ctx.begin("creating a customer account").await?;
        let now = work.now();
        accounts::insert(work.tx(), &account_id, &new.company_name, now).await?;
        let month = BillingMonth::containing(self.ctx.clock.today());
        plans::set(work.tx(), &account_id, month, &plan, now).await?;
        let row = admins::NewAdminRow {
            id: &admin_id,
            account_id: &account_id,
            email: &new.email,
            first_name: &new.first_name,
            last_name: &new.last_name,
            role,
            password_hash: None,
            now,
        };
        if !admins::insert(work.tx(), &row).await? {
            return Err(ServiceError::field(
                "email",
                "An administrator with this email already exists.",
            ));
        }
        let by_seller = |kind: AuditKind, target: &str, detail: String| Event {
            account_id: Some(account_id.clone()),
            ..Event::by_operator(operator, kind, target, detail)
        };
        work.audit(by_seller(
            AuditKind::AccountCreated,
            &new.company_name,
            format!("by the seller's staff, on {}", plan_text(&plan)),
        ));
        work.hook(Hook::new(
            WebhookEvent::AccountCreated,
            serde_json::json!({
                "account_id": account_id,
                "name": new.company_name,
                "administrator_email": new.email,
            }),
        ));
        let email = new.email.as_str();
        work.audit(by_seller(
            AuditKind::AdminCreated,
            email,
            format!("role {}", role.display_name()),
        ));
        let invited_by = format!("{} (the seller's staff)", operator.full_name());
        let invitation = Invitation {
            admin_id: &admin_id,
            account_id: &account_id,
            email,
            role,
            invited_by: &invited_by,
        };
        links::invite(&self.ctx, &mut work, &invitation).await?;
        work.audit(by_seller(AuditKind::InvitationSent, email, String::new()));
        work.commit().await?;
        Ok(account_id)
    }

    /// Sets an account's plan from next month on (this month is billed on the plan it began
    /// with): Finance and Owner, with a fresh check; audited in the account's log as done by
    /// the seller's staff, and shown on its Billing page until it starts.
    pub async fn set_plan(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        input: &PlanInput,
    ) -> Result<PlanChange, ServiceError> {
        allowed(operator, OperatorAction::ChangePlans)?;
        if !operator.is_fresh(self.ctx.now()) {
            return Err(ServiceError::FreshCheckRequired);
        }
        let pool = self.ctx.db.pool();
        let account = accounts::by_id(pool, account_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let month = BillingMonth::containing(self.ctx.clock.today());
        let from = month.next();
        // A plan typed without a currency keeps the account's.
        let current = plans::for_month(pool, &account.id, from, self.standard_plan()).await?;
        let plan = with_currency(input, &current)
            .parse()
            .map_err(ServiceError::Invalid)?;
        // An account's invoices, credit notes and credit balance are in one currency: it can
        // change only while nothing has been invoiced in another.
        let currency = plan.price_per_user.currency();
        if let Some(billed) = invoices::currencies(pool, &account.id)
            .await?
            .into_iter()
            .find(|c| *c != currency)
        {
            return Err(ServiceError::field(
                "currency",
                format!(
                    "This account is invoiced in {} ({billed}): its currency cannot change once it has invoices.",
                    billed.name()
                ),
            ));
        }
        let mut work = self.ctx.begin("changing an account's plan").await?;
        let now = work.now();
        plans::set(work.tx(), &account.id, from, &plan, now).await?;
        work.audit(Event {
            account_id: Some(account.id.clone()),
            ..Event::by_operator(
                operator,
                AuditKind::PlanChanged,
                &account.name,
                format!("from {from}: {}", plan_text(&plan)),
            )
        });
        work.commit().await?;
        Ok(PlanChange::of(from.to_string(), &plan))
    }

    /// A customer account's page: its summary, plan now and next, card and administrators
    /// (every operator role).
    pub async fn get(
        &self,
        operator: &OperatorActor,
        account_id: &str,
    ) -> Result<CustomerAccountDetail, ServiceError> {
        allowed(operator, OperatorAction::ViewConsole)?;
        let pool = self.ctx.db.pool();
        let account = accounts::by_id(pool, account_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let month = BillingMonth::containing(self.ctx.clock.today());
        let plan = plans::for_month(pool, &account.id, month, self.standard_plan()).await?;
        let next_plan = plans::next_change(pool, &account.id, month)
            .await?
            .map(|(from_month, p)| PlanChange::of(from_month, &p));
        let changes = users::history_since(pool, &account.id, month.start_millis()).await?;
        let users_now = changes.iter().map(|c| c.delta).sum::<i64>().max(0) as u64;
        let daily_peaks = daily_peaks(&changes, month, self.ctx.clock.today());
        let rows = admins::by_name(pool, &account.id).await?;
        let ids: Vec<String> = rows.iter().map(|a| a.id.clone()).collect();
        let second_steps = two_step::with_second_step(pool, &ids).await?;
        let administrators = rows
            .into_iter()
            .map(|a| AccountAdministrator {
                two_step: second_steps.contains(&a.id),
                id: a.id.clone(),
                name: a.full_name(),
                email: a.email,
                role: a.role,
                status: a.status,
            })
            .collect();
        Ok(CustomerAccountDetail {
            card: cards::card_on_file(pool, &account.id).await?,
            invoices: invoices::latest(pool, &account.id, 12).await?,
            credit_notes: credit_notes::list(pool, &account.id).await?,
            credit_balance_cents: accounts::credit_balance(pool, &account.id).await?,
            charges: invoices::charges(pool, &account.id, 20).await?,
            month_chart: charts::month_svg(month, &daily_peaks, plan.free_users),
            daily_peaks,
            audit: audit::latest(pool, &account.id, 20).await?,
            id: account.id,
            name: account.name,
            created_at: account.created_at,
            past_due: account.past_due.0,
            status: account.status,
            status_reason: account.status_reason,
            users_now,
            currency: plan.price_per_user.currency(),
            price_per_user_cents: plan.price_per_user.minor(),
            free_users: plan.free_users,
            billing_day: plan.billing_day,
            next_plan,
            administrators,
        })
    }

    /// One page of the customer accounts matching `query`, with the counts. The page comes
    /// from an index in the order asked for, stopping at the page; the matching count is read
    /// only when something narrows the list (otherwise it is the total).
    pub async fn list(
        &self,
        operator: &OperatorActor,
        query: &AccountQuery,
    ) -> Result<CustomerAccountPage, ServiceError> {
        allowed(operator, OperatorAction::ViewConsole)?;
        #[derive(sqlx::FromRow)]
        struct Row {
            id: String,
            name: String,
            created_at: i64,
            status: String,
            administrators: i64,
            users: i64,
            past_due: i64,
            card_on_file: i64,
        }
        let pool = self.ctx.db.pool();
        let search = search_text(&query.search);
        let narrowed = !search.is_empty()
            || query.past_due_only
            || query.no_card_only
            || query.status.is_some();
        // The accounts the search finds by an administrator's address or an invoice's number,
        // each from its index, first: the list then finds companies by name or these ids in
        // one condition on the accounts alone, which PostgreSQL answers from the name's
        // search index for a rare name and in the list's order for a common one.
        let found = if search.is_empty() {
            Found::Ids(Vec::new())
        } else {
            let ids: Vec<String> = sqlx::query_scalar(
                "SELECT f.account_id FROM (\
                 SELECT a.account_id FROM admins a WHERE a.email_key >= $1 AND a.email_key < $2 \
                 UNION SELECT i.account_id FROM invoices i WHERE i.number = $3) f LIMIT $4",
            )
            .bind(&search)
            // Upper bound of the addresses that start with the search: the search and the
            // last code point.
            .bind(format!("{search}\u{10FFFF}"))
            .bind(query.search.trim().to_uppercase())
            .bind(FOUND_BY_ID_AT_MOST as i64 + 1)
            .fetch_all(pool)
            .await
            .context("finding accounts by an administrator's address or an invoice number")?;
            if ids.len() > FOUND_BY_ID_AT_MOST {
                Found::Many
            } else {
                Found::Ids(ids)
            }
        };
        let filter = ListFilter::of(query, &search, found);
        let matches = filter.where_clause();
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(pool)
            .await
            .context("counting the customer accounts")?;
        let order = match query.order {
            AccountOrder::Name => "LOWER(c.name), c.id",
            AccountOrder::Newest => "c.created_at DESC, c.id DESC",
        };
        let page = query.page.max(1);
        let (limit, skip) = (filter.args.len() + 1, filter.args.len() + 2);
        // The page's ids first, then their rows and counts: PostgreSQL works out a row's
        // columns even for the rows an OFFSET skips, and ids alone come from the order's
        // index without reading the table. A card is counted (a card belongs to one account)
        // rather than tested with EXISTS, which PostgreSQL answers by hashing every card
        // first. The page's ids lead the join (CROSS JOIN: SQLite keeps the order written),
        // or SQLite may walk every account in the list's order to look each up among them.
        // Not a kept statement: a plan for these values.
        let sql = format!(
            "SELECT c.id, c.name, c.created_at, c.status, \
             (SELECT COUNT(*) FROM admins a WHERE a.account_id = c.id) AS administrators, \
             (SELECT COUNT(*) FROM users u WHERE u.account_id = c.id AND u.status <> 'deactivated') AS users, \
             CAST(CASE WHEN c.past_due THEN 1 ELSE 0 END AS BIGINT) AS past_due, \
             (SELECT COUNT(*) FROM payment_methods pm WHERE pm.account_id = c.id) AS card_on_file \
             FROM (SELECT c.id FROM accounts c {matches} ORDER BY {order} LIMIT ${limit} OFFSET ${skip}) p \
             CROSS JOIN accounts c WHERE c.id = p.id \
             ORDER BY {order}"
        );
        let mut rows_query = sqlx::query_as::<_, Row>(&sql).persistent(false);
        for arg in &filter.args {
            rows_query = rows_query.bind(arg.as_str());
        }
        let rows: Vec<Row> = rows_query
            .bind(i64::from(ACCOUNTS_PER_PAGE))
            .bind(offset(page, ACCOUNTS_PER_PAGE))
            .fetch_all(pool)
            .await
            .context("reading a page of customer accounts")?;
        // How many match: known without counting when the first page is not full; without a
        // search or another filter, every account with no card is every account but those
        // with one (a card belongs to one account); otherwise counted.
        let only_no_card = query.no_card_only
            && search.is_empty()
            && !query.past_due_only
            && query.status.is_none();
        let matching: i64 = if !narrowed {
            total
        } else if page == 1 && rows.len() < ACCOUNTS_PER_PAGE as usize {
            rows.len() as i64
        } else if only_no_card {
            let with_card: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_methods")
                .fetch_one(pool)
                .await
                .context("counting the accounts with a card")?;
            total - with_card
        } else {
            let sql = format!("SELECT COUNT(*) FROM accounts c {matches}");
            let mut count = sqlx::query_scalar(&sql).persistent(false);
            for arg in &filter.args {
                count = count.bind(arg.as_str());
            }
            count
                .fetch_one(pool)
                .await
                .context("counting the matching customer accounts")?
        };
        // The page's money: this month's peak and estimate on each account's plan, its last
        // invoice and what it owes — for these rows only.
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let month = BillingMonth::containing(self.ctx.clock.today());
        let history =
            users::histories(&self.ctx.db, &ids, month.start_millis(), month.end_millis()).await?;
        let money = invoices::money_of(pool, &ids).await?;
        let page_plans = plans::of_accounts(pool, &ids, month).await?;
        let standard = self.standard_plan();
        let mut estimates = Vec::with_capacity(rows.len());
        for r in &rows {
            let plan = page_plans.get(&r.id).copied().unwrap_or(standard);
            let peak = peak_users(history.get(&r.id).map_or(&[][..], Vec::as_slice), month);
            let estimate = plan.invoice_amount(peak).map_or(i64::MAX, Money::minor);
            estimates.push((peak, estimate, plan.price_per_user.currency()));
        }
        let accounts = rows
            .into_iter()
            .zip(estimates)
            .map(
                |(r, (peak_this_month, estimate_cents, currency))| CustomerAccountRow {
                    peak_this_month,
                    currency,
                    estimate_cents,
                    monthly_revenue_cents: money.get(&r.id).map_or(0, |m| m.0),
                    amount_due_cents: money.get(&r.id).map_or(0, |m| m.1),
                    id: r.id,
                    name: r.name,
                    created_at: r.created_at,
                    administrators: u32::try_from(r.administrators).unwrap_or(0),
                    users: u32::try_from(r.users).unwrap_or(0),
                    past_due: r.past_due != 0,
                    card_on_file: r.card_on_file != 0,
                    status: AccountStatus::from_code(&r.status).unwrap_or_default(),
                },
            )
            .collect();
        Ok(CustomerAccountPage {
            accounts,
            matching: matching.max(0) as u64,
            total: total.max(0) as u64,
            page,
            per_page: ACCOUNTS_PER_PAGE,
        })
    }
}

/// A customer account as the REST API shows one: its standing and plans, no money.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountSummary {
    pub id: String,
    pub name: String,
    /// UTC milliseconds.
    pub created_at: i64,
    pub status: AccountStatus,
    pub status_reason: Option<String>,
    pub past_due: bool,
    /// This month's plan.
    pub plan: Plan,
    /// A plan set for a later month: that month (`YYYY-MM`) and the plan.
    pub next_plan: Option<(String, Plan)>,
}

/// An account's users this month, as the REST API shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    pub month: BillingMonth,
    pub users_now: u64,
    /// The most users at once so far this month, and the first day it was reached.
    pub peak: u64,
    pub peak_on: tally_core::NaiveDate,
    pub plan: Plan,
    /// What this month's invoice would be on today's peak, in cents.
    pub estimate_cents: i64,
}

impl Customers {
    /// Up to `limit` accounts in the order they were made, after the account `after` (from
    /// the first without one): the REST API's list.
    pub async fn summaries(
        &self,
        operator: &OperatorActor,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, ServiceError> {
        allowed(operator, OperatorAction::ViewConsole)?;
        let rows = accounts::page_after(self.ctx.db.pool(), after.unwrap_or(""), limit).await?;
        self.summarise(rows).await
    }

    /// One account, as [`Customers::summaries`] shows it.
    pub async fn summary(
        &self,
        operator: &OperatorActor,
        account_id: &str,
    ) -> Result<AccountSummary, ServiceError> {
        allowed(operator, OperatorAction::ViewConsole)?;
        let account = accounts::by_id(self.ctx.db.pool(), account_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(self.summarise(vec![account]).await?.remove(0))
    }

    async fn summarise(
        &self,
        rows: Vec<accounts::AccountRow>,
    ) -> Result<Vec<AccountSummary>, ServiceError> {
        let pool = self.ctx.db.pool();
        let month = BillingMonth::containing(self.ctx.clock.today());
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let now = plans::of_accounts(pool, &ids, month).await?;
        let standard = self.standard_plan();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(AccountSummary {
                plan: now.get(&r.id).copied().unwrap_or(standard),
                next_plan: plans::next_change(pool, &r.id, month).await?,
                id: r.id,
                name: r.name,
                created_at: r.created_at,
                status: r.status,
                status_reason: r.status_reason,
                past_due: r.past_due.0,
            });
        }
        Ok(out)
    }

    /// The account's users this month: now, the peak and its day, and the estimate.
    pub async fn usage(
        &self,
        operator: &OperatorActor,
        account_id: &str,
    ) -> Result<Usage, ServiceError> {
        allowed(operator, OperatorAction::ViewConsole)?;
        let pool = self.ctx.db.pool();
        let account = accounts::by_id(pool, account_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let today = self.ctx.clock.today();
        let month = BillingMonth::containing(today);
        let plan = plans::for_month(pool, &account.id, month, self.standard_plan()).await?;
        let changes = users::history_since(pool, &account.id, month.start_millis()).await?;
        let users_now = changes.iter().map(|c| c.delta).sum::<i64>().max(0) as u64;
        let days = daily_peaks(&changes, month, today);
        let peak = days.iter().copied().max().unwrap_or(0);
        let first = days.iter().position(|&d| d == peak).unwrap_or(0);
        Ok(Usage {
            month,
            users_now,
            peak,
            peak_on: month.first_day() + chrono::Days::new(first as u64),
            estimate_cents: plan.invoice_amount(peak).map_or(i64::MAX, Money::minor),
            plan,
        })
    }

    /// The seller acting in an account as one of its administrators would (the REST API's
    /// users): an [`Actor`] of the account named after `operator`, with every role's rights;
    /// refused once the account is closed, which is read-only.
    pub async fn acting_in(
        &self,
        operator: &OperatorActor,
        account_id: &str,
        change: bool,
    ) -> Result<Actor, ServiceError> {
        allowed(operator, OperatorAction::ManageAccounts)?;
        let account = accounts::by_id(self.ctx.db.pool(), account_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if change && account.status == AccountStatus::Closed {
            return Err(ServiceError::Conflict(
                tally_core::account_status::refusal(AccountStatus::Closed).into(),
            ));
        }
        Ok(Actor {
            id: operator.id.clone(),
            account_id: account.id,
            account_name: account.name,
            email: format!("{} (the seller's staff)", operator.email),
            first_name: operator.first_name.clone(),
            last_name: operator.last_name.clone(),
            role: Role::AdministratorWithBilling,
            account_past_due: account.past_due.0,
            account_status: account.status,
            must_set_up_two_step: false,
            ip: operator.ip.clone(),
            verified_at: operator.verified_at,
            session: String::new(),
        })
    }
}

/// How many accounts one search finds by id, from an administrator's address or an invoice's
/// number, before the list stops naming them.
const FOUND_BY_ID_AT_MOST: usize = 200;

/// The accounts a search found by an administrator's address or an invoice's number.
enum Found {
    Ids(Vec<String>),
    /// More than [`FOUND_BY_ID_AT_MOST`].
    Many,
}

/// The list's filters as SQL: only the conditions asked for, each able to use its index (a
/// condition switched off by a parameter, `$5 = '' OR …`, cannot on SQLite, which plans
/// before it knows the values), with their values in the order of their `$n`.
struct ListFilter {
    conditions: Vec<String>,
    args: Vec<String>,
}

impl ListFilter {
    fn of(query: &AccountQuery, search: &str, found: Found) -> Self {
        let mut filter = ListFilter {
            conditions: Vec::new(),
            args: Vec::new(),
        };
        if !search.is_empty() {
            let text = filter.arg(search.to_owned());
            let name = format!("LOWER(c.name) LIKE '%' || {text} || '%'");
            let condition = match found {
                Found::Ids(ids) if ids.is_empty() => name,
                Found::Ids(ids) => {
                    let marks: Vec<String> = ids.into_iter().map(|id| filter.arg(id)).collect();
                    format!("({name} OR c.id IN ({}))", marks.join(", "))
                }
                // So many addresses start with the search that the list's order finds a
                // page of them soonest.
                Found::Many => {
                    let beyond = filter.arg(format!("{search}\u{10FFFF}"));
                    let number = filter.arg(query.search.trim().to_uppercase());
                    format!(
                        "({name} \
                         OR c.id IN (SELECT a.account_id FROM admins a WHERE a.email_key >= {text} AND a.email_key < {beyond}) \
                         OR c.id IN (SELECT i.account_id FROM invoices i WHERE i.number = {number}))"
                    )
                }
            };
            filter.conditions.push(condition);
        }
        if query.past_due_only {
            filter.conditions.push("c.past_due".into());
        }
        if query.no_card_only {
            filter.conditions.push(
                "NOT EXISTS (SELECT 1 FROM payment_methods pm WHERE pm.account_id = c.id)".into(),
            );
        }
        if let Some(status) = query.status {
            let code = filter.arg(status.code().to_owned());
            filter.conditions.push(format!("c.status = {code}"));
        }
        filter
    }

    /// The value's placeholder, `$n`.
    fn arg(&mut self, value: String) -> String {
        self.args.push(value);
        format!("${}", self.args.len())
    }

    fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        }
    }
}

/// `input`, its currency left blank meaning `plan`'s.
fn with_currency(input: &PlanInput, plan: &Plan) -> PlanInput {
    let mut input = input.clone();
    if input.currency.trim().is_empty() {
        input.currency = plan.price_per_user.currency().code().to_string();
    }
    input
}

/// A plan in words, for the audit log.
fn plan_text(plan: &Plan) -> String {
    format!(
        "{} per user beyond {} free, billed on the {}",
        plan.price_per_user,
        plan.free_users,
        tally_core::billing::ordinal_day(plan.billing_day)
    )
}
