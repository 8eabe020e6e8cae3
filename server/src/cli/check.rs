//! `tally check`: the effective configuration with its secrets masked, then each dependency
//! tried — the database, its migrations, the mail transport, the secret key — with one line
//! per problem. Nothing is changed: no migration is applied, no key is made, no mail is sent.

use tally_services::{
    billing::gateway::stripe::api::check_key,
    platform::{
        config::{GatewaySettings, LogFormat, Settings},
        db::{self, Backend, Database},
        mail::Mailer,
        secrets::{self, KeySource, KEY_FILE},
    },
};

/// What `tally check` found.
#[derive(Debug, Default)]
pub struct Report {
    /// `NAME = value` lines of the effective configuration (secrets masked).
    pub settings: Vec<(String, String)>,
    /// What was checked and found in order.
    pub passed: Vec<String>,
    /// One line per problem; empty means the server can start.
    pub problems: Vec<String>,
}

/// The configuration as the server will use it, secrets masked.
pub fn effective(settings: &Settings) -> Vec<(String, String)> {
    let brands: Vec<&str> = settings
        .accepted_brands
        .brands()
        .iter()
        .map(|b| b.code())
        .collect();
    let set_or = |v: &Option<String>, unset: &str| match v {
        Some(_) => "(set, hidden)".to_string(),
        None => unset.to_string(),
    };
    [
        ("TALLY_ADDR", settings.listen_addr.to_string()),
        ("TALLY_PUBLIC_URL", settings.public_url.clone()),
        ("TALLY_DATA_DIR", settings.data_dir.display().to_string()),
        ("DATABASE_URL", db::redact(&settings.database_url)),
        ("LEPTOS_SITE_ROOT", settings.site_root.display().to_string()),
        (
            "TALLY_LOG_FORMAT",
            match settings.log_format {
                LogFormat::Text => "text".into(),
                LogFormat::Json => "json".into(),
            },
        ),
        (
            "TALLY_SMTP_URL",
            settings
                .smtp
                .as_ref()
                .map(|smtp| format!("{} ({})", db::redact(&smtp.url), smtp.tls.describe()))
                .unwrap_or_else(|| "(unset: .eml files in the outbox folder)".into()),
        ),
        ("TALLY_MAIL_FROM", settings.mail_from.clone()),
        (
            "TALLY_SECRET_KEY",
            set_or(
                &settings.secret_key,
                &format!("(unset: the key file {KEY_FILE} in the data folder)"),
            ),
        ),
        (
            "TALLY_SESSION_IDLE_MINUTES",
            settings.session_idle_minutes.to_string(),
        ),
        (
            "TALLY_SESSION_ABSOLUTE_MINUTES",
            settings.session_absolute_minutes.to_string(),
        ),
        (
            "TALLY_SIGN_IN_PER_IP_MINUTE",
            settings.sign_in_attempts_per_ip_minute.to_string(),
        ),
        (
            "TALLY_API_RATE_LIMIT",
            format!("{} requests a second per API key", settings.api_rate_limit),
        ),
        (
            "TALLY_TRUST_PROXY",
            match settings.trust_proxy {
                0 => "false (the peer's address is the client's)".to_string(),
                n => format!("{n} (X-Forwarded-For, {n} from the right)"),
            },
        ),
        ("TALLY_ACCEPTED_CARD_BRANDS", brands.join(",")),
        (
            "TALLY_PRICE_PER_USER_CENTS",
            settings.price_per_user.minor().to_string(),
        ),
        (
            "TALLY_BILLING_SCHEDULER",
            settings.billing_scheduler.to_string(),
        ),
        (
            "TALLY_SCHEDULER_SECONDS",
            settings.scheduler_seconds.to_string(),
        ),
        ("TALLY_BACKUP_KEEP", settings.backup_keep.to_string()),
        (
            "TALLY_BACKUP_DIR",
            settings.backup_dir.display().to_string(),
        ),
        (
            "TALLY_METRICS_TOKEN",
            set_or(&settings.metrics_token, "(unset: /metrics is off)"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain(gateway_settings(settings))
    .collect()
}

/// The payment gateway's settings, its keys hidden.
fn gateway_settings(settings: &Settings) -> Vec<(String, String)> {
    match &settings.gateway {
        GatewaySettings::Sandbox => vec![("TALLY_GATEWAY".into(), "sandbox".into())],
        GatewaySettings::Stripe(s) => vec![
            ("TALLY_GATEWAY".into(), "stripe".into()),
            ("TALLY_STRIPE_SECRET_KEY".into(), "(set, hidden)".into()),
            (
                "TALLY_STRIPE_PUBLISHABLE_KEY".into(),
                s.publishable_key.clone(),
            ),
            ("TALLY_STRIPE_WEBHOOK_SECRET".into(), "(set, hidden)".into()),
            ("TALLY_STRIPE_API_BASE".into(), s.api_base.clone()),
        ],
    }
}

/// Checks everything the server needs, changing nothing.
pub async fn run(settings: &Settings) -> Report {
    let mut report = Report {
        settings: effective(settings),
        ..Report::default()
    };
    let mut ok = |line: String| report.passed.push(line);
    let mut problems = Vec::new();

    // The database and its migrations. An SQLite file that does not exist yet is made by the
    // first start: not a problem, and not made here.
    let backend = Backend::of_url(&settings.database_url);
    let sqlite_missing = backend == Some(Backend::Sqlite)
        && db::sqlite_file(&settings.database_url).is_some_and(|f| !f.exists());
    let database = if sqlite_missing {
        ok("database: no SQLite file yet; the first start creates it".into());
        None
    } else {
        match Database::connect(&settings.database_url).await {
            Ok(db) => match db.ping().await {
                Ok(()) => {
                    ok(format!("database: {} answers", db.backend().display_name()));
                    Some(db)
                }
                Err(e) => {
                    problems.push(format!("database: {e}"));
                    None
                }
            },
            Err(e) => {
                problems.push(format!("database: {e}"));
                None
            }
        }
    };
    if let Some(db) = &database {
        let latest = db.backend().latest_migration();
        match db.applied_migration().await {
            Ok(Some(v)) if v == latest => ok(format!("migrations: all applied (schema {v})")),
            Ok(Some(v)) if v < latest => ok(format!(
                "migrations: schema {v}; the next start applies those up to {latest}"
            )),
            Ok(Some(v)) => problems.push(format!(
                "migrations: the database has schema {v}, newer than this Tally knows ({latest}); run the newer version"
            )),
            Ok(None) | Err(_) => {
                ok("migrations: an empty database; the first start creates the tables".into())
            }
        }
    }

    // Mail: the outbox folder must be writable, or the SMTP server must answer.
    match Mailer::from_settings(settings) {
        Ok(mailer) => match mailer.check().await {
            Ok(what) => ok(format!("mail: {what}")),
            Err(e) => problems.push(format!("mail: {e}")),
        },
        Err(e) => problems.push(format!("mail: {e}")),
    }

    // The payment processor: its API answers the secret key.
    if let GatewaySettings::Stripe(stripe) = &settings.gateway {
        match check_key(stripe).await {
            Ok(()) => ok(format!(
                "payment processor: {} accepts the secret key",
                stripe.api_base
            )),
            Err(e) => problems.push(format!("payment processor: {e}")),
        }
    }

    // The secret key: readable and well-formed, and, when the database already holds sealed
    // keys, the one that opens them.
    match KeySource::from_settings(settings.secret_key.as_deref(), &settings.data_dir) {
        Err(e) => problems.push(format!("secret key: {e}")),
        Ok(source) => {
            let sealed = match &database {
                Some(db) => secrets::stored_count(db).await.unwrap_or(0),
                None => 0,
            };
            match (source.exists(), sealed) {
                (Err(e), _) => problems.push(format!("secret key: {e}")),
                (Ok(false), 0) => {
                    ok("secret key: none yet; the first start makes the key file".into())
                }
                (Ok(false), n) => problems.push(format!(
                    "secret key: {} is missing, but the database holds {n} sealed keys; restore the key it was made with",
                    source.describe()
                )),
                (Ok(true), 0) => ok(format!(
                    "secret key: {} is readable; nothing sealed with it yet",
                    source.describe()
                )),
                (Ok(true), _) => {
                    if let Some(db) = database.as_ref() {
                        match secrets::load(&source, db).await {
                            Ok(_) => ok(format!(
                                "secret key: {} opens the database's sealed keys",
                                source.describe()
                            )),
                            Err(e) => problems.push(format!("secret key: {e}")),
                        }
                    }
                },
            }
        }
    }
    if let Some(db) = database {
        db.close().await;
    }
    report.problems = problems;
    report
}
