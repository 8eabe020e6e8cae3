//! Two-step verification (docs/security.md): an authenticator app (TOTP, RFC 6238: 30 s, 6 digits,
//! SHA-1 for the apps people have), passkeys and security keys (WebAuthn), and single-use
//! recovery codes; the account policy that requires one of them of every administrator; and
//! the fresh check the most sensitive changes need (a second step, or the password where an
//! administrator has none, within the last 10 minutes).
//!
//! An app's secret is sealed under the server's data key (itself sealed under the secret key)
//! and never shown again after enrolment; a code is accepted once (the step it was for is
//! recorded), with one step of clock drift either way. Recovery codes are stored hashed.
//! Passkeys are public keys.

use std::sync::Arc;

use rand::{rngs::OsRng, Rng, RngCore};
use sqlx::{Any, Executor};
use totp_rs::{Algorithm, Builder as TotpBuilder, Totp};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use std::collections::HashSet;

use tally_core::{
    actor::{Actor, OperatorActor},
    audit::AuditKind,
    views::two_step::{
        AppEnrolment, PasskeyCreation, PasskeyRequest, PasskeySummary, TwoStepStatus,
    },
};

use crate::{
    identity::accounts::{self, admins, sessions},
    platform::{
        audit::Event,
        context::Context,
        crypto::{new_token, token_hash},
        error::{ResultExt, ServiceError},
        mail::emails,
        work::Work,
    },
};

/// How long a passkey ceremony (or a half sign-in) may take.
pub const CEREMONY_MILLIS: i64 = 5 * 60_000;
/// Wrong second steps (codes or passkeys, at sign-in or in a fresh check) after which the
/// second step is closed until an Administrator With Billing resets it.
pub const CLOSED_AFTER_FAILURES: i64 = 20;
/// Wrong second steps at which their owner is emailed.
pub const TOLD_AFTER_FAILURES: i64 = 5;

/// The answer while an administrator's second step is closed.
pub fn closed() -> ServiceError {
    ServiceError::field(
        "code",
        format!(
            "Two-step verification is closed after {CLOSED_AFTER_FAILURES} wrong codes. Ask an Administrator With Billing of your organisation to reset it."
        ),
    )
}

/// Recovery codes made at a time.
pub const RECOVERY_CODES: usize = 10;
/// Letters and digits nobody misreads.
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Whose second steps: an account's administrator, or one of the seller's operators. Both
/// use the same factors, kept in the same tables under their owner's id.
#[derive(Clone, Copy, Debug)]
pub enum Owner<'a> {
    Admin(&'a Actor),
    Operator(&'a OperatorActor),
}

impl<'a> From<&'a Actor> for Owner<'a> {
    fn from(actor: &'a Actor) -> Self {
        Owner::Admin(actor)
    }
}

impl<'a> From<&'a OperatorActor> for Owner<'a> {
    fn from(operator: &'a OperatorActor) -> Self {
        Owner::Operator(operator)
    }
}

impl Owner<'_> {
    pub fn id(&self) -> &str {
        match self {
            Owner::Admin(a) => &a.id,
            Owner::Operator(o) => &o.id,
        }
    }

    pub fn email(&self) -> &str {
        match self {
            Owner::Admin(a) => &a.email,
            Owner::Operator(o) => &o.email,
        }
    }

    fn full_name(&self) -> String {
        match self {
            Owner::Admin(a) => a.full_name(),
            Owner::Operator(o) => o.full_name(),
        }
    }

    fn is_fresh(&self, now: i64) -> bool {
        match self {
            Owner::Admin(a) => a.is_fresh(now),
            Owner::Operator(o) => o.is_fresh(now),
        }
    }

    /// The account a factor belongs to (an operator's belong to none).
    fn account_id(&self) -> Option<&str> {
        match self {
            Owner::Admin(a) => Some(&a.account_id),
            Owner::Operator(_) => None,
        }
    }

    /// Their action on their own two-step verification, for the audit log.
    fn event(&self, kind: AuditKind, detail: &str) -> Event {
        match self {
            Owner::Admin(a) => Event::by(a, kind, a.email.as_str(), detail),
            Owner::Operator(o) => Event::by_operator(o, kind, o.email.as_str(), detail),
        }
    }

    /// Ends every session but the one making the change, and every half-done sign-in.
    async fn end_other_sessions(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<u64, ServiceError> {
        match self {
            Owner::Admin(a) => sessions::end_others(conn, &a.id, &a.session).await,
            Owner::Operator(o) => {
                crate::identity::operators::sessions::end_others(conn, &o.id, &o.session).await
            }
        }
    }
}

/// What the second step (or a fresh check) was made with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Factor {
    App,
    Passkey(String),
    /// A recovery code; how many are left.
    RecoveryCode(usize),
    Password,
}

impl Factor {
    /// For the audit log.
    pub fn describe(&self) -> String {
        match self {
            Factor::App => "authenticator app".into(),
            Factor::Passkey(name) => format!("passkey {name}"),
            Factor::RecoveryCode(left) => format!("recovery code ({left} left)"),
            Factor::Password => "password".into(),
        }
    }
}

