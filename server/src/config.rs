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
        Ok(Self {
            listen_addr,
            data_dir,
            database_url,
            site_root,
            public_url,
            log_format,
        })
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
    fn an_unknown_database_scheme_is_refused_with_the_variable_named() {
        let e = settings(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(e.var, "DATABASE_URL");
    }

    #[test]
    fn a_bad_address_is_refused() {
        assert!(settings(&[("TALLY_ADDR", "nowhere")]).is_err());
    }
}
