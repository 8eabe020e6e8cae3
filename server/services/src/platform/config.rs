//! One typed settings struct, read from the environment once at start.
//!
//! Each variable is a field of [`Variables`], declared with clap (its name, default and
//! parser); [`Settings`] adds what follows from them and the checks that must not quote a
//! value (keys). Every variable is listed, with its default, in the README's configuration
//! table.

use std::{net::SocketAddr, path::PathBuf};

use clap::{error::ContextKind, Args, FromArgMatches};
use url::Url;

use crate::platform::mail::smtp_url::SmtpUrl;

/// Every variable the server reads, as typed; unset (or empty) ones take their default.
#[derive(Args, Clone, Debug)]
struct Variables {
    #[arg(long, env = "TALLY_ADDR", value_name = "TALLY_ADDR", value_parser = socket_addr)]
    addr: Option<SocketAddr>,
    #[arg(long, env = "LEPTOS_SITE_ADDR", value_name = "LEPTOS_SITE_ADDR", value_parser = socket_addr)]
    leptos_site_addr: Option<SocketAddr>,
    #[arg(
        long,
        env = "TALLY_DATA_DIR",
        value_name = "TALLY_DATA_DIR",
        default_value = "data"
    )]
    data_dir: PathBuf,
    #[arg(long, env = "DATABASE_URL", value_name = "DATABASE_URL", value_parser = database_url)]
    database_url: Option<String>,
    #[arg(
        long,
        env = "LEPTOS_SITE_ROOT",
        value_name = "LEPTOS_SITE_ROOT",
        default_value = "target/site"
    )]
    site_root: PathBuf,
    #[arg(long, env = "TALLY_PUBLIC_URL", value_name = "TALLY_PUBLIC_URL", value_parser = public_url)]
    public_url: Option<Url>,
    #[arg(long, env = "TALLY_LOG_FORMAT", value_name = "TALLY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[arg(long, env = "TALLY_SMTP_URL", value_name = "TALLY_SMTP_URL")]
    smtp_url: Option<String>,
    #[arg(
        long,
        env = "TALLY_MAIL_FROM",
        value_name = "TALLY_MAIL_FROM",
        default_value = "Tally <tally@localhost>"
    )]
    mail_from: String,
    #[arg(long, env = "TALLY_SESSION_IDLE_MINUTES", value_name = "TALLY_SESSION_IDLE_MINUTES", default_value_t = 15, value_parser = positive)]
    session_idle_minutes: i64,
    #[arg(long, env = "TALLY_SESSION_ABSOLUTE_MINUTES", value_name = "TALLY_SESSION_ABSOLUTE_MINUTES", default_value_t = 12 * 60, value_parser = positive)]
    session_absolute_minutes: i64,
    #[arg(long, env = "TALLY_SIGN_IN_PER_IP_MINUTE", value_name = "TALLY_SIGN_IN_PER_IP_MINUTE", default_value_t = 20, value_parser = positive)]
    sign_in_per_ip_minute: i64,
    #[arg(long, env = "TALLY_SIGN_IN_PER_ADDRESS", value_name = "TALLY_SIGN_IN_PER_ADDRESS", default_value_t = 30, value_parser = positive)]
    sign_in_per_address: i64,
    #[arg(long, env = "TALLY_API_RATE_LIMIT", value_name = "TALLY_API_RATE_LIMIT", default_value_t = 100, value_parser = positive)]
    api_rate_limit: i64,
    #[arg(long, env = "TALLY_TRUST_PROXY", value_name = "TALLY_TRUST_PROXY", default_value = "false", value_parser = proxy_hops)]
    trust_proxy: u32,
    #[arg(long, env = "TALLY_ALLOW_HTTP", value_name = "TALLY_ALLOW_HTTP", default_value_t = false, value_parser = true_or_false, action = clap::ArgAction::Set)]
    allow_http: bool,
    #[arg(long, env = "TALLY_ACCEPTED_CARD_BRANDS", value_name = "TALLY_ACCEPTED_CARD_BRANDS", value_parser = card_brands)]
    accepted_card_brands: Option<tally_core::card::AcceptedBrands>,
    #[arg(long, env = "TALLY_PRICE_PER_USER_CENTS", value_name = "TALLY_PRICE_PER_USER_CENTS", default_value_t = 500, value_parser = positive)]
    price_per_user_cents: i64,
    #[arg(long, env = "TALLY_BILLING_SCHEDULER", value_name = "TALLY_BILLING_SCHEDULER", default_value_t = true, value_parser = true_or_false, action = clap::ArgAction::Set)]
    billing_scheduler: bool,
    #[arg(long, env = "TALLY_SCHEDULER_SECONDS", value_name = "TALLY_SCHEDULER_SECONDS", default_value_t = 600, value_parser = positive)]
    scheduler_seconds: i64,
    #[arg(long, env = "TALLY_SPEND_ALERT_SECONDS", value_name = "TALLY_SPEND_ALERT_SECONDS", default_value_t = 60, value_parser = positive)]
    spend_alert_seconds: i64,
    #[arg(long, env = "TALLY_BACKUP_KEEP", value_name = "TALLY_BACKUP_KEEP", default_value_t = 14, value_parser = backups_kept)]
    backup_keep: u32,
    #[arg(long, env = "TALLY_BACKUP_DIR", value_name = "TALLY_BACKUP_DIR")]
    backup_dir: Option<PathBuf>,
    // Secrets are read as text and checked afterwards: a parser's refusal would quote them.
    #[arg(
        long,
        env = "TALLY_METRICS_TOKEN",
        value_name = "TALLY_METRICS_TOKEN",
        hide_env_values = true
    )]
    metrics_token: Option<String>,
    #[arg(
        long,
        env = "TALLY_SECRET_KEY",
        value_name = "TALLY_SECRET_KEY",
        hide_env_values = true
    )]
    secret_key: Option<String>,
    #[arg(long, env = "TALLY_GATEWAY", value_name = "TALLY_GATEWAY", value_enum, default_value_t = GatewayKind::Sandbox)]
    gateway: GatewayKind,
    #[arg(
        long,
        env = "TALLY_STRIPE_SECRET_KEY",
        value_name = "TALLY_STRIPE_SECRET_KEY",
        hide_env_values = true
    )]
    stripe_secret_key: Option<String>,
    #[arg(
        long,
        env = "TALLY_STRIPE_PUBLISHABLE_KEY",
        value_name = "TALLY_STRIPE_PUBLISHABLE_KEY",
        hide_env_values = true
    )]
    stripe_publishable_key: Option<String>,
    #[arg(
        long,
        env = "TALLY_STRIPE_WEBHOOK_SECRET",
        value_name = "TALLY_STRIPE_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    stripe_webhook_secret: Option<String>,
    #[arg(long, env = "TALLY_STRIPE_API_BASE", value_name = "TALLY_STRIPE_API_BASE", default_value = "https://api.stripe.com", value_parser = api_base)]
    stripe_api_base: Url,
}

