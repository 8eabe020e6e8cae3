//! `tally --demo`: on an empty database, seeds the seller with an operator of each role, and a
//! demo customer account with an administrator of every role, 14 users, billing information
//! and a sandbox card, dated four months back, and prints how to sign in, so a newcomer can
//! look around at once; and about 50 more customer accounts with varied histories (paying,
//! failing to pay, suspended, closed) for the operator console. The months since are invoiced
//! and charged at once, so there is an invoice history too, and a few paying customers are
//! credited part of their latest invoice. Each row is written by the module that owns its
//! table.

use tally_core::{
    account_status::AccountStatus,
    actor::OperatorActor,
    address::Address,
    billing::Plan,
    card::Brand,
    codes::UserStatus,
    contact::Email,
    forms::{BillingInfo, NewUser, PaymentInfo},
    money_actions::CreditNoteInput,
    operators::{OperatorRole, ALL_OPERATOR_ROLES},
    roles::{Role, ALL_ROLES},
    seller::SellerDetails,
};
use tally_services::{
    billing::{cards, info::BillingInformation, invoices, plans},
    directory::users,
    identity::{
        accounts::{self, admins},
        operators::rows as operators,
    },
    platform::{
        crypto::{hash_password, new_token},
        error::{ResultExt, ServiceError},
    },
    seller::profile,
    Services,
};

/// What was seeded, to print.
pub struct DemoLogins {
    pub password: String,
    pub admins: Vec<(Role, String)>,
    pub operators: Vec<(OperatorRole, String)>,
}

const DEMO_NAMES: [(&str, &str); 7] = [
    ("Ada", "Okafor"),
    ("Ben", "Ruiz"),
    ("Chen", "Wei"),
    ("Dana", "Kovač"),
    ("Eli", "Haddad"),
    ("Fay", "Nguyen"),
    ("Gus", "Lindqvist"),
];

fn email(text: &str) -> Result<Email, ServiceError> {
    Email::parse(text).map_err(|e| ServiceError::invariant("seeding the demo", e.to_string()))
}

fn demo_address() -> Address {
    Address {
        country: "US".into(),
        line1: "1 Market St".into(),
        line2: None,
        city: "San Francisco".into(),
        region: Some("CA".into()),
        postal_code: "94105".into(),
    }
}

