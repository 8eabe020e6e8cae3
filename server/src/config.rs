//! One typed settings struct, read from the environment once at start.
//!
//! Every variable is listed, with its default, in the README's configuration table.

use std::{net::SocketAddr, path::PathBuf};

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
    /// `TALLY_SMTP_URL`: send mail by SMTP (`smtp://user:pass@host:587`); unset writes `.eml`
    /// files to `<data dir>/outbox`.
    pub smtp_url: Option<String>,
    /// `TALLY_MAIL_FROM`: the sender of every email.
    pub mail_from: String,
    /// `TALLY_SESSION_IDLE_MINUTES` (15): a session unused this long ends.
    pub session_idle_minutes: i64,
    /// `TALLY_SESSION_ABSOLUTE_MINUTES` (720): a session ends this long after sign-in.
    pub session_absolute_minutes: i64,
    /// Failed sign-ins before an administrator is locked out (10, spec §7).
    pub lockout_failures: i64,
    /// Minutes a lockout lasts (30, spec §7).
    pub lockout_minutes: i64,
    /// `TALLY_SIGN_IN_PER_IP_MINUTE` (20): sign-in attempts one client address may make a minute.
    pub sign_in_attempts_per_ip_minute: i64,
    /// Hours an invitation link stays valid (72, spec §7).
    pub invitation_hours: i64,
    /// Minutes a password-reset link stays valid (30, spec §7).
    pub reset_minutes: i64,
    /// `TALLY_TRUST_PROXY` (`false`): take the client address from `X-Forwarded-For`'s last
    /// entry, for deployments behind a load balancer.
    pub trust_proxy: bool,
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
    /// `TALLY_BACKUP_KEEP`: how many daily backups of the embedded database to keep in
    /// `<data>/backups` (default 14; 0 turns the daily backup off).
    pub backup_keep: u32,
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
        let rest = self.api_base.split_once("://").map_or("", |(_, r)| r);
        let scheme = self.api_base.split("://").next().unwrap_or("https");
        format!("{scheme}://{}", rest.split('/').next().unwrap_or(""))
    }
}

/// Reads the Stripe gateway's four variables; each missing or malformed one is an error
/// naming it.
fn stripe_settings(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<StripeSettings, ConfigError> {
    let key = |var: &'static str, prefix: &str, expected: &'static str| match lookup(var)
        .map(|v| v.trim().to_string())
    {
        Some(v)
            if v.starts_with(prefix)
                && v.len() > prefix.len() + 3
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            Ok(v)
        }
        Some(_) => Err(ConfigError {
            var,
            value: "(hidden)".into(),
            expected,
        }),
        None => Err(ConfigError {
            var,
            value: String::new(),
            expected,
        }),
    };
    let secret_key = key(
        "TALLY_STRIPE_SECRET_KEY",
        "sk_",
        "the processor's secret key, sk_live_… or sk_test_… (needed with TALLY_GATEWAY=stripe)",
    )?;
    let publishable_key = key(
        "TALLY_STRIPE_PUBLISHABLE_KEY",
        "pk_",
        "the processor's publishable key, pk_live_… or pk_test_… (needed with TALLY_GATEWAY=stripe)",
    )?;
    let webhook_secret = key(
        "TALLY_STRIPE_WEBHOOK_SECRET",
        "whsec_",
        "the webhook endpoint's signing secret, whsec_… (needed with TALLY_GATEWAY=stripe)",
    )?;
    let api_base = lookup("TALLY_STRIPE_API_BASE")
        .unwrap_or_else(|| "https://api.stripe.com".into())
        .trim()
        .trim_end_matches('/')
        .to_string();
    if host_of(&api_base).is_none() || api_base.contains(['?', '#', ' ']) {
        return Err(ConfigError {
            var: "TALLY_STRIPE_API_BASE",
            value: api_base,
            expected: "an http:// or https:// address such as https://api.stripe.com",
        });
    }
    Ok(StripeSettings {
        secret_key,
        publishable_key,
        webhook_secret,
        api_base,
    })
}