/// Everything the server reads from its environment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `TALLY_ADDR` (or `LEPTOS_SITE_ADDR`, which cargo-leptos sets): where to listen.
    pub listen_addr: SocketAddr,
    /// `TALLY_DATA_DIR`: folder for the SQLite file and the mail outbox; created on first start.
    pub data_dir: PathBuf,
    /// `DATABASE_URL`: `sqlite://…` or `postgres://…`; defaults to `<data dir>/tally.db`.
    pub database_url: String,
    /// `LEPTOS_SITE_ROOT`: the folder cargo-leptos built the static site (pkg/, assets) into.
    pub site_root: PathBuf,
    /// `TALLY_PUBLIC_URL`: the address people reach Tally at; links in emails start with it.
    pub public_url: String,
    /// `TALLY_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `TALLY_SMTP_URL`: send mail by SMTP (`smtps://user:pass@host:465`, or
    /// `smtp://user:pass@host:587?tls=required`; plain SMTP only to this machine or with
    /// `plain=yes`); unset writes `.eml` files to `<data dir>/outbox`.
    pub smtp: Option<SmtpUrl>,
    /// `TALLY_MAIL_FROM`: the sender of every email.
    pub mail_from: String,
    /// `TALLY_SESSION_IDLE_MINUTES` (15): a session unused this long ends.
    pub session_idle_minutes: i64,
    /// `TALLY_SESSION_ABSOLUTE_MINUTES` (720): a session ends this long after sign-in.
    pub session_absolute_minutes: i64,
    /// Failed sign-ins before an administrator is locked out (10).
    pub lockout_failures: i64,
    /// Minutes a lockout lasts (30).
    pub lockout_minutes: i64,
    /// `TALLY_SIGN_IN_PER_IP_MINUTE` (20): sign-in attempts one client address may make a minute.
    pub sign_in_attempts_per_ip_minute: i64,
    /// `TALLY_SIGN_IN_PER_ADDRESS` (30): sign-in attempts for one email address per 15 minutes,
    /// from anywhere.
    pub sign_in_attempts_per_address: i64,
    /// `TALLY_API_RATE_LIMIT` (100): requests an API key may make a second, on each server
    /// (twice that in a burst).
    pub api_rate_limit: i64,
    /// Hours an invitation link stays valid (72).
    pub invitation_hours: i64,
    /// Minutes a password-reset link stays valid (30).
    pub reset_minutes: i64,
    /// `TALLY_TRUST_PROXY` (`false`, 0): how many proxies of one's own stand in front of
    /// Tally. With N, the client address is the N-th entry of `X-Forwarded-For` counted from
    /// the right (every header line joined), the address the outermost of them saw; `true` is
    /// one (a load balancer).
    pub trust_proxy: u32,
    /// Card brands the payment form accepts (`TALLY_ACCEPTED_CARD_BRANDS`, comma-separated
    /// codes; default visa,mastercard,amex,discover).
    pub accepted_brands: tally_core::card::AcceptedBrands,
    /// Monthly price per user beyond the free ones (`TALLY_PRICE_PER_USER_CENTS`, default 500).
    pub price_per_user: tally_core::money::Money,
    /// Whether this process runs the billing scheduler (`TALLY_BILLING_SCHEDULER`, default
    /// true). Several replicas may all run it: the run is safe to repeat in parallel.
    pub billing_scheduler: bool,
    /// `TALLY_SCHEDULER_SECONDS` (600): how often the billing scheduler looks for work.
    pub scheduler_seconds: u64,
    /// `TALLY_SPEND_ALERT_SECONDS` (60): how often the accounts' spend alerts are checked.
    pub spend_alert_seconds: u64,
    /// `TALLY_BACKUP_KEEP`: how many daily backups of the embedded database to keep in
    /// `<data>/backups` (default 14; 0 turns the daily backup off).
    pub backup_keep: u32,
    /// `TALLY_BACKUP_DIR`: where the daily backups go (default `<data dir>/backups`). A
    /// folder on another disk, or mounted from elsewhere, keeps them apart from the secret key.
    pub backup_dir: PathBuf,
    /// `TALLY_METRICS_TOKEN`: turns `/metrics` on; a scrape must send it as a bearer token.
    pub metrics_token: Option<String>,
    /// The host name of `public_url` (lower case, no port): requests for any other host are
    /// refused, so a DNS-rebinding page cannot reach the portal.
    pub public_host: String,
    /// `TALLY_SECRET_KEY`: the server's secret key (32 bytes, base64url or hex); unset, the
    /// key file in the data folder (see `secrets`).
    pub secret_key: Option<String>,
    /// `TALLY_GATEWAY`: `sandbox` (default, the embedded test processor) or `stripe`.
    pub gateway: GatewaySettings,
}