/// Seeds the demo account unless any account exists; returns the sign-in details it made.
pub async fn seed(services: &Services) -> Result<Option<DemoLogins>, ServiceError> {
    let ctx = &services.ctx;
    if !services.setup.first_start().await? {
        return Ok(None);
    }
    // One random password for every demo administrator, printed once.
    let password = format!("demo {} tally", &new_token()[..10]);
    let hash = hash_password(&password);
    let now = ctx.now();
    // Four months back: the scheduler's catch-up invoices the months since.
    let since = now - 120 * 86_400_000;
    let account_id = ctx.new_id();
    let mut tx = ctx.db.pool().begin().await.context("seeding the demo")?;
    let seller = SellerDetails {
        legal_name: "Demo Seller Inc.".into(),
        contact_email: email("billing@seller.demo.tally.test")?,
        address: demo_address(),
        tax_id: None,
        default_plan: Plan::per_user(ctx.settings.price_per_user),
    };
    if !profile::claim(&mut tx, &seller, now).await? {
        return Ok(None);
    }
    let mut operator_logins = Vec::new();
    let mut owner = None;
    for (i, role) in ALL_OPERATOR_ROLES.into_iter().enumerate() {
        let address = email(&format!(
            "{}@seller.demo.tally.test",
            role.code().replace('_', "-")
        ))?;
        let (first, last) = DEMO_NAMES[(i + 3) % DEMO_NAMES.len()];
        let id = ctx.new_id();
        if role == OperatorRole::Owner {
            owner = Some(OperatorActor {
                id: id.clone(),
                email: address.to_string(),
                first_name: first.into(),
                last_name: last.into(),
                role,
                must_set_up_two_step: false,
                ip: None,
                verified_at: now,
                session: String::new(),
            });
        }
        let row = operators::NewOperatorRow {
            id: &id,
            email: &address,
            first_name: first,
            last_name: last,
            role,
            password_hash: Some(&hash),
            now,
        };
        operators::insert(&mut *tx, &row).await?;
        operator_logins.push((role, address.to_string()));
    }
    accounts::insert(&mut *tx, &account_id, "Demo Company", since).await?;
    let mut logins = Vec::new();
    for (i, role) in ALL_ROLES.into_iter().enumerate() {
        let address = email(&format!(
            "{}@demo.tally.test",
            role.code().replace('_', "-")
        ))?;
        let (first, last) = DEMO_NAMES[i % DEMO_NAMES.len()];
        let id = ctx.new_id();
        let admin = admins::NewAdminRow {
            id: &id,
            account_id: &account_id,
            email: &address,
            first_name: first,
            last_name: last,
            role,
            password_hash: Some(&hash),
            now,
        };
        admins::insert(&mut *tx, &admin).await?;
        logins.push((role, address.to_string()));
    }
    // 12 users from the start, 2 more a month later: some months cost more than others.
    for i in 0..14_usize {
        let at = if i < 12 {
            since
        } else {
            since + 30 * 86_400_000
        };
        let (first, last) = DEMO_NAMES[i % DEMO_NAMES.len()];
        let user = NewUser {
            first_name: first.into(),
            last_name: last.into(),
            email: email(&format!("user{}@demo.tally.test", i + 1))?,
        };
        let status = if i == 13 {
            UserStatus::Suspended
        } else {
            UserStatus::Active
        };
        users::seed(&mut tx, ctx, &account_id, &user, status, at).await?;
    }
    let info = BillingInfo {
        company_name: "Demo Company".into(),
        contact_name: "Ada Okafor".into(),
        contact_email: email("billing@demo.tally.test")?,
        contact_phone: None,
        address: demo_address(),
        tax_id: None,
    };
    BillingInformation::seed(&mut tx, &account_id, &info, since).await?;
    seed_card(&mut tx, ctx, &account_id, "Ada Okafor", since).await?;
    let customers = seed_customers(&mut tx, ctx, now).await?;
    tx.commit().await.context("seeding the demo")?;
    // The months since, invoiced and charged now rather than at the scheduler's first pass,
    // so the history has credit notes too.
    for month in services.billing_run.months_to_catch_up().await? {
        services.billing_run.run_month(month).await?;
    }
    if let Some(owner) = owner {
        seed_credit_notes(services, &owner, &customers).await?;
    }
    Ok(Some(DemoLogins {
        password,
        admins: logins,
        operators: operator_logins,
    }))
}

/// A few paying customers credited part of their latest invoice by the seller's Owner, for an
/// outage: refunded to their card, as any credit note of an invoice paid by card.
async fn seed_credit_notes(
    services: &Services,
    owner: &OperatorActor,
    customers: &[String],
) -> Result<(), ServiceError> {
    let pool = services.ctx.db.pool();
    for account in customers.iter().step_by(9) {
        let Some(latest) = invoices::latest(pool, account, 1).await?.pop() else {
            continue;
        };
        if latest.creditable().minor() < 300 {
            continue;
        }
        let third = latest.creditable().minor() / 3;
        let input = CreditNoteInput {
            whole: false,
            amount: format!("{}.{:02}", third / 100, third % 100),
            reason: "Demo: credit for the outage on the 9th".into(),
        };
        services
            .money
            .credit_note(owner, account, &latest.id, &input)
            .await?;
    }
    Ok(())
}

/// What the sandbox would have kept of its always-succeeding test card, saved at `since`.
async fn seed_card(
    tx: &mut sqlx::AnyConnection,
    ctx: &tally_services::platform::context::Context,
    account_id: &str,
    cardholder: &str,
    since: i64,
) -> Result<(), ServiceError> {
    let holder = PaymentInfo {
        cardholder_name: cardholder.into(),
        address: demo_address(),
    };
    let token = format!("tok_sandbox_{}", ctx.new_id());
    let card = cards::CardToKeep {
        token: &token,
        fingerprint: "demo",
        brand: Brand::Visa,
        last4: "4242",
        exp_month: 12,
        exp_year: chrono::Datelike::year(&ctx.clock.today()) + 3,
        holder: &holder,
        saved_by: None,
        saved_at: since,
    };
    cards::seed(tx, account_id, &card).await
}

