//! `tally --demo`: on an empty database, seeds the seller with an operator of each role, and a
//! demo customer account with an administrator of every role, 14 users, billing information
//! and a sandbox card, dated four months back, and prints how to sign in, so a newcomer can
//! look around at once. The billing scheduler's catch-up at
//! start then invoices the months since, so there is an invoice history too. Each row is
//! written by the module that owns its table.

use tally_core::{
    address::Address,
    billing::Plan,
    card::Brand,
    codes::UserStatus,
    contact::Email,
    forms::{BillingInfo, NewUser, PaymentInfo},
    operators::{OperatorRole, ALL_OPERATOR_ROLES},
    roles::{Role, ALL_ROLES},
    seller::SellerDetails,
};
use tally_services::{
    billing::{cards, info::BillingInformation},
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
        default_plan: Plan::per_user(ctx.settings.price_per_user),
    };
    if !profile::claim(&mut tx, &seller, now).await? {
        return Ok(None);
    }
    let mut operator_logins = Vec::new();
    for (i, role) in ALL_OPERATOR_ROLES.into_iter().enumerate() {
        let address = email(&format!(
            "{}@seller.demo.tally.test",
            role.code().replace('_', "-")
        ))?;
        let (first, last) = DEMO_NAMES[(i + 3) % DEMO_NAMES.len()];
        let row = operators::NewOperatorRow {
            id: &ctx.new_id(),
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
    // What the sandbox would have kept of its always-succeeding test card.
    let holder = PaymentInfo {
        cardholder_name: "Ada Okafor".into(),
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
    cards::seed(&mut tx, &account_id, &card).await?;
    tx.commit().await.context("seeding the demo")?;
    Ok(Some(DemoLogins {
        password,
        admins: logins,
        operators: operator_logins,
    }))
}