/// Which payment processor charges cards.
#[derive(Clone, Debug)]
pub enum GatewaySettings {
    Sandbox,
    Stripe(StripeSettings),
}

/// `TALLY_GATEWAY`'s values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum GatewayKind {
    Sandbox,
    Stripe,
}

/// The Stripe gateway's keys and address.
#[derive(Clone)]
pub struct StripeSettings {
    /// `TALLY_STRIPE_SECRET_KEY` (`sk_…`): the server's key; never leaves the server.
    pub secret_key: String,
    /// `TALLY_STRIPE_PUBLISHABLE_KEY` (`pk_…`): the browser's key, to confirm a card with the
    /// processor directly.
    pub publishable_key: String,
    /// `TALLY_STRIPE_WEBHOOK_SECRET` (`whsec_…`): signs the processor's webhook calls.
    pub webhook_secret: String,
    /// `TALLY_STRIPE_API_BASE` (`https://api.stripe.com`): the processor's API, no trailing
    /// slash; tests point it at a Stripe-compatible server on loopback.
    pub api_base: String,
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSettings")
            .field("publishable_key", &self.publishable_key)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl StripeSettings {
    /// The API's origin (scheme, host, port), for the browser's `connect-src`.
    pub fn api_origin(&self) -> String {
        Url::parse(&self.api_base)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }
}

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A variable that is set but cannot be used; names the variable and what it expects.
#[derive(Debug, thiserror::Error)]
#[error("{var}={value:?} is not valid: {expected}")]
pub struct ConfigError {
    pub var: String,
    pub value: String,
    pub expected: String,
}

impl ConfigError {
    fn new(var: &str, value: impl Into<String>, expected: impl Into<String>) -> Self {
        Self {
            var: var.into(),
            value: value.into(),
            expected: expected.into(),
        }
    }