const FIRST_WORDS: [&str; 10] = [
    "Acme", "Birch", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Indigo", "Juniper",
];
const SECOND_WORDS: [&str; 5] = ["Labs", "Logistics", "Health", "Studio", "Foods"];

/// About 50 more customer accounts for the console to show, each made months ago with an
/// invited Administrator With Billing, users, a plan of its own, billing information and —
/// most of them — a sandbox card; a few without a card (their charges fail), two suspended
/// and two closed. The scheduler's catch-up at start invoices and charges their months.
async fn seed_customers(
    tx: &mut sqlx::AnyConnection,
    ctx: &tally_services::platform::context::Context,
    now: i64,
) -> Result<Vec<String>, ServiceError> {
    const DAY: i64 = 86_400_000;
    let mut made = Vec::new();
    for i in 0..FIRST_WORDS.len() * SECOND_WORDS.len() {
        let name = format!(
            "{} {}",
            FIRST_WORDS[i % FIRST_WORDS.len()],
            SECOND_WORDS[i / FIRST_WORDS.len()]
        );
        let slug = name.to_lowercase().replace(' ', "-");
        let id = ctx.new_id();
        let since = now - (1 + (i as i64 % 12)) * 31 * DAY;
        accounts::insert(&mut *tx, &id, &name, since).await?;
        let (first, last) = DEMO_NAMES[i % DEMO_NAMES.len()];
        let owner = email(&format!("owner@{slug}.demo.tally.test"))?;
        let admin = admins::NewAdminRow {
            id: &ctx.new_id(),
            account_id: &id,
            email: &owner,
            first_name: first,
            last_name: last,
            role: Role::AdministratorWithBilling,
            password_hash: None,
            now: since,
        };
        admins::insert(&mut *tx, &admin).await?;
        let plan = Plan {
            price_per_user: tally_core::money::Money::usd([300, 500, 700, 900][i % 4]),
            free_users: [5, 10][i % 2],
            // Most bill on the 1st; some later in the month, their last month invoiced then.
            billing_day: [1, 1, 1, 15, 28][i % 5],
        };
        let started = tally_core::billing::BillingMonth::containing(
            tally_core::billing::date_of_millis(since).unwrap_or_else(|| ctx.clock.today()),
        );
        plans::set(&mut *tx, &id, started, &plan, since).await?;
        for u in 0..(4 + (i * 7) % 30) {
            let user = NewUser {
                first_name: DEMO_NAMES[u % DEMO_NAMES.len()].0.into(),
                last_name: DEMO_NAMES[(u + i) % DEMO_NAMES.len()].1.into(),
                email: email(&format!("user{}@{slug}.demo.tally.test", u + 1))?,
            };
            // A few join later: their months peak higher.
            let at = since + (u as i64 % 3) * 20 * DAY;
            users::seed(&mut *tx, ctx, &id, &user, UserStatus::Active, at.min(now)).await?;
        }
        let info = BillingInfo {
            company_name: name.clone(),
            contact_name: format!("{first} {last}"),
            contact_email: email(&format!("billing@{slug}.demo.tally.test"))?,
            contact_phone: None,
            address: demo_address(),
            tax_id: None,
        };
        BillingInformation::seed(&mut *tx, &id, &info, since).await?;
        if i % 5 != 1 {
            seed_card(&mut *tx, ctx, &id, &format!("{first} {last}"), since).await?;
        }
        let standing = match i {
            7 | 23 => Some((AccountStatus::Suspended, "Demo: invoices left unpaid")),
            13 | 41 => Some((AccountStatus::Closed, "Demo: moved to another provider")),
            _ => None,
        };
        if let Some((status, reason)) = standing {
            accounts::set_status(
                &mut *tx,
                &id,
                AccountStatus::Active,
                status,
                Some(reason),
                now,
            )
            .await?;
        }
        made.push(id);
    }
    Ok(made)
}