/// A passkey as stored for listing.
#[derive(sqlx::FromRow)]
struct PasskeyItem {
    id: String,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
}

/// Which passkey ceremony a saved state is for.
#[derive(Clone, Copy, Debug)]
enum Ceremony {
    Register,
    Authenticate,
}

impl Ceremony {
    fn code(self) -> &'static str {
        match self {
            Ceremony::Register => "register",
            Ceremony::Authenticate => "authenticate",
        }
    }
}

#[derive(sqlx::FromRow)]
struct AppRow {
    secret_sealed: String,
    enabled_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct PasskeyRow {
    id: String,
    name: String,
    credential: String,
}

/// A recovery code as typed, compared as written: lower case, no spaces or dashes.
fn normalized_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Characters in a recovery code: 24 of 31 symbols, about 119 bits (ASVS asks for 112 where
/// codes are stored as a fast hash: no pass over that space is possible).
const RECOVERY_CODE_CHARS: usize = 24;

/// A new recovery code, `xxxx-xxxx-xxxx-xxxx-xxxx-xxxx`.
fn new_recovery_code() -> String {
    let c: Vec<u8> = (0..RECOVERY_CODE_CHARS)
        .map(|_| CODE_ALPHABET[OsRng.gen_range(0..CODE_ALPHABET.len())])
        .collect();
    c.chunks(4)
        .map(|g| String::from_utf8_lossy(g).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The row an authenticator app's secret is sealed for: a sealed secret copied into another
/// administrator's row does not open there.
fn app_row(admin_id: &str) -> String {
    format!("admin_totp/{admin_id}")
}

/// Seals every authenticator secret again (or, with `only_unbound`, those an earlier version
/// sealed bound to no row): under `new` (a new data key, in the rotation's transaction
/// `conn`), each for its row. Returns how many were sealed again; one that `old` does not
/// open stops it (nothing is changed).
pub async fn reseal_app_secrets(
    conn: &mut sqlx::AnyConnection,
    old: &crate::platform::secrets::SecretKey,
    new: &crate::platform::secrets::SecretKey,
    only_unbound: bool,
) -> Result<u64, ServiceError> {
    let which = if only_unbound {
        " WHERE secret_sealed NOT LIKE 'b1.%'"
    } else {
        ""
    };
    let rows: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT owner_id, secret_sealed FROM admin_totp{which}"
    ))
    .fetch_all(&mut *conn)
    .await
    .context("reading authenticator secrets")?;
    let mut n = 0;
    for (admin_id, sealed) in rows {
        let row = app_row(&admin_id);
        let plain = old
            .open_for(&row, &sealed)
            .or_else(|| old.open_unbound(&sealed))
            .ok_or_else(|| {
                ServiceError::invariant(
                    "sealing authenticator secrets again",
                    "the data key does not open one of them",
                )
            })?;
        sqlx::query("UPDATE admin_totp SET secret_sealed = $1 WHERE owner_id = $2")
            .bind(new.seal_for(&row, &plain))
            .bind(&admin_id)
            .execute(&mut *conn)
            .await
            .context("sealing an authenticator secret again")?;
        n += 1;
    }
    Ok(n)
}

/// Deletes every second step of `owner_id` (an administrator or an operator being deleted),
/// in `conn`, the deletion's transaction: the factor tables name their owner without
/// referring to either table.
pub async fn forget(conn: &mut sqlx::AnyConnection, owner_id: &str) -> Result<(), ServiceError> {
    for sql in [
        "DELETE FROM admin_totp WHERE owner_id = $1",
        "DELETE FROM admin_passkeys WHERE owner_id = $1",
        "DELETE FROM admin_recovery_codes WHERE owner_id = $1",
        "DELETE FROM webauthn_ceremonies WHERE owner_id = $1",
    ] {
        sqlx::query(sql)
            .bind(owner_id)
            .execute(&mut *conn)
            .await
            .context("deleting second steps")?;
    }
    Ok(())
}

/// The TOTP of a secret (RFC 6238: SHA-1, 6 digits, 30 s, one step of drift either way).
fn totp(secret: Vec<u8>, account: &str) -> Result<Totp, ServiceError> {
    TotpBuilder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_issuer(Some("Tally"))
        .with_account_name(account.replace(':', ""))
        .build()
        .context("configuring an authenticator app")
}

/// Whether an administrator has any second step (an enabled app or a passkey), in `exec`.
pub async fn has_second_step<'e, E>(exec: E, admin_id: &str) -> Result<bool, ServiceError>
where
    E: Executor<'e, Database = Any>,
{
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM admin_totp WHERE owner_id = $1 AND enabled_at IS NOT NULL) \
         + (SELECT COUNT(*) FROM admin_passkeys WHERE owner_id = $1)",
    )
    .bind(admin_id)
    .fetch_one(exec)
    .await
    .context("checking for a second step")?;
    Ok(n > 0)
}