    /// A secret's refusal: names the variable, never the value.
    fn hidden(var: &str, expected: &str) -> Self {
        Self::new(var, "(hidden)", expected)
    }

    /// The one-line refusal of clap's error about a variable (its value name is the
    /// variable's).
    fn from_clap(e: &clap::Error) -> Self {
        let context = |kind| e.get(kind).map(|v| v.to_string()).unwrap_or_default();
        let arg = context(ContextKind::InvalidArg);
        let var = arg
            .split_once('<')
            .and_then(|(_, rest)| rest.split_once('>'))
            .map_or(arg.as_str(), |(name, _)| name);
        let expected = match e.get(ContextKind::ValidValue) {
            Some(valid) => format!("one of {valid}"),
            None => std::error::Error::source(e)
                .map(ToString::to_string)
                .unwrap_or_else(|| e.kind().to_string()),
        };
        Self::new(var, context(ContextKind::InvalidValue), expected)
    }
}

fn socket_addr(v: &str) -> Result<SocketAddr, String> {
    v.trim()
        .parse()
        .map_err(|_| "an IP address and port such as 127.0.0.1:3000".into())
}

fn positive(v: &str) -> Result<i64, String> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "a positive whole number".into())
}

fn proxy_hops(v: &str) -> Result<u32, String> {
    match v.trim() {
        "true" => Ok(1),
        "false" => Ok(0),
        n => n
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 10)
            .ok_or_else(|| "false, true (one proxy), or how many proxies: 0 to 10".into()),
    }
}

fn true_or_false(v: &str) -> Result<bool, String> {
    match v.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("true or false".into()),
    }
}

fn backups_kept(v: &str) -> Result<u32, String> {
    v.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n <= 3650)
        .ok_or_else(|| "a whole number of daily backups to keep, 0 to 3650 (0: none)".into())
}

fn card_brands(v: &str) -> Result<tally_core::card::AcceptedBrands, String> {
    tally_core::card::AcceptedBrands::parse_list(v).map_err(|_| {
        "comma-separated brands from visa, mastercard, amex, discover, diners, jcb, unionpay".into()
    })
}

fn database_url(v: &str) -> Result<String, String> {
    if ["sqlite:", "postgres:", "postgresql:"]
        .iter()
        .any(|scheme| v.starts_with(scheme))
    {
        Ok(v.to_string())
    } else {
        Err("a sqlite://… or postgres://… URL".into())
    }
}

