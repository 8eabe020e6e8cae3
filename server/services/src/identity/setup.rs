//! The first start: while no account exists, `/setup` creates the organisation's account and
//! its first administrator (an Administrator With Billing), and signs them in.
//!
//! A portal on a network belongs to whoever sets it up, so set-up asks for a one-time code
//! that only whoever runs the server can read: the server prints it in its log at start and
//! writes it to `<data dir>/setup-code` (mode 0600); the database keeps only its hash. Set-up
//! happens once: the `setup_done` row its transaction inserts makes a second, racing one fail,
//! on SQLite and PostgreSQL alike. Everything is checked before the password is hashed.

use rand::{rngs::OsRng, Rng};
use tally_core::{
    actor::Visitor,
    audit::AuditKind,
    forms::{NewAccount, NewAccountInput},
    roles::{AdminStatus, Role},
};

use super::{
    accounts::{
        self,
        admins::{self, Admin},
    },
    passwords::Passwords,
    sign_in::{event_of, SignIns, SignedIn},
    throttle,
};
use crate::platform::{
    audit::Event,
    context::Context,
    crypto::token_hash,
    error::{ResultExt, ServiceError},
    secrets,
};

/// The set-up code's file in the data folder.
pub const SETUP_CODE_FILE: &str = "setup-code";
/// Letters and digits nobody misreads (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

const WRONG_CODE: &str =
    "That set-up code is not right. It is in the server's log and in the file setup-code in its data folder.";

/// A code as typed, compared as written: upper case, without spaces and dashes.
fn normalized(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// A new code, `XXXX-XXXX-XXXX` (about 59 bits).
fn new_code() -> String {
    let chars: Vec<char> = (0..12)
        .map(|_| char::from(CODE_ALPHABET[OsRng.gen_range(0..CODE_ALPHABET.len())]))
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Set-up of the first account.
#[derive(Clone)]
pub struct Setup {
    ctx: Context,
    passwords: Passwords,
    sign_ins: SignIns,
}

impl Setup {
    pub fn new(ctx: Context, passwords: Passwords, sign_ins: SignIns) -> Self {
        Self {
            ctx,
            passwords,
            sign_ins,
        }
    }

    /// True while no account exists (first start).
    pub async fn setup_needed(&self) -> Result<bool, ServiceError> {
        accounts::setup_needed(self.ctx.db.pool()).await
    }

    fn code_file(&self) -> std::path::PathBuf {
        self.ctx.settings.data_dir.join(SETUP_CODE_FILE)
    }

    /// At start, while set-up is needed: the set-up code, made (and written to its file, and
    /// its hash to the database) unless the file holds the one the database expects. `None`
    /// once set up.
    pub async fn prepare_setup_code(&self) -> Result<Option<String>, ServiceError> {
        if !self.setup_needed().await? {
            return Ok(None);
        }
        let stored = secrets::setup_code_hash(&self.ctx.db)
            .await
            .context("reading the set-up code's hash")?;
        let file = self.code_file();
        if let (Ok(text), Some(hash)) = (std::fs::read_to_string(&file), &stored) {
            if token_hash(&normalized(&text)) == *hash {
                return Ok(Some(text.trim().to_string()));
            }
        }
        let code = new_code();
        write_private(&file, &code).context("writing the set-up code file")?;
        secrets::set_setup_code_hash(&self.ctx.db, &token_hash(&normalized(&code)))
            .await
            .context("saving the set-up code's hash")?;
        Ok(Some(code))
    }

    /// Whether `code` is the set-up code.
    async fn code_matches(&self, code: &str) -> Result<bool, ServiceError> {
        let stored = secrets::setup_code_hash(&self.ctx.db)
            .await
            .context("reading the set-up code's hash")?;
        Ok(stored.is_some_and(|hash| hash == token_hash(&normalized(code))))
    }

    /// Creates the first account and its Administrator With Billing, and signs them in.
    /// Throttled per network; refused (not found) once any account exists; needs the set-up
    /// code; the password is hashed only when everything else is right.
    pub async fn setup(
        &self,
        visitor: &Visitor,
        code: &str,
        input: &NewAccountInput,
        password: &str,
    ) -> Result<SignedIn, ServiceError> {
        if let Some(ip) = &visitor.ip {
            throttle::check(&self.ctx, throttle::SETUP_PER_IP, &throttle::network(ip)).await?;
        }
        if !self.setup_needed().await? {
            return Err(ServiceError::NotFound);
        }
        if code.chars().count() > 64 || !self.code_matches(code).await? {
            // A set-up that finished a moment ago used the code up: say what happened.
            if !self.setup_needed().await? {
                return Err(ServiceError::NotFound);
            }
            return Err(ServiceError::field("setup_code", WRONG_CODE));
        }
        let parsed = input.parse();
        let mut errors = parsed.as_ref().err().cloned().unwrap_or_default();
        let words = [
            input.email.as_str(),
            input.first_name.as_str(),
            input.last_name.as_str(),
        ];
        errors.check(
            "password",
            self.passwords.strength(password, &words).await?.verdict,
        );
        ServiceError::unless_any(errors)?;
        let NewAccount {
            company_name,
            first_name,
            last_name,
            email,
        } = parsed.map_err(ServiceError::Invalid)?;
        let hash = self.passwords.hash(password).await?;
        let mut work = self.ctx.begin("setting up").await?;
        let now = work.now();
        // The set-up's claim first: of two set-ups at once, the second fails here.
        if !accounts::claim_setup(work.tx(), now).await? {
            return Err(ServiceError::NotFound);
        }
        secrets::forget_setup_code(work.tx())
            .await
            .context("using up the set-up code")?;
        let admin = Admin {
            id: self.ctx.new_id(),
            account_id: self.ctx.new_id(),
            email: email.to_string(),
            first_name,
            last_name,
            role: Role::AdministratorWithBilling,
            status: AdminStatus::Active,
            password_hash: Some(hash),
        };
        accounts::insert(work.tx(), &admin.account_id, &company_name, now).await?;
        admins::insert(
            work.tx(),
            &admins::NewAdminRow {
                id: &admin.id,
                account_id: &admin.account_id,
                email: &email,
                first_name: &admin.first_name,
                last_name: &admin.last_name,
                role: admin.role,
                password_hash: admin.password_hash.as_deref(),
                now,
            },
        )
        .await?;
        let event = Event {
            target: Some(company_name),
            ..event_of(
                &admin,
                visitor,
                AuditKind::AccountCreated,
                "first account set up",
            )
        };
        let cookie = self
            .sign_ins
            .start_session(work, &admin, visitor, event)
            .await?;
        // The code is spent; its file goes too (another server's copy, if any, opens nothing).
        let _ = std::fs::remove_file(self.code_file());
        Ok(SignedIn {
            cookies: vec![cookie],
            second_step: false,
        })
    }
}

/// Writes `text` to `path`, readable and writable by its owner only (replacing the file).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(format!("{text}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_written_whatever_the_case_and_spacing() {
        let code = new_code();
        assert_eq!(code.len(), 14);
        assert_eq!(
            normalized(&code.to_lowercase().replace('-', " ")),
            normalized(&code)
        );
        assert_ne!(new_code(), code);
    }
}