/// Which of `admin_ids` have a second step (an enabled app or a passkey).
pub async fn with_second_step(
    pool: &sqlx::AnyPool,
    admin_ids: &[String],
) -> Result<HashSet<String>, ServiceError> {
    let mut found = HashSet::new();
    for batch in admin_ids.chunks(crate::platform::db::ROWS_PER_STATEMENT) {
        let marks = (1..=batch.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT owner_id FROM admin_totp WHERE enabled_at IS NOT NULL AND owner_id IN ({marks}) \
             UNION SELECT owner_id FROM admin_passkeys WHERE owner_id IN ({marks})"
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for id in batch {
            q = q.bind(id);
        }
        found.extend(
            q.fetch_all(pool)
                .await
                .context("reading who has a second step")?,
        );
    }
    Ok(found)
}

/// Two-step verification.
#[derive(Clone)]
pub struct TwoStep {
    ctx: Context,
    webauthn: Option<Arc<Webauthn>>,
}

impl TwoStep {
    pub fn new(ctx: Context) -> Self {
        let settings = &ctx.settings;
        // A relying party is a host name: browsers refuse passkeys at an IP address.
        let webauthn = (settings.public_host.parse::<std::net::IpAddr>().is_err())
            .then(|| {
                let origin = Url::parse(&settings.public_url).ok()?;
                WebauthnBuilder::new(&settings.public_host, &origin)
                    .ok()?
                    .rp_name("Tally")
                    .build()
                    .ok()
            })
            .flatten()
            .map(Arc::new);
        Self { ctx, webauthn }
    }

    fn webauthn(&self) -> Result<&Webauthn, ServiceError> {
        self.webauthn.as_deref().ok_or_else(|| {
            ServiceError::Conflict(
                "Passkeys need the portal at a host name (TALLY_PUBLIC_URL), not an IP address."
                    .into(),
            )
        })
    }

    /// One's two-step verification.
    pub async fn status<'a>(
        &self,
        who: impl Into<Owner<'a>>,
    ) -> Result<TwoStepStatus, ServiceError> {
        let who: Owner<'_> = who.into();
        let pool = self.ctx.db.pool();
        let app: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM admin_totp WHERE owner_id = $1 AND enabled_at IS NOT NULL",
        )
        .bind(who.id())
        .fetch_one(pool)
        .await
        .context("reading one's authenticator app")?;
        let passkeys: Vec<PasskeyItem> = sqlx::query_as(
            "SELECT id, name, created_at, last_used_at FROM admin_passkeys WHERE owner_id = $1 ORDER BY created_at",
        )
        .bind(who.id())
        .fetch_all(pool)
        .await
        .context("reading one's passkeys")?;
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM admin_recovery_codes WHERE owner_id = $1 AND used_at IS NULL",
        )
        .bind(who.id())
        .fetch_one(pool)
        .await
        .context("counting one's recovery codes")?;
        Ok(TwoStepStatus {
            app: app > 0,
            passkeys: passkeys
                .into_iter()
                .map(|p| PasskeySummary {
                    id: p.id,
                    name: p.name,
                    created_at: p.created_at,
                    last_used_at: p.last_used_at,
                })
                .collect(),
            recovery_codes_left: u32::try_from(left.max(0)).unwrap_or(u32::MAX),
            required: match who {
                Owner::Admin(a) => accounts::two_step_required(pool, &a.account_id).await?,
                // Mandatory for the seller's staff.
                Owner::Operator(_) => true,
            },
            passkeys_available: self.webauthn.is_some(),
        })
    }

    /// Tells the administrator about a change to their own two-step verification, with the
    /// change: its audit event and its email.
    fn tell(work: &mut Work, who: Owner<'_>, kind: AuditKind, what: &str) {
        work.audit(who.event(kind, what));
        work.mail(emails::two_step_changed(who.email(), what));
    }

    /// The most sensitive changes need a proof from the last 10 minutes.
    fn require_fresh(&self, who: Owner<'_>) -> Result<(), ServiceError> {
        if who.is_fresh(self.ctx.now()) {
            Ok(())
        } else {
            Err(ServiceError::FreshCheckRequired)
        }
    }

    /// A way to sign in was added or removed: every other session and half-done sign-in of
    /// the administrator ends (one that was borrowed does not outlive the change), and they
    /// are told, as [`TwoStep::tell`].
    async fn factor_changed(
        work: &mut Work,
        who: Owner<'_>,
        kind: AuditKind,
        what: &str,
    ) -> Result<(), ServiceError> {
        who.end_other_sessions(work.tx()).await?;
        let what = format!("{what} Every other session of yours has ended.");
        Self::tell(work, who, kind, &what);
        Ok(())
    }

    /// Starts enrolling an authenticator app: a new secret (replacing an unfinished one),
    /// shown once as a QR code and as text. Refused while an app is enabled. A fresh check,
    /// like every change that decides who can sign in: a borrowed session cannot add a way in.
    pub async fn start_app<'a>(
        &self,
        who: impl Into<Owner<'a>>,
    ) -> Result<AppEnrolment, ServiceError> {
        let who: Owner<'_> = who.into();
        self.require_fresh(who)?;
        let mut secret = vec![0u8; 20];
        OsRng.fill_bytes(&mut secret);
        let t = totp(secret.clone(), who.email())?;
        let url = t.to_url().context("writing the authenticator address")?;
        let now = self.ctx.now();
        let done = sqlx::query(
            "INSERT INTO admin_totp (owner_id, secret_sealed, enabled_at, last_step, created_at) VALUES ($1, $2, NULL, 0, $3) \
             ON CONFLICT (owner_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at \
             WHERE admin_totp.enabled_at IS NULL",
        )
        .bind(who.id())
        .bind(self.ctx.keys.data().seal_for(&app_row(who.id()), &secret))
        .bind(now)
        .execute(self.ctx.db.pool())
        .await
        .context("saving a new authenticator secret")?;
        if done.rows_affected() == 0 {
            return Err(ServiceError::Conflict(
                "An authenticator app is already set up. Remove it first to set up another.".into(),
            ));
        }
        let qr = qrcode::QrCode::new(url.as_bytes()).context("drawing the QR code")?;
        let qr_svg = qr
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build();
        let key = t.secret().to_base32();
        let key = key
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(AppEnrolment { key, qr_svg })
    }

    /// Binds to its row every authenticator secret an earlier version sealed bound to none
    /// (at start; a no-op once done). Returns how many.
    pub async fn bind_unbound_secrets(&self) -> Result<u64, ServiceError> {
        let unbound: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM admin_totp WHERE secret_sealed NOT LIKE 'b1.%'",
        )
        .fetch_one(self.ctx.db.pool())
        .await
        .context("counting unbound authenticator secrets")?;
        if unbound == 0 {
            return Ok(0);
        }
        let data = self.ctx.keys.data();
        let mut work = self.ctx.begin("binding authenticator secrets").await?;
        let n = reseal_app_secrets(work.tx(), data, data, true).await?;
        work.commit().await?;
        Ok(n)
    }

    /// The app's secret of an administrator, enabled or not.
    async fn app_secret(&self, admin_id: &str) -> Result<Option<(Vec<u8>, bool)>, ServiceError> {
        let row: Option<AppRow> =
            sqlx::query_as("SELECT secret_sealed, enabled_at FROM admin_totp WHERE owner_id = $1")
                .bind(admin_id)
                .fetch_optional(self.ctx.db.pool())
                .await
                .context("reading an authenticator secret")?;
        let Some(row) = row else { return Ok(None) };
        let secret = self
            .ctx
            .keys
            .data()
            .open_for(&app_row(admin_id), &row.secret_sealed)
            .ok_or_else(|| {
                ServiceError::invariant(
                    "opening an authenticator secret",
                    "the secret key does not open it",
                )
            })?;
        Ok(Some((secret, row.enabled_at.is_some())))
    }

    /// Whether `code` is the app's current one (or one step either side) and was never
    /// accepted before; records its step so it is not accepted again.
    async fn accept_app_code(
        &self,
        admin_id: &str,
        email: &str,
        secret: Vec<u8>,
        code: &str,
    ) -> Result<bool, ServiceError> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(false);
        }
        let now = u64::try_from(self.ctx.now() / 1000).unwrap_or(0);
        let Some(step) = totp(secret, email)?.check(&code, now) else {
            return Ok(false);
        };
        // Only a step newer than the last one accepted: a code is used once, even by two
        // requests at the same moment.
        let claimed = sqlx::query(
            "UPDATE admin_totp SET last_step = $1 WHERE owner_id = $2 AND last_step < $1",
        )
        .bind(step as i64)
        .bind(admin_id)
        .execute(self.ctx.db.pool())
        .await
        .context("recording an authenticator code's use")?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Finishes enrolling the app with a code from it; returns new recovery codes when the
    /// administrator had none left (shown once).
    pub async fn confirm_app<'a>(
        &self,
        who: impl Into<Owner<'a>>,
        code: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let who: Owner<'_> = who.into();
        let Some((secret, enabled)) = self.app_secret(who.id()).await? else {
            return Err(ServiceError::Conflict(
                "Start setting up the app first.".into(),
            ));
        };
        if enabled {
            return Err(ServiceError::Conflict(
                "The authenticator app is already set up.".into(),
            ));
        }
        if !self
            .accept_app_code(who.id(), who.email(), secret, code)
            .await?
        {
            return Err(ServiceError::field(
                "code",
                "That code is not right. Enter the 6 digits the app shows now.",
            ));
        }
        let mut work = self.ctx.begin("enabling an authenticator app").await?;
        sqlx::query("UPDATE admin_totp SET enabled_at = $1 WHERE owner_id = $2")
            .bind(work.now())
            .bind(who.id())
            .execute(work.tx())
            .await
            .context("enabling an authenticator app")?;
        let codes = self.recovery_codes_if_none(&mut work, who.id()).await?;
        Self::factor_changed(
            &mut work,
            who,
            AuditKind::TwoStepEnabled,
            "An authenticator app was set up for two-step verification.",
        )
        .await?;
        work.commit().await?;
        Ok(codes)
    }

    /// New recovery codes when an administrator has none left (their first second step).
    async fn recovery_codes_if_none(
        &self,
        work: &mut Work,
        admin_id: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM admin_recovery_codes WHERE owner_id = $1 AND used_at IS NULL",
        )
        .bind(admin_id)
        .fetch_one(work.tx())
        .await
        .context("counting recovery codes")?;
        if left > 0 {
            return Ok(Vec::new());
        }
        self.replace_recovery_codes(work, admin_id).await
    }

    async fn replace_recovery_codes(
        &self,
        work: &mut Work,
        admin_id: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let now = work.now();
        let conn = work.tx();
        sqlx::query("DELETE FROM admin_recovery_codes WHERE owner_id = $1")
            .bind(admin_id)
            .execute(&mut *conn)
            .await
            .context("removing old recovery codes")?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        for code in &codes {
            sqlx::query(
                "INSERT INTO admin_recovery_codes (owner_id, code_hash, used_at, created_at) VALUES ($1, $2, NULL, $3)",
            )
            .bind(admin_id)
            .bind(token_hash(&normalized_code(code)))
            .bind(now)
            .execute(&mut *conn)
            .await
            .context("saving recovery codes")?;
        }
        Ok(codes)
    }

    /// Makes 10 new recovery codes, replacing every old one (fresh check).
    pub async fn regenerate_recovery_codes<'a>(
        &self,
        who: impl Into<Owner<'a>>,
    ) -> Result<Vec<String>, ServiceError> {
        let who: Owner<'_> = who.into();
        self.require_fresh(who)?;
        let mut work = self.ctx.begin("making recovery codes").await?;
        let codes = self.replace_recovery_codes(&mut work, who.id()).await?;
        Self::factor_changed(
            &mut work,
            who,
            AuditKind::RecoveryCodesRegenerated,
            "New recovery codes were made; the old ones no longer work.",
        )
        .await?;
        work.commit().await?;
        Ok(codes)
    }

    /// Removes one's authenticator app (fresh check).
    pub async fn remove_app<'a>(&self, who: impl Into<Owner<'a>>) -> Result<(), ServiceError> {
        let who: Owner<'_> = who.into();
        self.require_fresh(who)?;
        let mut work = self.ctx.begin("removing an authenticator app").await?;
        let removed =
            sqlx::query("DELETE FROM admin_totp WHERE owner_id = $1 AND enabled_at IS NOT NULL")
                .bind(who.id())
                .execute(work.tx())
                .await
                .context("removing an authenticator app")?;
        if removed.rows_affected() == 0 {
            return Err(ServiceError::NotFound);
        }
        Self::factor_changed(
            &mut work,
            who,
            AuditKind::TwoStepDisabled,
            "The authenticator app was removed from two-step verification.",
        )
        .await?;
        work.commit().await
    }

    /// Checks a code for an administrator's second step: their app's current code, or one of
    /// their recovery codes (used up). `None` when it is neither.
    pub async fn check_code(
        &self,
        admin_id: &str,
        email: &str,
        code: &str,
    ) -> Result<Option<Factor>, ServiceError> {
        if code.chars().count() > 64 {
            return Ok(None);
        }
        if let Some((secret, true)) = self.app_secret(admin_id).await? {
            if self.accept_app_code(admin_id, email, secret, code).await? {
                return Ok(Some(Factor::App));
            }
        }
        let used = sqlx::query(
            "UPDATE admin_recovery_codes SET used_at = $1 WHERE owner_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(self.ctx.now())
        .bind(admin_id)
        .bind(token_hash(&normalized_code(code)))
        .execute(self.ctx.db.pool())
        .await
        .context("using a recovery code")?;
        if used.rows_affected() == 0 {
            return Ok(None);
        }
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM admin_recovery_codes WHERE owner_id = $1 AND used_at IS NULL",
        )
        .bind(admin_id)
        .fetch_one(self.ctx.db.pool())
        .await
        .context("counting recovery codes")?;
        Ok(Some(Factor::RecoveryCode(left.max(0) as usize)))
    }

    /// Tells an administrator of wrong second steps: audited and emailed at the
    /// [`TOLD_AFTER_FAILURES`]th, and when the [`CLOSED_AFTER_FAILURES`]th closes it.
    pub async fn told_failures(
        &self,
        admin: &admins::Admin,
        failures: i64,
    ) -> Result<(), ServiceError> {
        self.told_failures_of(&admin.email, Some(&admin.account_id), &admin.id, failures)
            .await
    }

    /// [`TwoStep::told_failures`] for whoever `owner_id` is (an operator's events belong to
    /// no account).
    pub async fn told_failures_of(
        &self,
        email: &str,
        account_id: Option<&str>,
        owner_id: &str,
        failures: i64,
    ) -> Result<(), ServiceError> {
        let closed = failures >= CLOSED_AFTER_FAILURES;
        if failures != TOLD_AFTER_FAILURES && failures != CLOSED_AFTER_FAILURES {
            return Ok(());
        }
        let mut work = self.ctx.begin("telling of wrong second steps").await?;
        let detail = if closed {
            format!("{failures} wrong second steps: closed until reset")
        } else {
            format!("{failures} wrong second steps")
        };
        work.audit(Event {
            account_id: account_id.map(str::to_string),
            actor_id: Some(owner_id.to_string()),
            actor_email: Some(email.to_string()),
            target: Some(email.to_string()),
            detail,
            ..Event::new(AuditKind::SecondStepFailed)
        });
        work.mail(emails::second_step_failures(email, failures, closed));
        work.commit().await
    }

    /// Tells an operator of something about their own sign-in (a recovery code used at the
    /// second step, before any session stands for them): audited and emailed.
    pub async fn tell_operator(
        &self,
        email: &str,
        operator_id: &str,
        what: &str,
    ) -> Result<(), ServiceError> {
        let mut work = self.ctx.begin("telling an operator").await?;
        work.audit(Event {
            actor_id: Some(operator_id.to_string()),
            actor_email: Some(email.to_string()),
            target: Some(email.to_string()),
            detail: what.to_string(),
            ..Event::new(AuditKind::RecoveryCodeUsed)
        });
        work.mail(emails::two_step_changed(email, what));
        work.commit().await
    }

    /// Checks a second factor of `owner_id`: a code (the app's or a recovery code) or a
    /// passkey's answer. A password is no second factor. The factor, or `None`.
    pub async fn check_second_factor(
        &self,
        owner_id: &str,
        email: &str,
        proof: &super::sign_in::Proof,
    ) -> Result<Option<Factor>, ServiceError> {
        use super::sign_in::Proof;
        match proof {
            Proof::Code(code) => self.check_code(owner_id, email, code).await,
            Proof::Passkey {
                ceremony,
                credential,
            } => {
                self.finish_passkey_authentication(owner_id, ceremony, credential)
                    .await
            }
            Proof::Password(_) => Ok(None),
        }
    }

    /// Records that a recovery code was used, for its owner's audit log and email.
    pub async fn told_recovery_code_used<'a>(
        &self,
        who: impl Into<Owner<'a>>,
        left: usize,
    ) -> Result<(), ServiceError> {
        let who: Owner<'_> = who.into();
        let mut work = self.ctx.begin("telling of a recovery code").await?;
        let what = format!("A recovery code was used to sign in; {left} are left.");
        Self::tell(&mut work, who, AuditKind::RecoveryCodeUsed, &what);
        work.commit().await
    }

    /// Saves a passkey ceremony's state; returns its id.
    async fn save_ceremony(
        &self,
        admin_id: &str,
        kind: Ceremony,
        state: &impl serde::Serialize,
    ) -> Result<String, ServiceError> {
        let id = new_token();
        let now = self.ctx.now();
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (id, owner_id, kind, state, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash(&id))
        .bind(admin_id)
        .bind(kind.code())
        .bind(serde_json::to_string(state).context("saving a passkey ceremony")?)
        .bind(now + CEREMONY_MILLIS)
        .bind(now)
        .execute(self.ctx.db.pool())
        .await
        .context("saving a passkey ceremony")?;
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1")
            .bind(now)
            .execute(self.ctx.db.pool())
            .await
            .context("clearing old passkey ceremonies")?;
        Ok(id)
    }

    /// Takes (and so ends) a ceremony of `admin_id` and `kind`, if it is still under way.
    async fn take_ceremony<T: serde::de::DeserializeOwned>(
        &self,
        admin_id: &str,
        kind: Ceremony,
        id: &str,
    ) -> Result<T, ServiceError> {
        let state: Option<String> = sqlx::query_scalar(
            "DELETE FROM webauthn_ceremonies WHERE id = $1 AND owner_id = $2 AND kind = $3 AND expires_at > $4 RETURNING state",
        )
        .bind(token_hash(id))
        .bind(admin_id)
        .bind(kind.code())
        .bind(self.ctx.now())
        .fetch_optional(self.ctx.db.pool())
        .await
        .context("reading a passkey ceremony")?;
        let state = state.ok_or_else(|| {
            ServiceError::Conflict("That took too long. Try the passkey again.".into())
        })?;
        serde_json::from_str(&state).context("reading a passkey ceremony")
    }

    async fn passkeys_of(
        &self,
        admin_id: &str,
    ) -> Result<Vec<(PasskeyRow, Passkey)>, ServiceError> {
        let rows: Vec<PasskeyRow> =
            sqlx::query_as("SELECT id, name, credential FROM admin_passkeys WHERE owner_id = $1")
                .bind(admin_id)
                .fetch_all(self.ctx.db.pool())
                .await
                .context("reading passkeys")?;
        rows.into_iter()
            .map(|r| {
                let key: Passkey =
                    serde_json::from_str(&r.credential).context("reading a passkey")?;
                Ok((r, key))
            })
            .collect()
    }

    /// Starts registering a passkey named `name`: the options for the browser, and the
    /// ceremony's id to finish it with.
    pub async fn start_passkey_registration<'a>(
        &self,
        who: impl Into<Owner<'a>>,
        name: &str,
    ) -> Result<PasskeyCreation, ServiceError> {
        let who: Owner<'_> = who.into();
        self.require_fresh(who)?;
        let name = tally_core::contact::required_text(name, "passkey's name", 60)
            .map_err(|e| ServiceError::field("name", e))?;
        let webauthn = self.webauthn()?;
        let existing = self.passkeys_of(who.id()).await?;
        let exclude = existing.iter().map(|(_, k)| k.cred_id().clone()).collect();
        let user = Uuid::new_v5(&Uuid::NAMESPACE_OID, who.id().as_bytes());
        let (options, state) = webauthn
            .start_passkey_registration(user, who.email(), &who.full_name(), Some(exclude))
            .context("starting a passkey registration")?;
        let id = self
            .save_ceremony(who.id(), Ceremony::Register, &(name, state))
            .await?;
        Ok(PasskeyCreation {
            ceremony: id,
            options,
        })
    }

    /// Finishes registering a passkey with what the browser's authenticator answered.
    /// Returns new recovery codes (shown once) when the administrator had none.
    pub async fn finish_passkey_registration<'a>(
        &self,
        who: impl Into<Owner<'a>>,
        ceremony: &str,
        credential: &RegisterPublicKeyCredential,
    ) -> Result<Vec<String>, ServiceError> {
        let who: Owner<'_> = who.into();
        let webauthn = self.webauthn()?;
        let (name, state): (String, PasskeyRegistration) = self
            .take_ceremony(who.id(), Ceremony::Register, ceremony)
            .await?;
        let passkey = webauthn
            .finish_passkey_registration(credential, &state)
            .map_err(|_| {
                ServiceError::Conflict(
                    "The passkey could not be checked. Try again, or use another one.".into(),
                )
            })?;
        let mut work = self.ctx.begin("saving a passkey").await?;
        let now = work.now();
        sqlx::query(
            "INSERT INTO admin_passkeys (id, owner_id, account_id, name, credential, last_used_at, created_at) VALUES ($1, $2, $3, $4, $5, NULL, $6)",
        )
        .bind(self.ctx.new_id())
        .bind(who.id())
        .bind(who.account_id())
        .bind(&name)
        .bind(serde_json::to_string(&passkey).context("saving a passkey")?)
        .bind(now)
        .execute(work.tx())
        .await
        .context("saving a passkey")?;
        let codes = self.recovery_codes_if_none(&mut work, who.id()).await?;
        let what =
            format!("The passkey \u{201c}{name}\u{201d} was added to two-step verification.");
        Self::factor_changed(&mut work, who, AuditKind::PasskeyAdded, &what).await?;
        work.commit().await?;
        Ok(codes)
    }

    /// Removes one of one's passkeys (fresh check).
    pub async fn remove_passkey<'a>(
        &self,
        who: impl Into<Owner<'a>>,
        id: &str,
    ) -> Result<(), ServiceError> {
        let who: Owner<'_> = who.into();
        self.require_fresh(who)?;
        let mut work = self.ctx.begin("removing a passkey").await?;
        let name: Option<String> = sqlx::query_scalar(
            "DELETE FROM admin_passkeys WHERE id = $1 AND owner_id = $2 RETURNING name",
        )
        .bind(id)
        .bind(who.id())
        .fetch_optional(work.tx())
        .await
        .context("removing a passkey")?;
        let name = name.ok_or(ServiceError::NotFound)?;
        // An operator's second step is mandatory: the last one stays until another is added.
        if matches!(who, Owner::Operator(_)) && !has_second_step(work.tx(), who.id()).await? {
            return Err(ServiceError::Conflict(
                "Operators must keep a second step: add another passkey or an authenticator app before removing this one.".into(),
            ));
        }
        let what =
            format!("The passkey \u{201c}{name}\u{201d} was removed from two-step verification.");
        Self::factor_changed(&mut work, who, AuditKind::PasskeyRemoved, &what).await?;
        work.commit().await
    }

    /// Starts proving it is `admin_id` with one of their passkeys.
    pub async fn start_passkey_authentication(
        &self,
        admin_id: &str,
    ) -> Result<PasskeyRequest, ServiceError> {
        let webauthn = self.webauthn()?;
        let keys: Vec<Passkey> = self
            .passkeys_of(admin_id)
            .await?
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        if keys.is_empty() {
            return Err(ServiceError::Conflict("You have no passkey yet.".into()));
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&keys)
            .context("starting a passkey check")?;
        let id = self
            .save_ceremony(admin_id, Ceremony::Authenticate, &state)
            .await?;
        Ok(PasskeyRequest {
            ceremony: id,
            options,
        })
    }

    /// Finishes a passkey proof; the passkey used, or `None` when it does not prove it.
    pub async fn finish_passkey_authentication(
        &self,
        admin_id: &str,
        ceremony: &str,
        credential: &PublicKeyCredential,
    ) -> Result<Option<Factor>, ServiceError> {
        let webauthn = self.webauthn()?;
        let state: PasskeyAuthentication = self
            .take_ceremony(admin_id, Ceremony::Authenticate, ceremony)
            .await?;
        let Ok(result) = webauthn.finish_passkey_authentication(credential, &state) else {
            return Ok(None);
        };
        for (row, mut key) in self.passkeys_of(admin_id).await? {
            if key.cred_id() == result.cred_id() {
                key.update_credential(&result);
                sqlx::query(
                    "UPDATE admin_passkeys SET credential = $1, last_used_at = $2 WHERE id = $3",
                )
                .bind(serde_json::to_string(&key).context("saving a passkey's use")?)
                .bind(self.ctx.now())
                .bind(&row.id)
                .execute(self.ctx.db.pool())
                .await
                .context("saving a passkey's use")?;
                return Ok(Some(Factor::Passkey(row.name)));
            }
        }
        Ok(None)
    }

    /// Ends another administrator's two-step verification (their device is lost): an
    /// Administrator With Billing of the same account, with a fresh check; never one's own.
    /// Their sessions end, and they are emailed.
    pub async fn reset_for(&self, actor: &Actor, target_id: &str) -> Result<(), ServiceError> {
        self.ctx.require_fresh(actor)?;
        if target_id == actor.id {
            return Err(ServiceError::Conflict(
                "You can't reset your own two-step verification. Sign in with a recovery code and change it in Account settings.".into(),
            ));
        }
        let target = admins::in_account(self.ctx.db.pool(), &actor.account_id, target_id).await?;
        let mut work = self.ctx.begin("resetting two-step verification").await?;
        forget(work.tx(), target_id).await?;
        sessions::end_all(work.tx(), target_id).await?;
        admins::LOCKOUT
            .clear_second_step_failures(work.tx(), target_id)
            .await?;
        work.audit(Event::by(
            actor,
            AuditKind::TwoStepReset,
            target.email.as_str(),
            "every second step removed",
        ));
        let what = format!(
            "{} reset your two-step verification: your authenticator app, passkeys and recovery codes no longer work. Sign in and set it up again in Account settings.",
            actor.full_name()
        );
        work.mail(emails::two_step_changed(&target.email, &what));
        work.commit().await
    }

    /// Sets the account's policy (fresh check). Turning the requirement off is for an
    /// Administrator With Billing only: it lowers every administrator's protection, the
    /// billing ones' too.
    pub async fn set_policy(&self, actor: &Actor, required: bool) -> Result<(), ServiceError> {
        if !required && actor.role != tally_core::roles::Role::AdministratorWithBilling {
            return Err(ServiceError::Conflict(
                "Only an Administrator With Billing can stop requiring two-step verification."
                    .into(),
            ));
        }
        self.ctx.require_fresh(actor)?;
        let mut work = self.ctx.begin("setting the two-step policy").await?;
        accounts::set_two_step_required(work.tx(), &actor.account_id, required).await?;
        let detail = if required {
            "required of every administrator"
        } else {
            "no longer required"
        };
        work.audit(Event::by(
            actor,
            AuditKind::TwoStepPolicyChanged,
            actor.account_name.as_str(),
            detail,
        ));
        work.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 test vectors (8 digits, the RFC's secret).
    #[test]
    fn the_rfc_6238_sha1_vectors() {
        let t = TotpBuilder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(8)
            .with_step_duration(30)
            .with_secret(b"12345678901234567890".to_vec())
            .build()
            .unwrap();
        for (time, code) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(t.generate(time).to_string(), code, "at {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = b"12345678901234567890".to_vec();
        let t = totp(secret, "ann@acme.test").unwrap();
        let now = 1_700_000_000u64;
        let step = now / 30;
        for (offset, ok) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = ((step as i64 + offset) * 30) as u64;
            let code = t.generate(at).to_string();
            assert_eq!(t.check(&code, now).is_some(), ok, "step {offset:+}");
        }
        assert!(t
            .to_url()
            .unwrap()
            .starts_with("otpauth://totp/Tally:ann%40acme.test?"));
    }

    #[test]
    fn a_recovery_code_carries_at_least_112_bits() {
        let bits = RECOVERY_CODE_CHARS as f64 * (CODE_ALPHABET.len() as f64).log2();
        assert!(bits >= 112.0, "{bits} bits");
        let codes: HashSet<String> = (0..1000).map(|_| new_recovery_code()).collect();
        assert_eq!(codes.len(), 1000);
        for c in &codes {
            let symbols: Vec<u8> = normalized_code(c).into_bytes();
            assert_eq!(symbols.len(), RECOVERY_CODE_CHARS, "{c}");
            assert!(symbols.iter().all(|b| CODE_ALPHABET.contains(b)), "{c}");
        }
    }

    #[test]
    fn recovery_codes_read_the_same_however_typed() {
        let c = new_recovery_code();
        assert_eq!(c.len(), 29, "{c}");
        assert_eq!(
            normalized_code(&c.to_uppercase().replace('-', " ")),
            normalized_code(&c)
        );
    }
}