/// An `http://` or `https://` address with a host.
fn web_address(v: &str) -> Option<Url> {
    Url::parse(v.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

fn public_url(v: &str) -> Result<Url, String> {
    web_address(v)
        .ok_or_else(|| "an http:// or https:// address such as https://tally.example.com".into())
}

fn api_base(v: &str) -> Result<Url, String> {
    web_address(v)
        .filter(|u| u.query().is_none() && u.fragment().is_none())
        .ok_or_else(|| "an http:// or https:// address such as https://api.stripe.com".into())
}

/// An address as written in settings and links: no trailing slash.
fn without_slash(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// `TALLY_STRIPE_API_BASE`: https, or http only to this machine (a local imitation such as
/// localstripe): the secret key travels in every request's header.
fn processor_api_base(url: &Url) -> Result<String, ConfigError> {
    match url.scheme() {
        "https" => Ok(without_slash(url)),
        "http" if url_is_loopback(url) => Ok(without_slash(url)),
        _ => Err(ConfigError::new(
            "TALLY_STRIPE_API_BASE",
            url.as_str(),
            "an https:// URL (http:// only to this machine, for a local imitation of the processor)",
        )),
    }
}

/// A processor key: `prefix` and enough letters, digits and underscores after it.
fn processor_key(
    var: &str,
    value: Option<String>,
    prefix: &str,
    expected: &str,
) -> Result<String, ConfigError> {
    match value.map(|v| v.trim().to_string()) {
        Some(v)
            if v.starts_with(prefix)
                && v.len() > prefix.len() + 3
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            Ok(v)
        }
        Some(_) => Err(ConfigError::hidden(var, expected)),
        None => Err(ConfigError::new(var, "", expected)),
    }
}

impl Settings {
    /// Reads the process environment; an empty variable counts as unset.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup`, so tests can pass a map instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // Each variable becomes its option's value; clap's own reading of the environment is
        // turned off, so `lookup` alone decides.
        let command = Variables::augment_args(clap::Command::new("tally").no_binary_name(true));
        let args: Vec<String> = command
            .get_arguments()
            .filter_map(|arg| {
                let var = arg.get_env()?.to_str()?;
                let value = lookup(var)?;
                Some(format!("--{}={value}", arg.get_long()?))
            })
            .collect();
        let command = command.mut_args(|arg| arg.env(None::<&str>));
        let vars = command
            .try_get_matches_from(args)
            .and_then(|m| Variables::from_arg_matches(&m))
            .map_err(|e| ConfigError::from_clap(&e))?;
        Self::from_variables(vars)
    }

    /// What follows from the variables, and the checks that must not quote a value.
    fn from_variables(v: Variables) -> Result<Self, ConfigError> {
        let listen_addr = v
            .addr
            .or(v.leptos_site_addr)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)));
        let database_url = v
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}/tally.db?mode=rwc", v.data_dir.display()));
        let public_url = match &v.public_url {
            Some(url) => url.clone(),
            None => Url::parse(&format!("http://{listen_addr}")).map_err(|_| {
                ConfigError::new(
                    "TALLY_ADDR",
                    listen_addr.to_string(),
                    "a listening address a browser can reach",
                )
            })?,
        };
        // Over plain http the session cookie crosses the network in clear text: only for this
        // machine, or when asked for (behind a TLS proxy that forwards plain http, say).
        if v.public_url.is_some()
            && public_url.scheme() == "http"
            && !url_is_loopback(&public_url)
            && !v.allow_http
        {
            return Err(ConfigError::new(
                "TALLY_PUBLIC_URL",
                public_url.as_str(),
                "an https:// address: over http the session cookie travels in clear text \
                 (set TALLY_ALLOW_HTTP=true to serve plain http anyway, e.g. on a network you trust)",
            ));
        }
        let public_host = public_url
            .host_str()
            .map(|h| {
                h.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let metrics_token = v.metrics_token.filter(|t| !t.is_empty());
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(ConfigError::hidden(
                "TALLY_METRICS_TOKEN",
                "at least 16 characters, e.g. from `openssl rand -hex 16`",
            ));
        }
        if let Some(key) = &v.secret_key {
            if super::secrets::SecretKey::parse(key).is_none() {
                return Err(ConfigError::hidden(
                    "TALLY_SECRET_KEY",
                    "32 random bytes as 43 base64url characters or 64 hex digits, e.g. from `openssl rand -hex 32`",
                ));
            }
        }
        let gateway = match v.gateway {
            GatewayKind::Sandbox => GatewaySettings::Sandbox,
            GatewayKind::Stripe => GatewaySettings::Stripe(StripeSettings {
                secret_key: processor_key(
                    "TALLY_STRIPE_SECRET_KEY",
                    v.stripe_secret_key,
                    "sk_",
                    "the processor's secret key, sk_live_… or sk_test_… (needed with TALLY_GATEWAY=stripe)",
                )?,
                publishable_key: processor_key(
                    "TALLY_STRIPE_PUBLISHABLE_KEY",
                    v.stripe_publishable_key,
                    "pk_",
                    "the processor's publishable key, pk_live_… or pk_test_… (needed with TALLY_GATEWAY=stripe)",
                )?,
                webhook_secret: processor_key(
                    "TALLY_STRIPE_WEBHOOK_SECRET",
                    v.stripe_webhook_secret,
                    "whsec_",
                    "the webhook endpoint's signing secret, whsec_… (needed with TALLY_GATEWAY=stripe)",
                )?,
                api_base: processor_api_base(&v.stripe_api_base)?,
            }),
        };
        let backup_dir = v
            .backup_dir
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| v.data_dir.join(crate::platform::backup::DAILY_DIR));
        Ok(Self {
            listen_addr,
            data_dir: v.data_dir,
            database_url,
            site_root: v.site_root,
            public_url: without_slash(&public_url),
            public_host,
            log_format: v.log_format,
            smtp: v
                .smtp_url
                .map(|raw| {
                    SmtpUrl::parse(&raw).map_err(|why| ConfigError::hidden("TALLY_SMTP_URL", why))
                })
                .transpose()?,
            mail_from: v.mail_from,
            session_idle_minutes: v.session_idle_minutes,
            session_absolute_minutes: v.session_absolute_minutes,
            lockout_failures: 10,
            lockout_minutes: 30,
            sign_in_attempts_per_ip_minute: v.sign_in_per_ip_minute,
            sign_in_attempts_per_address: v.sign_in_per_address,
            api_rate_limit: v.api_rate_limit,
            invitation_hours: 72,
            reset_minutes: 30,
            trust_proxy: v.trust_proxy,
            accepted_brands: v.accepted_card_brands.unwrap_or_default(),
            price_per_user: tally_core::money::Money::usd(v.price_per_user_cents),
            billing_scheduler: v.billing_scheduler,
            scheduler_seconds: v.scheduler_seconds as u64,
            spend_alert_seconds: v.spend_alert_seconds as u64,
            backup_keep: v.backup_keep,
            backup_dir,
            metrics_token,
            secret_key: v.secret_key,
            gateway,
        })
    }

    /// Whether a request for `host` (a `Host` header's value) is for this portal: the public
    /// address's host, or, when that is this machine's loopback, any loopback name.
    pub fn serves_host(&self, host: &str) -> bool {
        let Some(name) = host_name(host.trim()) else {
            return false;
        };
        name == self.public_host || (is_loopback(&self.public_host) && is_loopback(&name))
    }
}

