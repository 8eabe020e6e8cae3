//! Outgoing email: one [`Mailer`] with two transports — SMTP for production, and an outbox
//! folder of `.eml` files (the embedded default) that developers and tests read.

pub mod emails;
pub mod outbox;
pub mod smtp_url;

use std::path::{Path, PathBuf};

use futures::{stream, StreamExt};
use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

/// One message, with a plain-text and an HTML body, and files attached.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    /// The outbox's id for it, when it was queued: every delivery of the message carries the
    /// same `Message-ID` and, in the outbox folder, the same file name, so a delivery repeated
    /// after a crash replaces the first instead of reaching the person twice.
    pub id: Option<String>,
    /// One address, or several separated by commas (a message to billing contacts).
    pub to: String,
    /// The Cc line's addresses.
    pub cc: Vec<String>,
    /// What the message is about, when a page reports its delivery: `invoice:<id>`.
    pub topic: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
}

impl Mail {
    /// This message addressed to a list: `to` on its To line, `cc` on its Cc line.
    pub fn addressed(mut self, to: &[String], cc: &[String]) -> Self {
        self.to = to.join(", ");
        self.cc = cc.to_vec();
        self
    }

    /// This message, about `topic`.
    pub fn about(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }
}

/// A file attached to a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// A MIME type, e.g. `application/pdf`.
    pub content_type: String,
    pub data: Vec<u8>,
}

/// An attachment as the outbox kept it in the message's row before `mail_attachments`: the
/// bytes in base64, in a JSON list.
#[derive(serde::Deserialize)]
struct StoredAttachment {
    filename: String,
    content_type: String,
    base64: String,
}

/// The attachments in a message's row, for messages queued before `mail_attachments` held
/// them: "" for none, else a JSON list; `None` when the text is not such a list.
fn attachments_from_text(text: &str) -> Option<Vec<Attachment>> {
    use base64::Engine;
    if text.is_empty() {
        return Some(Vec::new());
    }
    let stored: Vec<StoredAttachment> = serde_json::from_str(text).ok()?;
    stored
        .into_iter()
        .map(|a| {
            Some(Attachment {
                filename: a.filename,
                content_type: a.content_type,
                data: base64::engine::general_purpose::STANDARD
                    .decode(a.base64)
                    .ok()?,
            })
        })
        .collect()
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("cannot write to the outbox: {0}")]
    Outbox(#[from] std::io::Error),
    #[error("SMTP: {0}")]
    Smtp(String),
}

#[derive(Clone)]
enum Transport {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends mail through the configured transport.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.transport {
            Transport::Outbox(dir) => format!("outbox {}", dir.display()),
            Transport::Smtp(_) => "smtp".into(),
        };
        write!(f, "Mailer({kind})")
    }
}

impl Mailer {
    /// SMTP when `TALLY_SMTP_URL` is set, else the outbox folder under the data folder.
    pub fn from_settings(settings: &crate::platform::config::Settings) -> Result<Self, MailError> {
        match &settings.smtp {
            Some(smtp) => Self::smtp(&smtp.url, &settings.mail_from),
            None => Self::outbox(settings.data_dir.join("outbox"), &settings.mail_from),
        }
    }

    /// Writes each message as `<id>.eml` into `dir` (created when missing), and clears the
    /// half-written files a crash left there.
    pub fn outbox(dir: PathBuf, from: &str) -> Result<Self, MailError> {
        std::fs::create_dir_all(&dir)?;
        remove_stale_temporary_files(&dir);
        Ok(Self {
            from: from.parse().map_err(|_| MailError::Address(from.into()))?,
            transport: Transport::Outbox(dir),
        })
    }

