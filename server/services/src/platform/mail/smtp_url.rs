//! `TALLY_SMTP_URL`, read once at start: which TLS the mail goes out with, and the URL lettre
//! is given. lettre's `smtp://host:587` is **unencrypted** (STARTTLS needs `?tls=required`), so
//! Tally refuses an `smtp://` URL that would send a password, or mail to another machine, in
//! clear text — unless the URL says `plain=yes` (Tally's own parameter, removed before lettre
//! sees the URL), for a relay on a network one trusts.

use url::Url;

use crate::platform::config::url_is_loopback;

/// Tally's opt-in to plain SMTP: `smtp://relay.internal:25?plain=yes`.
pub const PLAIN_PARAM: &str = "plain";

/// How mail reaches the SMTP server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtps://`: TLS from the first byte (port 465).
    Implicit,
    /// `smtp://…?tls=required`: STARTTLS, and nothing is sent if the server does not offer it.
    StartTls,
    /// `smtp://` to this machine, without credentials (a local relay or a test sink).
    PlainLoopback,
    /// `smtp://…?plain=yes`: clear text, asked for explicitly.
    PlainOptedIn,
}

impl SmtpTls {
    /// What `tally check` says of it.
    pub fn describe(self) -> &'static str {
        match self {
            SmtpTls::Implicit => "TLS (smtps)",
            SmtpTls::StartTls => "STARTTLS required",
            SmtpTls::PlainLoopback => "no TLS: a relay on this machine",
            SmtpTls::PlainOptedIn => "no TLS: plain SMTP, asked for with plain=yes",
        }
    }
}

/// A checked `TALLY_SMTP_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpUrl {
    /// The URL as lettre gets it (without `plain=yes`).
    pub url: String,
    pub tls: SmtpTls,
}

/// Why a `TALLY_SMTP_URL` is refused (the URL itself is never repeated: it may hold a
/// password).
pub const CLEAR_TEXT: &str = "mail would go in clear text: use smtps://user:pass@host:465, or \
    smtp://user:pass@host:587?tls=required for STARTTLS; for a relay on a network you trust, \
    add plain=yes (smtp://relay:25?plain=yes)";

impl SmtpUrl {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let mut url = Url::parse(raw).map_err(|_| {
            "not a URL: expected smtps://user:pass@host:465 or smtp://user:pass@host:587?tls=required"
        })?;
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let opted_in = pairs
            .iter()
            .any(|(k, v)| k == PLAIN_PARAM && matches!(v.as_str(), "yes" | "true" | "1"));
        let kept: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(k, _)| k != PLAIN_PARAM)
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(&kept);
        }
        let tls_required = kept.iter().any(|(k, v)| k == "tls" && v == "required");
        let tls = match url.scheme() {
            "smtps" => SmtpTls::Implicit,
            "smtp" if tls_required => SmtpTls::StartTls,
            "smtp" if opted_in => SmtpTls::PlainOptedIn,
            "smtp" => {
                let credentials = !url.username().is_empty() || url.password().is_some();
                if credentials || !url_is_loopback(&url) {
                    return Err(CLEAR_TEXT);
                }
                SmtpTls::PlainLoopback
            }
            _ => return Err("the scheme must be smtps:// or smtp://"),
        };
        Ok(Self {
            url: url.to_string(),
            tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_what_the_url_asks_for() {
        let parse = |raw| SmtpUrl::parse(raw).unwrap().tls;
        assert_eq!(parse("smtps://u:p@mail.example.com:465"), SmtpTls::Implicit);
        assert_eq!(
            parse("smtp://u:p@mail.example.com:587?tls=required"),
            SmtpTls::StartTls
        );
        assert_eq!(parse("smtp://127.0.0.1:1025"), SmtpTls::PlainLoopback);
        assert_eq!(parse("smtp://localhost:25"), SmtpTls::PlainLoopback);
        assert_eq!(parse("smtp://[::1]:25"), SmtpTls::PlainLoopback);
        assert_eq!(
            parse("smtp://relay.internal:25?plain=yes"),
            SmtpTls::PlainOptedIn
        );
    }

    #[test]
    fn clear_text_with_a_password_or_to_another_machine_is_refused() {
        for raw in [
            "smtp://user:pass@mail.example.com:587",
            "smtp://mail.example.com:25",
            "smtp://user:pass@127.0.0.1:25",
            "smtp://user@localhost:25",
            "smtp://user:pass@mail.example.com:587?tls=opportunistic",
            "smtp://mail.example.com:25?plain=no",
        ] {
            assert_eq!(SmtpUrl::parse(raw), Err(CLEAR_TEXT), "{raw}");
        }
        assert!(SmtpUrl::parse("http://mail.example.com").is_err());
        assert!(SmtpUrl::parse("not a url").is_err());
    }

    #[test]
    fn plain_yes_is_removed_before_lettre_sees_the_url() {
        let s = SmtpUrl::parse("smtp://u:p@relay.internal:25?plain=yes").unwrap();
        assert_eq!(s.url, "smtp://u:p@relay.internal:25");
        let s = SmtpUrl::parse("smtp://relay.internal:25?plain=yes&tls=required").unwrap();
        assert_eq!(s.url, "smtp://relay.internal:25?tls=required");
        assert_eq!(s.tls, SmtpTls::StartTls);
    }

    #[test]
    fn every_accepted_url_is_one_lettre_accepts() {
        use lettre::{AsyncSmtpTransport, Tokio1Executor};
        for raw in [
            "smtps://u:p@mail.example.com:465",
            "smtp://u:p@mail.example.com:587?tls=required",
            "smtp://127.0.0.1:1025",
            "smtp://relay.internal:25?plain=yes",
        ] {
            let url = SmtpUrl::parse(raw).unwrap().url;
            assert!(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&url).is_ok(),
                "{raw} -> {url}"
            );
        }
    }
}