/// The name part of a `Host` header value (`example.com:8080`, `[::1]:3000`), lower case.
pub fn host_name(authority: &str) -> Option<String> {
    let url = Url::parse(&format!("http://{authority}/")).ok()?;
    let host = url.host_str()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    // Only a bare authority: `a@b` or a path would make another host than the header says.
    let plain = authority
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    (plain && !host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether a URL's host is this machine's loopback (its text: `smtp:` URLs keep an IPv4
/// address as a name).
pub fn url_is_loopback(url: &Url) -> bool {
    url.host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .is_some_and(|h| is_loopback(&h.to_ascii_lowercase()))
}

/// Whether a host name is this machine's loopback.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_sqlite_in_the_data_folder_on_port_3000() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(s.database_url, "sqlite://data/tally.db?mode=rwc");
        assert_eq!(s.public_url, "http://127.0.0.1:3000");
        assert_eq!(s.log_format, LogFormat::Text);
    }

    #[test]
    fn tally_addr_wins_over_the_cargo_leptos_address() {
        let s = settings(&[
            ("TALLY_ADDR", "0.0.0.0:8080"),
            ("LEPTOS_SITE_ADDR", "127.0.0.1:1"),
        ])
        .unwrap();
        assert_eq!(s.listen_addr.to_string(), "0.0.0.0:8080");
    }

    #[test]
    fn the_stripe_gateway_needs_each_key_well_formed_and_names_the_one_missing() {
        assert!(matches!(
            settings(&[]).unwrap().gateway,
            GatewaySettings::Sandbox
        ));
        let good = [
            ("TALLY_GATEWAY", "stripe"),
            ("TALLY_STRIPE_SECRET_KEY", "sk_test_abc123"),
            ("TALLY_STRIPE_PUBLISHABLE_KEY", "pk_test_abc123"),
            ("TALLY_STRIPE_WEBHOOK_SECRET", "whsec_abc123"),
        ];
        let GatewaySettings::Stripe(s) = settings(&good).unwrap().gateway else {
            panic!("stripe")
        };
        assert_eq!(s.api_base, "https://api.stripe.com");
        assert_eq!(s.api_origin(), "https://api.stripe.com");
        // The secret key never shows in a debug print.
        assert!(!format!("{s:?}").contains("sk_test_abc123"));
        for (i, (var, _)) in good.iter().enumerate().skip(1) {
            let mut missing = good.to_vec();
            missing.remove(i);
            assert_eq!(settings(&missing).unwrap_err().var, *var);
            let mut wrong = good.to_vec();
            wrong[i].1 = "nope";
            let e = settings(&wrong).unwrap_err();
            assert_eq!(e.var, *var);
            assert!(!e.to_string().contains("nope"), "{e}");
        }
        let mut local = good.to_vec();
        local.push(("TALLY_STRIPE_API_BASE", "http://127.0.0.1:8420/"));
        let GatewaySettings::Stripe(s) = settings(&local).unwrap().gateway else {
            panic!("stripe")
        };
        assert_eq!(s.api_origin(), "http://127.0.0.1:8420");
        local.pop();
        local.push(("TALLY_STRIPE_API_BASE", "ftp://x"));
        assert_eq!(settings(&local).unwrap_err().var, "TALLY_STRIPE_API_BASE");
        // http only to this machine: the secret key rides in every request.
        for (base, accepted) in [
            ("http://localhost:8420", true),
            ("http://[::1]:8420", true),
            ("https://stripe.internal.example", true),
            ("http://stripe.internal.example", false),
            ("http://10.0.0.5:8420", false),
        ] {
            local.pop();
            local.push(("TALLY_STRIPE_API_BASE", base));
            match settings(&local) {
                Ok(_) => assert!(accepted, "{base} accepted"),
                Err(e) => {
                    assert!(!accepted, "{base} refused: {e}");
                    assert_eq!(e.var, "TALLY_STRIPE_API_BASE");
                }
            }
        }
        assert_eq!(
            settings(&[("TALLY_GATEWAY", "paypal")]).unwrap_err().var,
            "TALLY_GATEWAY"
        );
    }

    #[test]
    fn an_smtp_url_in_clear_text_is_refused_without_repeating_it() {
        let e = settings(&[(
            "TALLY_SMTP_URL",
            "smtp://mailer:hunter2@mail.example.com:587",
        )])
        .unwrap_err();
        assert_eq!(e.var, "TALLY_SMTP_URL");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let s = settings(&[("TALLY_SMTP_URL", "smtp://relay.internal:25?plain=yes")]).unwrap();
        assert_eq!(s.smtp.unwrap().url, "smtp://relay.internal:25");
    }

    #[test]
    fn an_unknown_database_scheme_is_refused_with_the_variable_named() {
        let e = settings(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(e.var, "DATABASE_URL");
    }

    #[test]
    fn only_the_public_host_is_served_and_loopback_when_it_is_loopback() {
        let s = settings(&[("TALLY_PUBLIC_URL", "https://Tally.Example.com/")]).unwrap();
        assert_eq!(s.public_host, "tally.example.com");
        assert!(s.serves_host("tally.example.com"));
        assert!(s.serves_host("TALLY.example.com:443"));
        assert!(!s.serves_host("evil.example"));
        assert!(!s.serves_host("127.0.0.1:3000"));
        assert!(!s.serves_host(""));
        let local = settings(&[]).unwrap();
        assert!(local.serves_host("127.0.0.1:3000"));
        assert!(local.serves_host("localhost:3000"));
        assert!(local.serves_host("[::1]:3000"));
        assert!(!local.serves_host("rebinding.evil.example:3000"));
        assert!(settings(&[("TALLY_PUBLIC_URL", "tally.example.com")]).is_err());
    }

    #[test]
    fn switches_read_true_or_false() {
        let s = settings(&[
            ("TALLY_TRUST_PROXY", "true"),
            ("TALLY_BILLING_SCHEDULER", "0"),
        ])
        .unwrap();
        assert!(s.trust_proxy == 1 && !s.billing_scheduler);
        assert_eq!(
            settings(&[("TALLY_TRUST_PROXY", "yes")]).unwrap_err().var,
            "TALLY_TRUST_PROXY"
        );
        // Or how many proxies stand in front: the client is that many entries from the right.
        assert_eq!(
            settings(&[("TALLY_TRUST_PROXY", "2")]).unwrap().trust_proxy,
            2
        );
        assert_eq!(settings(&[]).unwrap().trust_proxy, 0);
        assert!(settings(&[("TALLY_TRUST_PROXY", "11")]).is_err());
    }

    #[test]
    fn a_public_url_in_plain_http_is_only_for_this_machine_unless_asked_for() {
        for url in [
            "http://localhost:3000",
            "http://127.0.0.1:3000",
            "http://[::1]:3000",
            "https://tally.example.com",
        ] {
            assert!(settings(&[("TALLY_PUBLIC_URL", url)]).is_ok(), "{url}");
        }
        let e = settings(&[("TALLY_PUBLIC_URL", "http://tally.example.com")]).unwrap_err();
        assert_eq!(e.var, "TALLY_PUBLIC_URL");
        assert!(e.to_string().contains("TALLY_ALLOW_HTTP"), "{e}");
        let s = settings(&[
            ("TALLY_PUBLIC_URL", "http://tally.example.com"),
            ("TALLY_ALLOW_HTTP", "true"),
        ])
        .unwrap();
        assert_eq!(s.public_url, "http://tally.example.com");
        // Listening on every interface without a public address stays as it was.
        assert!(settings(&[("TALLY_ADDR", "0.0.0.0:8080")]).is_ok());
    }

    #[test]
    fn the_sign_in_allowance_per_address_is_30_unless_set() {
        assert_eq!(settings(&[]).unwrap().sign_in_attempts_per_address, 30);
        let s = settings(&[("TALLY_SIGN_IN_PER_ADDRESS", "5")]).unwrap();
        assert_eq!(s.sign_in_attempts_per_address, 5);
        let e = settings(&[("TALLY_SIGN_IN_PER_ADDRESS", "0")]).unwrap_err();
        assert_eq!(e.var, "TALLY_SIGN_IN_PER_ADDRESS");
    }

    #[test]
    fn a_bad_address_is_refused() {
        assert!(settings(&[("TALLY_ADDR", "nowhere")]).is_err());
    }

    #[test]
    fn a_refusal_is_one_line_naming_the_variable() {
        let e = settings(&[("TALLY_ADDR", "nowhere")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"TALLY_ADDR="nowhere" is not valid: an IP address and port such as 127.0.0.1:3000"#
        );
        let e = settings(&[("TALLY_BACKUP_KEEP", "-1")]).unwrap_err();
        assert_eq!(e.var, "TALLY_BACKUP_KEEP");
        assert!(!e.to_string().contains('\n'), "{e}");
        let e = settings(&[("TALLY_SECRET_KEY", "hunter2")]).unwrap_err();
        assert!(
            e.var == "TALLY_SECRET_KEY" && !e.to_string().contains("hunter2"),
            "{e}"
        );
    }
}