/// How log lines are written to stderr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A variable that is set but cannot be used; names the variable and what it expects.
#[derive(Debug, thiserror::Error)]
#[error("{var}={value:?} is not valid: {expected}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup`, so tests can pass a map instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let addr_var = if lookup("TALLY_ADDR").is_some() {
            "TALLY_ADDR"
        } else {
            "LEPTOS_SITE_ADDR"
        };
        let listen_addr = match lookup(addr_var) {
            Some(v) => v.parse().map_err(|_| ConfigError {
                var: addr_var,
                value: v,
                expected: "an IP address and port such as 127.0.0.1:3000",
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let data_dir = PathBuf::from(lookup("TALLY_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = match lookup("DATABASE_URL") {
            Some(url) if is_supported_url(&url) => url,
            Some(url) => {
                return Err(ConfigError {
                    var: "DATABASE_URL",
                    value: url,
                    expected: "a sqlite://… or postgres://… URL",
                })
            }
            None => format!("sqlite://{}/tally.db?mode=rwc", data_dir.display()),
        };
        let site_root =
            PathBuf::from(lookup("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()));
        let public_url = lookup("TALLY_PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{listen_addr}"))
            .trim_end_matches('/')
            .to_string();
        let log_format = match lookup("TALLY_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    var: "TALLY_LOG_FORMAT",
                    value: other.into(),
                    expected: "text or json",
                })
            }
        };
        let number = |var: &'static str, default: i64| -> Result<i64, ConfigError> {
            match lookup(var) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(ConfigError {
                        var,
                        value: v,
                        expected: "a positive whole number",
                    }),
            }
        };
        let trust_proxy = match lookup("TALLY_TRUST_PROXY").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError {
                    var: "TALLY_TRUST_PROXY",
                    value: other.into(),
                    expected: "true or false",
                })
            }
        };
        let accepted_brands = match lookup("TALLY_ACCEPTED_CARD_BRANDS") {
            None => tally_core::card::AcceptedBrands::default(),
            Some(v) => tally_core::card::AcceptedBrands::parse_list(&v).map_err(|_| ConfigError {
                var: "TALLY_ACCEPTED_CARD_BRANDS",
                value: v,
                expected: "comma-separated brands from visa, mastercard, amex, discover, diners, jcb, unionpay",
            })?,
        };
        let price_per_user =
            tally_core::money::Money::from_cents(number("TALLY_PRICE_PER_USER_CENTS", 500)?);
        let billing_scheduler = match lookup("TALLY_BILLING_SCHEDULER").as_deref() {
            None | Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            Some(other) => {
                return Err(ConfigError {
                    var: "TALLY_BILLING_SCHEDULER",
                    value: other.into(),
                    expected: "true or false",
                })
            }
        };
        let backup_keep = match lookup("TALLY_BACKUP_KEEP") {
            None => 14,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 3650)
                .ok_or(ConfigError {
                    var: "TALLY_BACKUP_KEEP",
                    value: v,
                    expected: "a whole number of daily backups to keep, 0 to 3650 (0: none)",
                })?,
        };
        let metrics_token = lookup("TALLY_METRICS_TOKEN").filter(|t| !t.is_empty());
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(ConfigError {
                var: "TALLY_METRICS_TOKEN",
                value: "(hidden)".into(),
                expected: "at least 16 characters, e.g. from `openssl rand -hex 16`",
            });
        }
        if let Some(key) = lookup("TALLY_SECRET_KEY") {
            if crate::secrets::SecretKey::parse(&key).is_none() {
                return Err(ConfigError {
                    var: "TALLY_SECRET_KEY",
                    value: "(hidden)".into(),
                    expected: "32 random bytes as 43 base64url characters or 64 hex digits, e.g. from `openssl rand -hex 32`",
                });
            }
        }
        let Some(public_host) = host_of(&public_url) else {
            return Err(ConfigError {
                var: "TALLY_PUBLIC_URL",
                value: public_url,
                expected: "an http:// or https:// address such as https://tally.example.com",
            });
        };
        let gateway = match lookup("TALLY_GATEWAY").as_deref().map(str::trim) {
            None | Some("sandbox") => GatewaySettings::Sandbox,
            Some("stripe") => GatewaySettings::Stripe(stripe_settings(&lookup)?),
            Some(other) => {
                return Err(ConfigError {
                    var: "TALLY_GATEWAY",
                    value: other.into(),
                    expected: "sandbox or stripe",
                })
            }
        };
        Ok(Self {
            gateway,
            public_host,
            secret_key: lookup("TALLY_SECRET_KEY"),
            accepted_brands,
            price_per_user,
            billing_scheduler,
            backup_keep,
            metrics_token,
            scheduler_seconds: number("TALLY_SCHEDULER_SECONDS", 600)? as u64,
            smtp_url: lookup("TALLY_SMTP_URL"),
            mail_from: lookup("TALLY_MAIL_FROM")
                .unwrap_or_else(|| "Tally <tally@localhost>".into()),
            session_idle_minutes: number("TALLY_SESSION_IDLE_MINUTES", 15)?,
            session_absolute_minutes: number("TALLY_SESSION_ABSOLUTE_MINUTES", 12 * 60)?,
            lockout_failures: 10,
            lockout_minutes: 30,
            sign_in_attempts_per_ip_minute: number("TALLY_SIGN_IN_PER_IP_MINUTE", 20)?,
            invitation_hours: 72,
            reset_minutes: 30,
            trust_proxy,
            listen_addr,
            data_dir,
            database_url,
            site_root,
            public_url,
            log_format,
        })
    }
}

/// The host name of an `http(s)://` URL, lower case, without port or brackets.
fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    host_name(authority)
}

/// The name part of a `Host` header value (`example.com:8080`, `[::1]:3000`), lower case.
pub fn host_name(authority: &str) -> Option<String> {
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether a host name is this machine's loopback.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Settings {
    /// Whether a request for `host` (a `Host` header's value) is for this portal: the public
    /// address's host, or, when that is this machine's loopback, any loopback name.
    pub fn serves_host(&self, host: &str) -> bool {
        let Some(name) = host_name(host.trim()) else {
            return false;
        };
        name == self.public_host || (is_loopback(&self.public_host) && is_loopback(&name))
    }
}

fn is_supported_url(url: &str) -> bool {
    ["sqlite:", "postgres:", "postgresql:"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
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
        assert_eq!(
            settings(&[("TALLY_GATEWAY", "paypal")]).unwrap_err().var,
            "TALLY_GATEWAY"
        );
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
    fn a_bad_address_is_refused() {
        assert!(settings(&[("TALLY_ADDR", "nowhere")]).is_err());
    }
}
