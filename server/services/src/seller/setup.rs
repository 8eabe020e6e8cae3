//! The first start: while no seller exists, `/setup` makes the seller — the company running
//! Tally, its details and the plan new customer accounts start on — and its first operator,
//! an Owner, and signs them in to set up their second step. Customer accounts are made from
//! the console afterwards.
//!
//! A portal on a network belongs to whoever sets it up, so set-up asks for a one-time code
//! that only whoever runs the server can read: the server prints it in its log at start and
//! writes it to `<data dir>/setup-code` (mode 0600); the database keeps only its hash. Set-up
//! happens once: the seller's row is its claim, so a second, racing one fails on its key, on
//! SQLite and PostgreSQL alike. Everything is checked before the password is hashed.
//!
//! An installation from before the seller existed has customer accounts and no seller: it is
//! set up the same way, and its accounts carry on as they were.

use rand::{rngs::OsRng, Rng};
use tally_core::{
    actor::Visitor,
    audit::AuditKind,
    operators::OperatorRole,
    seller::{NewSeller, NewSellerInput},
};

use super::profile;
use crate::{
    identity::{
        accounts,
        operators::{NewOperator, Operators},
        sign_in::SignedIn,
        throttle,
    },
    platform::{
        audit::Event,
        context::Context,
        crypto::token_hash,
        error::{ResultExt, ServiceError},
        secrets,
    },
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

/// Set-up of the seller and its first operator.
#[derive(Clone)]
pub struct Setup {
    ctx: Context,
    operators: Operators,
}

impl Setup {
    pub fn new(ctx: Context, operators: Operators) -> Self {
        Self { ctx, operators }
    }

    /// True while no seller exists: `/setup` is open (with the code).
    pub async fn setup_needed(&self) -> Result<bool, ServiceError> {
        Ok(!profile::exists(self.ctx.db.pool()).await?)
    }

    /// True on a brand-new installation (no seller, no customer account): `/` goes to set-up.
    pub async fn first_start(&self) -> Result<bool, ServiceError> {
        Ok(self.setup_needed().await? && accounts::setup_needed(self.ctx.db.pool()).await?)
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

    /// Makes the seller and its first operator (an Owner), and signs the operator in: their
    /// session may only set up a second step until they have one. Throttled per network;
    /// refused (not found) once the seller exists; needs the set-up code; the password is
    /// hashed only when everything else is right.
    pub async fn setup(
        &self,
        visitor: &Visitor,
        code: &str,
        input: &NewSellerInput,
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
        let owner = NewOperator {
            email: &input.email,
            first_name: &input.first_name,
            last_name: &input.last_name,
            role: OperatorRole::Owner,
        };
        let mut errors = parsed.as_ref().err().cloned().unwrap_or_default();
        errors.check(
            "password",
            self.operators.password_verdict(&owner, password).await?,
        );
        ServiceError::unless_any(errors)?;
        let NewSeller { seller, .. } = parsed.map_err(ServiceError::Invalid)?;
        let hash = self.operators.hash_checked_password(password).await?;
        let mut work = self.ctx.begin("setting up").await?;
        let now = work.now();
        // The set-up's claim first: of two set-ups at once, the second fails here.
        if !profile::claim(work.tx(), &seller, now).await? {
            return Err(ServiceError::NotFound);
        }
        secrets::forget_setup_code(work.tx())
            .await
            .context("using up the set-up code")?;
        let id = self
            .operators
            .add_with_password(&mut work, &owner, &hash)
            .await?;
        work.audit(Event {
            actor_id: Some(id.clone()),
            actor_email: Some(input.email.trim().to_string()),
            target: Some(seller.legal_name.clone()),
            ..Event::visitor(
                visitor,
                AuditKind::SellerSetUp,
                "the seller and its first operator",
            )
        });
        let cookie = self
            .operators
            .sessions
            .start(work.tx(), &id, visitor.ip.as_deref(), None)
            .await?;
        work.commit().await?;
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