    /// SMTP from a URL that `smtp_url::SmtpUrl` has checked: `smtps://…:465` (TLS),
    /// `smtp://…:587?tls=required` (STARTTLS required), or plain `smtp://` to this machine or
    /// asked for with `plain=yes` (which Tally has already removed).
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Smtp(e.to_string()))?
            .build();
        Ok(Self {
            from: from.parse().map_err(|_| MailError::Address(from.into()))?,
            transport: Transport::Smtp(transport),
        })
    }

    /// Tries the transport without sending anything: the outbox folder takes a file, or the
    /// SMTP server answers and accepts the login. Says which it was.
    pub async fn check(&self) -> Result<String, MailError> {
        match &self.transport {
            Transport::Outbox(dir) => {
                let probe = dir.join(format!(
                    ".check.{}.tmp",
                    crate::platform::crypto::short_random()
                ));
                std::fs::create_dir_all(dir)?;
                std::fs::write(&probe, b"")?;
                std::fs::remove_file(&probe)?;
                Ok(format!("the outbox folder {} is writable", dir.display()))
            }
            Transport::Smtp(smtp) => match smtp.test_connection().await {
                Ok(true) => Ok("the SMTP server answers".into()),
                Ok(false) => Err(MailError::Smtp("the SMTP server did not answer".into())),
                Err(e) => Err(MailError::Smtp(e.to_string())),
            },
        }
    }

    /// How many messages to send before their delivery is recorded. A message handed over but
    /// not yet recorded goes again if the process dies then, so over SMTP that is the
    /// exchanges in flight at once; the outbox folder names each file by its message, so a
    /// repeated delivery replaces the file and a whole batch may go first.
    pub fn unrecorded_at_most(&self) -> usize {
        match self.transport {
            Transport::Outbox(_) => usize::MAX,
            Transport::Smtp(_) => SMTP_EXCHANGES_AT_ONCE,
        }
    }

    /// How many due messages a delivery claims at a time: over SMTP only a few groups (a
    /// process that dies holds its claims until they time out), into the folder many.
    pub fn claim_at_most(&self) -> i64 {
        match self.transport {
            Transport::Outbox(_) => 500,
            Transport::Smtp(_) => 8 * SMTP_EXCHANGES_AT_ONCE as i64,
        }
    }

    pub async fn send(&self, email: &Mail) -> Result<(), MailError> {
        let mut results = self.send_many(std::slice::from_ref(email)).await;
        results.pop().expect("one result per message")
    }

    /// Sends each message, answering in their order. The outbox folder's files are written
    /// one after another in one trip to the blocking pool: writers at once would only queue
    /// on the folder's lock. SMTP exchanges wait on the network, so a few go at once.
    pub async fn send_many(&self, emails: &[Mail]) -> Vec<Result<(), MailError>> {
        let results = match &self.transport {
            Transport::Outbox(dir) => {
                // Each message's id (its file name) and its bytes, or why it could not be built.
                type Built = (Option<String>, Result<Vec<u8>, MailError>);
                let built: Vec<Built> = emails
                    .iter()
                    .map(|e| (e.id.clone(), self.build(e).map(|m| m.formatted())))
                    .collect();
                let dir = dir.clone();
                let written = tokio::task::spawn_blocking(move || {
                    built
                        .into_iter()
                        .map(|(id, bytes)| Ok(write_eml(&dir, id.as_deref(), &bytes?)?))
                        .collect::<Vec<_>>()
                })
                .await;
                written.unwrap_or_else(|e| {
                    emails
                        .iter()
                        .map(|_| Err(MailError::Outbox(std::io::Error::other(e.to_string()))))
                        .collect()
                })
            }
            Transport::Smtp(smtp) => {
                // Each exchange owns what it needs: a future borrowing `self` inside the
                // stream trips rustc's `Send` check (rust-lang/rust#102211).
                let exchanges: Vec<_> = emails
                    .iter()
                    .map(|e| {
                        let (smtp, message) = (smtp.clone(), self.build(e));
                        async move {
                            smtp.send(message?)
                                .await
                                .map(drop)
                                .map_err(|e| MailError::Smtp(e.to_string()))
                        }
                    })
                    .collect();
                stream::iter(exchanges)
                    .buffered(SMTP_EXCHANGES_AT_ONCE)
                    .collect()
                    .await
            }
        };
        for (email, result) in emails.iter().zip(&results) {
            if result.is_ok() {
                tracing::info!(to = %email.to, subject = %email.subject, "mail sent");
            }
        }
        results
    }

    fn build(&self, email: &Mail) -> Result<Message, MailError> {
        let mailbox = |a: &str| -> Result<Mailbox, MailError> {
            a.trim()
                .parse()
                .map_err(|_| MailError::Address(a.to_string()))
        };
        let bodies = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(email.text.clone()),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(email.html.clone()),
            );
        let body = if email.attachments.is_empty() {
            bodies
        } else {
            let mut mixed = MultiPart::mixed().multipart(bodies);
            for a in &email.attachments {
                let kind = ContentType::parse(&a.content_type)
                    .map_err(|e| MailError::Build(e.to_string()))?;
                mixed = mixed.singlepart(
                    lettre::message::Attachment::new(a.filename.clone()).body(a.data.clone(), kind),
                );
            }
            mixed
        };
        // A stable Message-ID: a second delivery of the same message is recognisably the same.
        let message_id = email
            .id
            .as_ref()
            .map(|id| format!("<{id}@{}>", self.from.email.domain()));
        let mut builder = Message::builder()
            .message_id(message_id)
            .from(self.from.clone());
        for to in email.to.split(',').filter(|a| !a.trim().is_empty()) {
            builder = builder.to(mailbox(to)?);
        }
        for cc in &email.cc {
            builder = builder.cc(mailbox(cc)?);
        }
        builder
            .subject(&email.subject)
            .multipart(body)
            .map_err(|e| MailError::Build(e.to_string()))
    }
}

/// SMTP exchanges in flight at once, for a batch of messages.
pub const SMTP_EXCHANGES_AT_ONCE: usize = 4;

/// Writes a message into the outbox folder: as `<id>.eml` when it was queued (a repeated
/// delivery replaces the first), else `<time>-<random>.eml`. Written under a hidden name,
/// then renamed, so a reader never sees half a message.
fn write_eml(dir: &Path, id: Option<&str>, bytes: &[u8]) -> std::io::Result<()> {
    let name = match id {
        // Ids are made by `crypto::new_id` (hex); anything else gets no say in the path.
        Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) => {
            format!("{id}.eml")
        }
        _ => format!(
            "{}-{}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f"),
            crate::platform::crypto::short_random()
        ),
    };
    let tmp = dir.join(format!(
        ".{name}.{}.tmp",
        crate::platform::crypto::short_random()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(name))
}

/// How old a temporary file must be to count as left by a crash: a writer at work holds its
/// own for milliseconds.
const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes `.…tmp` files older than a minute: what a process killed while writing left.
fn remove_stale_temporary_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= STALE_TEMPORARY);
        if name.starts_with('.') && name.ends_with(".tmp") && stale {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::warn!(file = %name, "mail outbox: removed a file half written before a crash")
                }
                Err(e) => {
                    tracing::error!(file = %name, error = %e, "mail outbox: cannot remove a leftover file")
                }
            }
        }
    }
}
